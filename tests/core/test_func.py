"""Func and Caller: host functions, calls, result conventions, exceptions, re-entrancy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from wasmtime import (
    Caller,
    Engine,
    Func,
    FuncType,
    Instance,
    Memory,
    Module,
    Store,
    Trap,
    TrapCode,
    Val,
    ValType,
    WasmtimeError,
)

I32 = ValType.i32
I64 = ValType.i64
F32 = ValType.f32
F64 = ValType.f64


# --------------------------------------------------------------------------------------------
# Construction and type
# --------------------------------------------------------------------------------------------


def test_host_func_type(store: Store) -> None:
    f = Func(store, FuncType([I32(), F64()], [I64()]), lambda a, b: 0)
    ty = f.type(store)
    assert isinstance(ty, FuncType)
    assert ty.params == [I32(), F64()]
    assert ty.results == [I64()]


def test_wasm_func_type(exports: Callable[..., Any], store: Store) -> None:
    ex = exports(
        '(module (func (export "f") (param f32 externref) (result funcref i32) ref.null func i32.const 0))'
    )
    ty = ex["f"].type(store)
    assert ty.params == [F32(), ValType.externref()]
    assert ty.results == [ValType.funcref(), I32()]


@pytest.mark.parametrize("bad", [None, 1, "store", Engine()])
def test_func_requires_store(bad: Any) -> None:
    with pytest.raises(TypeError, match="^expected a Store$"):
        Func(bad, FuncType([], []), lambda: None)


@pytest.mark.parametrize("bad", [None, [], ValType.i32()])
def test_func_requires_functype(store: Store, bad: Any) -> None:
    with pytest.raises(TypeError, match="^expected a FuncType$"):
        Func(store, bad, lambda: None)


def test_func_rejects_caller_as_store(store: Store) -> None:
    errors: list[BaseException] = []

    def cb(caller: Caller) -> None:
        try:
            Func(caller, FuncType([], []), lambda: None)  # type: ignore[arg-type]
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    Func(store, FuncType([], []), cb, access_caller=True)(store)
    assert len(errors) == 1
    assert isinstance(errors[0], TypeError)
    assert str(errors[0]) == "expected a Store"


# --------------------------------------------------------------------------------------------
# Calls: arity, results
# --------------------------------------------------------------------------------------------


def test_call_too_many_parameters(store: Store) -> None:
    f = Func(store, FuncType([], []), lambda: None)
    with pytest.raises(WasmtimeError) as exc:
        f(store, 1)
    assert str(exc.value) == "too many parameters provided: given 1, expected 0"
    g = Func(store, FuncType([I32()], []), lambda x: None)
    with pytest.raises(WasmtimeError) as exc:
        g(store, 1, 2, 3)
    assert str(exc.value) == "too many parameters provided: given 3, expected 1"


def test_call_too_few_parameters(store: Store) -> None:
    f = Func(store, FuncType([I32(), I64()], []), lambda a, b: None)
    with pytest.raises(WasmtimeError) as exc:
        f(store)
    assert str(exc.value) == "too few parameters provided: given 0, expected 2"
    with pytest.raises(WasmtimeError) as exc:
        f(store, 1)
    assert str(exc.value) == "too few parameters provided: given 1, expected 2"


def test_result_conventions_wasm(exports: Callable[..., Any], store: Store) -> None:
    ex = exports(
        """
        (module
          (func (export "none"))
          (func (export "one") (result i64) i64.const -5)
          (func (export "two") (result i32 f64) i32.const 1 f64.const 2.5)
          (func (export "three") (result i32 i32 i32) i32.const 1 i32.const 2 i32.const 3))
        """
    )
    assert ex["none"](store) is None
    assert ex["one"](store) == -5
    two = ex["two"](store)
    assert isinstance(two, list)
    assert two == [1, 2.5]
    assert ex["three"](store) == [1, 2, 3]


def test_result_conventions_host(store: Store) -> None:
    assert Func(store, FuncType([], []), lambda: None)(store) is None
    assert Func(store, FuncType([], [I32()]), lambda: 4)(store) == 4
    assert Func(store, FuncType([], [I32(), I64()]), lambda: [5, 6])(store) == [5, 6]
    assert Func(store, FuncType([], [I32(), I64()]), lambda: (7, 8))(store) == [7, 8]
    assert Func(store, FuncType([], [I32()]), lambda: Val.i32(3))(store) == 3
    assert Func(store, FuncType([], [I64(), F32()]), lambda: [Val.i64(1), 0.5])(store) == [1, 0.5]


def test_wasm_calls_host_with_native_values(
    store: Store, instantiate: Callable[..., Instance]
) -> None:
    seen: list[tuple[Any, ...]] = []
    marker = object()

    def host(a: int, b: int, c: float, d: float, e: Any) -> int:
        seen.append((a, b, c, d, e))
        return a + b

    f = Func(store, FuncType([I32(), I64(), F32(), F64(), ValType.externref()], [I64()]), host)
    inst = instantiate(
        """
        (module
          (import "" "h" (func $h (param i32 i64 f32 f64 externref) (result i64)))
          (func (export "run") (param externref) (result i64)
            (call $h (i32.const -1) (i64.const 4294967296) (f32.const 0.5) (f64.const 0.25) (local.get 0))))
        """,
        [f],
    )
    assert inst.exports(store)["run"](store, marker) == 4294967295
    assert len(seen) == 1
    a, b, c, d, e = seen[0]
    assert (a, b, c, d) == (-1, 4294967296, 0.5, 0.25)
    assert type(a) is int and type(c) is float
    assert e is marker


def test_host_result_flows_into_wasm(store: Store, instantiate: Callable[..., Instance]) -> None:
    f = Func(store, FuncType([], [I32(), I32()]), lambda: (20, 22))
    inst = instantiate(
        """
        (module
          (import "" "pair" (func $pair (result i32 i32)))
          (func (export "sum") (result i32) call $pair i32.add))
        """,
        [f],
    )
    assert inst.exports(store)["sum"](store) == 42


# --------------------------------------------------------------------------------------------
# Callback result errors
# --------------------------------------------------------------------------------------------


def test_callback_results_when_none_expected(store: Store) -> None:
    f = Func(store, FuncType([], []), lambda: 1)
    with pytest.raises(WasmtimeError) as exc:
        f(store)
    assert str(exc.value) == "callback produced results when it shouldn't"


def test_callback_wrong_number_of_results(store: Store) -> None:
    f = Func(store, FuncType([], [I32(), I32()]), lambda: [1])
    with pytest.raises(WasmtimeError) as exc:
        f(store)
    assert str(exc.value) == "callback produced wrong number of results"
    g = Func(store, FuncType([], [I32(), I32()]), lambda: [1, 2, 3])
    with pytest.raises(WasmtimeError, match="^callback produced wrong number of results$"):
        g(store)


def test_callback_unsized_result_for_multi_value(store: Store) -> None:
    f = Func(store, FuncType([], [I32(), I32()]), lambda: 5)
    with pytest.raises(TypeError):
        f(store)


def test_callback_wrong_result_type(store: Store) -> None:
    f = Func(store, FuncType([], [I32()]), lambda: "nope")
    with pytest.raises(TypeError):
        f(store)
    g = Func(store, FuncType([], [F64()]), lambda: 1)
    with pytest.raises(TypeError):
        g(store)


def test_callback_result_error_through_wasm(
    store: Store, instantiate: Callable[..., Instance]
) -> None:
    f = Func(store, FuncType([], []), lambda: 3)
    inst = instantiate('(module (import "" "f" (func $f)) (func (export "run") call $f))', [f])
    with pytest.raises(WasmtimeError, match="callback produced results when it shouldn't"):
        inst.exports(store)["run"](store)


# --------------------------------------------------------------------------------------------
# Host exceptions
# --------------------------------------------------------------------------------------------


class Boom(Exception):
    pass


def raiser(exc: BaseException) -> Callable[..., Any]:
    def cb(*args: Any) -> Any:
        raise exc

    return cb


CALLS_IMPORT = """
(module
  (import "" "f" (func $f))
  (func (export "run") call $f))
