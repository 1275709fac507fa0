"""Component value types (`ValType` and its subclasses), `Record`, `Variant`, `ComponentItem`.

Values cross the boundary natively: the Rust side converts Python objects to
`wasmtime::component::Val` and back, guided by the wasmtime type. These classes are the Python
face of those types, for reflection (`FuncType.params`, `ComponentType.imports`, ...):

* the primitive types are field-less dataclasses, equal by class (`U8() == U8()`);
* the compound types wrap a native `ComponentValType` handle and compare with wasmtime's
  structural type equality, which also holds across components;
* `OwnType`/`BorrowType` are dataclasses holding a `ResourceType`.

The native side builds them through `_wrap(handle)`, and builds `Record` and `Variant` values.

`add_classes` states which Python classes a type produces and accepts. `VariantLikeType` uses
it to decide whether a variant, option or result travels *untagged* (the bare payload, the case
found by `isinstance`) or *tagged* (a `Variant(tag, payload)`); the native conversion applies
the same rule, and the two must agree.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, Self, TypeAlias

from .._error import WasmtimeError
from .._managed import Managed
from .._native import (
    ComponentFuncType,
    ComponentInstanceType,
    ComponentType,
    ModuleType,
    ResourceAny,
    ResourceHost,
    ResourceType,
)

__all__ = [
    "ValType",
    "Bool",
    "S8",
    "S16",
    "S32",
    "S64",
    "U8",
    "U16",
    "U32",
    "U64",
    "F32",
    "F64",
    "Char",
    "String",
    "ErrorContext",
    "ListType",
    "RecordType",
    "TupleType",
    "VariantLikeType",
    "VariantType",
    "EnumType",
    "OptionType",
    "ResultType",
    "FlagsType",
    "FutureType",
    "StreamType",
    "MapType",
    "FixedLengthListType",
    "OwnType",
    "BorrowType",
    "Record",
    "Variant",
    "ComponentItem",
]

_NATIVE_CONVERSION = (
    "component values are converted natively; `{}` is kept for wasmtime-py compatibility only"
)


class ValType(ABC):
    """A component model value type.

    `convert_to_c` and `convert_from_c` keep wasmtime-py's method names, but there the
    conversion went through ctypes structures; here it happens natively when a `Func` is called
    or a host function returns, so both raise `NotImplementedError`.
    """

    @abstractmethod
    def add_classes(self, s: set[type]) -> None:
        """Adds to `s` the Python classes that values of this type convert to and from."""

    def convert_to_c(self, store: Any, val: Any, ptr: Any) -> None:
        """Not available: values are converted natively. Raises `NotImplementedError`."""
        raise NotImplementedError(_NATIVE_CONVERSION.format("convert_to_c"))

    def convert_from_c(self, c: Any) -> Any:
        """Not available: values are converted natively. Raises `NotImplementedError`."""
        raise NotImplementedError(_NATIVE_CONVERSION.format("convert_from_c"))


# ---------------------------------------------------------------------------------------------
# Primitive types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bool(ValType):
    """`bool`: Python `bool` only (an `int` is refused)."""

    def add_classes(self, s: set[type]) -> None:
        s.add(bool)


class _Int(ValType):
    def add_classes(self, s: set[type]) -> None:
        s.add(int)


@dataclass(frozen=True)
class S8(_Int):
    """`s8`: a Python `int`."""


@dataclass(frozen=True)
class S16(_Int):
    """`s16`: a Python `int`."""


@dataclass(frozen=True)
class S32(_Int):
    """`s32`: a Python `int`."""


@dataclass(frozen=True)
class S64(_Int):
    """`s64`: a Python `int`."""


@dataclass(frozen=True)
class U8(_Int):
    """`u8`: a Python `int`."""


@dataclass(frozen=True)
class U16(_Int):
    """`u16`: a Python `int`."""


@dataclass(frozen=True)
class U32(_Int):
    """`u32`: a Python `int`."""


@dataclass(frozen=True)
class U64(_Int):
    """`u64`: a Python `int`."""


class _Float(ValType):
    def add_classes(self, s: set[type]) -> None:
        s.add(float)


@dataclass(frozen=True)
class F32(_Float):
    """`f32`: a Python `float` only (an `int` is refused)."""


@dataclass(frozen=True)
class F64(_Float):
    """`f64`: a Python `float` only (an `int` is refused)."""


@dataclass(frozen=True)
class Char(ValType):
    """`char`: a `str` of length 1."""

    def add_classes(self, s: set[type]) -> None:
        s.add(str)


@dataclass(frozen=True)
class String(ValType):
    """`string`: a `str`."""

    def add_classes(self, s: set[type]) -> None:
        s.add(str)


@dataclass(frozen=True)
class ErrorContext(ValType):
    """`error-context`: reflected only; its values raise `NotImplementedError`."""

    def add_classes(self, s: set[type]) -> None:
        raise NotImplementedError("error-context values are not supported")


# ---------------------------------------------------------------------------------------------
# Compound types: Python objects around a native `ComponentValType` handle
# ---------------------------------------------------------------------------------------------


class _HandleType(ValType, Managed):
    """A compound type, wrapping the native handle it was built from.

    Instances come only from the library (`_wrap`); `close()` drops the handle, after which
    any use raises `ValueError('already closed')`.
    """

    _handle: Any

    def __init__(self) -> None:
        raise WasmtimeError(f"Cannot directly construct a `{type(self).__name__}`")

    @classmethod
    def _from_handle(cls, handle: Any) -> Self:
        ty = cls.__new__(cls)
        ty._handle = handle
        return ty

    def _h(self) -> Any:
        if self._handle is None:
            raise ValueError("already closed")
        return self._handle

    def close(self) -> None:
        """Releases the native handle. Idempotent."""
        self._handle = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _HandleType) or type(other) is not type(self):
            return False
        return bool(self._h() == other._h())

    def __hash__(self) -> int:
        return hash(self._h())

    def __repr__(self) -> str:
        if self._handle is None:
            return f"<closed {type(self).__name__}>"
        return f"{type(self).__name__}({self._describe()})"

    def _describe(self) -> str:
        return ""


class ListType(_HandleType):
    """`list<T>`: a Python `list`, or exactly `bytes` for `list<u8>`."""

    @property
    def element(self) -> ValType:
        """The element type."""
        return _sub(self._h().element)

    def add_classes(self, s: set[type]) -> None:
        s.add(bytes if isinstance(self.element, U8) else list)

    def _describe(self) -> str:
        return repr(self.element)


class RecordType(_HandleType):
    """`record`: any object with one attribute per field in, a `Record` out."""

    @property
    def fields(self) -> list[tuple[str, ValType]]:
        """The fields, in order, as `(name, type)` pairs."""
        return [(name, _sub(ty)) for name, ty in self._h().fields]

    def add_classes(self, s: set[type]) -> None:
        s.add(Record)

    def _describe(self) -> str:
        return ", ".join(f"{name}: {ty!r}" for name, ty in self.fields)


class TupleType(_HandleType):
    """`tuple<...>`: a Python `tuple` of the same length."""

    @property
    def elements(self) -> list[ValType]:
        """The element types, in order."""
        return [_sub(ty) for ty in self._h().elements]

    def add_classes(self, s: set[type]) -> None:
        s.add(tuple)

    def _describe(self) -> str:
        return ", ".join(repr(ty) for ty in self.elements)


class VariantLikeType(ValType):
    """The shared rule of `VariantType`, `OptionType` and `ResultType`.

    Each case accepts the classes of its payload type (`add_classes`), or `object` when it has
    no payload (the value is then `None`). If no two cases share a class, the value is
    *untagged*: the bare payload, whose class picks the case. Otherwise it is *tagged*: a
    `Variant(tag, payload)`. So `option<u32>` is `None` or an `int`, while `option<option<u32>>`,
    `result<u32, u32>` and a variant of payload-less cases use `Variant`.
    """

    @abstractmethod
    def _cases(self) -> list[tuple[str, ValType | None]]:
        """The cases, in order, as `(name, payload type or None)`."""

    def _tagged(self) -> bool:
        """Whether values of this type are `Variant`s (two cases share a Python class)."""
        seen: set[type] = set()
        for _, ty in self._cases():
            case = _case_classes(ty)
            if case & seen:
                return True
            seen |= case
        return False

    def add_classes(self, s: set[type]) -> None:
        if self._tagged():
            s.add(Variant)
            return
        for _, ty in self._cases():
            s |= _case_classes(ty)


def _case_classes(ty: ValType | None) -> set[type]:
    classes: set[type] = set()
    if ty is None:
        classes.add(object)
    else:
        ty.add_classes(classes)
    return classes


class VariantType(_HandleType, VariantLikeType):
    """`variant`: tagged (`Variant`) or untagged, see `VariantLikeType`."""

    @property
    def cases(self) -> list[tuple[str, ValType | None]]:
        """The cases, in order, as `(name, payload type or None)`."""
        return [(name, _sub_opt(ty)) for name, ty in self._h().cases]

    def _cases(self) -> list[tuple[str, ValType | None]]:
        return self.cases

    def _describe(self) -> str:
        return ", ".join(name if ty is None else f"{name}({ty!r})" for name, ty in self.cases)


class EnumType(_HandleType):
    """`enum`: the case name as a `str`."""

    @property
    def names(self) -> list[str]:
        """The case names, in order."""
        return list(self._h().names)

    @property
    def names_count(self) -> int:
        """The number of cases."""
        return len(self.names)

    def name(self, n: int) -> str | None:
        """The name of case `n`, or `None` if there is no such case."""
        names = self.names
        return names[n] if 0 <= n < len(names) else None

    def add_classes(self, s: set[type]) -> None:
        s.add(str)

    def _describe(self) -> str:
        return ", ".join(repr(name) for name in self.names)


class OptionType(_HandleType, VariantLikeType):
    """`option<T>`: `None` or the value when untagged; see `VariantLikeType`."""

    @property
    def payload(self) -> ValType:
        """The type of the `some` case."""
        return _sub(self._h().payload)

    def _cases(self) -> list[tuple[str, ValType | None]]:
        return [("none", None), ("some", self.payload)]

    def _describe(self) -> str:
        return repr(self.payload)


class ResultType(_HandleType, VariantLikeType):
    """`result<T, E>`: untagged when `ok` and `err` differ in class, else `Variant('ok'|'err')`."""

    @property
    def ok(self) -> ValType | None:
        """The `ok` payload type, or `None`."""
        return _sub_opt(self._h().ok)

    @property
    def err(self) -> ValType | None:
        """The `err` payload type, or `None`."""
        return _sub_opt(self._h().err)

    def _cases(self) -> list[tuple[str, ValType | None]]:
        return [("ok", self.ok), ("err", self.err)]

    def _describe(self) -> str:
        return f"ok={self.ok!r}, err={self.err!r}"


class FlagsType(_HandleType):
    """`flags`: a `set` of flag names."""

    @property
    def names(self) -> list[str]:
        """The flag names, in order."""
        return list(self._h().names)

    def add_classes(self, s: set[type]) -> None:
        s.add(set)

    def _describe(self) -> str:
        return ", ".join(repr(name) for name in self.names)


class _AsyncType(_HandleType):
    @property
    def payload(self) -> ValType | None:
        """The payload type, or `None`."""
        return _sub_opt(self._h().payload)

    def add_classes(self, s: set[type]) -> None:
        raise NotImplementedError(f"{self._kind} values are not supported")

    _kind: ClassVar[str]

    def _describe(self) -> str:
        return repr(self.payload)


class FutureType(_AsyncType):
    """`future<T>`: reflected only; its values raise `NotImplementedError`."""

    _kind = "future"


class StreamType(_AsyncType):
    """`stream<T>`: reflected only; its values raise `NotImplementedError`."""

    _kind = "stream"


class MapType(_HandleType):
    """`map<K, V>` (new in wasmtime 48, no wasmtime-py counterpart): a Python `dict`."""

    @property
    def key(self) -> ValType:
        """The key type."""
        return _sub(self._h().key)

    @property
    def value(self) -> ValType:
        """The value type."""
        return _sub(self._h().value)

    def add_classes(self, s: set[type]) -> None:
        s.add(dict)

    def _describe(self) -> str:
        return f"{self.key!r}, {self.value!r}"


class FixedLengthListType(_HandleType):
    """`list<T, N>` (new in wasmtime 48, no wasmtime-py counterpart): a Python `list`."""

    @property
    def element(self) -> ValType:
        """The element type."""
        return _sub(self._h().element)

    @property
    def length(self) -> int:
        """The number of elements, `N`."""
        return int(self._h().length)

    def add_classes(self, s: set[type]) -> None:
        s.add(list)

    def _describe(self) -> str:
        return f"{self.element!r}, {self.length}"


# ---------------------------------------------------------------------------------------------
# Resources
# ---------------------------------------------------------------------------------------------


@dataclass
class OwnType(ValType):
    """`own<T>`: a `ResourceAny` (consumed by the call) or a `ResourceHost` in, `ResourceAny`
    out."""

    ty: ResourceType

    def add_classes(self, s: set[type]) -> None:
        s.add(ResourceAny)
        s.add(ResourceHost)


@dataclass
class BorrowType(ValType):
    """`borrow<T>`: a `ResourceAny` or a `ResourceHost` in, `ResourceAny` out."""

    ty: ResourceType

    def add_classes(self, s: set[type]) -> None:
        s.add(ResourceAny)
        s.add(ResourceHost)


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------


class Record:
    """A record value: one attribute per field, named as in WIT.

    Records returned by wasm are `Record`s; any object with the right attributes may be passed
    in. `Record(a=1, b=True)` sets attributes directly (an extension of wasmtime-py's no-argument
    constructor). Equality is wasmtime-py's: every attribute of `self` exists on `other` with an
    equal value, so it is asymmetric (`Record() == anything` holds).
    """

    def __init__(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        missing = object()
        return all(getattr(other, name, missing) == value for name, value in vars(self).items())

    __hash__ = None  # type: ignore[assignment]

    # Fields are dynamic. These two change nothing at runtime; they tell type checkers that any
    # attribute may be read or written.
    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"'Record' object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"Record({fields})"


@dataclass
class Variant:
    """A tagged variant, option or result value: the case name and its payload (or `None`)."""

    tag: str
    payload: Any = None


# What a component import or export can be.
ComponentItem: TypeAlias = (
    ComponentType | ModuleType | ComponentInstanceType | ResourceType | ValType | ComponentFuncType
)


# ---------------------------------------------------------------------------------------------
# Handle -> ValType
# ---------------------------------------------------------------------------------------------

_PRIMITIVES: dict[str, ValType] = {
    "bool": Bool(),
    "s8": S8(),
    "s16": S16(),
    "s32": S32(),
    "s64": S64(),
    "u8": U8(),
    "u16": U16(),
    "u32": U32(),
    "u64": U64(),
    "f32": F32(),
    "f64": F64(),
    "char": Char(),
    "string": String(),
    "error-context": ErrorContext(),
}

_COMPOUND: dict[str, type[_HandleType]] = {
    "list": ListType,
    "record": RecordType,
    "tuple": TupleType,
    "variant": VariantType,
    "enum": EnumType,
    "option": OptionType,
    "result": ResultType,
    "flags": FlagsType,
    "future": FutureType,
    "stream": StreamType,
    "map": MapType,
    "fixed-length-list": FixedLengthListType,
}


def _wrap(handle: Any) -> ValType:
    """The `ValType` for a native `ComponentValType` handle (called by the native side).

    Primitive types are shared immutable instances; compound types wrap the handle.
    """
    kind = handle.kind
    primitive = _PRIMITIVES.get(kind)
    if primitive is not None:
        return primitive
    if kind == "own":
        return OwnType(handle.resource)
    if kind == "borrow":
        return BorrowType(handle.resource)
    cls = _COMPOUND.get(kind)
    if cls is None:
        _unknown_kind(kind)
    return cls._from_handle(handle)


def _sub(ty: Any) -> ValType:
    """A component type read from a handle: the native getters may hand out `ValType`s
    already, or further handles."""
    return ty if isinstance(ty, ValType) else _wrap(ty)


def _sub_opt(ty: Any) -> ValType | None:
    return None if ty is None else _sub(ty)


def _unknown_kind(kind: object) -> NoReturn:
    raise TypeError(f"unknown component value type kind {kind!r}")
