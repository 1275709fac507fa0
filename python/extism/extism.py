"""The Extism SDK API, on wasmbridge's own runtime (`wasmtime._native`).

Rust does the mechanics: manifests, compilation, the kernel (Extism memory), the host PDK
functions, calls, timeouts and cancellation. This module holds what is shaped like Python: input
normalisation, the `Plugin` and `CompiledPlugin` classes, `CurrentPlugin` over the native caller,
and host functions (`Function`, the `host_fn` decorator and its inference from annotations).

Host-function plumbing: every `Function` becomes a native tuple
`(namespace, name, param_codes, result_codes, dispatch)`. When wasm calls the import, the runtime
calls `dispatch(caller, args)`, which wraps the arguments in `Val` objects, calls the function's
`f` as `f(current_plugin, params, results, *user_data)` and hands back one value per declared
result. An exception raised on the way stops the guest and comes out of `Plugin.call` as is.
"""

from __future__ import annotations

import base64
import functools
import inspect
import itertools
import json
import operator
import os
import pickle
import sys
import threading
import typing
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, Self

from wasmtime import _async, _native

__all__ = [
    "Plugin",
    "CompiledPlugin",
    "CancelHandle",
    "CurrentPlugin",
    "Memory",
    "ValType",
    "Val",
    "Function",
    "ExplicitFunction",
    "TypeInferredFunction",
    "HOST_FN_REGISTRY",
    "host_fn",
    "Json",
    "Pickle",
    "Codec",
    "Error",
    "set_log_file",
    "set_log_custom",
    "CustomLogger",
    "extism_version",
]

_EXTISM_VERSION = "1.41.0"
"""The Extism runtime version whose behaviour this package reproduces."""

# Handles shown as `Plugin.plugin` and `CompiledPlugin.pointer`: unique per process, never -1
# (which marks a freed object, as in the reference).
_handles = itertools.count(1)


class Error(Exception):
    """A failed Extism operation: compiling or creating a plugin, or a guest call.

    Its one argument is the message, e.g. the guest's error text, `"timeout"` or
    `"Function not found: name"`. The native runtime raises this very class.
    """


# -------------------------------------------------------------------------------------------------
# Values
# -------------------------------------------------------------------------------------------------


class ValType(Enum):
    """The wasm value types, by their Extism codes.

    `PTR` is declared before `I64`, so `I64` is an alias of `PTR` (`ValType.I64 is ValType.PTR`,
    its name is `"PTR"`): Extism handles are i64 values. Host functions may use `I32`, `I64`,
    `F32` and `F64`.
    """

    I32 = 0
    PTR = 1
    I64 = 1  # noqa: PIE796 (an alias of PTR on purpose)
    F32 = 2
    F64 = 3
    V128 = 4
    FUNC_REF = 5
    EXTERN_REF = 6


def _valtype(t: ValType | int) -> ValType:
    return t if isinstance(t, ValType) else ValType(t)


class Val:
    """A wasm value with its type: `.t` (a `ValType`) and `.value` (an int or a float).

    Host functions receive their parameters as `Val` objects, and set `.value` on the pre-filled
    result `Val` objects (or replace them with `Val` objects of the declared type).
    """

    def __init__(self, t: ValType, v: Any) -> None:
        self.t = t
        self.value = v

    def __repr__(self) -> str:
        return f"Val({self.t}, {self.value})"


_VAL_FIELDS = {0: "i32", 1: "i64", 2: "f32", 3: "f64"}


def _convert_value(x: Any) -> Val:
    """`Val` from a C-style tagged value: `x.t` is the type code and `x.v` has the field of that
    type (`i32`, `i64`, `f32` or `f64`)."""
    code = int(x.t)
    field = _VAL_FIELDS.get(code)
    if field is None:
        raise TypeError(f"unsupported value type code {code}")
    return Val(ValType(code), getattr(x.v, field))


class Memory:
    """A block of Extism memory: `.offset` (its handle) and `.length`, which is also `len(m)`."""

    def __init__(self, offs: int, length: int) -> None:
        self.offset = offs
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __repr__(self) -> str:
        return f"Memory(offset={self.offset}, length={self.length})"


# -------------------------------------------------------------------------------------------------
# Host-function type markers
# -------------------------------------------------------------------------------------------------


class Json:
    """Marker for `host_fn` inference: in `Annotated[T, Json]`, the value crosses as JSON text."""


class Pickle:
    """Marker for `host_fn` inference: in `Annotated[T, Pickle]`, the value crosses pickled."""


class Codec:
    """Marker for `host_fn` inference: in `Annotated[T, Codec(fn)]`, `fn` converts the value.

    A parameter receives `fn(input_bytes)`; a return value `v` is written as the bytes `fn(v)`.
    """

    def __init__(self, codec: Callable[[Any], Any]) -> None:
        self.codec = codec


# -------------------------------------------------------------------------------------------------
# CurrentPlugin: what a host function sees
# -------------------------------------------------------------------------------------------------


def _handle(x: Val | int) -> int:
    return operator.index(x.value if isinstance(x, Val) else x)


