"""asyncio (issue 9): `Plugin.call_async`, the ordinary `call` made on the loop's executor.

Results, `parse`, `host_context` and errors are those of `call`; cancelling the awaiting task
stops the plugin's wasm (its interrupted call fails with "timeout" inside, which `call_async`
turns into `CancelledError`) and leaves the plugin usable. Concurrent calls on one plugin wait
for each other; calls on different plugins run in parallel.

Guests are small WAT modules on the kernel helpers of kernel_lib.wat. Host functions are made
with `extism.Function` (not `host_fn`, which would add them to the global registry).
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import extism
from extism.extism import CompiledPlugin

NS = "wasmbridge:test_async"  # namespace of this file's host functions
CANCEL_BOUND = 2.0  # seconds from task.cancel() to CancelledError; the promise is ~5 ms
WAIT = 10.0  # seconds to wait for something that must happen

KERNEL_LIB = (Path(__file__).parent / "kernel_lib.wat").read_text()

# `spin` tells the host it started, then loops forever. `count` runs as many loop iterations
# as its input (8 bytes, little-endian) says, between the host calls `enter` and `leave`.
# `host` calls the host function of the same name; `fail` fails with a message.
GUEST = (
    "(module"
    f"""
  (import "{NS}" "started" (func $started))
  (import "{NS}" "host" (func $host))
  (import "{NS}" "enter" (func $enter))
  (import "{NS}" "leave" (func $leave))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
"""
    + KERNEL_LIB
    + """
  (memory (export "memory") 1)
  (data (i32.const 0x10) "ok")
  (data (i32.const 0x20) "the guest says no")
  (func (export "echo") (result i32)
    (call $output_set (call $input_block) (call $input_length))
    (i32.const 0))
  (func (export "fail") (result i32)
    (call $error_set (call $block (i32.const 0x20) (i32.const 17)))
    (i32.const 1))
  (func (export "host") (result i32)
    (call $host)
    (call $out (i32.const 0x10) (i32.const 2))
    (i32.const 0))
  (func (export "spin") (result i32)
    (call $started)
    (loop $forever (br $forever))
    (i32.const 0))
  (func (export "count") (result i32) (local $n i64) (local $i i64)
    (call $enter)
    (local.set $n (call $input_load_u64 (i64.const 0)))
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (call $leave)
    (call $out (i32.const 0x10) (i32.const 2))
    (i32.const 0))
)"""
)


class Host:
    """The host functions of `GUEST`, recording what happens.

    `started` is set when a `spin` starts; `host` runs `on_host(current_plugin)`; `enter` and
    `leave` keep `active` (the `count` calls running now) and `most_active` up to date."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.on_host: Callable[[Any], None] = lambda current: None
        self.lock = threading.Lock()
        self.active = 0
        self.most_active = 0

    def _enter(self, current: Any, params: Any, results: Any) -> None:
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)

    def _leave(self, current: Any, params: Any, results: Any) -> None:
        with self.lock:
            self.active -= 1

    def functions(self) -> list[extism.Function]:
        def function(name: str, f: Callable[..., None]) -> extism.Function:
            return extism.Function(NS, name, [], [], f)

        return [
            function("started", lambda current, params, results: self.started.set()),
            function("host", lambda current, params, results: self.on_host(current)),
            function("enter", self._enter),
            function("leave", self._leave),
        ]


def new_plugin(host: Host, **manifest: Any) -> extism.Plugin:
    return extism.Plugin(
        {"wasm": [{"data": GUEST.encode()}], **manifest}, functions=host.functions()
    )


def iterations(plugin: extism.Plugin, seconds: float) -> int:
    """How many `count` iterations take about `seconds` on this machine."""
    n = 20_000_000
    start = time.perf_counter()
    assert plugin.call("count", struct.pack("<Q", n)) == b"ok"
    return max(1, int(n * seconds / (time.perf_counter() - start)))


# --------------------------------------------------------------------------------------------
# Results, parse, host context, errors
# --------------------------------------------------------------------------------------------


