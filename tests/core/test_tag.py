"""TagType and Tag; wasm exceptions thrown, caught and carried through Python host functions."""

from __future__ import annotations

from typing import Any

import pytest

from wasmtime import (
    Config,
    Engine,
    Func,
    FuncType,
    Instance,
    Module,
    Store,
    Tag,
    TagType,
    Trap,
    TrapCode,
    ValType,
    WasmtimeError,
)

I32 = ValType.i32
I64 = ValType.i64
F64 = ValType.f64

# Throws and catches its own tags; "h" is a host function called inside the try blocks.
EXN_WAT = """
(module
  (import "" "h" (func $h (param i32)))
  (tag $e (export "e") (param i32))
  (tag $other (export "other") (param i32))
  (tag $multi (export "multi") (param i32 i64 f64))
  (tag $ref (export "ref") (param externref))
  (func (export "throw") (param i32) local.get 0 throw $e)
  (func (export "throw_other") (param i32) local.get 0 throw $other)
  (func (export "throw_multi") (param i32 i64 f64)
    local.get 0 local.get 1 local.get 2 throw $multi)
  (func (export "throw_ref") (param externref) local.get 0 throw $ref)
  (func (export "catch_own") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $e $caught) local.get 0 throw $e)
      i32.const -1))
  ;; Calls h(x); returns the payload of an $e exception escaping it, or -1 if none did.
  (func (export "catch_h") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $e $caught) local.get 0 call $h)
      i32.const -1))
  ;; Calls h(x); returns 99 if any wasm exception escaped it, or -1 if none did.
  (func (export "catch_all_h") (param i32) (result i32)
    (block $caught
      (try_table (catch_all $caught) local.get 0 call $h)
      (return (i32.const -1)))
    i32.const 99)
  (func (export "catch_multi_h") (result i32 i64 f64)
    (block $caught (result i32 i64 f64)
      (try_table (catch $multi $caught) i32.const 0 call $h)
      unreachable)))
"""

# The same catching logic around an imported tag.
IMPORTED_TAG_WAT = """
(module
  (import "" "e" (tag $e (param i32)))
  (import "" "h" (func $h (param i32)))
  (export "e" (tag $e))
  (func (export "throw") (param i32) local.get 0 throw $e)
  (func (export "catch_h") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $e $caught) local.get 0 call $h)
      i32.const -1)))
"""


@pytest.fixture
def exn_engine() -> Engine:
    config = Config()
    config.wasm_exceptions = True
    return Engine(config)


@pytest.fixture
def exn_store(exn_engine: Engine) -> Store:
    return Store(exn_engine)


class Host:
    """The host import "h" of EXN_WAT; ``behaviour`` decides what a call does."""

    def __init__(self, store: Store) -> None:
        self.calls: list[int] = []
        self.behaviour: Any = None
        self.func = Func(store, FuncType([I32()], []), self)

    def __call__(self, x: int) -> None:
        self.calls.append(x)
        if self.behaviour is not None:
            self.behaviour(x)


def instantiate_exn(store: Store) -> tuple[Host, Any]:
    host = Host(store)
    ex = Instance(store, Module(store.engine, EXN_WAT), [host.func]).exports(store)
    return host, ex


# --------------------------------------------------------------------------------------------
# TagType
# --------------------------------------------------------------------------------------------


def test_tagtype_functype() -> None:
    ty = TagType(FuncType([I32(), I64()], []))
    assert isinstance(ty.functype, FuncType)
    assert ty.functype.params == [I32(), I64()]
    assert ty.functype.results == []


@pytest.mark.parametrize("bad", [1, None, "i32", ValType.i32()])
def test_tagtype_requires_functype(bad: Any) -> None:
    with pytest.raises(TypeError, match="^expected a FuncType$"):
        TagType(bad)


def test_tagtype_consumes_functype() -> None:
    ft = FuncType([I32()], [])
    TagType(ft)
    with pytest.raises(ValueError, match="already closed"):
        _ = ft.params


def test_tagtype_close() -> None:
    ty = TagType(FuncType([I32()], []))
    ty.close()
    with pytest.raises(ValueError, match="already closed"):
        _ = ty.functype


def test_module_reports_tag_types(exn_engine: Engine) -> None:
    module = Module(exn_engine, IMPORTED_TAG_WAT)
    imp = module.imports[0]
    assert (imp.module, imp.name) == ("", "e")
    assert isinstance(imp.type, TagType)
    assert imp.type.functype.params == [I32()]
    exports = {e.name: e.type for e in Module(exn_engine, EXN_WAT).exports}
    multi = exports["multi"]
    assert isinstance(multi, TagType)
    assert multi.functype.params == [I32(), I64(), F64()]
    assert multi.functype.results == []