class _MemoryView:
    """A writable window of Extism memory, returned by `CurrentPlugin.memory`.

    Supports `len`, indexing and slicing (reads give ints and bytes), item and slice assignment
    (`buf[:] = data` with `len(data) == len(buf)`), `bytes(buf)`, iteration and comparison with
    bytes. Every access goes through the runtime, which checks it against the bounds of Extism
    memory; like its `CurrentPlugin`, it works only during the host function call.
    """

    __slots__ = ("_caller", "_length", "_offset")

    def __init__(self, caller: _native.ExtismCaller, offset: int, length: int) -> None:
        self._caller = caller
        self._offset = offset
        self._length = length

    def __len__(self) -> int:
        return self._length

    def _index(self, i: int) -> int:
        i = operator.index(i)
        if i < 0:
            i += self._length
        if not 0 <= i < self._length:
            raise IndexError("memory index out of range")
        return i

    @typing.overload
    def __getitem__(self, key: int) -> int: ...
    @typing.overload
    def __getitem__(self, key: slice) -> bytes: ...
    def __getitem__(self, key: int | slice) -> int | bytes:
        if isinstance(key, slice):
            start, stop, step = key.indices(self._length)
            if step == 1:
                return self._caller.read(self._offset + start, max(0, stop - start))
            return self.tobytes()[key]
        return self._caller.read(self._offset + self._index(key), 1)[0]

    def __setitem__(self, key: int | slice, value: Any) -> None:
        if not isinstance(key, slice):
            byte = operator.index(value)
            if not 0 <= byte < 256:
                raise ValueError("byte must be in range(0, 256)")
            self._caller.write(self._offset + self._index(key), bytes((byte,)))
            return
        data = memoryview(value).tobytes()
        positions = range(*key.indices(self._length))
        if len(data) != len(positions):
            raise ValueError(
                f"cannot assign {len(data)} bytes to a memory slice of {len(positions)} bytes"
            )
        if not positions:
            return
        if positions.step == 1:
            self._caller.write(self._offset + positions.start, data)
            return
        low, high = min(positions), max(positions) + 1
        chunk = bytearray(self._caller.read(self._offset + low, high - low))
        for i, byte in zip(positions, data, strict=True):
            chunk[i - low] = byte
        self._caller.write(self._offset + low, chunk)

    def tobytes(self) -> bytes:
        """A copy of the bytes."""
        return self._caller.read(self._offset, self._length)

    def __bytes__(self) -> bytes:
        return self.tobytes()

    def __iter__(self) -> Iterator[int]:
        return iter(self.tobytes())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _MemoryView):
            return self.tobytes() == other.tobytes()
        try:
            return self.tobytes() == memoryview(other).tobytes()  # type: ignore[arg-type]
        except TypeError:
            return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<extism memory at offset {self._offset}, {self._length} bytes>"


class CurrentPlugin:
    """The plugin that called a host function, passed to it as its first argument.

    Offsets are handles into Extism memory (the runtime's kernel memory, not the guest's own).
    Valid only during that host function call: afterwards every method raises `Error`.
    """

    def __init__(self, caller: _native.ExtismCaller) -> None:
        self.pointer = caller

    def memory(self, mem: Memory | Val | int) -> _MemoryView:
        """A writable, bounds-checked view of the `mem.length` bytes at `mem.offset`; for an
        offset (or a `Val` holding one), of the whole block starting there.

        A block at offset 0 (a failed `alloc`) gives an `Error` unless it is empty: offset 0 is
        the runtime's own bookkeeping.
        """
        if not isinstance(mem, Memory):
            mem = self.memory_at_offset(mem)
        if mem.offset == 0 and mem.length:
            raise Error("cannot access Extism memory at offset 0 (no block was allocated)")
        return _MemoryView(self.pointer, mem.offset, mem.length)

    def alloc(self, size: int) -> Memory:
        """Allocate `size` bytes of Extism memory. The offset is 0 if the runtime refuses (out
        of memory), and `alloc(0)` gives `Memory(0, 0)`."""
        return Memory(self.pointer.alloc(size), size)

    def free(self, mem: Memory | Val | int) -> None:
        """Free a block (`Memory`, `Val` or offset). Offsets 0 and unknown ones are ignored."""
        self.pointer.free(mem.offset if isinstance(mem, Memory) else _handle(mem))

    def memory_at_offset(self, offs: Val | int) -> Memory:
        """The block starting at `offs` (an offset or a `Val` holding one), with its length; the
        length is 0 if no block starts there."""
        offset = _handle(offs)
        return Memory(offset, self.pointer.length(offset))

    def return_bytes(self, output: Val, b: bytes) -> None:
        """Copy `b` into a new block and store its offset in `output.value` (0 for empty
        bytes). Raises `Error` if Extism memory cannot hold it."""
        data = memoryview(b).tobytes()
        if not data:
            output.value = 0
            return
        offset = self.pointer.alloc(len(data))
        if offset == 0:
            raise Error(f"failed to allocate {len(data)} bytes of Extism memory")
        self.pointer.write(offset, data)
        output.value = offset

    def return_string(self, output: Val, s: str) -> None:
        """`return_bytes` of the UTF-8 encoding of `s`."""
        self.return_bytes(output, s.encode())

    def input_buffer(self, input: Val | int) -> _MemoryView:
        """A writable view of the block whose offset `input` holds (see `memory`)."""
        return self.memory(self.memory_at_offset(input))

    def input_bytes(self, input: Val | int) -> bytes:
        """A copy of the block whose offset `input` holds (empty for offset 0)."""
        offset = _handle(input)
        return self.pointer.read(offset, self.pointer.length(offset))

    def input_string(self, input: Val | int) -> str:
        """The block whose offset `input` holds, decoded as UTF-8."""
        return self.input_bytes(input).decode()

    def host_context(self) -> Any:
        """The object passed as `host_context` to the running `Plugin.call`, or `None`."""
        return self.pointer.host_context()