def test_results_are_those_of_call_with_and_without_parse() -> None:
    plugin = new_plugin(Host())

    async def main() -> list[Any]:
        return [
            await plugin.call_async("echo", b"bytes in"),
            await plugin.call_async("echo", "text in"),
            await plugin.call_async(b"echo", bytearray(b"\x00\xff")),
            await plugin.call_async("echo", b"", parse=None),
            await plugin.call_async("echo", b"42", parse=lambda out: int(out) + 1),
            await plugin.call_async("echo", "hi", lambda out: out.decode().upper()),
        ]

    results = asyncio.run(main())
    assert results == [b"bytes in", b"text in", b"\x00\xff", b"", 43, "HI"]
    assert results[0] == plugin.call("echo", b"bytes in")
    assert plugin.call("echo", b"42", parse=lambda out: int(out) + 1) == 43


def test_host_context_reaches_host_functions() -> None:
    host = Host()
    seen: list[Any] = []
    host.on_host = lambda current: seen.append(current.host_context())
    plugin = new_plugin(host)
    contexts = [{"call": i} for i in range(3)]

    async def main() -> list[Any]:
        one = await plugin.call_async("host", b"", host_context=contexts[0])
        several = await asyncio.gather(
            *(plugin.call_async("host", b"", host_context=c) for c in contexts[1:])
        )
        return [one, *several, await plugin.call_async("host", b"")]

    assert asyncio.run(main()) == [b"ok"] * 4
    assert seen[0] is contexts[0]
    assert sorted(seen[1:3], key=lambda c: c["call"]) == contexts[1:]
    assert {id(c) for c in seen[1:3]} == {id(c) for c in contexts[1:]}  # the very objects
    assert seen[3] is None


def test_errors_are_those_of_call() -> None:
    plugin = new_plugin(Host())
    with pytest.raises(extism.Error) as exc:
        asyncio.run(plugin.call_async("fail", b""))
    assert str(exc.value) == "the guest says no"
    with pytest.raises(extism.Error, match="^Function not found: missing$"):
        asyncio.run(plugin.call_async("missing", b""))
    with pytest.raises(TypeError, match="plugin input must be str or bytes-like"):
        asyncio.run(plugin.call_async("echo", 12))  # type: ignore[arg-type]
    assert asyncio.run(plugin.call_async("echo", b"still fine")) == b"still fine"


def test_a_host_function_exception_comes_out_as_the_same_object() -> None:
    host = Host()
    error = OSError("from the host")

    def on_host(current: Any) -> None:
        raise error

    host.on_host = on_host
    plugin = new_plugin(host)
    with pytest.raises(OSError) as exc:
        asyncio.run(plugin.call_async("host", b""))
    assert exc.value is error


def test_timeout_ms_still_applies() -> None:
    plugin = new_plugin(Host(), timeout_ms=100)

    async def main() -> None:
        start = time.monotonic()
        with pytest.raises(extism.Error) as exc:
            await plugin.call_async("spin", b"")
        assert str(exc.value) == "timeout"
        assert 0.09 <= time.monotonic() - start < 0.1 + CANCEL_BOUND
        assert await plugin.call_async("echo", b"after") == b"after"

    asyncio.run(main())


def test_a_closed_plugin_raises_when_awaited() -> None:
    plugin = new_plugin(Host())
    plugin.__del__()
    with pytest.raises(TypeError, match="plugin is closed"):
        asyncio.run(plugin.call_async("echo", b""))


# --------------------------------------------------------------------------------------------
# Cancellation
# --------------------------------------------------------------------------------------------


def test_cancel_stops_a_spinning_plugin_which_then_works_again(aio: Any) -> None:
    host = Host()
    plugin = new_plugin(host)

    async def main() -> float:
        task = asyncio.create_task(plugin.call_async("spin", b""))
        await aio.started(host.started)
        await asyncio.sleep(0.02)
        elapsed = await aio.cancel_and_time(task)
        assert plugin.call("echo", b"sync") == b"sync"
        assert await plugin.call_async("echo", b"async") == b"async"
        return elapsed

    assert asyncio.run(main()) < CANCEL_BOUND


