"""Threads (issue 8, item 6): many threads on separate stores in parallel, several threads
hammering one shared store, one Extism plugin called from 16 threads.

The GIL is released while wasm runs, so these really overlap. A store is used by one thread at a
time: another thread gets ``WasmtimeError("... in use ...")`` at once, and the store is never
corrupted (a counter kept by the wasm itself equals the number of calls that succeeded).
The full sizes of the issue (16 threads x 10,000 calls) are ``@pytest.mark.slow``.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import extism
from wasmtime import (
    Engine,
    Func,
    FuncType,
    Instance,
    Module,
    Store,
    ValType,
    WasmtimeError,
)

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "extism"
THREADS = 16
JOIN_TIMEOUT = 300  # seconds: a hang fails the test instead of stalling the run


def run_threads(n: int, work: Callable[[int], Any]) -> dict[int, Any]:
    """Runs ``work(i)`` for i in range(n) on n threads started together; returns each result
    (or the exception it raised)."""
    results: dict[int, Any] = {}
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait(60)
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "threads still running: a hang"
    return results


# --------------------------------------------------------------------------------------------
# Separate stores in parallel
# --------------------------------------------------------------------------------------------

# `mix(x, n)`: n rounds of an LCG seeded with x, also stored in memory and in a global, so that
# each call does some work in wasm (the GIL is released meanwhile) and touches all the state.
MIX_WAT = """
(module
  (import "" "host" (func $host (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $calls (export "calls") (mut i32) (i32.const 0))
  (func (export "mix") (param $x i32) (param $n i32) (result i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 0) (local.get $x))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.load (i32.const 0)))
  (func (export "via_host") (param $x i32) (result i32)
    (call $host (local.get $x))))
