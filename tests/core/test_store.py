"""Store: engine attribute, data, gc, fuel, epoch deadline, limits, close."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from wasmtime import (
    Config,
    Engine,
    Func,
    FuncType,
    Instance,
    Limits,
    Memory,
    MemoryType,
    Module,
    Store,
    ValType,
    WasmtimeError,
)


def fuel_engine() -> Engine:
    config = Config()
    config.consume_fuel = True
    return Engine(config)


def test_store_engine_attribute_is_same_object() -> None:
    engine = Engine()
    store = Store(engine)
    assert store.engine is engine


def test_store_default_engine() -> None:
    store = Store()
    assert isinstance(store.engine, Engine)
    module = Module(store.engine, '(module (func (export "f") (result i32) i32.const 9))')
    assert Instance(store, module, []).exports(store)["f"](store) == 9


@pytest.mark.parametrize("bad", [1, "engine", Config()])
def test_store_rejects_non_engine(bad: object) -> None:
    with pytest.raises(TypeError, match="^expected an Engine$"):
        Store(bad)  # type: ignore[arg-type]


def test_data_identity() -> None:
    data = {"key": [1, 2, 3]}
    store = Store(Engine(), data)
    assert store.data() is data
    store2 = Store(data=data)
    assert store2.data() is data


def test_data_default_none() -> None:
    assert Store().data() is None


@pytest.mark.parametrize("falsy", [0, "", [], False, 0.0])
def test_falsy_data_is_not_stored(falsy: Any) -> None:
    store = Store(Engine(), falsy)
    assert store.data() is None


def test_gc_returns_none(store: Store) -> None:
    assert store.gc() is None


def test_gc_releases_externref(store: Store) -> None:
    class Payload:
        pass

    f = Func(store, FuncType([ValType.externref()], [ValType.externref()]), lambda x: x)
    obj = Payload()
    ref = weakref.ref(obj)
    assert f(store, obj) is obj
    del obj
    store.gc()
    gc.collect()
    assert ref() is None


def test_store_close_releases_data() -> None:
    class Payload:
        pass

    obj = Payload()
    ref = weakref.ref(obj)
    store = Store(Engine(), obj)
    del obj
    assert ref() is not None
    store.close()
    gc.collect()
    assert ref() is None


def test_reference_cycle_through_host_function_is_collected() -> None:
    class Payload:
        pass

    def make() -> weakref.ref[Any]:
        store = Store(Engine(), Payload())
        # The closure references the store, which owns the function: a cycle.
        Func(store, FuncType([], []), lambda: store.gc())
        return weakref.ref(store.data())

    ref = make()
    gc.collect()
    assert ref() is None


def test_fuel_not_configured() -> None:
    store = Store(Engine())
    with pytest.raises(WasmtimeError) as exc:
        store.set_fuel(10)
    assert str(exc.value) == "fuel is not configured in this store"
    with pytest.raises(WasmtimeError) as exc:
        store.get_fuel()
    assert str(exc.value) == "fuel is not configured in this store"


def test_fuel_set_and_get() -> None:
    store = Store(fuel_engine())
    assert store.get_fuel() == 0
    store.set_fuel(12345)
    assert store.get_fuel() == 12345
    store.set_fuel(0)
    assert store.get_fuel() == 0
    store.set_fuel(2**40)
    assert store.get_fuel() == 2**40


def test_fuel_is_consumed() -> None:
    engine = fuel_engine()
    store = Store(engine)
    module = Module(
        engine,
        """
        (module (func (export "count") (param i32) (result i32)
          (local i32)
          (loop
            (local.set 1 (i32.add (local.get 1) (i32.const 1)))
            (br_if 0 (i32.lt_u (local.get 1) (local.get 0))))
          local.get 1))
        """,
    )
    count = Instance(store, module, []).exports(store)["count"]
    store.set_fuel(100_000)
    assert count(store, 100) == 100
    used = 100_000 - store.get_fuel()
    assert used > 100
    store.set_fuel(100_000)
    count(store, 1000)
    assert 100_000 - store.get_fuel() > used


def test_set_epoch_deadline() -> None:
    config = Config()
    config.epoch_interruption = True
    engine = Engine(config)
    store = Store(engine)
    module = Module(engine, '(module (func (export "f") (result i32) (loop) i32.const 5))')
    f = Instance(store, module, []).exports(store)["f"]
    store.set_epoch_deadline(2)
    engine.increment_epoch()
    assert f(store) == 5
    assert store.set_epoch_deadline(1) is None


def test_set_limits_memory_size_at_instantiation(store: Store) -> None:
    store.set_limits(memory_size=65536)
    module = Module(store.engine, "(module (memory 2))")
    with pytest.raises(WasmtimeError):
        Instance(store, module, [])
    Instance(store, Module(store.engine, "(module (memory 1))"), [])


def test_set_limits_memory_size_host_memory(store: Store) -> None:
    store.set_limits(memory_size=2 * 65536)
    Memory(store, MemoryType(Limits(2, None)))
    with pytest.raises(WasmtimeError):
        Memory(store, MemoryType(Limits(3, None)))


def test_set_limits_table_elements(store: Store) -> None:
    store.set_limits(table_elements=5)
    with pytest.raises(WasmtimeError):
        Instance(store, Module(store.engine, "(module (table 10 funcref))"), [])
    Instance(store, Module(store.engine, "(module (table 5 funcref))"), [])


def test_set_limits_instances(store: Store) -> None:
    store.set_limits(instances=2)
    module = Module(store.engine, "(module)")
    Instance(store, module, [])
    Instance(store, module, [])
    with pytest.raises(WasmtimeError) as exc:
        Instance(store, module, [])
    assert "instance" in str(exc.value)


def test_set_limits_tables(store: Store) -> None:
    store.set_limits(tables=1)
    with pytest.raises(WasmtimeError):
        Instance(store, Module(store.engine, "(module (table 1 funcref) (table 1 funcref))"), [])
    Instance(store, Module(store.engine, "(module (table 1 funcref))"), [])


def test_set_limits_memories(store: Store) -> None:
    store.set_limits(memories=0)
    with pytest.raises(WasmtimeError):
        Instance(store, Module(store.engine, "(module (memory 1))"), [])
    Instance(store, Module(store.engine, "(module)"), [])


def test_set_limits_each_call_resets_omitted_limits(store: Store) -> None:
    module = Module(store.engine, "(module (memory 2))")
    store.set_limits(memory_size=65536)
    with pytest.raises(WasmtimeError):
        Instance(store, module, [])
    store.set_limits(instances=100)
    Instance(store, module, [])


def test_set_limits_negative_means_unlimited(store: Store) -> None:
    store.set_limits(-1, -1, -1, -1, -1)
    Instance(store, Module(store.engine, "(module (memory 10) (table 100 funcref))"), [])


def test_store_close_idempotent_and_use_after_close() -> None:
    store = Store()
    store.close()
    store.close()
    with pytest.raises(ValueError, match="already closed"):
        store.gc()
    with pytest.raises(ValueError, match="already closed"):
        store.set_epoch_deadline(1)
    with pytest.raises(ValueError, match="already closed"):
        store.set_limits(memory_size=1)
    with pytest.raises(ValueError, match="already closed"):
        store.get_fuel()
    with pytest.raises(ValueError, match="already closed"):
        store.set_fuel(1)
    with pytest.raises(ValueError, match="already closed"):
        store.data()
    with pytest.raises(ValueError, match="already closed"):
        Memory(store, MemoryType(Limits(1, None)))


def test_handles_unusable_after_store_close(exports: Callable[..., Any], store: Store) -> None:
    ex = exports(
        """
        (module
          (func (export "f") (result i32) i32.const 1)
          (memory (export "m") 1)
          (global (export "g") i32 (i32.const 4))
          (table (export "t") 1 funcref))
        """
    )
    f, m, g, t = ex["f"], ex["m"], ex["g"], ex["t"]
    store.close()
    with pytest.raises(ValueError, match="already closed"):
        f(store)
    with pytest.raises(ValueError, match="already closed"):
        f.type(store)
    with pytest.raises(ValueError, match="already closed"):
        m.size(store)
    with pytest.raises(ValueError, match="already closed"):
        m.read(store, 0, 1)
    with pytest.raises(ValueError, match="already closed"):
        g.value(store)
    with pytest.raises(ValueError, match="already closed"):
        t.size(store)


def test_cycle_through_host_function_is_collected() -> None:
    # store -> host callable -> closure cell -> store: only the GC can free it, and it must.
    import gc

    from wasmtime import Func, FuncType

    def make() -> weakref.ref[Store]:
        store = Store()

        def callback() -> None:
            store.gc()

        Func(store, FuncType([], []), callback)
        return weakref.ref(store)

    ref = make()
    gc.collect()
    assert ref() is None


def test_cycle_through_store_data_is_collected() -> None:
    import gc

    class Holder:
        store: Any = None

    def make() -> weakref.ref[Store]:
        holder = Holder()
        holder.store = Store(data=holder)
        return weakref.ref(holder.store)

    ref = make()
    gc.collect()
    assert ref() is None
