"""Python bindings for Wasmtime 48, in Rust.

A drop-in implementation of the wasmtime-py API: validate, compile, instantiate and call
WebAssembly. Calls cost a fraction of a microsecond, wasm runs with the GIL released, and misuse
raises a Python exception instead of crashing the process.
"""

from ._error import ExitTrap, Trap, WasmException, WasmtimeError
from ._instance import InstanceExports
from ._managed import Managed
from ._native import (
    VERSION as _VERSION,
    WASMTIME_VERSION as _WASMTIME_VERSION,
    Caller,
    Config,
    Engine,
    ExportType,
    Frame,
    Func,
    FuncType,
    Global,
    GlobalType,
    ImportType,
    Instance,
    InstancePre,
    Limits,
    Linker,
    Memory,
    MemoryBuffer,
    MemoryType,
    Module,
    SharedMemory,
    Store,
    StoreContext,
    Table,
    TableType,
    Tag,
    TagType,
    Val,
    ValType,
    WasiConfig,
    wat2wasm,
)
from ._perms import DirPerms, FilePerms
from ._trap_code import TrapCode

# This package's version (wasmbridge's), and the wasmtime crate it runs on.
__version__: str = _VERSION
wasmtime_version: str = _WASMTIME_VERSION

Storelike = Store | Caller | StoreContext

for _cls in (
    Config,
    Engine,
    Store,
    FuncType,
    GlobalType,
    MemoryType,
    TableType,
    ValType,
    ImportType,
    ExportType,
    Module,
    Frame,
    WasmtimeError,
    Trap,
    Linker,
    InstancePre,
    SharedMemory,
    TagType,
    WasiConfig,
):
    Managed.register(_cls)
del _cls

__all__ = [
    "wat2wasm",
    "Config",
    "Engine",
    "Store",
    "FuncType",
    "GlobalType",
    "MemoryType",
    "TableType",
    "ValType",
    "Limits",
    "ImportType",
    "ExportType",
    "Val",
    "Func",
    "Caller",
    "Table",
    "Memory",
    "MemoryBuffer",
    "SharedMemory",
    "Global",
    "Trap",
    "TrapCode",
    "ExitTrap",
    "Frame",
    "Module",
    "Instance",
    "InstanceExports",
    "InstancePre",
    "Linker",
    "Tag",
    "TagType",
    "WasmException",
    "FilePerms",
    "DirPerms",
    "WasmtimeError",
    "StoreContext",
    "WasiConfig",
]

# wasmtime-py makes the submodule an attribute of the package (not in `__all__`).
from . import component as component
