"""Pickling `Component`: round trip, `.engine`, the engine's settings travelling, errors."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from wasmtime import Config, Engine, Module, Store, WasmtimeError, _native
from wasmtime.component import Component, Linker

ADD = """
(component
  (core module $m
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
  (core instance $i (instantiate $m))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "add"))))
"""


def call_add(component: Component, a: int, b: int, store: Store | None = None) -> Any:
    store = Store(component.engine) if store is None else store
    instance = Linker(component.engine).instantiate(store, component)
    add = instance.get_func(store, "add")
    assert add is not None
    return add(store, a, b)


def test_component_round_trip(engine: Engine) -> None:
    component = Component(engine, ADD)
    loaded = pickle.loads(pickle.dumps(component))
    assert isinstance(loaded, Component)
    assert loaded is not component
    assert list(loaded.type.exports(loaded.engine)) == ["add"]
    assert call_add(loaded, 40, 2) == 42
    # Two unpickles of one engine's components share an engine: one store runs both.
    again = pickle.loads(pickle.dumps(component))
    store = Store(loaded.engine)
    assert call_add(loaded, 1, 2, store) == 3
    assert call_add(again, 3, 4, store) == 7


def test_component_engine(engine: Engine) -> None:
    component = Component(engine, ADD)
    assert isinstance(component.engine, Engine)
    assert call_add(component, 2, 3, Store(engine)) == 5
    # `.engine` is the compiling engine: another engine's store is refused.
    with pytest.raises(WasmtimeError):
        call_add(component, 2, 3, Store(Engine()))
    deserialized = Component.deserialize(engine, component.serialize())
    assert call_add(deserialized, 4, 5, Store(deserialized.engine)) == 9


def test_component_engine_settings_travel() -> None:
    config = Config()
    config.consume_fuel = True
    component = Component(Engine(config), ADD)
    unpickle, args = component.__reduce__()
    assert unpickle is _native._unpickle_component
    assert args[:3] == (1, args[1], (("consume_fuel", False, (True,)),))
    loaded = pickle.loads(pickle.dumps(component))
    store = Store(loaded.engine)
    store.set_fuel(10_000)
    assert call_add(loaded, 6, 7, store) == 13
    assert store.get_fuel() < 10_000


def test_closed_component_cannot_be_pickled(engine: Engine) -> None:
    component = Component(engine, ADD)
    component.close()
    with pytest.raises(ValueError):
        pickle.dumps(component)
    with pytest.raises(ValueError, match="closed"):
        component.engine  # noqa: B018


def test_unpickle_component_errors(engine: Engine) -> None:
    _, (fmt, version, recipe, code) = Component(engine, ADD).__reduce__()
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_component(3, version, recipe, code)
    assert str(exc.value) == "cannot unpickle Component: pickle format 3, this wasmbridge reads 1"
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_component(fmt, "40.0.0", recipe, code)
    assert str(exc.value).startswith("cannot unpickle Component: compiled by wasmtime 40.0.0, ")
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_component(fmt, version, recipe, b"not a component")
    assert str(exc.value).startswith("cannot unpickle Component: ")
    # A core module's compiled code is not a component's.
    module_code = bytes(Module(engine, "(module)").serialize())
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_component(fmt, version, recipe, module_code)
    assert str(exc.value).startswith("cannot unpickle Component: ")