# --------------------------------------------------------------------------------------------
# Tag
# --------------------------------------------------------------------------------------------


def test_new_tag(exn_store: Store) -> None:
    tag = Tag(exn_store, TagType(FuncType([I32(), F64()], [])))
    ty = tag.type(exn_store)
    assert isinstance(ty, TagType)
    assert ty.functype.params == [I32(), F64()]
    assert ty.functype.results == []


@pytest.mark.parametrize("bad", [1, None, "tag"])
def test_tag_requires_tagtype(exn_store: Store, bad: Any) -> None:
    with pytest.raises(TypeError, match="^expected a TagType$"):
        Tag(exn_store, bad)


def test_tag_rejects_functype(exn_store: Store) -> None:
    with pytest.raises(TypeError, match="^expected a TagType$"):
        Tag(exn_store, FuncType([I32()], []))  # type: ignore[arg-type]


def test_tag_eq(exn_store: Store) -> None:
    a = Tag(exn_store, TagType(FuncType([I32()], [])))
    b = Tag(exn_store, TagType(FuncType([I32()], [])))
    assert a.eq(exn_store, a) is True
    assert b.eq(exn_store, b) is True
    # Same signature, distinct definitions.
    assert a.eq(exn_store, b) is False
    assert b.eq(exn_store, a) is False


def test_exported_tag(exn_store: Store) -> None:
    _, ex = instantiate_exn(exn_store)
    tag = ex["e"]
    assert isinstance(tag, Tag)
    assert tag.type(exn_store).functype.params == [I32()]
    assert tag.eq(exn_store, tag)
    assert not tag.eq(exn_store, ex["other"])
    assert ex["multi"].type(exn_store).functype.params == [I32(), I64(), F64()]


def test_exported_tag_identity_across_instances(exn_store: Store) -> None:
    _, first = instantiate_exn(exn_store)
    _, second = instantiate_exn(exn_store)
    # Another instance of the same module defines another tag.
    assert not first["e"].eq(exn_store, second["e"])
    # Re-exported through an instance that imported it, it is the same tag.
    reexport = Instance(
        exn_store, Module(exn_store.engine, IMPORTED_TAG_WAT), [first["e"], Host(exn_store).func]
    ).exports(exn_store)["e"]
    assert reexport is not first["e"]
    assert reexport.eq(exn_store, first["e"])
    assert first["e"].eq(exn_store, reexport)
    assert not reexport.eq(exn_store, second["e"])


def test_python_tag_as_import(exn_store: Store) -> None:
    tag = Tag(exn_store, TagType(FuncType([I32()], [])))
    ex = Instance(
        exn_store, Module(exn_store.engine, IMPORTED_TAG_WAT), [tag, Host(exn_store).func]
    ).exports(exn_store)
    assert ex["e"].eq(exn_store, tag)
    with pytest.raises(Trap):
        ex["throw"](exn_store, 1)


def test_tag_import_type_mismatch(exn_store: Store) -> None:
    tag = Tag(exn_store, TagType(FuncType([I64()], [])))
    module = Module(exn_store.engine, IMPORTED_TAG_WAT)
    with pytest.raises(WasmtimeError, match="incompatible tag types"):
        Instance(exn_store, module, [tag, Host(exn_store).func])


def test_tag_for_function_import(exn_store: Store) -> None:
    tag = Tag(exn_store, TagType(FuncType([I32()], [])))
    module = Module(exn_store.engine, '(module (import "" "f" (func (param i32))))')
    with pytest.raises(WasmtimeError):
        Instance(exn_store, module, [tag])


def test_tag_wrong_store(exn_store: Store) -> None:
    tag = Tag(exn_store, TagType(FuncType([I32()], [])))
    other = Store(exn_store.engine)
    with pytest.raises(WasmtimeError, match="wrong store"):
        tag.type(other)
    with pytest.raises(WasmtimeError, match="wrong store"):
        tag.eq(other, tag)
    with pytest.raises(WasmtimeError):
        Instance(other, Module(other.engine, IMPORTED_TAG_WAT), [tag, Host(other).func])
    assert tag.eq(exn_store, tag)