def test_wait_for_timeout_stops_the_plugin() -> None:
    plugin = new_plugin(Host())

    async def main() -> None:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(plugin.call_async("spin", b""), 0.1)
        assert time.monotonic() - start < 0.1 + CANCEL_BOUND
        assert plugin.call("echo", b"x") == b"x"

    asyncio.run(main())


def test_cancel_during_a_host_function_lets_it_finish(aio: Any) -> None:
    host = Host()
    entered, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def on_host(current: Any) -> None:
        entered.set()
        release.wait(WAIT)
        finished.append("host returned")

    host.on_host = on_host
    plugin = new_plugin(host)

    async def main() -> None:
        task = asyncio.create_task(plugin.call_async("host", b""))
        await aio.started(entered)
        task.cancel()
        await asyncio.sleep(0.1)
        assert not task.done()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert finished == ["host returned"]
        assert await plugin.call_async("echo", b"x") == b"x"

    asyncio.run(main())


def test_a_plugin_cancelled_by_its_handle_raises_timeout_not_cancelled_error(aio: Any) -> None:
    # The plugin's own cancel handle is not task cancellation: the call fails as `call` would.
    host = Host()
    plugin = new_plugin(host)

    async def main() -> None:
        task = asyncio.create_task(plugin.call_async("spin", b""))
        await aio.started(host.started)
        assert plugin.cancel_handle().cancel() is True
        with pytest.raises(extism.Error, match="^timeout$"):
            await task

    asyncio.run(main())


def test_cancel_while_waiting_for_the_plugin_ends_at_once_and_runs_nothing(aio: Any) -> None:
    host = Host()
    calls: list[str] = []
    host.on_host = lambda current: calls.append("host")
    plugin = new_plugin(host)

    async def main() -> tuple[bool, float]:
        spinning = asyncio.create_task(plugin.call_async("spin", b""))
        await aio.started(host.started)
        waiting = asyncio.create_task(plugin.call_async("host", b""))
        await asyncio.sleep(0.1)  # it is now waiting for the spinning call
        start = time.monotonic()
        waiting.cancel()
        done, _ = await asyncio.wait({waiting}, timeout=CANCEL_BOUND)
        elapsed = time.monotonic() - start
        assert await aio.cancel_and_time(spinning) < CANCEL_BOUND
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return bool(done), elapsed

    done, elapsed = asyncio.run(main())
    assert done and elapsed < CANCEL_BOUND
    assert calls == []


# --------------------------------------------------------------------------------------------
# Concurrency: one plugin serializes, several plugins run in parallel
# --------------------------------------------------------------------------------------------


def test_concurrent_calls_on_one_plugin_all_complete_one_at_a_time() -> None:
    host = Host()
    plugin = new_plugin(host)
    n = struct.pack("<Q", iterations(plugin, 0.05))

    async def main() -> list[Any]:
        return await asyncio.gather(*(plugin.call_async("count", n) for _ in range(4)))

    assert asyncio.run(main()) == [b"ok"] * 4
    assert host.most_active == 1
    assert host.active == 0


def test_calls_on_several_plugins_run_in_parallel() -> None:
    host = Host()
    compiled = CompiledPlugin({"wasm": [{"data": GUEST.encode()}]}, functions=host.functions())
    a, b = extism.Plugin(compiled), extism.Plugin(compiled)
    n = struct.pack("<Q", iterations(a, 0.5))

    async def both() -> list[Any]:
        return await asyncio.gather(a.call_async("count", n), b.call_async("count", n))

    host.most_active = 0
    assert asyncio.run(both()) == [b"ok", b"ok"]
    # Both `count` calls were inside the guest at once: the two plugins did not take turns.
    assert host.most_active == 2