# -------------------------------------------------------------------------------------------------
# Host functions
# -------------------------------------------------------------------------------------------------

_MISSING: Any = object()


def _codes(types: Iterable[ValType | int]) -> list[int]:
    return [t.value if isinstance(t, ValType) else operator.index(t) for t in types]


def _user_data(user_data: Any) -> tuple[Any, ...]:
    if user_data is None:
        return ()
    if isinstance(user_data, list | tuple):
        return tuple(user_data)
    return (user_data,)


class Function:
    """A host function at the wasm level, imported by guests as `namespace::name`.

    `Function(namespace, name, args, returns, f, *user_data)`; the older form without the
    namespace, `Function(name, args, returns, f, *user_data)`, is accepted too (recognised by the
    list in second position). `args` and `returns` are lists of `ValType` members, kept as int
    codes in `.args` and `.returns`; a `None` namespace means `extism:host/user`. When wasm calls
    the import, `f(current_plugin, params, results, *user_data)` runs with the parameters as `Val`
    objects and the results pre-filled as `Val(type, 0)`; it sets each result's `.value`.
    """

    def __init__(
        self,
        namespace: str | None = None,
        name: Any = _MISSING,
        args: Any = _MISSING,
        returns: Any = _MISSING,
        f: Any = _MISSING,
        *user_data: Any,
    ) -> None:
        if isinstance(name, list | tuple):
            # The older form: each argument sits one place to the right of its new position.
            if returns is _MISSING:  # `f` given by keyword
                namespace, name, args, returns = None, namespace, name, args
            else:
                extra = () if f is _MISSING else (f,)
                namespace, name, args, returns, f = None, namespace, name, args, returns
                user_data = extra + user_data
        if not isinstance(name, str):
            raise TypeError(f"host function name must be a str, not {type(name).__name__}")
        if args is _MISSING or returns is _MISSING:
            raise TypeError(f"host function {name!r} needs its parameter and result types")
        if not callable(f):
            raise TypeError(f"host function {name!r} needs a callable `f`")
        self.namespace = namespace
        self.name = name
        self.args = _codes(args)
        self.returns = _codes(returns)
        self.f = f
        self.user_data = user_data

    def __repr__(self) -> str:
        namespace = "extism:host/user" if self.namespace is None else self.namespace
        return f"<extism.Function {namespace}::{self.name}>"

    def __reduce__(self) -> str | tuple[Any, ...]:
        # A decorated module-level host function pickles by name, as plain functions do: the
        # receiving process imports its module, which defines it again. (The decorated function
        # itself cannot be pickled by name: its name now refers to this object.)
        if _importable(self):
            return str(self.__qualname__)  # type: ignore[attr-defined]
        return self._reduce_by_value()

    def _reduce_by_value(self) -> tuple[Any, ...]:
        return (
            Function,
            (self.namespace, self.name, self.args, self.returns, self.f, *self.user_data),
        )