def test_tag_after_store_closed(exn_store: Store) -> None:
    tag = Tag(exn_store, TagType(FuncType([I32()], [])))
    exn_store.close()
    with pytest.raises(ValueError, match="already closed"):
        tag.type(exn_store)


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------


def test_exceptions_enabled_by_default() -> None:
    store = Store(Engine())
    _, ex = instantiate_exn(store)
    assert ex["catch_own"](store, 5) == 5


def test_exceptions_can_be_disabled() -> None:
    config = Config()
    config.wasm_exceptions = False
    with pytest.raises(WasmtimeError, match="exceptions proposal not enabled"):
        Module(Engine(config), EXN_WAT)


# --------------------------------------------------------------------------------------------
# exceptions: wasm to Python
# --------------------------------------------------------------------------------------------


def test_wasm_catches_own_exception(exn_store: Store) -> None:
    _, ex = instantiate_exn(exn_store)
    assert ex["catch_own"](exn_store, 42) == 42
    assert ex["catch_own"](exn_store, -7) == -7


def test_uncaught_exception_is_trap(exn_store: Store) -> None:
    _, ex = instantiate_exn(exn_store)
    with pytest.raises(Trap) as info:
        ex["throw"](exn_store, 42)
    trap = info.value
    assert "thrown Wasm exception" in str(trap)
    assert trap.message == str(trap)
    # Not a wasmtime::Trap in wasmtime 48 (the reference reports None); the 48 enum member
    # UNCAUGHT_EXCEPTION is the other acceptable answer (spec 2.7).
    assert trap.trap_code in (None, getattr(TrapCode, "UNCAUGHT_EXCEPTION", None))
    assert not isinstance(trap, WasmtimeError)
    # The store is still usable.
    assert ex["catch_own"](exn_store, 3) == 3


def test_uncaught_exception_is_wasm_exception(exn_store: Store) -> None:
    from wasmtime import WasmException

    _, ex = instantiate_exn(exn_store)
    with pytest.raises(WasmException) as info:
        ex["throw"](exn_store, 42)
    err = info.value
    assert isinstance(err, Trap)
    assert isinstance(err.tag, Tag)
    assert err.tag.eq(exn_store, ex["e"])
    assert not err.tag.eq(exn_store, ex["other"])
    assert err.values == [42]
    with pytest.raises(WasmException) as info:
        ex["throw_other"](exn_store, -1)
    assert info.value.tag.eq(exn_store, ex["other"])
    assert info.value.values == [-1]


def test_wasm_exception_payload_types(exn_store: Store) -> None:
    from wasmtime import WasmException

    _, ex = instantiate_exn(exn_store)
    with pytest.raises(WasmException) as info:
        ex["throw_multi"](exn_store, 2**32 + 1, 2**40, 0.25)
    assert info.value.tag.eq(exn_store, ex["multi"])
    assert info.value.values == [1, 2**40, 0.25]
    payload = object()
    with pytest.raises(WasmException) as info:
        ex["throw_ref"](exn_store, payload)
    assert len(info.value.values) == 1
    assert info.value.values[0] is payload


def test_wasm_exception_class() -> None:
    import wasmtime
    from wasmtime import WasmException

    assert issubclass(WasmException, Trap)
    assert not issubclass(WasmException, WasmtimeError)
    assert wasmtime.WasmException is WasmException


def test_wasm_exception_constructor(exn_store: Store) -> None:
    from wasmtime import WasmException

    tag = Tag(exn_store, TagType(FuncType([I32(), I64()], [])))
    err = WasmException(tag, [1, 2])
    assert err.tag is tag
    assert err.values == [1, 2]
    assert isinstance(err, Trap)


# --------------------------------------------------------------------------------------------
# exceptions: Python to wasm
# --------------------------------------------------------------------------------------------


def test_host_throws_into_wasm(exn_store: Store) -> None:
    from wasmtime import WasmException

    host, ex = instantiate_exn(exn_store)

    def throw(x: int) -> None:
        raise WasmException(ex["e"], [x + 1])

    host.behaviour = throw
    assert ex["catch_h"](exn_store, 6) == 7
    assert ex["catch_all_h"](exn_store, 6) == 99
    assert host.calls == [6, 6]
    host.behaviour = None
    assert ex["catch_h"](exn_store, 6) == -1
    assert ex["catch_all_h"](exn_store, 6) == -1


