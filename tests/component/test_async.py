"""asyncio (issue 9): `wasmtime.component.Func.call_async`, the component side of the core
`Func.call_async` (tests/core/test_async.py covers the mechanism)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from wasmtime import Engine, Store, Trap, WasmtimeError
from wasmtime.component import Component, Linker

CANCEL_BOUND = 2.0  # seconds; the promise is a few milliseconds

# `host: func(x: u32) -> u32` is imported; `spin` calls it with 0 and then loops forever.
WAT = """
    (component
        (import "host" (func $host (param "x" u32) (result u32)))
        (core func $host_lowered (canon lower (func $host)))
        (core module $m
            (import "" "host" (func $host (param i32) (result i32)))
            (func (export "add") (param i32 i32) (result i32)
                (i32.add (local.get 0) (local.get 1)))
            (func (export "nothing"))
            (func (export "trap") unreachable)
            (func (export "call_host") (param i32) (result i32) (call $host (local.get 0)))
            (func (export "spin") (drop (call $host (i32.const 0))) (loop br 0)))
        (core instance $i
            (instantiate $m (with "" (instance (export "host" (func $host_lowered))))))
        (func (export "add") (param "a" u32) (param "b" u32) (result u32)
            (canon lift (core func $i "add")))
        (func (export "nothing") (canon lift (core func $i "nothing")))
        (func (export "trap") (canon lift (core func $i "trap")))
        (func (export "call-host") (param "x" u32) (result u32)
            (canon lift (core func $i "call_host")))
        (func (export "spin") (canon lift (core func $i "spin")))
    )
"""


class Guest:
    """`WAT` instantiated in a new store; `host` answers the import (default x + 1)."""

    def __init__(self, engine: Engine, component: Component) -> None:
        self.store = Store(engine)
        self.entered = threading.Event()
        self.host: Any = lambda x: x + 1
        linker = Linker(engine)
        with linker.root() as root:
            root.add_func("host", self._host)
        self.instance = linker.instantiate(self.store, component)

    def _host(self, _store: Any, x: int) -> int:
        self.entered.set()
        return int(self.host(x))

    def __getitem__(self, name: str) -> Any:
        func = self.instance.get_func(self.store, name)
        assert func is not None
        return func


@pytest.fixture
def component(engine: Engine) -> Component:
    return Component(engine, WAT)


def test_results_are_those_of_the_sync_call(engine: Engine, component: Component) -> None:
    guest = Guest(engine, component)
    s = guest.store

    async def main() -> list[Any]:
        return [
            await guest["add"].call_async(s, 40, 2),
            await guest["nothing"].call_async(s),
            await guest["call-host"].call_async(s, 9),
        ]

    assert asyncio.run(main()) == [42, None, 10]
    assert [guest["add"](s, 40, 2), guest["nothing"](s), guest["call-host"](s, 9)] == [42, None, 10]


def test_errors_are_those_of_the_sync_call(engine: Engine, component: Component) -> None:
    guest = Guest(engine, component)
    error = ValueError("from the host")

    def host(x: int) -> int:
        raise error

    guest.host = host
    with pytest.raises(ValueError) as exc:
        asyncio.run(guest["call-host"].call_async(guest.store, 1))
    assert exc.value is error

    # A wrong argument count raises TypeError here (as on wasmtime-py), awaited or not.
    counted = Guest(engine, component)
    with pytest.raises(TypeError) as sync:
        counted["add"](counted.store, 1)
    with pytest.raises(TypeError) as awaited:
        asyncio.run(counted["add"].call_async(counted.store, 1))
    assert str(awaited.value) == str(sync.value) == "expected 2 arguments, got 1"

    # A component trap is a WasmtimeError, not a Trap (as on wasmtime-py), awaited or not.
    trapping = Guest(engine, component)
    with pytest.raises(WasmtimeError) as trap:
        asyncio.run(trapping["trap"].call_async(trapping.store))
    assert not isinstance(trap.value, Trap)
    assert "unreachable" in str(trap.value)


def test_cancel_stops_an_endless_component_call(engine: Engine, component: Component) -> None:
    guest = Guest(engine, component)

    async def main() -> float:
        task = asyncio.create_task(guest["spin"].call_async(guest.store))
        deadline = time.monotonic() + 10
        while not guest.entered.is_set():
            assert time.monotonic() < deadline, "the call did not start"
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.02)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start

    assert asyncio.run(main()) < CANCEL_BOUND
    # The store is idle, but the cancelled call trapped, and after a trap Wasmtime lets no
    # component be entered in that store again (see the README); other stores are unaffected.
    with pytest.raises(WasmtimeError, match="cannot enter component instance"):
        guest["add"](guest.store, 1, 2)
    other = Guest(engine, component)
    assert asyncio.run(other["add"].call_async(other.store, 1, 2)) == 3
