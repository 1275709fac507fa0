"""InstancePre: pre-linked modules instantiated cheaply in many stores."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from wasmtime import (
    Caller,
    Engine,
    Func,
    FuncType,
    Instance,
    InstancePre,
    Linker,
    Module,
    Store,
    Trap,
    TrapCode,
    ValType,
    WasmtimeError,
)

I32 = ValType.i32

# "bump" adds the host's "step" result to a per-instance counter and returns the counter.
COUNTER_WAT = """
(module
  (import "host" "step" (func $step (result i32)))
  (global $n (mut i32) (i32.const 0))
  (memory (export "memory") 1)
  (func (export "bump") (result i32)
    (global.set $n (i32.add (global.get $n) (call $step)))
    global.get $n))
"""


class Sentinel:
    """A weak-referenceable object put into closures to detect leaks."""


def counter_pre(engine: Engine, step: Callable[[], int] = lambda: 1) -> InstancePre:
    linker = Linker(engine)
    linker.define_func("host", "step", FuncType([], [I32()]), step)
    return linker.instantiate_pre(Module(engine, COUNTER_WAT))


# --------------------------------------------------------------------------------------------
# Creation and instantiation
# --------------------------------------------------------------------------------------------


def test_instantiate_pre_returns_instance_pre(engine: Engine, store: Store) -> None:
    pre = counter_pre(engine)
    assert isinstance(pre, InstancePre)
    inst = pre.instantiate(store)
    assert isinstance(inst, Instance)
    bump = inst.exports(store)["bump"]
    assert isinstance(bump, Func)
    assert [bump(store), bump(store), bump(store)] == [1, 2, 3]


def test_each_instantiation_is_a_new_instance(engine: Engine, store: Store) -> None:
    pre = counter_pre(engine)
    first = pre.instantiate(store)
    second = pre.instantiate(store)
    assert first.exports(store)["bump"](store) == 1
    assert first.exports(store)["bump"](store) == 2
    # Same store, separate globals.
    assert second.exports(store)["bump"](store) == 1


def test_many_stores_have_independent_state(engine: Engine) -> None:
    calls: list[int] = []

    def step() -> int:
        calls.append(1)
        return 1

    pre = counter_pre(engine, step)
    stores = [Store(engine) for _ in range(50)]
    instances = [pre.instantiate(s) for s in stores]
    last: list[int] = []
    for i, (s, inst) in enumerate(zip(stores, instances, strict=True)):
        bump = inst.exports(s)["bump"]
        value = 0
        for _ in range(i % 4 + 1):
            value = bump(s)
        last.append(value)
    assert last == [i % 4 + 1 for i in range(50)]
    assert len(calls) == sum(i % 4 + 1 for i in range(50))
    # Earlier stores were not disturbed by later ones.
    assert instances[0].exports(stores[0])["bump"](stores[0]) == 2
    assert instances[3].exports(stores[3])["bump"](stores[3]) == 5


def test_access_caller_sees_the_instantiating_store(engine: Engine) -> None:
    def step(caller: Caller) -> int:
        return caller["memory"].read(caller, 0, 1)[0]

    linker = Linker(engine)
    linker.define_func("host", "step", FuncType([], [I32()]), step, access_caller=True)
    pre = linker.instantiate_pre(Module(engine, COUNTER_WAT))
    results = []
    for i in range(1, 4):
        s = Store(engine)
        ex = pre.instantiate(s).exports(s)
        ex["memory"].write(s, bytes([i * 10]), 0)
        results.append(ex["bump"](s))
    assert results == [10, 20, 30]


def test_module_property(engine: Engine) -> None:
    pre = counter_pre(engine)
    module = pre.module
    assert isinstance(module, Module)
    assert [(i.module, i.name) for i in module.imports] == [("host", "step")]
    assert isinstance(module.imports[0].type, FuncType)
    assert [e.name for e in module.exports] == ["memory", "bump"]


def test_module_property_of_module_without_imports(engine: Engine, store: Store) -> None:
    pre = Linker(engine).instantiate_pre(
        Module(engine, '(module (func (export "one") (result i32) i32.const 1))')
    )
    assert pre.module.imports == []
    assert [e.name for e in pre.module.exports] == ["one"]
    assert pre.instantiate(store).exports(store)["one"](store) == 1


@pytest.mark.parametrize("bad", [3, None, "(module)"])
def test_instantiate_pre_requires_module(engine: Engine, bad: Any) -> None:
    linker = Linker(engine)
    with pytest.raises(TypeError, match="^expected a `Module`$"):
        linker.instantiate_pre(bad)


def test_instantiate_pre_unresolved_import(engine: Engine) -> None:
    linker = Linker(engine)
    with pytest.raises(WasmtimeError, match="^unknown import: `host::step` has not been defined$"):
        linker.instantiate_pre(Module(engine, COUNTER_WAT))


def test_instantiate_pre_incompatible_import(engine: Engine) -> None:
    linker = Linker(engine)
    linker.define_func("host", "step", FuncType([I32()], []), lambda x: None)
    with pytest.raises(WasmtimeError, match="incompatible import type for `host::step`"):
        linker.instantiate_pre(Module(engine, COUNTER_WAT))


def test_later_linker_changes_do_not_affect_instance_pre(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_func("host", "step", FuncType([], [I32()]), lambda: 1)
    pre = linker.instantiate_pre(Module(engine, COUNTER_WAT))
    linker.allow_shadowing = True
    linker.define_func("host", "step", FuncType([], [I32()]), lambda: 100)
    assert pre.instantiate(store).exports(store)["bump"](store) == 1
    fresh = linker.instantiate(store, Module(engine, COUNTER_WAT))
    assert fresh.exports(store)["bump"](store) == 100


# --------------------------------------------------------------------------------------------
# Start function failures
# --------------------------------------------------------------------------------------------


def test_start_trap_raises_trap_every_time(engine: Engine) -> None:
    pre = Linker(engine).instantiate_pre(
        Module(engine, "(module (func $s unreachable) (start $s))")
    )
    for _ in range(2):
        store = Store(engine)
        with pytest.raises(Trap) as info:
            pre.instantiate(store)
        assert info.value.trap_code == TrapCode.UNREACHABLE
        assert "wasm `unreachable` instruction executed" in str(info.value)


def test_start_host_exception_is_reraised(engine: Engine, store: Store) -> None:
    err = RuntimeError("oh no")

    def raiser() -> None:
        raise err

    linker = Linker(engine)
    linker.define_func("h", "f", FuncType([], []), raiser)
    pre = linker.instantiate_pre(Module(engine, '(module (import "h" "f" (func $f)) (start $f))'))
    with pytest.raises(RuntimeError) as info:
        pre.instantiate(store)
    assert info.value is err


def test_reentrant_instantiate_from_start(engine: Engine, store: Store) -> None:
    depth: list[int] = []
    holder: list[InstancePre] = []

    def cb(caller: Caller) -> None:
        depth.append(len(depth))
        if len(depth) < 3:
            holder[0].instantiate(caller)

    linker = Linker(engine)
    linker.define_func("h", "cb", FuncType([], []), cb, access_caller=True)
    holder.append(
        linker.instantiate_pre(Module(engine, '(module (import "h" "cb" (func $c)) (start $c))'))
    )
    holder[0].instantiate(store)
    assert depth == [0, 1, 2]


# --------------------------------------------------------------------------------------------
# Lifetimes, closing, misuse
# --------------------------------------------------------------------------------------------


def test_outlives_linker_and_module(engine: Engine) -> None:
    linker = Linker(engine)
    linker.define_func("host", "step", FuncType([], [I32()]), lambda: 7)
    module = Module(engine, COUNTER_WAT)
    pre = linker.instantiate_pre(module)
    linker.close()
    module.close()
    del linker, module
    gc.collect()
    store = Store(engine)
    bump = pre.instantiate(store).exports(store)["bump"]
    assert [bump(store), bump(store)] == [7, 14]
    assert [e.name for e in pre.module.exports] == ["memory", "bump"]


def test_close_and_context_manager(engine: Engine, store: Store) -> None:
    with counter_pre(engine) as pre:
        assert isinstance(pre, InstancePre)
        assert pre.instantiate(store).exports(store)["bump"](store) == 1
    with pytest.raises(ValueError, match="^already closed$"):
        pre.instantiate(store)
    pre.close()  # idempotent
    with pytest.raises(ValueError, match="^already closed$"):
        pre.module  # noqa: B018


def test_closed_store(engine: Engine) -> None:
    pre = counter_pre(engine)
    store = Store(engine)
    store.close()
    with pytest.raises(ValueError, match="^already closed$"):
        pre.instantiate(store)


def test_store_of_other_engine(engine: Engine) -> None:
    pre = counter_pre(engine)
    with pytest.raises(WasmtimeError):
        pre.instantiate(Store(Engine()))
    # Unharmed for its own engine.
    store = Store(engine)
    assert pre.instantiate(store).exports(store)["bump"](store) == 1


def test_module_of_other_engine(engine: Engine) -> None:
    linker = Linker(engine)
    with pytest.raises(WasmtimeError):
        linker.instantiate_pre(Module(Engine(), "(module)"))


def test_store_bound_definition_used_from_another_store(engine: Engine) -> None:
    store = Store(engine)
    linker = Linker(engine)
    linker.define(store, "host", "step", Func(store, FuncType([], [I32()]), lambda: 2))
    pre = linker.instantiate_pre(Module(engine, COUNTER_WAT))
    assert pre.instantiate(store).exports(store)["bump"](store) == 2
    other = Store(engine)
    with pytest.raises(WasmtimeError):
        pre.instantiate(other)


def test_keeps_callable_until_dropped() -> None:
    engine = Engine()
    sentinel = Sentinel()
    ref = weakref.ref(sentinel)

    def make_step(keep: object) -> Callable[[], int]:
        return lambda: 3 if keep is not None else 0

    pre = counter_pre(engine, make_step(sentinel))
    del sentinel
    gc.collect()
    assert ref() is not None
    store = Store(engine)
    assert pre.instantiate(store).exports(store)["bump"](store) == 3
    del pre, store
    gc.collect()
    assert ref() is None


def test_cycle_through_callable_is_collected() -> None:
    def make() -> weakref.ref[Sentinel]:
        engine = Engine()
        sentinel = Sentinel()
        holder: list[InstancePre] = []

        def step() -> int:
            # instance-pre -> step -> closure -> holder -> instance-pre
            assert holder and sentinel is not None
            return 1

        holder.append(counter_pre(engine, step))
        store = Store(engine)
        assert holder[0].instantiate(store).exports(store)["bump"](store) == 1
        return weakref.ref(sentinel)

    ref = make()
    gc.collect()
    assert ref() is None