"""


def mix(x: int, n: int) -> int:
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x - (1 << 32) if x >= 1 << 31 else x


def separate_stores(calls: int) -> None:
    engine = Engine()
    module = Module(engine, MIX_WAT)
    rounds = 50

    def work(i: int) -> list[int]:
        store = Store(engine)
        host = Func(store, FuncType([ValType.i32()], [ValType.i32()]), lambda x: x + i)
        ex = Instance(store, module, [host]).exports(store)
        wrong = []
        for j in range(calls):
            x = i * 1_000_003 + j
            if j % 10 == 0:
                if ex["via_host"](store, x) != x + i:
                    wrong.append(j)
            elif ex["mix"](store, x, rounds) != mix(x, rounds):
                wrong.append(j)
        return [len(wrong), ex["calls"].value(store)]

    results = run_threads(THREADS, work)
    mixed = calls - (calls + 9) // 10  # calls that went to `mix`
    assert results == {i: [0, mixed] for i in range(THREADS)}


def test_threads_on_separate_stores() -> None:
    separate_stores(1_000)


@pytest.mark.slow
def test_threads_on_separate_stores_full_size() -> None:
    separate_stores(10_000)


# --------------------------------------------------------------------------------------------
# One store shared by several threads
# --------------------------------------------------------------------------------------------

# `bump(spin)` adds one to a global counter and to an i32 in memory, spinning in between so that
# other threads find the store busy; it returns the new counter. `via_host` does the same
# through a host function that calls `bump` back through the outer Store.
SHARED_WAT = """
(module
  (import "" "host" (func $host (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $count (export "count") (mut i32) (i32.const 0))
  (func $bump (export "bump") (param $spin i32) (result i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $spin)))
        (local.set $spin (i32.sub (local.get $spin) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (global.get $count))
  (func (export "via_host") (param $spin i32) (result i32)
    (call $host (local.get $spin))))
"""


def shared_store(threads: int, calls: int) -> None:
    store = Store()
    ex: dict[str, Any] = {}
    host = Func(
        store, FuncType([ValType.i32()], [ValType.i32()]), lambda spin: ex["bump"](store, spin)
    )
    ex.update(Instance(store, Module(store.engine, SHARED_WAT), [host]).exports(store))
    memory, count = ex["memory"], ex["count"]

    def work(i: int) -> tuple[list[int], Counter[str]]:
        got: list[int] = []
        errors: Counter[str] = Counter()
        for j in range(calls):
            try:
                if j % 7 == 3:
                    # Other uses of the busy store: they fail the same way, or work when idle.
                    memory.read(store, 0, 4)
                    count.value(store)
                    continue
                got.append(ex["via_host" if j % 2 else "bump"](store, 200))
            except WasmtimeError as e:
                errors[str(e)] += 1
            except BaseException as e:  # noqa: BLE001
                errors[f"{type(e).__name__}: {e}"] += 1
        return got, errors

    results = run_threads(threads, work)
    values: list[int] = []
    errors: Counter[str] = Counter()
    for i in range(threads):
        outcome = results[i]
        assert isinstance(outcome, tuple), f"thread {i}: {outcome!r}"
        values += outcome[0]
        errors += outcome[1]
    for message in errors:
        assert "in use" in message, f"unexpected error: {message}"
    # Every successful call saw a distinct counter value, 1, 2, ..., and the store's state
    # agrees with the number of successes: nothing was lost or done twice.
    assert sorted(values) == list(range(1, len(values) + 1))
    assert count.value(store) == len(values)
    assert int.from_bytes(memory.read(store, 0, 4), "little") == len(values)
    assert values, "no call succeeded"
    # The store is idle and fully usable afterwards.
    assert ex["bump"](store, 0) == len(values) + 1
    assert ex["via_host"](store, 0) == len(values) + 2


def test_one_store_hammered_by_eight_threads() -> None:
    shared_store(8, 2_000)


@pytest.mark.slow
def test_one_store_hammered_by_sixteen_threads_full_size() -> None:
    shared_store(THREADS, 10_000)


def test_shared_store_busy_error_is_raised_not_blocked() -> None:
    # While one thread's call is parked in a host function, every other thread's call fails at
    # once (none waits for the store), and the parked call then completes correctly.
    store = Store()
    entered = threading.Event()
    release = threading.Event()
    ex: dict[str, Any] = {}

    def host(spin: int) -> int:
        entered.set()
        assert release.wait(60)
        return int(ex["bump"](store, spin))

    func = Func(store, FuncType([ValType.i32()], [ValType.i32()]), host)
    ex.update(Instance(store, Module(store.engine, SHARED_WAT), [func]).exports(store))
    parked: list[Any] = []
    worker = threading.Thread(target=lambda: parked.append(ex["via_host"](store, 0)))
    worker.start()
    try:
        assert entered.wait(30)

        def attempt(i: int) -> str:
            try:
                return f"returned {ex['bump'](store, 0)}"
            except WasmtimeError as e:
                return str(e)

        results = run_threads(THREADS, attempt)
    finally:
        release.set()
        worker.join(60)
    assert all("in use" in r for r in results.values()), results
    assert parked == [1]
    assert ex["count"].value(store) == 1


# --------------------------------------------------------------------------------------------
# One Extism plugin called from 16 threads
# --------------------------------------------------------------------------------------------

# `run` hands its input to the host function `tag` and outputs what it returns.
TAG_WAT = """
(module
  (import "extism:host/user" "tag" (func $tag (param i64) (result i64)))
  (import "extism:host/env" "input_offset" (func $input (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output (param i64 i64)))
  (func (export "run") (result i32)
    (local $block i64)
    (local.set $block (call $tag (call $input)))
    (call $output (local.get $block) (call $length (local.get $block)))
    (i32.const 0)))
"""


def plugin_from_threads(calls: int) -> None:
    def tag(current: extism.CurrentPlugin, data: bytes) -> bytes:
        # The host context is per call: it must belong to the same call as the input.
        return data + b"|" + str(current.host_context()).encode()

    function = extism.extism.TypeInferredFunction("extism:host/user", "tag", tag)
    plugin = extism.Plugin(TAG_WAT, functions=[function])

    def work(i: int) -> list[int]:
        wrong = []
        for j in range(calls):
            data = f"{i}:{j}".encode() * (1 + j % 5)
            if plugin.call("run", data, host_context=(i, j)) != data + f"|{(i, j)}".encode():
                wrong.append(j)
        return wrong

    assert run_threads(THREADS, work) == {i: [] for i in range(THREADS)}


def test_one_extism_plugin_from_sixteen_threads() -> None:
    plugin_from_threads(100)


@pytest.mark.slow
def test_one_extism_plugin_from_sixteen_threads_full_size() -> None:
    plugin_from_threads(10_000)


def counted_vowels(calls: int) -> None:
    # A real Rust-PDK plugin that keeps a running total in an Extism var: concurrent calls must
    # run one at a time, so that the totals, in order, add up call by call.
    path = FIXTURES / "python-sdk__code.wasm"
    if not path.exists():
        pytest.skip(f"no fixture {path}")
    plugin = extism.Plugin(path.read_bytes(), functions=[])

    def work(i: int) -> list[tuple[int, dict[str, Any]]]:
        out = []
        for j in range(calls):
            text = "a" * (i + 1) + "xyz" * (j % 4) + "e" * (j % 3)
            out.append((i + 1 + j % 3, json.loads(plugin.call("count_vowels", text))))
        return out

    results = run_threads(THREADS, work)
    seen = []
    for i in range(THREADS):
        assert isinstance(results[i], list), f"thread {i}: {results[i]!r}"
        for expected, answer in results[i]:
            assert answer["count"] == expected
            seen.append((answer["total"], answer["count"]))
    seen.sort()
    previous = 0
    for total, count in seen:
        assert total == previous + count, "two calls interleaved on the plugin's var"
        previous = total
    assert len(seen) == THREADS * calls


def test_real_plugin_state_from_sixteen_threads() -> None:
    counted_vowels(50)


@pytest.mark.slow
def test_real_plugin_state_from_sixteen_threads_full_size() -> None:
    counted_vowels(2_000)
