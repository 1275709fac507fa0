"""Component `Instance` and `Func` (spec §3.3): lookups, calls, traps, host exceptions, and
host functions that use the store while the component runs."""

from __future__ import annotations

from typing import Any

import pytest

from wasmtime import Engine, Store, StoreContext, Trap, WasmtimeError
from wasmtime.component import U32, Component, ExportIndex, Func, FuncType, Linker

CALLS = """
    (component
        (core module $m
            (func (export "nothing"))
            (func (export "check") (param i32)
                (if (i32.ne (local.get 0) (i32.const 100)) (then unreachable)))
            (func (export "answer") (result i32) (i32.const 101))
            (func (export "add") (param i32 i32) (result i32)
                (i32.add (local.get 0) (local.get 1)))
            (func (export "trap") unreachable)
        )
        (core instance $i (instantiate $m))
        (func (export "nothing") (canon lift (core func $i "nothing")))
        (func (export "check") (param "x" u32) (canon lift (core func $i "check")))
        (func (export "answer") (result u32) (canon lift (core func $i "answer")))
        (func (export "add") (param "a" u32) (param "b" u32) (result u32)
            (canon lift (core func $i "add")))
        (func (export "trap") (canon lift (core func $i "trap")))
        (core module $other)
        (export "module" (core module $other))
    )
"""

# Imports `f: func(x: u32) -> u32` and exports `run: func(x: u32) -> u32`, which calls it.
CALLS_IMPORT = """
    (component
        (import "f" (func $f (param "x" u32) (result u32)))
        (core func $f_lowered (canon lower (func $f)))
        (core module $m
            (import "" "f" (func $f (param i32) (result i32)))
            (func (export "run") (param i32) (result i32) (call $f (local.get 0))))
        (core instance $i (instantiate $m (with "" (instance (export "f" (func $f_lowered))))))
        (func (export "run") (param "x" u32) (result u32) (canon lift (core func $i "run")))
    )
"""


@pytest.fixture
def calls(engine: Engine, store: Store) -> Any:
    return Linker(engine).instantiate(store, Component(engine, CALLS))


def instantiate_with_host(engine: Engine, store: Store, host: Any) -> Any:
    """`CALLS_IMPORT` with `host` as `f`; returns its `run` function."""
    linker = Linker(engine)
    with linker.root() as root:
        root.add_func("f", host)
    instance = linker.instantiate(store, Component(engine, CALLS_IMPORT))
    run = instance.get_func(store, "run")
    assert run is not None
    return run


def test_func_cannot_be_constructed() -> None:
    with pytest.raises(WasmtimeError):
        Func()


def test_get_func_by_name_and_index(store: Store, calls: Any) -> None:
    by_name = calls.get_func(store, "answer")
    assert isinstance(by_name, Func)
    index = calls.get_export_index(store, "answer")
    assert isinstance(index, ExportIndex)
    by_index = calls.get_func(store, index)
    assert isinstance(by_index, Func)
    assert by_index(store) == 101


def test_get_func_missing_or_not_a_function(store: Store, calls: Any) -> None:
    assert calls.get_func(store, "missing") is None
    assert calls.get_export_index(store, "missing") is None
    module_index = calls.get_export_index(store, "module")
    assert module_index is not None
    assert calls.get_func(store, module_index) is None
    assert calls.get_func(store, "module") is None


def test_export_index_from_component(engine: Engine, store: Store) -> None:
    component = Component(
        engine,
        """(component
            (core module $m (func (export "f") (result i32) (i32.const 7)))
            (core instance $i (instantiate $m))
            (func $f (result u32) (canon lift (core func $i "f")))
            (instance $inner (export "g" (func $f)))
            (export "inner" (instance $inner))
            (export "top" (func $f)))""",
    )
    instance = Linker(engine).instantiate(store, component)
    top = component.get_export_index("top")
    assert instance.get_func(store, top)(store) == 7
    inner_from_component = component.get_export_index("inner")
    inner_from_instance = instance.get_export_index(store, "inner")
    for inner in (inner_from_component, inner_from_instance):
        g = instance.get_export_index(store, "g", instance=inner)
        assert g is not None
        assert instance.get_func(store, g)(store) == 7
        # An instance is not a function.
        assert instance.get_func(store, inner) is None
    assert instance.get_export_index(store, "g") is None


def test_func_type(store: Store, calls: Any) -> None:
    nothing = calls.get_func(store, "nothing").type(store)
    assert isinstance(nothing, FuncType)
    assert nothing.params == []
    assert nothing.result is None
    add = calls.get_func(store, "add").type(store)
    assert add.params == [("a", U32()), ("b", U32())]
    assert add.result == U32()


def test_call(store: Store, calls: Any) -> None:
    assert calls.get_func(store, "nothing")(store) is None
    assert calls.get_func(store, "check")(store, 100) is None
    assert calls.get_func(store, "answer")(store) == 101
    assert calls.get_func(store, "add")(store, 2, 3) == 5


def test_post_return_is_harmless(store: Store, calls: Any) -> None:
    answer = calls.get_func(store, "answer")
    assert answer(store) == 101
    answer.post_return(store)
    answer.post_return(store)
    assert answer(store) == 101
    assert answer(store) == 101