"""


@pytest.mark.parametrize(
    "exc",
    [
        Boom("boom"),
        ValueError("v"),
        KeyboardInterrupt(),
        SystemExit(3),
        Trap("host trap"),
        WasmtimeError("host error"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_host_exception_same_object(
    store: Store, instantiate: Callable[..., Instance], exc: BaseException
) -> None:
    f = Func(store, FuncType([], []), raiser(exc))
    with pytest.raises(type(exc)) as direct:
        f(store)
    assert direct.value is exc
    run = instantiate(CALLS_IMPORT, [f]).exports(store)["run"]
    with pytest.raises(type(exc)) as via_wasm:
        run(store)
    assert via_wasm.value is exc


def test_host_exception_in_start_function(store: Store) -> None:
    exc = Boom("from start")
    f = Func(store, FuncType([], []), raiser(exc))
    module = Module(store.engine, '(module (import "" "f" (func $f)) (start $f))')
    with pytest.raises(Boom) as info:
        Instance(store, module, [f])
    assert info.value is exc


def test_store_usable_after_host_exception(
    store: Store, instantiate: Callable[..., Instance]
) -> None:
    state = {"fail": True}

    def cb() -> None:
        if state["fail"]:
            raise Boom("once")

    f = Func(store, FuncType([], []), cb)
    run = instantiate(CALLS_IMPORT, [f]).exports(store)["run"]
    with pytest.raises(Boom):
        run(store)
    state["fail"] = False
    assert run(store) is None
    assert run(store) is None


def test_trap_in_wasm_is_trap(exports: Callable[..., Any], store: Store) -> None:
    ex = exports('(module (func (export "f") (result i32) i32.const 1 i32.const 0 i32.div_u))')
    with pytest.raises(Trap) as info:
        ex["f"](store)
    assert info.value.trap_code == TrapCode.INTEGER_DIVISION_BY_ZERO
    assert not isinstance(info.value, WasmtimeError)


# --------------------------------------------------------------------------------------------
# Caller
# --------------------------------------------------------------------------------------------

CALLER_WAT = """
(module
  (import "" "host" (func $host (param i32) (result i32)))
  (memory (export "memory") 1)
  (global (export "counter") (mut i32) (i32.const 0))
  (func (export "double") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "run") (param i32) (result i32) local.get 0 call $host))