def _importable(obj: Any) -> bool:
    """Whether `obj.__module__` and `obj.__qualname__` name `obj` itself."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<locals>" in qualname:
        return False
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found is obj


def _copy_metadata(wrapper: Any, f: Any) -> None:
    # Name, docstring and `__wrapped__` of the decorated function, but not its `__dict__`, which
    # could clobber attributes such as `.name`.
    try:
        functools.update_wrapper(wrapper, f, updated=())
    except AttributeError:
        pass


class ExplicitFunction(Function):
    """A host function whose wasm signature is given: `host_fn(signature=(params, results))`.

    Calling the object calls the decorated function itself.
    """

    def __init__(
        self,
        namespace: str | None,
        name: str,
        args: Sequence[ValType | int],
        returns: Sequence[ValType | int],
        f: Callable[..., Any],
        user_data: Any = None,
    ) -> None:
        super().__init__(namespace, name, args, returns, f, *_user_data(user_data))
        self._user_data_arg = user_data
        _copy_metadata(self, f)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.f(*args, **kwargs)

    def _reduce_by_value(self) -> tuple[Any, ...]:
        args = (self.namespace, self.name, self.args, self.returns, self.f, self._user_data_arg)
        return (ExplicitFunction, args)


class TypeInferredFunction(Function):
    """A host function whose wasm signature comes from its annotations (see `host_fn`).

    `.f` is the adapter the runtime calls (wasm values in, encoded results out); calling the
    object itself calls the decorated function with Python values.
    """

    def __init__(
        self,
        namespace: str | None,
        name: str,
        f: Callable[..., Any],
        user_data: Any = None,
    ) -> None:
        wants_plugin, decoders, params, result = _infer_signature(f)

        def adapter(
            current_plugin: CurrentPlugin, params: list[Val], results: list[Val], *user_data: Any
        ) -> None:
            args = [
                decode(current_plugin, val) for decode, val in zip(decoders, params, strict=True)
            ]
            if wants_plugin:
                value = f(current_plugin, *args, *user_data)
            else:
                value = f(*args, *user_data)
            result.write(current_plugin, results, value)

        super().__init__(namespace, name, params, result.types, adapter, *_user_data(user_data))
        self._func = f
        self._user_data_arg = user_data
        _copy_metadata(self, f)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._func(*args, **kwargs)

    def _reduce_by_value(self) -> tuple[Any, ...]:
        args = (self.namespace, self.name, self._func, self._user_data_arg)
        return (TypeInferredFunction, args)


# -- inference from annotations (host_fn without a signature) -------------------------------------

_Decoder = Callable[[CurrentPlugin, Val], Any]


def _decode_str(plugin: CurrentPlugin, val: Val) -> Any:
    return plugin.input_string(val)


def _decode_bytes(plugin: CurrentPlugin, val: Val) -> Any:
    return plugin.input_bytes(val)


def _decode_raw(plugin: CurrentPlugin, val: Val) -> Any:
    return val.value


def _decode_bool(plugin: CurrentPlugin, val: Val) -> Any:
    return bool(val.value)


def _decode_json(plugin: CurrentPlugin, val: Val) -> Any:
    return json.loads(plugin.input_string(val))


def _decode_pickle(plugin: CurrentPlugin, val: Val) -> Any:
    return pickle.loads(plugin.input_bytes(val))


@dataclass(frozen=True)
class _Encoding:
    """How a Python return value becomes wasm results: the result types and a writer that fills
    that many result `Val` objects from the value."""

    types: tuple[ValType, ...]
    write: Callable[[CurrentPlugin, Sequence[Val], Any], None]


def _write_block(plugin: CurrentPlugin, slot: Val, data: bytes) -> None:
    plugin.return_bytes(slot, data)


_RETURN_NOTHING = _Encoding((), lambda plugin, slots, value: None)
_RETURN_STR = _Encoding(
    (ValType.I64,), lambda plugin, slots, value: plugin.return_string(slots[0], value)
)
_RETURN_BYTES = _Encoding(
    (ValType.I64,), lambda plugin, slots, value: plugin.return_bytes(slots[0], value)
)
_RETURN_JSON = _Encoding(
    (ValType.I64,), lambda plugin, slots, value: plugin.return_string(slots[0], json.dumps(value))
)
_RETURN_PICKLE = _Encoding(
    (ValType.I64,),
    lambda plugin, slots, value: plugin.return_bytes(slots[0], pickle.dumps(value)),
)
# `int` and `bool` results are handles of blocks holding the value (8 bytes little-endian, and 4
# bytes for a bool), as in the reference, whose guests see that output.
_RETURN_INT = _Encoding(
    (ValType.I64,),
    lambda plugin, slots, value: _write_block(
        plugin, slots[0], operator.index(value).to_bytes(8, "little", signed=True)
    ),
)
_RETURN_BOOL = _Encoding(
    (ValType.I32,),
    lambda plugin, slots, value: _write_block(
        plugin, slots[0], int(bool(value)).to_bytes(4, "little")
    ),
)
_RETURN_FLOAT = _Encoding(
    (ValType.F64,), lambda plugin, slots, value: setattr(slots[0], "value", float(value))
)


def _return_codec(codec: Codec) -> _Encoding:
    convert = codec.codec
    return _Encoding(
        (ValType.I64,), lambda plugin, slots, value: plugin.return_bytes(slots[0], convert(value))
    )


def _return_tuple(members: list[_Encoding]) -> _Encoding:
    def write(plugin: CurrentPlugin, slots: Sequence[Val], value: Any) -> None:
        values = tuple(value)
        if len(values) != len(members):
            raise TypeError(
                f"host function returned {len(values)} values, its annotation declares "
                f"{len(members)}"
            )
        start = 0
        for member, item in zip(members, values, strict=True):
            end = start + len(member.types)
            member.write(plugin, slots[start:end], item)
            start = end

    types = tuple(t for member in members for t in member.types)
    return _Encoding(types, write)


def _unwrap(annotation: Any) -> Any:
    """The annotation with `Annotated` resolved: its `Json`, `Pickle` or `Codec` marker if it has
    one, else the annotated type."""
    while typing.get_origin(annotation) is typing.Annotated:
        for meta in annotation.__metadata__:
            if meta is Json or isinstance(meta, Json):
                return Json
            if meta is Pickle or isinstance(meta, Pickle):
                return Pickle
            if isinstance(meta, Codec):
                return meta
        annotation = annotation.__origin__
    return annotation


def _param_decoder(annotation: Any) -> tuple[ValType, _Decoder] | None:
    kind = _unwrap(annotation)
    if isinstance(kind, Codec):
        convert = kind.codec
        return ValType.I64, lambda plugin, val: convert(plugin.input_bytes(val))
    decoders: dict[Any, tuple[ValType, _Decoder]] = {
        str: (ValType.I64, _decode_str),
        bytes: (ValType.I64, _decode_bytes),
        int: (ValType.I64, _decode_raw),
        float: (ValType.F64, _decode_raw),
        bool: (ValType.I32, _decode_bool),
        Json: (ValType.I64, _decode_json),
        Pickle: (ValType.I64, _decode_pickle),
    }
    for known, decoder in decoders.items():
        if kind is known:
            return decoder
    return None


def _return_encoding(annotation: Any) -> _Encoding:
    kind = _unwrap(annotation)
    if isinstance(kind, Codec):
        return _return_codec(kind)
    encodings: dict[Any, _Encoding] = {
        str: _RETURN_STR,
        bytes: _RETURN_BYTES,
        int: _RETURN_INT,
        float: _RETURN_FLOAT,
        bool: _RETURN_BOOL,
        Json: _RETURN_JSON,
        Pickle: _RETURN_PICKLE,
        type(None): _RETURN_NOTHING,
        None: _RETURN_NOTHING,
    }
    for known, encoding in encodings.items():
        if kind is known:
            return encoding
    if typing.get_origin(kind) is tuple:
        members = typing.get_args(kind)
        if Ellipsis not in members:
            return _return_tuple([_return_encoding(member) for member in members])
    raise TypeError("Could not infer return type")


def _infer_signature(
    f: Callable[..., Any],
) -> tuple[bool, list[_Decoder], list[ValType], _Encoding]:
    """From `f`'s annotations: whether it takes the `CurrentPlugin` first, a decoder and wasm
    type per parameter, and the encoding of its return value."""
    hints = typing.get_type_hints(f, include_extras=True)
    if not hints:
        raise TypeError(
            "Host function must include Python type annotations or explicitly list arguments."
        )
    try:
        positional = [
            p.name
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        positional = [name for name in hints if name != "return"]
    annotated = [name for name in positional if name in hints]

    wants_plugin = False
    if annotated:
        first = hints[annotated[0]]
        if isinstance(first, type) and issubclass(first, CurrentPlugin):
            wants_plugin = True
            annotated = annotated[1:]

    decoders: list[_Decoder] = []
    params: list[ValType] = []
    for name in annotated:
        mapping = _param_decoder(hints[name])
        if mapping is None:
            raise TypeError(f"Could not infer input type for argument {name}")
        params.append(mapping[0])
        decoders.append(mapping[1])

    result = _return_encoding(hints["return"]) if "return" in hints else _RETURN_NOTHING
    return wants_plugin, decoders, params, result


HOST_FN_REGISTRY: list[Function] = []
"""Every function decorated with `host_fn` in this process, in order: the default `functions` of
`Plugin` and `CompiledPlugin`."""


def host_fn(
    name: str | None = None,
    namespace: str | None = None,
    signature: tuple[Sequence[ValType | int], Sequence[ValType | int]] | None = None,
    user_data: bytes | list[Any] | None = None,
) -> Callable[[Callable[..., Any]], Function]:
    """Decorator that makes a Python function a host function and adds it to `HOST_FN_REGISTRY`.

    `name` defaults to the function's `__name__`, `namespace` to `extism:host/user`. `user_data`
    (bytes, or a list of values) is passed after the other arguments on every call. `@host_fn`
    without parentheses works too.

    With `signature=([params], [results])` (lists of `ValType`), the function is called as
    `f(current_plugin, params, results, *user_data)` and works at the wasm level (see
    `Function`). Without it, the wasm signature comes from the annotations. A first parameter
    annotated `CurrentPlugin` receives the calling plugin; the other annotated positional
    parameters map as:

    * `str`, `bytes`: an I64 handle; the function gets the block's text (UTF-8) or bytes;
    * `Annotated[T, Json]`, `Annotated[T, Pickle]`, `Annotated[T, Codec(fn)]`: an I64 handle;
      the function gets `json.loads` of the text, `pickle.loads` or `fn` of the bytes;
    * `int`: an I64 value; `float`: an F64 value; `bool`: an I32 value, passed as a `bool`.

    Unannotated parameters (such as `*user_data`) are not part of the wasm signature. The return
    annotation gives the results:

    * none, or `None`: no result;
    * `str`, `bytes`, and the `Json`, `Pickle` and `Codec(fn)` forms: the value is encoded
      likewise and written to a new block, whose I64 handle is the result;
    * `int`: the I64 handle of a new block holding the value as 8 bytes, little-endian signed;
      `bool`: the I32 handle of a new 4-byte block holding 0 or 1 (both as in the reference,
      whose guests read those blocks);
    * `float`: the value itself, as an F64;
    * `tuple[A, B, ...]` (or `typing.Tuple`): the results of each member in turn, each encoded
      from its own element of the returned tuple.

    A function without annotations raises `TypeError("Host function must include Python type
    annotations or explicitly list arguments.")`; other types raise `TypeError("Could not infer
    input type for argument <name>")` or `TypeError("Could not infer return type")`.

    The result is a `Function` (`ExplicitFunction` or `TypeInferredFunction`); calling it calls
    the decorated function.
    """
    if callable(name):
        return host_fn()(name)  # type: ignore[unreachable]

    def decorate(f: Callable[..., Any]) -> Function:
        fn_name = name if name is not None else f.__name__
        function: Function
        if signature is not None:
            params, results = signature
            function = ExplicitFunction(namespace, fn_name, params, results, f, user_data)
        else:
            function = TypeInferredFunction(namespace, fn_name, f, user_data)
        HOST_FN_REGISTRY.append(function)
        return function

    return decorate


# -- what the runtime calls -----------------------------------------------------------------------

_HOST_TYPES = (ValType.I32, ValType.I64, ValType.F32, ValType.F64)


def _type_name(t: ValType | int) -> str:
    t = _valtype(t)
    return "I64" if t is ValType.I64 else t.name


def _result_values(name: str, results: list[Val], types: list[ValType]) -> list[int | float]:
    if len(results) != len(types):
        raise Error(
            f"host function {name!r} declares {len(types)} results but left {len(results)} in "
            "its results list"
        )
    values: list[int | float] = []
    for i, (result, declared) in enumerate(zip(results, types, strict=True)):
        if not isinstance(result, Val):
            raise Error(
                f"host function {name!r}: result {i} must be a Val, not {type(result).__name__}"
            )
        if _valtype(result.t) is not declared:
            raise Error(
                f"host function {name!r}: result {i} has type {_type_name(result.t)}, "
                f"but the function declares {_type_name(declared)}"
            )
        try:
            if declared is ValType.I32 or declared is ValType.I64:
                values.append(int(result.value))
            else:
                values.append(float(result.value))
        except (TypeError, ValueError):
            raise Error(
                f"host function {name!r}: result {i} holds {result.value!r}, not a number"
            ) from None
    return values


def _host_type(name: str, code: int) -> ValType:
    for t in _HOST_TYPES:
        if t.value == code:
            return t
    shown = ValType(code).name if code in ValType._value2member_map_ else f"type code {code}"
    raise TypeError(
        f"host function {name!r} uses {shown}; host functions take and return I32, I64, F32 and "
        "F64 only"
    )


def _dispatcher(
    function: Function,
) -> Callable[[_native.ExtismCaller, list[int | float]], list[int | float] | None]:
    """The callable the runtime invokes for `function`: wasm values in, result values out."""
    f = function.f
    name = function.name
    user_data = function.user_data
    param_types = [_host_type(name, code) for code in function.args]
    result_types = [_host_type(name, code) for code in function.returns]

    def dispatch(caller: _native.ExtismCaller, args: list[int | float]) -> Any:
        current_plugin = CurrentPlugin(caller)
        params = [Val(t, v) for t, v in zip(param_types, args, strict=True)]
        results = [Val(t, 0) for t in result_types]
        f(current_plugin, params, results, *user_data)
        if not result_types:
            return None
        return _result_values(name, results, result_types)

    return dispatch


class _ExtismFunctionMetadata:
    """A `Function` in the form the runtime links: `.pointer` is the native tuple
    `(namespace, name, param_codes, result_codes, dispatch)`, `None` once released."""

    pointer: tuple[Any, ...] | None = None

    def __init__(self, f: Function) -> None:
        self.function = f
        self.pointer = (f.namespace, f.name, list(f.args), list(f.returns), _dispatcher(f))

    def __del__(self) -> None:
        self.pointer = None


# -------------------------------------------------------------------------------------------------
# Plugins
# -------------------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _source(plugin: Any) -> bytes:
    """The bytes the runtime loads: wasm, WAT, or a JSON or TOML manifest."""
    if isinstance(plugin, str):
        if os.path.isfile(plugin):
            with open(plugin, "rb") as file:
                return file.read()
        return plugin.encode()
    if isinstance(plugin, bytes):
        return plugin
    if isinstance(plugin, bytearray | memoryview):
        return bytes(plugin)
    if isinstance(plugin, dict):
        return json.dumps(plugin, default=_json_default).encode()
    if isinstance(plugin, os.PathLike):
        with open(plugin, "rb") as file:
            return file.read()
    raise TypeError(
        "expected a manifest (dict or str), wasm or WAT (bytes or str), a file path or a "
        f"CompiledPlugin, not {type(plugin).__name__}"
    )


def _link_list(functions: Iterable[Function] | None) -> list[tuple[Any, ...]]:
    linked = []
    for function in functions or ():
        if not isinstance(function, Function):
            raise TypeError(
                f"functions must hold extism.Function objects, not {type(function).__name__}"
            )
        pointer = _ExtismFunctionMetadata(function).pointer
        assert pointer is not None
        linked.append(pointer)
    return linked


class CompiledPlugin:
    """A compiled plugin, from which many `Plugin` objects can be made cheaply.

    `plugin` is what `Plugin` accepts: a manifest (dict, or JSON/TOML text), wasm or WAT (bytes
    or text), or the path of a file holding one of those. `functions` (default: every `host_fn`
    so far; `None` or `[]`: none) are linked into each plugin made from it. With `fuel_limit`,
    each call may run that many wasm instructions (roughly) before failing with "plugin ran out
    of fuel". With `http_response_headers=True`, a plugin's `http_headers` gives the headers of
    its last HTTP response (the reference SDK cannot turn this on: its plugins get `{}`).
    Raises `Error("Unable to compile Extism plugin: ...")`.

    `del compiled` (or `compiled.__del__()`) releases it and sets `.pointer` to -1; plugins made
    from it keep working.

    Extension: it pickles, as its manifest settings, each module's compiled code and its host
    functions, so it can be sent to process-pool or cluster workers, which then skip compiling.
    Host functions pickle like functions (module-level ones by name, so the worker must be able
    to import their module). Unpickling checks that the code was compiled by the same wasmtime
    release and settings; like any pickle, unpickle only trusted data.
    """

    pointer: int = -1
    _impl: _native.ExtismCompiled | None = None

    def __init__(
        self,
        plugin: str | bytes | dict[str, Any] | os.PathLike[str],
        wasi: bool = False,
        functions: Iterable[Function] | None = HOST_FN_REGISTRY,
        fuel_limit: int | None = None,
        http_response_headers: bool = False,
    ) -> None:
        source = _source(plugin)
        self.functions = functions
        self._linked = list(functions or ())
        self._options = (bool(wasi), fuel_limit, bool(http_response_headers))
        self._impl = _native.ExtismCompiled(
            source, bool(wasi), _link_list(self._linked), fuel_limit, bool(http_response_headers)
        )
        self.pointer = next(_handles)

    def __del__(self) -> None:
        self._impl = None
        self.pointer = -1

    def __reduce__(self) -> tuple[Any, ...]:
        if self._impl is None:
            raise TypeError("cannot pickle a closed CompiledPlugin")
        return (_unpickle_compiled_plugin, (self._impl.artifacts(), self._linked, *self._options))


def _unpickle_plugin(
    artifacts: Any,
    functions: list[Function],
    wasi: bool,
    fuel_limit: int | None,
    http_response_headers: bool,
    config: Any,
) -> Plugin:
    compiled = _unpickle_compiled_plugin(
        artifacts, functions, wasi, fuel_limit, http_response_headers
    )
    return Plugin(compiled, config=config)


def _unpickle_compiled_plugin(
    artifacts: Any,
    functions: list[Function],
    wasi: bool,
    fuel_limit: int | None,
    http_response_headers: bool,
) -> CompiledPlugin:
    compiled = CompiledPlugin.__new__(CompiledPlugin)
    compiled.functions = functions
    compiled._linked = functions
    compiled._options = (wasi, fuel_limit, http_response_headers)
    compiled._impl = _native.ExtismCompiled.restore(
        artifacts, wasi, _link_list(functions), fuel_limit, http_response_headers
    )
    compiled.pointer = next(_handles)
    return compiled


class CancelHandle:
    """Stops the running call of one plugin (see `Plugin.cancel_handle`)."""

    def __init__(self, handle: _native.ExtismCancelHandle) -> None:
        self.pointer = handle

    def cancel(self) -> bool:
        """Stop the plugin's running call, which then fails with `Error("timeout")`. Does
        nothing while the plugin is idle. Returns `True`."""
        return self.pointer.cancel()


def _as_bytes(xs: Any) -> Any:
    return bytes(xs)


class Plugin:
    """A plugin instance: call the functions the guest exports.

    `plugin` is a `CompiledPlugin` (reused; `wasi`, `functions`, `fuel_limit` and
    `http_response_headers` are then ignored) or anything `CompiledPlugin` accepts: a manifest
    (dict, or JSON/TOML text), wasm or WAT (bytes or text), or a file path. `functions` defaults
    to every `host_fn` defined so far (`None` or `[]` links none). `config` (a dict of str to str, or to `None` to remove a key) is
    merged over the manifest's `config`; other values are ignored, as in the reference. Raises
    `Error` when the plugin cannot be compiled or created.

    Use it as a context manager or `del` it to free it: `.plugin` becomes -1, `.compiled_plugin`
    `None`, and further calls raise `TypeError("plugin is closed")`.

    Extension: a plugin pickles as its `CompiledPlugin` and `config`; unpickling makes a fresh
    plugin from them (a new id, and none of the variables or memory of the original).
    """

    plugin: int = -1
    compiled_plugin: CompiledPlugin | None = None
    _owns_compiled_plugin: bool = False
    _impl: _native.ExtismPlugin | None = None

    def __init__(
        self,
        plugin: str | bytes | dict[str, Any] | os.PathLike[str] | CompiledPlugin,
        wasi: bool = False,
        config: Any | None = None,
        functions: Iterable[Function] | None = HOST_FN_REGISTRY,
        fuel_limit: int | None = None,
        http_response_headers: bool = False,
    ) -> None:
        if isinstance(plugin, CompiledPlugin):
            compiled, owned = plugin, False
        else:
            compiled = CompiledPlugin(plugin, wasi, functions, fuel_limit, http_response_headers)
            owned = True
        if compiled._impl is None:
            raise TypeError("compiled plugin is closed")
        self.compiled_plugin = compiled
        self._owns_compiled_plugin = owned
        # What a pickle needs, kept even if the CompiledPlugin is closed later.
        self._compiled = (compiled._impl, compiled._linked, compiled._options)
        self._config = config
        self._impl = _native.ExtismPlugin(compiled._impl, config)
        self._id = uuid.UUID(self._impl.id)
        self.plugin = next(_handles)

    def _open(self) -> _native.ExtismPlugin:
        if self._impl is None:
            raise TypeError("plugin is closed")
        return self._impl

    @property
    def id(self) -> uuid.UUID:
        """The plugin's unique id (a UUID v4), as in its log lines."""
        self._open()
        return self._id

    def cancel_handle(self) -> CancelHandle:
        """A handle that can stop this plugin's running call from another thread."""
        return CancelHandle(self._open().cancel_handle())

    def function_exists(self, name: str) -> bool:
        """Whether the main module exports `name` as a callable Extism function (no parameters;
        no result or an i32)."""
        return self._open().function_exists(name)

    def call(
        self,
        function_name: str | bytes,
        data: str | bytes | bytearray | memoryview,
        parse: Callable[[bytes], Any] | None = _as_bytes,
        host_context: Any = None,
    ) -> Any:
        """Call the export `function_name` with `data` as input, and return `parse(output)`.

        `data` is text (sent as UTF-8) or bytes-like. `parse` receives the output bytes; the
        default and `None` return them as they are. `host_context` is any object the host
        functions can get with `CurrentPlugin.host_context()` during this call.

        Raises `Error` with the guest's error text, `"Error code: N"` for a non-zero status,
        `"timeout"`, `"Function not found: name"`, or a trap's text; an exception raised by a
        host function comes out as is. Calls from several threads run one at a time; a host
        function calling back into its own plugin raises `Error`.
        """
        impl = self._impl
        if impl is None:
            raise TypeError("plugin is closed")
        return impl.call(function_name, data, None if parse is _as_bytes else parse, host_context)

    async def call_async(
        self,
        function_name: str | bytes,
        data: str | bytes | bytearray | memoryview,
        parse: Callable[[bytes], Any] | None = _as_bytes,
        host_context: Any = None,
    ) -> Any:
        """Extension: `call` on a worker thread (the running loop's default executor), so the
        event loop stays free while the plugin runs.

        Cancelling the awaiting task stops the plugin's wasm at its next epoch tick (within a few
        milliseconds; a host function running then finishes first), and the task ends with
        `CancelledError` once the plugin is idle again. Failures raise as from `call`.
        """
        return await _async.call(self.call, function_name, data, parse, host_context)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.__del__()

    def __reduce__(self) -> tuple[Any, ...]:
        if self._impl is None:
            raise TypeError("cannot pickle a closed plugin")
        impl, functions, options = self._compiled
        return (_unpickle_plugin, (impl.artifacts(), functions, *options, self._config))

    def __del__(self) -> None:
        if self._impl is not None:
            self._impl.close()
            self._impl = None
        self.plugin = -1
        compiled = self.compiled_plugin
        self.compiled_plugin = None
        if compiled is not None and self._owns_compiled_plugin:
            compiled.__del__()


