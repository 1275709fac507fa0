"""Engine: construction, config consumption, epochs, pulley."""

from __future__ import annotations

import threading

import pytest

from wasmtime import Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmtimeError


def test_default_engine() -> None:
    engine = Engine()
    Module(engine, "(module)")


def test_engine_none_is_default() -> None:
    engine = Engine(None)
    Store(engine)


def test_engine_with_config() -> None:
    config = Config()
    config.consume_fuel = True
    engine = Engine(config)
    store = Store(engine)
    store.set_fuel(5)
    assert store.get_fuel() == 5


@pytest.mark.parametrize("bad", [1, "config", object(), Engine])
def test_engine_rejects_non_config(bad: object) -> None:
    with pytest.raises(TypeError, match="^expected Config$"):
        Engine(bad)  # type: ignore[arg-type]


def test_engine_consumes_config() -> None:
    config = Config()
    Engine(config)
    with pytest.raises(ValueError):
        Engine(config)


def test_engine_rejects_closed_config() -> None:
    config = Config()
    config.close()
    with pytest.raises(ValueError):
        Engine(config)


def test_increment_epoch_returns_none() -> None:
    engine = Engine()
    assert engine.increment_epoch() is None
    for _ in range(100):
        engine.increment_epoch()


def test_is_pulley_native_host() -> None:
    # wasmbridge ships a Cranelift backend for the host, so the default engine is native code.
    result = Engine().is_pulley()
    assert result is False


def test_increment_epoch_from_other_thread_interrupts() -> None:
    config = Config()
    config.epoch_interruption = True
    engine = Engine(config)
    store = Store(engine)
    module = Module(engine, '(module (func (export "spin") (loop br 0)))')
    spin = Instance(store, module, []).exports(store)["spin"]
    store.set_epoch_deadline(1)
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(0.01):
            engine.increment_epoch()

    t = threading.Thread(target=ticker)
    t.start()
    try:
        with pytest.raises(Trap) as exc:
            spin(store)
    finally:
        stop.set()
        t.join()
    assert exc.value.trap_code == TrapCode.INTERRUPT


def test_engine_shared_between_stores() -> None:
    engine = Engine()
    module = Module(engine, '(module (func (export "f") (result i32) i32.const 3))')
    for _ in range(3):
        store = Store(engine)
        assert store.engine is engine
        assert Instance(store, module, []).exports(store)["f"](store) == 3


def test_module_from_other_engine_rejected() -> None:
    module = Module(Engine(), "(module)")
    store = Store(Engine())
    with pytest.raises(WasmtimeError):
        Instance(store, module, [])