"""


def test_caller_get_and_getitem(store: Store, instantiate: Callable[..., Instance]) -> None:
    results: dict[str, Any] = {}

    def host(caller: Caller, x: int) -> int:
        assert isinstance(caller, Caller)
        mem = caller["memory"]
        assert isinstance(mem, Memory)
        assert caller.get("memory") is not None
        results["missing"] = caller.get("missing")
        with pytest.raises(KeyError) as info:
            caller["missing"]
        results["keyerror"] = info.value.args[0]
        double = caller["double"]
        assert isinstance(double, Func)
        mem.write(caller, b"\x09", 100)
        results["ptr"] = mem.data_ptr(caller)[100]
        results["len"] = mem.data_len(caller)
        results["counter"] = caller["counter"].value(caller)
        return double(caller, x) + caller["load"](caller, 100)

    f = Func(store, FuncType([I32()], [I32()]), host, access_caller=True)
    inst = instantiate(CALLER_WAT, [f])
    assert inst.exports(store)["run"](store, 10) == 29
    assert results == {
        "missing": None,
        "keyerror": "failed to find export missing",
        "counter": 0,
        "ptr": 9,
        "len": 65536,
    }
    assert inst.exports(store)["memory"].read(store, 100, 101) == bytearray(b"\x09")


def test_caller_invalid_after_callback(store: Store, instantiate: Callable[..., Instance]) -> None:
    saved: list[Caller] = []
    saved_mem: list[Memory] = []

    def host(caller: Caller, x: int) -> int:
        saved.append(caller)
        saved_mem.append(caller["memory"])
        return x

    f = Func(store, FuncType([I32()], [I32()]), host, access_caller=True)
    inst = instantiate(CALLER_WAT, [f])
    assert inst.exports(store)["run"](store, 3) == 3
    caller = saved[0]
    assert caller.get("memory") is None
    assert caller.get("double") is None
    with pytest.raises(ValueError, match="caller is no longer valid"):
        saved_mem[0].size(caller)
    with pytest.raises(ValueError, match="caller is no longer valid"):
        inst.exports(store)["double"](caller, 1)
    with pytest.raises((KeyError, ValueError)):
        caller["memory"]


def test_caller_invalid_after_callback_raised(
    store: Store, instantiate: Callable[..., Instance]
) -> None:
    saved: list[Caller] = []

    def host(caller: Caller, x: int) -> int:
        saved.append(caller)
        raise Boom("after save")

    f = Func(store, FuncType([I32()], [I32()]), host, access_caller=True)
    inst = instantiate(CALLER_WAT, [f])
    with pytest.raises(Boom):
        inst.exports(store)["run"](store, 3)
    assert saved[0].get("memory") is None
    with pytest.raises(ValueError, match="caller is no longer valid"):
        inst.exports(store)["memory"].data_len(saved[0])


# --------------------------------------------------------------------------------------------
# Re-entrancy
# --------------------------------------------------------------------------------------------

RECURSE_WAT = """
(module
  (import "" "host" (func $host (param i32) (result i32)))
  (func (export "down") (param i32) (result i32)
    local.get 0
    i32.eqz
    if (result i32)
      i32.const 0
    else
      local.get 0
      call $host
    end))
