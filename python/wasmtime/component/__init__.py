"""The WebAssembly component model: wasmtime-py's `wasmtime.component` API.

Components are compiled (`Component`), linked against host functions, modules and instances
(`Linker`, `LinkerInstance`), instantiated and called with plain Python values (`Instance`,
`Func`); their types can be inspected (`ComponentType`, `FuncType`, the `ValType` classes).

Why it is split this way: the mechanics (compiling, linking, calling, and converting values
between Python and the component model) live in the native module, where wasmtime's typed
values are at hand; the value types, `Record` and `Variant` are small Python classes
(`_types.py`), because they are shaped like Python (dataclasses, attribute bags) and
wasmtime-py's class structure (`VariantLikeType` and its `add_classes`) is part of its API.

The native module holds the core and the component classes side by side, so the component
classes whose names clash with core ones (`Linker`, `Instance`, `Func`, `FuncType`) are
registered there with a `Component` prefix; their Python names are the unprefixed ones.
"""

from .._managed import Managed
from .._native import (
    Component,
    ComponentFunc as Func,
    ComponentFuncType as FuncType,
    ComponentInstance as Instance,
    ComponentInstanceType,
    ComponentLinker as Linker,
    ComponentType,
    ExportIndex,
    LinkerInstance,
    ModuleType,
    ResourceAny,
    ResourceHost,
    ResourceType,
)
from ._types import (
    F32,
    F64,
    S8,
    S16,
    S32,
    S64,
    U8,
    U16,
    U32,
    U64,
    Bool,
    BorrowType,
    Char,
    ComponentItem,
    EnumType,
    ErrorContext,
    FlagsType,
    FutureType,
    ListType,
    OptionType,
    OwnType,
    Record,
    RecordType,
    ResultType,
    StreamType,
    String,
    TupleType,
    ValType,
    Variant,
    VariantType,
)

# The native classes that own a resource (`close()`, `with`) join `Managed`, as in wasmtime-py;
# `Instance` and `Func` are plain handles. The Python compound types subclass it directly.
for _cls in (
    Component,
    ExportIndex,
    Linker,
    LinkerInstance,
    ResourceType,
    ResourceAny,
    ResourceHost,
    ComponentType,
    ModuleType,
    ComponentInstanceType,
    FuncType,
):
    Managed.register(_cls)
del _cls

__all__ = [
    "Component",
    "ExportIndex",
    "Linker",
    "LinkerInstance",
    "Instance",
    "Func",
    "ResourceType",
    "ResourceAny",
    "ResourceHost",
    "ComponentType",
    "ModuleType",
    "ComponentItem",
    "ComponentInstanceType",
    "FuncType",
    "ValType",
    "Bool",
    "U8",
    "U16",
    "U32",
    "U64",
    "S8",
    "S16",
    "S32",
    "S64",
    "F32",
    "F64",
    "Char",
    "String",
    "ErrorContext",
    "ListType",
    "RecordType",
    "TupleType",
    "VariantType",
    "EnumType",
    "OptionType",
    "ResultType",
    "FlagsType",
    "StreamType",
    "FutureType",
    "OwnType",
    "BorrowType",
    "Variant",
    "Record",
]
