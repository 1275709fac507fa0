"""asyncio (issue 9): `Func.call_async` and the `CancelScope` behind it.

`call_async` makes the ordinary call on the loop's default executor: results and exceptions are
those of the blocking call, the loop keeps running meanwhile, and two stores run in parallel
(the GIL is released while wasm runs). Cancelling the awaiting task stops the wasm at the next
epoch tick, and the task ends only once the store is idle again.

Timing bounds are loose (the machine has two cores and may be busy with other test runs): the
promise for cancellation is a few milliseconds, the tests allow `CANCEL_BOUND`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
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
    MemoryType,
    Module,
    SharedMemory,
    Store,
    Trap,
    TrapCode,
    ValType,
    WasmtimeError,
)
from wasmtime._native import CancelScope

CANCEL_BOUND = 2.0  # seconds from task.cancel() to CancelledError; the promise is ~5 ms
WAIT = 10.0  # seconds to wait for something that must happen (a call starting)
IN_USE = "store is in use by another thread"

# "started" is called by `spin` before it loops forever, and by `host_then_spin`'s host call;
# `host` is a Python host function (x -> int) that the test chooses.
WAT = """
(module
  (import "" "started" (func $started))
  (import "" "host" (func $host (param i32) (result i32)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
  (func (export "pair") (result i32 i64) (i32.const -7) (i64.const 1099511627776))
  (func (export "nothing"))
  (func (export "trap") unreachable)
  (func (export "call_host") (param i32) (result i32) (call $host (local.get 0)))
  (func (export "host_then_spin") (drop (call $host (i32.const 0))) (loop br 0))
  (func (export "spin") (call $started) (loop br 0))
  (func (export "one") (result i32) (i32.const 1))
  ;; Runs $n loop iterations and returns $n.
  (func (export "count") (param $n i64) (result i64) (local $i i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (local.get $i))
)
"""


class Guest:
    """`WAT` instantiated in its own store. `host` (default x + 1) answers the host import;
    `started` is set (and `started_calls` counted) when wasm calls "started"."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = Store(engine)
        self.started = threading.Event()
        self.started_calls = 0
        self.host: Callable[[int], int] = lambda x: x + 1
        started = Func(self.store, FuncType([], []), self._started)
        i32 = ValType.i32()
        host = Func(self.store, FuncType([i32], [i32]), lambda x: self.host(x))
        module = Module(engine, WAT)
        self.exports = Instance(self.store, module, [started, host]).exports(self.store)

    def _started(self) -> None:
        self.started_calls += 1
        self.started.set()

    def __getitem__(self, name: str) -> Any:
        return self.exports[name]

    def idle(self) -> bool:
        """A sync call on the store succeeds right away (raises if the store is busy)."""
        return bool(self["one"](self.store) == 1)

    def iterations(self, seconds: float) -> int:
        """How many `count` iterations take about `seconds` on this machine."""
        n = 20_000_000
        start = time.perf_counter()
        assert self["count"](self.store, n) == n
        return max(1, int(n * seconds / (time.perf_counter() - start)))


@pytest.fixture
def guest(engine: Engine) -> Guest:
    return Guest(engine)


# --------------------------------------------------------------------------------------------
# Results and errors: those of the blocking call
# --------------------------------------------------------------------------------------------


def test_results_are_those_of_the_sync_call(guest: Guest) -> None:
    s = guest.store

    async def main() -> list[Any]:
        return [
            await guest["add"].call_async(s, 40, 2),
            await guest["add"].call_async(s, -5, 2),
            await guest["half"].call_async(s, 3.0),
            await guest["pair"].call_async(s),
            await guest["nothing"].call_async(s),
            await guest["call_host"].call_async(s, 9),
        ]

    results = asyncio.run(main())
    assert results == [42, -3, 1.5, [-7, 1 << 40], None, 10]
    sync = [
        guest["add"](s, 40, 2),
        guest["add"](s, -5, 2),
        guest["half"](s, 3.0),
        guest["pair"](s),
        guest["nothing"](s),
        guest["call_host"](s, 9),
    ]
    assert results == sync
    assert isinstance(results[2], float)


def test_call_async_returns_an_awaitable_that_runs_only_when_awaited(guest: Guest) -> None:
    calls: list[int] = []
    guest.host = lambda x: calls.append(x) or x

    async def main() -> Any:
        pending = guest["call_host"].call_async(guest.store, 5)
        await asyncio.sleep(0.05)
        assert calls == []
        return await pending

    assert asyncio.run(main()) == 5
    assert calls == [5]


def test_a_trap_raises_trap(guest: Guest) -> None:
    with pytest.raises(Trap) as exc:
        asyncio.run(guest["trap"].call_async(guest.store))
    assert exc.value.trap_code == TrapCode.UNREACHABLE
    assert guest.idle()


def test_a_host_function_exception_comes_out_as_the_same_object(guest: Guest) -> None:
    error = LookupError("from the host")

    def host(x: int) -> int:
        raise error

    guest.host = host
    with pytest.raises(LookupError) as exc:
        asyncio.run(guest["call_host"].call_async(guest.store, 1))
    assert exc.value is error
    assert guest.idle()


def test_a_wrong_argument_count_raises_wasmtime_error_when_awaited(guest: Guest) -> None:
    with pytest.raises(WasmtimeError) as sync:
        guest["add"](guest.store, 1)
    awaitable = guest["add"].call_async(guest.store, 1)  # nothing raised yet
    with pytest.raises(WasmtimeError) as exc:
        asyncio.run(awaitable)
    assert str(exc.value) == str(sync.value)
    assert "too few parameters" in str(exc.value)
    with pytest.raises(WasmtimeError, match="too many parameters"):
        asyncio.run(guest["add"].call_async(guest.store, 1, 2, 3))


# --------------------------------------------------------------------------------------------
# The loop stays free; two stores run in parallel; one store runs one call at a time
# --------------------------------------------------------------------------------------------


async def ticks_during(call: Callable[[], Any]) -> int:
    """How many times a task sleeping 10 ms at a time woke up while `await call()` ran."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker is now sleeping
    before = ticks
    result = call()
    if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
        await result
    during = ticks - before
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return during


def test_the_loop_keeps_running_during_a_long_call(guest: Guest) -> None:
    n = guest.iterations(0.5)
    count, s = guest["count"], guest.store
    during_async = asyncio.run(ticks_during(lambda: count.call_async(s, n)))
    during_sync = asyncio.run(ticks_during(lambda: count(s, n)))
    assert during_async >= 10  # about 50
    assert during_sync <= 2  # the blocking call starves the ticker


# `wait_flag` spins until another thread's wasm sets the flag in the shared memory (returns 1),
# or gives up after $cap iterations (returns 0); `set_flag` sets it.
FLAG_WAT = """
(module
  (import "" "flag" (memory 1 1 shared))
  (func (export "wait_flag") (param $cap i64) (result i32) (local $i i64)
    (block $done
      (loop $next
        (br_if $done (i32.atomic.load (i32.const 0)))
        (br_if $done (i64.ge_u (local.get $i) (local.get $cap)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (i32.atomic.load (i32.const 0)))
  (func (export "set_flag") (i32.atomic.store (i32.const 0) (i32.const 1))))
"""


def test_one_store_s_call_runs_while_another_store_s_call_is_in_wasm() -> None:
    # No timing: if a call held the GIL while in wasm, `set_flag` could not run before
    # `wait_flag` gave up (after seconds), whatever the load of the machine.
    config = Config()
    config.wasm_threads = True
    config.shared_memory = True
    engine = Engine(config)
    guest = Guest(engine)
    flag = SharedMemory(engine, MemoryType(Limits(1, 1), shared=True))
    module = Module(engine, FLAG_WAT)
    waiter, setter = Store(engine), Store(engine)
    wait_flag = Instance(waiter, module, [flag]).exports(waiter)["wait_flag"]
    set_flag = Instance(setter, module, [flag]).exports(setter)["set_flag"]
    cap = guest.iterations(5.0)

    async def main() -> list[Any]:
        waiting = asyncio.create_task(wait_flag.call_async(waiter, cap))
        await asyncio.sleep(0.05)  # wait_flag is spinning (or about to)
        return [await set_flag.call_async(setter), await waiting]

    assert asyncio.run(main()) == [None, 1]


def test_a_second_call_on_a_busy_store_raises_in_use(guest: Guest, aio: Any) -> None:
    s = guest.store

    async def main() -> None:
        spinning = asyncio.create_task(guest["spin"].call_async(s))
        await aio.started(guest.started)
        with pytest.raises(WasmtimeError, match=IN_USE):
            await guest["one"].call_async(s)
        assert not spinning.done()  # the first call goes on
        assert await aio.cancel_and_time(spinning) < CANCEL_BOUND
        assert await guest["one"].call_async(s) == 1

    asyncio.run(main())
    assert guest.idle()


# --------------------------------------------------------------------------------------------
# Cancellation
# --------------------------------------------------------------------------------------------


def test_cancel_stops_an_endless_call_and_leaves_the_store_idle(guest: Guest, aio: Any) -> None:
    async def main() -> float:
        task = asyncio.create_task(guest["spin"].call_async(guest.store))
        await aio.started(guest.started)
        await asyncio.sleep(0.02)
        elapsed = await aio.cancel_and_time(task)
        assert guest.idle()  # at once, no waiting
        return elapsed

    assert asyncio.run(main()) < CANCEL_BOUND
    assert guest["count"](guest.store, 1000) == 1000


def test_wait_for_timeout_stops_the_call(guest: Guest) -> None:
    async def main() -> None:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(guest["spin"].call_async(guest.store), 0.1)
        assert 0.09 <= time.monotonic() - start < 0.1 + CANCEL_BOUND
        assert guest.idle()

    asyncio.run(main())


def test_cancel_right_after_create_task_never_runs_wasm(guest: Guest) -> None:
    async def main() -> None:
        task = asyncio.create_task(guest["spin"].call_async(guest.store))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert guest.idle()
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert guest.started_calls == 0


def test_cancel_before_the_worker_thread_starts_never_runs_wasm(guest: Guest) -> None:
    # The only executor thread is busy, so the call waits in the executor's queue: its
    # coroutine has handed it to the executor, but no thread has begun it.
    release = threading.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            loop.set_default_executor(pool)
            blocker = loop.run_in_executor(None, release.wait, WAIT)
            task = asyncio.create_task(guest["spin"].call_async(guest.store))
            await asyncio.sleep(0.05)
            task.cancel()
            await asyncio.sleep(0.05)
            assert not task.done()  # it waits for the queued call to be dropped
            release.set()
            start = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - start < CANCEL_BOUND
            assert await blocker is True
            assert guest.idle()

    asyncio.run(main())
    assert guest.started_calls == 0


def test_cancel_during_a_host_function_lets_it_finish_then_stops_the_call(
    guest: Guest, aio: Any
) -> None:
    entered, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def host(x: int) -> int:
        entered.set()
        release.wait(WAIT)
        finished.append("host returned")
        return 0

    guest.host = host

    async def main() -> None:
        task = asyncio.create_task(guest["host_then_spin"].call_async(guest.store))
        await aio.started(entered)
        task.cancel()
        await asyncio.sleep(0.1)
        assert not task.done()  # the host function is still running
        assert finished == []
        release.set()
        start = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - start < CANCEL_BOUND
        assert finished == ["host returned"]
        assert guest.idle()

    asyncio.run(main())


def test_a_cancelled_call_does_not_affect_later_calls_on_the_same_thread(
    guest: Guest, aio: Any
) -> None:
    n = guest.iterations(0.05)  # ~10 epoch ticks, each would stop a leaked cancellation
    count, s = guest["count"], guest.store

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            loop.set_default_executor(pool)
            worker = await loop.run_in_executor(None, threading.get_ident)
            task = asyncio.create_task(guest["spin"].call_async(s))
            await aio.started(guest.started)
            assert await aio.cancel_and_time(task) < CANCEL_BOUND
            # The same (only) worker thread: a plain call, then a new call_async.
            assert await loop.run_in_executor(None, threading.get_ident) == worker
            assert await loop.run_in_executor(None, count, s, n) == n
            assert await count.call_async(s, n) == n
            assert count(s, n) == n  # and on the loop's thread

    asyncio.run(main())


def test_cancelling_twice_still_ends_with_the_store_idle(guest: Guest, aio: Any) -> None:
    async def main() -> None:
        task = asyncio.create_task(guest["spin"].call_async(guest.store))
        await aio.started(guest.started)
        task.cancel()
        await asyncio.sleep(0)  # the task has seen the first cancel and waits for the worker
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert guest.idle()

    asyncio.run(main())


# --------------------------------------------------------------------------------------------
# CancelScope
# --------------------------------------------------------------------------------------------


def test_scope_run_returns_what_f_returns_and_passes_arguments() -> None:
    scope = CancelScope()

    def f(a: int, b: int, *, c: int) -> tuple[int, int, int]:
        return (a, b, c)

    assert scope.run(f, 1, 2, c=3) == (1, 2, 3)
    assert scope.cancelled is False
    assert scope.run(f, 4, b=5, c=6) == (4, 5, 6)  # a scope can run more than once


def test_scope_run_raises_what_f_raises() -> None:
    error = KeyError("k")

    def f() -> None:
        raise error

    with pytest.raises(KeyError) as exc:
        CancelScope().run(f)
    assert exc.value is error


def test_a_cancelled_scope_refuses_to_run_and_does_not_call_f() -> None:
    scope = CancelScope()
    calls: list[int] = []
    scope.cancel()
    scope.cancel()  # idempotent
    assert scope.cancelled is True
    with pytest.raises(WasmtimeError, match="^call cancelled before it started$"):
        scope.run(calls.append, 1)
    assert calls == []


def test_cancel_stops_wasm_running_in_the_scope(guest: Guest) -> None:
    scope = CancelScope()
    threading.Thread(target=lambda: guest.started.wait(WAIT) and scope.cancel()).start()
    start = time.monotonic()
    with pytest.raises(Trap) as exc:
        scope.run(guest["spin"], guest.store)
    assert time.monotonic() - start < WAIT
    assert exc.value.trap_code == TrapCode.INTERRUPT
    assert scope.cancelled is True
    assert guest.idle()


def test_cancel_from_inside_the_scope_stops_the_wasm_it_runs_next(guest: Guest) -> None:
    scope = CancelScope()
    n = guest.iterations(3.0)

    def f() -> Any:
        scope.cancel()
        return guest["count"](guest.store, n)

    start = time.monotonic()
    with pytest.raises(Trap) as exc:
        scope.run(f)
    assert exc.value.trap_code == TrapCode.INTERRUPT
    assert time.monotonic() - start < CANCEL_BOUND


def test_a_cancelled_finished_scope_does_not_affect_later_calls(guest: Guest) -> None:
    n = guest.iterations(0.05)
    count, s = guest["count"], guest.store
    first = CancelScope()

    def cancel_itself() -> int:
        first.cancel()  # cancelled while running, but runs no wasm afterwards
        return 7

    assert first.run(cancel_itself) == 7
    assert first.cancelled is True
    first.cancel()
    assert CancelScope().run(count, s, n) == n  # a new scope on this thread
    assert count(s, n) == n  # no scope at all
    with pytest.raises(WasmtimeError, match="cancelled before it started"):
        first.run(count, s, n)  # only the cancelled scope itself refuses


def test_a_scope_cancelled_on_another_thread_leaves_this_thread_alone(engine: Engine) -> None:
    here, there = Guest(engine), Guest(engine)
    n = here.iterations(0.05)
    scope = CancelScope()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            scope.run(there["spin"], there.store)
        except Trap as e:
            errors.append(e)

    worker = threading.Thread(target=work)
    worker.start()
    assert there.started.wait(WAIT)
    scope.cancel()
    worker.join(WAIT)
    assert not worker.is_alive()
    assert [e.trap_code for e in errors if isinstance(e, Trap)] == [TrapCode.INTERRUPT]
    assert here["count"](here.store, n) == n
    assert CancelScope().run(here["count"], here.store, n) == n


def test_nested_scopes_cancelling_the_inner_stops_only_the_inner_call(engine: Engine) -> None:
    outer_guest, inner_guest = Guest(engine), Guest(engine)
    outer, inner = CancelScope(), CancelScope()
    inner_errors: list[Trap] = []

    def host(x: int) -> int:
        # Runs another store's endless call inside a second scope, which a thread cancels.
        try:
            inner.run(inner_guest["spin"], inner_guest.store)
        except Trap as e:
            inner_errors.append(e)
        return x + 100

    outer_guest.host = host
    threading.Thread(target=lambda: inner_guest.started.wait(WAIT) and inner.cancel()).start()
    assert outer.run(outer_guest["call_host"], outer_guest.store, 1) == 101
    assert [e.trap_code for e in inner_errors] == [TrapCode.INTERRUPT]
    assert outer.cancelled is False
    assert outer_guest.idle() and inner_guest.idle()


def test_nested_scopes_cancelling_the_outer_stops_both_calls(engine: Engine) -> None:
    outer_guest, inner_guest = Guest(engine), Guest(engine)
    outer, inner = CancelScope(), CancelScope()
    inner_errors: list[Trap] = []

    def host(x: int) -> int:
        try:
            inner.run(inner_guest["spin"], inner_guest.store)
        except Trap as e:
            inner_errors.append(e)
        return 0  # back into the outer wasm, which spins until stopped

    outer_guest.host = host
    threading.Thread(target=lambda: inner_guest.started.wait(WAIT) and outer.cancel()).start()
    with pytest.raises(Trap) as exc:
        outer.run(outer_guest["host_then_spin"], outer_guest.store)
    assert exc.value.trap_code == TrapCode.INTERRUPT
    assert [e.trap_code for e in inner_errors] == [TrapCode.INTERRUPT]
    assert inner.cancelled is False
    assert outer_guest.idle() and inner_guest.idle()