def test_wrong_argument_count_raises_type_error(store: Store, calls: Any) -> None:
    check = calls.get_func(store, "check")
    with pytest.raises(TypeError):
        check(store)
    with pytest.raises(TypeError):
        check(store, 100, 100)
    with pytest.raises(TypeError):
        calls.get_func(store, "nothing")(store, 1)
    # The instance is still usable: nothing was entered.
    assert check(store, 100) is None


def test_trap_raises_wasmtime_error(store: Store, calls: Any) -> None:
    with pytest.raises(WasmtimeError) as info:
        calls.get_func(store, "trap")(store)
    assert not isinstance(info.value, Trap)
    assert "unreachable" in str(info.value)


def test_trap_poisons_the_instance(store: Store, calls: Any) -> None:
    with pytest.raises(WasmtimeError):
        calls.get_func(store, "check")(store, 1)
    with pytest.raises(WasmtimeError):
        calls.get_func(store, "answer")(store)


def test_func_of_another_store_raises(engine: Engine, calls: Any, store: Store) -> None:
    answer = calls.get_func(store, "answer")
    with pytest.raises((WasmtimeError, ValueError)):
        answer(Store(engine))


def test_closed_store_raises_value_error(engine: Engine) -> None:
    store = Store(engine)
    instance = Linker(engine).instantiate(store, Component(engine, CALLS))
    answer = instance.get_func(store, "answer")
    store.close()
    with pytest.raises(ValueError):
        answer(store)


# --- host functions ---------------------------------------------------------------------------


def test_host_function_gets_a_store_context(engine: Engine, store: Store) -> None:
    contexts: list[Any] = []

    def host(ctx: Any, x: int) -> int:
        contexts.append(ctx)
        return x * 2

    run = instantiate_with_host(engine, store, host)
    assert run(store, 21) == 42
    assert isinstance(contexts[0], StoreContext)


def test_host_exception_propagates_as_the_same_object(engine: Engine, store: Store) -> None:
    error = RuntimeError("oh no")

    def host(ctx: Any, x: int) -> int:
        raise error

    run = instantiate_with_host(engine, store, host)
    with pytest.raises(RuntimeError) as info:
        run(store, 1)
    assert info.value is error


def test_host_wasmtime_error_becomes_a_wasmtime_error(engine: Engine, store: Store) -> None:
    def host(ctx: Any, x: int) -> int:
        raise WasmtimeError("host says no")

    run = instantiate_with_host(engine, store, host)
    with pytest.raises(WasmtimeError, match="host says no"):
        run(store, 1)


def test_host_result_of_wrong_type(engine: Engine, store: Store) -> None:
    run = instantiate_with_host(engine, store, lambda ctx, x: "not an int")
    with pytest.raises(TypeError):
        run(store, 1)


def test_host_returning_nothing_for_a_result(engine: Engine, store: Store) -> None:
    run = instantiate_with_host(engine, store, lambda ctx, x: None)
    with pytest.raises((TypeError, WasmtimeError)):
        run(store, 1)


def test_host_function_reads_store_data(engine: Engine) -> None:
    store = Store(engine, data={"factor": 3})
    run = instantiate_with_host(engine, store, lambda ctx, x: x * store.data()["factor"])
    assert run(store, 5) == 15


def test_host_function_calls_another_instance_through_the_outer_store(
    engine: Engine, store: Store
) -> None:
    other = Linker(engine).instantiate(store, Component(engine, CALLS))
    add = other.get_func(store, "add")

    def host(ctx: Any, x: int) -> int:
        return int(add(store, x, 1000))

    run = instantiate_with_host(engine, store, host)
    assert run(store, 5) == 1005
    assert run(store, 6) == 1006


def test_host_function_calls_another_instance_through_its_context(
    engine: Engine, store: Store
) -> None:
    other = Linker(engine).instantiate(store, Component(engine, CALLS))
    add = other.get_func(store, "add")

    def host(ctx: Any, x: int) -> int:
        assert add.type(ctx).result == U32()
        return int(add(ctx, x, 2000))

    run = instantiate_with_host(engine, store, host)
    assert run(store, 5) == 2005


def test_host_function_nested_calls(engine: Engine, store: Store) -> None:
    # run -> host -> run2 (another instance of the same component) -> host2.
    inner = instantiate_with_host(engine, store, lambda ctx, x: x + 1)
    outer = instantiate_with_host(engine, store, lambda ctx, x: inner(store, x) * 10)
    assert outer(store, 1) == 20


def test_store_context_is_invalid_after_the_callback(engine: Engine, store: Store) -> None:
    other = Linker(engine).instantiate(store, Component(engine, CALLS))
    add = other.get_func(store, "add")
    kept: list[Any] = []

    def host(ctx: Any, x: int) -> int:
        kept.append(ctx)
        return x

    run = instantiate_with_host(engine, store, host)
    run(store, 1)
    with pytest.raises(ValueError):
        add(kept[0], 1, 2)


def test_reentering_the_same_instance_fails(engine: Engine, store: Store) -> None:
    funcs: list[Any] = []

    def host(ctx: Any, x: int) -> int:
        if x == 0:
            return 0
        return int(funcs[0](store, x - 1))

    run = instantiate_with_host(engine, store, host)
    funcs.append(run)
    with pytest.raises(WasmtimeError):
        run(store, 1)