"""


def test_reentrant_via_caller(store: Store, instantiate: Callable[..., Instance]) -> None:
    depth: list[int] = []

    def host(caller: Caller, n: int) -> int:
        depth.append(n)
        return caller["down"](caller, n - 1) + 10

    f = Func(store, FuncType([I32()], [I32()]), host, access_caller=True)
    inst = instantiate(RECURSE_WAT, [f])
    assert inst.exports(store)["down"](store, 5) == 50
    assert depth == [5, 4, 3, 2, 1]


def test_reentrant_via_outer_store(store: Store, instantiate: Callable[..., Instance]) -> None:
    cell: list[Instance] = []

    def host(n: int) -> int:
        down = cell[0].exports(store)["down"]
        return down(store, n - 1) + 1

    f = Func(store, FuncType([I32()], [I32()]), host)
    inst = instantiate(RECURSE_WAT, [f])
    cell.append(inst)
    assert inst.exports(store)["down"](store, 7) == 7


def test_outer_store_objects_usable_in_callback(
    store: Store, instantiate: Callable[..., Instance]
) -> None:
    cell: list[Instance] = []

    def host(caller: Caller, x: int) -> int:
        ex = cell[0].exports(store)
        ex["memory"].write(store, b"\x05", 7)
        ex["counter"].set_value(store, 99)
        return ex["load"](caller, 7) + ex["double"](store, x)

    f = Func(store, FuncType([I32()], [I32()]), host, access_caller=True)
    inst = instantiate(CALLER_WAT, [f])
    cell.append(inst)
    assert inst.exports(store)["run"](store, 4) == 13
    assert inst.exports(store)["counter"].value(store) == 99


NESTED_WAT = """
(module
  (import "" "outer" (func $outer (result i32)))
  (import "" "inner" (func $inner))
  (func (export "start") (result i32) call $outer)
  (func (export "nested") call $inner))
"""


@pytest.mark.parametrize("via", ["caller", "store"])
def test_host_catches_exception_of_nested_call(
    store: Store, instantiate: Callable[..., Instance], via: str
) -> None:
    exc = Boom("inner")
    caught: list[BaseException] = []
    cell: list[Instance] = []

    def outer(caller: Caller) -> int:
        ctx: Any = caller if via == "caller" else store
        try:
            cell[0].exports(store)["nested"](ctx)
        except Boom as e:
            caught.append(e)
            return 7
        return 0

    inner = Func(store, FuncType([], []), raiser(exc))
    outer_f = Func(store, FuncType([], [I32()]), outer, access_caller=True)
    inst = instantiate(NESTED_WAT, [outer_f, inner])
    cell.append(inst)
    assert inst.exports(store)["start"](store) == 7
    assert len(caught) == 1
    assert caught[0] is exc
    # Nothing stale is left behind: a later call succeeds and a direct failure is fresh.
    assert inst.exports(store)["start"](store) == 7
    with pytest.raises(Boom) as info:
        inst.exports(store)["nested"](store)
    assert info.value is exc


def test_nested_exception_propagates_to_outermost(
    store: Store, instantiate: Callable[..., Instance]
) -> None:
    exc = KeyboardInterrupt()
    cell: list[Instance] = []

    def outer(caller: Caller) -> int:
        cell[0].exports(store)["nested"](caller)
        return 1

    inner = Func(store, FuncType([], []), raiser(exc))
    outer_f = Func(store, FuncType([], [I32()]), outer, access_caller=True)
    inst = instantiate(NESTED_WAT, [outer_f, inner])
    cell.append(inst)
    with pytest.raises(KeyboardInterrupt) as info:
        inst.exports(store)["start"](store)
    assert info.value is exc


def test_host_catches_nested_trap(store: Store, instantiate: Callable[..., Instance]) -> None:
    codes: list[Any] = []

    def host(caller: Caller) -> int:
        try:
            caller["boom"](caller)
        except Trap as t:
            codes.append(t.trap_code)
            return 5
        return 0

    f = Func(store, FuncType([], [I32()]), host, access_caller=True)
    inst = instantiate(
        """
        (module
          (import "" "h" (func $h (result i32)))
          (func (export "boom") unreachable)
          (func (export "run") (result i32) call $h))
        """,
        [f],
    )
    assert inst.exports(store)["run"](store) == 5
    assert codes == [TrapCode.UNREACHABLE]


# --------------------------------------------------------------------------------------------
# Store misuse
# --------------------------------------------------------------------------------------------


def test_func_wrong_store(store: Store, exports: Callable[..., Any]) -> None:
    other = Store(store.engine)
    host = Func(store, FuncType([], [I32()]), lambda: 1)
    wasm = exports('(module (func (export "f") (result i32) i32.const 2))')["f"]
    for f in (host, wasm):
        with pytest.raises(WasmtimeError, match="wrong store"):
            f(other)
        with pytest.raises(WasmtimeError, match="wrong store"):
            f.type(other)
    assert host(store) == 1
    assert wasm(store) == 2


def test_func_wrong_store_as_import(store: Store) -> None:
    other = Store(store.engine)
    host = Func(store, FuncType([], []), lambda: None)
    module = Module(store.engine, CALLS_IMPORT)
    with pytest.raises(WasmtimeError):
        Instance(other, module, [host])


def test_func_after_store_closed(store: Store) -> None:
    f = Func(store, FuncType([], []), lambda: None)
    store.close()
    with pytest.raises(ValueError, match="already closed"):
        f(store)