# -------------------------------------------------------------------------------------------------
# Logging and version
# -------------------------------------------------------------------------------------------------


class CustomLogger:
    """Receives Extism's log lines, made by `set_log_custom`.

    The runtime buffers the lines; `drain()` passes each one (ending in a newline) to the
    callback, and runs when the logger is deleted too. Only the logger of the process's first
    logging setup receives lines.
    """

    def __init__(self, f: Callable[[str], Any] | None) -> None:
        self.callback = f
        self._lines: deque[str] = deque()
        self._active = False

    def set_callback(self, f: Callable[[str], Any] | None) -> None:
        """Replace the callback that `drain` calls."""
        self.callback = f

    def drain(self) -> None:
        """Pass every buffered line to the callback, oldest first, and empty the buffer."""
        lines = getattr(self, "_lines", None)
        if lines is None:
            return
        if getattr(self, "_active", False):
            lines.extend(_native.extism_log_drain())
        while lines:
            line = lines.popleft()
            if self.callback is not None:
                self.callback(line)

    def __del__(self) -> None:
        self.drain()


_log_lock = threading.Lock()
_log_set = False
"""Whether the process's logging is set up (the first `set_log_file`/`set_log_custom` wins)."""

_LogLevel = Literal["trace", "debug", "info", "warn", "error"]