def test_host_throws_multi_value_payload(exn_store: Store) -> None:
    from wasmtime import WasmException

    host, ex = instantiate_exn(exn_store)

    def throw(_: int) -> None:
        raise WasmException(ex["multi"], [-5, 2**62, 1.5])

    host.behaviour = throw
    assert ex["catch_multi_h"](exn_store) == [-5, 2**62, 1.5]


def test_host_exception_with_other_tag_is_not_caught(exn_store: Store) -> None:
    from wasmtime import WasmException

    host, ex = instantiate_exn(exn_store)

    def throw(x: int) -> None:
        raise WasmException(ex["other"], [x])

    host.behaviour = throw
    # catch $e does not match $other, so the exception leaves wasm...
    with pytest.raises(WasmException) as info:
        ex["catch_h"](exn_store, 8)
    assert info.value.tag.eq(exn_store, ex["other"])
    assert info.value.values == [8]
    # ...but catch_all does match it.
    assert ex["catch_all_h"](exn_store, 8) == 99


def test_python_error_is_not_a_wasm_exception(exn_store: Store) -> None:
    host, ex = instantiate_exn(exn_store)
    boom = RuntimeError("boom")

    def fail(_: int) -> None:
        raise boom

    host.behaviour = fail
    # catch_all catches wasm exceptions only: the Python error passes through as itself.
    with pytest.raises(RuntimeError) as info:
        ex["catch_all_h"](exn_store, 1)
    assert info.value is boom
    # A plain Trap raised by the host is not a wasm exception either.
    trap = Trap("host trap")

    def trap_out(_: int) -> None:
        raise trap

    host.behaviour = trap_out
    with pytest.raises(Trap) as tinfo:
        ex["catch_all_h"](exn_store, 1)
    assert tinfo.value is trap


def test_exception_through_python_is_caught_by_outer_wasm(exn_store: Store) -> None:
    # outer wasm -> host h -> inner wasm `throw` -> exception -> through Python -> outer catch.
    from wasmtime import WasmException

    host, ex = instantiate_exn(exn_store)
    seen: list[list[Any]] = []

    def reraise(x: int) -> None:
        try:
            ex["throw"](exn_store, x * 10)
        except WasmException as e:
            seen.append(list(e.values))
            raise

    host.behaviour = reraise
    assert ex["catch_h"](exn_store, 4) == 40
    assert seen == [[40]]


def test_exception_propagates_through_python_unhandled(exn_store: Store) -> None:
    # The host does not catch the inner exception at all: it still reaches the outer wasm.
    host, ex = instantiate_exn(exn_store)
    host.behaviour = lambda x: ex["throw"](exn_store, x + 100)
    assert ex["catch_h"](exn_store, 1) == 101


def test_host_can_swallow_inner_exception(exn_store: Store) -> None:
    from wasmtime import WasmException

    host, ex = instantiate_exn(exn_store)
    caught: list[Any] = []

    def swallow(x: int) -> None:
        try:
            ex["throw"](exn_store, x)
        except WasmException as e:
            caught.append((e.tag.eq(exn_store, ex["e"]), e.values))

    host.behaviour = swallow
    # Nothing escapes h, so the outer wasm sees no exception.
    assert ex["catch_h"](exn_store, 12) == -1
    assert caught == [(True, [12])]


def test_host_throws_imported_python_tag(exn_store: Store) -> None:
    from wasmtime import WasmException

    tag = Tag(exn_store, TagType(FuncType([I32()], [])))
    host = Host(exn_store)

    def throw(x: int) -> None:
        raise WasmException(tag, [x * 3])

    host.behaviour = throw
    ex = Instance(exn_store, Module(exn_store.engine, IMPORTED_TAG_WAT), [tag, host.func]).exports(
        exn_store
    )
    assert ex["catch_h"](exn_store, 5) == 15
    # A throw of the imported tag from wasm comes back to Python carrying the Python tag.
    with pytest.raises(WasmException) as info:
        ex["throw"](exn_store, 9)
    assert info.value.tag.eq(exn_store, tag)
    assert info.value.values == [9]


def test_host_throw_uncaught_reaches_python(exn_store: Store) -> None:
    from wasmtime import WasmException

    host, ex = instantiate_exn(exn_store)

    def throw(x: int) -> None:
        raise WasmException(ex["e"], [x])

    host.behaviour = throw
    # Called straight from Python, with no wasm around to catch it.
    with pytest.raises(WasmException) as info:
        host.func(exn_store, 31)
    assert info.value.tag.eq(exn_store, ex["e"])
    assert info.value.values == [31]