def _set_logging(target: str | None, level: str | None) -> bool:
    global _log_set
    with _log_lock:
        if _log_set:
            return False
        _log_set = _native.extism_log_setup(target, level)
        return _log_set


def set_log_file(file: str | os.PathLike[str], level: _LogLevel | str | None = None) -> None:
    """Send plugins' log lines to `file`: a path (appended to), `"stdout"`, or `"stderr"`/`"-"`.

    `level` is `"trace"`, `"debug"`, `"info"`, `"warn"` or `"error"` (the default), or a filter
    such as `"extism=debug"`. As in the reference, logging is set up once per process: the first
    call of `set_log_file` or `set_log_custom` wins and later ones are ignored. Guests see the
    level through `get_log_level`.
    """
    _set_logging(os.fspath(file), level)


def set_log_custom(
    f: Callable[[str], Any] | None, level: _LogLevel | str | None = None
) -> CustomLogger:
    """Collect plugins' log lines in memory for `f`: they reach it on `CustomLogger.drain()`.

    `level` is as for `set_log_file`, and like it only the first logging setup of the process
    takes effect (later loggers receive nothing).
    """
    logger = CustomLogger(f)
    logger._active = _set_logging(None, level)
    return logger


def extism_version() -> str:
    """The Extism runtime version this package reproduces, with what actually runs as a local
    version label: `"1.41.0+wasmbridge.<version>.wasmtime.<version>"`. Version parsers
    (`packaging.version.Version`, semver) read it as 1.41.0."""
    from wasmtime import __version__ as ours, wasmtime_version

    return f"{_EXTISM_VERSION}+wasmbridge.{ours}.wasmtime.{wasmtime_version}"
