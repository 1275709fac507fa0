"""Threads: the GIL is released while wasm runs, one store is used by one thread at a time."""

from __future__ import annotations

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
    Module,
    Store,
    Trap,
    TrapCode,
    ValType,
    WasmtimeError,
)

# "run" calls the host import "started" and then spins until interrupted by an epoch.
SPIN_WAT = """
(module
  (import "" "started" (func $started))
  (memory (export "memory") 1)
  (func (export "run") call $started (loop br 0))
  (func (export "one") (result i32) i32.const 1))
"""


def epoch_engine() -> Engine:
    config = Config()
    config.epoch_interruption = True
    return Engine(config)


class Spinner:
    """Runs SPIN_WAT's ``run`` on a worker thread until ``stop()`` bumps the epoch."""

    def __init__(self, engine: Engine, module: Module) -> None:
        self.engine = engine
        self.store = Store(engine)
        self.started = threading.Event()
        started = Func(self.store, FuncType([], []), lambda: self.started.set())
        self.exports = Instance(self.store, module, [started]).exports(self.store)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work)

    def _work(self) -> None:
        try:
            self.store.set_epoch_deadline(1)
            self.exports["run"](self.store)
        except BaseException as e:  # noqa: BLE001
            self.error = e

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        while self.thread.is_alive():
            self.engine.increment_epoch()
            self.thread.join(0.01)


def run_in_thread(fn: Callable[[], Any], timeout: float = 10) -> tuple[bool, Any]:
    out: list[Any] = []

    def work() -> None:
        try:
            out.append(("ok", fn()))
        except BaseException as e:  # noqa: BLE001
            out.append(("err", e))

    t = threading.Thread(target=work)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return False, None
    return True, out[0]


def test_store_usable_from_other_thread_when_idle() -> None:
    store = Store()
    module = Module(
        store.engine,
        '(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add))',
    )
    f = Instance(store, module, []).exports(store)["f"]
    finished, result = run_in_thread(lambda: f(store, 41))
    assert finished
    assert result == ("ok", 42)
    assert f(store, 1) == 2


def test_same_store_from_other_thread_is_in_use() -> None:
    engine = epoch_engine()
    spinner = Spinner(engine, Module(engine, SPIN_WAT))
    spinner.start()
    try:
        assert spinner.started.wait(10)
        attempts = {
            "call": lambda: spinner.exports["one"](spinner.store),
            "memory": lambda: spinner.exports["memory"].size(spinner.store),
            "gc": lambda: spinner.store.gc(),
        }
        results = {name: run_in_thread(fn, 5) for name, fn in attempts.items()}
    finally:
        spinner.stop()
    assert isinstance(spinner.error, Trap)
    assert spinner.error.trap_code == TrapCode.INTERRUPT
    for name, (finished, result) in results.items():
        assert finished, f"{name}: blocked instead of raising"
        kind, value = result
        assert kind == "err", f"{name}: returned {value!r}"
        assert isinstance(value, WasmtimeError), f"{name}: {value!r}"
        assert "in use" in str(value), f"{name}: {value}"
    # Once the worker is done, the store is usable again.
    spinner.store.set_epoch_deadline(1)
    assert spinner.exports["one"](spinner.store) == 1


def test_main_thread_runs_python_while_wasm_spins() -> None:
    engine = epoch_engine()
    spinner = Spinner(engine, Module(engine, SPIN_WAT))
    spinner.start()
    try:
        assert spinner.started.wait(10)
        # If the GIL were held by the spinning thread, this loop would not make progress.
        total = sum(range(100_000))
        other = Store(engine)
        other.set_epoch_deadline(10**6)
        one = Instance(
            other, Module(engine, '(module (func (export "one") (result i32) i32.const 1))'), []
        ).exports(other)["one"]
        assert one(other) == 1
    finally:
        spinner.stop()
    assert total == 4999950000
    assert isinstance(spinner.error, Trap)


def test_two_stores_run_concurrently() -> None:
    engine = epoch_engine()
    module = Module(engine, SPIN_WAT)
    a = Spinner(engine, module)
    b = Spinner(engine, module)
    a.start()
    try:
        assert a.started.wait(10)
        b.start()
        # b can only enter wasm (and call its host import) while a keeps spinning.
        assert b.started.wait(10), "second store did not run while the first was spinning"
        assert a.thread.is_alive()
    finally:
        a.stop()
        b.stop()
    assert isinstance(a.error, Trap) and a.error.trap_code == TrapCode.INTERRUPT
    assert isinstance(b.error, Trap) and b.error.trap_code == TrapCode.INTERRUPT


def test_many_threads_many_stores() -> None:
    engine = Engine()
    module = Module(
        engine,
        """
        (module (func (export "sum") (param i32) (result i64)
          (local i64)
          (block (loop
            (br_if 1 (i32.eqz (local.get 0)))
            (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br 0)))
          local.get 1))
        """,
    )
    results: dict[int, Any] = {}

    def work(i: int) -> None:
        try:
            store = Store(engine)
            f = Instance(store, module, []).exports(store)["sum"]
            results[i] = [f(store, 1000 + i) for _ in range(20)][-1]
        except BaseException as e:  # noqa: BLE001
            results[i] = e

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {i: (1000 + i) * (1001 + i) // 2 for i in range(8)}


def test_host_function_on_worker_thread() -> None:
    store = Store()
    seen: list[str] = []
    f = Func(
        store,
        FuncType([ValType.i32()], [ValType.i32()]),
        lambda x: seen.append(threading.current_thread().name) or x * 2,
    )
    module = Module(
        store.engine,
        '(module (import "" "f" (func $f (param i32) (result i32))) (func (export "run") (param i32) (result i32) local.get 0 call $f))',
    )
    run = Instance(store, module, [f]).exports(store)["run"]
    t = threading.Thread(target=lambda: seen.append(str(run(store, 21))), name="worker-x")
    t.start()
    t.join(10)
    assert seen == ["worker-x", "42"]


def test_increment_epoch_from_host_function() -> None:
    engine = epoch_engine()
    store = Store(engine)
    bump = Func(store, FuncType([], []), engine.increment_epoch)
    module = Module(
        engine, '(module (import "" "bump" (func $b)) (func (export "run") (loop call $b br 0)))'
    )
    run = Instance(store, module, [bump]).exports(store)["run"]
    store.set_epoch_deadline(3)
    with pytest.raises(Trap) as info:
        run(store)
    assert info.value.trap_code == TrapCode.INTERRUPT


# Two stores running wasm in parallel, proved without timing by a handshake over a shared
# memory, is tested in test_shared_memory.py (test_two_threads_run_wasm_in_parallel).

PAUSE_WAT = """
(module
  (import "" "pause" (func $pause (param i32) (result i32)))
  (memory (export "memory") 1)
  (global (export "g") (mut i32) (i32.const 5))
  (table (export "t") 1 funcref)
  (func (export "run") (param i32) (result i32) local.get 0 call $pause i32.const 1 i32.add)
  (func (export "one") (result i32) i32.const 1))
"""


def test_other_thread_gets_in_use_error_during_host_callback() -> None:
    # The worker's call is parked inside a host function; every use of its store from other
    # threads fails at once, and the worker's call still returns the right value afterwards.
    store = Store()
    entered = threading.Event()
    proceed = threading.Event()

    def pause(x: int) -> int:
        entered.set()
        if not proceed.wait(30):
            raise RuntimeError("never released")
        return x * 2

    module = Module(store.engine, PAUSE_WAT)
    pause_func = Func(store, FuncType([ValType.i32()], [ValType.i32()]), pause)
    ex = Instance(store, module, [pause_func]).exports(store)
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(ex["run"](store, 20)))
    worker.start()
    try:
        assert entered.wait(10)
        attempts: dict[str, Callable[[], Any]] = {
            "call": lambda: ex["one"](store),
            "host func": lambda: pause_func(store, 1),
            "memory": lambda: ex["memory"].read(store, 0, 1),
            "global": lambda: ex["g"].value(store),
            "table": lambda: ex["t"].size(store),
            "instance": lambda: Instance(store, module, [pause_func]),
            "gc": store.gc,
        }
        results = {name: run_in_thread(fn, 5) for name, fn in attempts.items()}
        # The main thread is "another thread" too.
        with pytest.raises(WasmtimeError, match="in use by another thread"):
            ex["one"](store)
    finally:
        proceed.set()
        worker.join(10)
    assert not worker.is_alive()
    assert out == [41]
    for name, (finished, result) in results.items():
        assert finished, f"{name}: blocked instead of raising"
        kind, value = result
        assert kind == "err", f"{name}: returned {value!r}"
        assert isinstance(value, WasmtimeError), f"{name}: {value!r}"
        assert "in use by another thread" in str(value), f"{name}: {value}"
    # The store is free again.
    assert ex["one"](store) == 1
    assert ex["g"].value(store) == 5
    assert ex["run"](store, 1) == 3


def test_other_thread_gets_in_use_error_while_wasm_spins() -> None:
    # The worker's wasm spins (no host call) on a flag in a shared memory that the main thread
    # can set without touching the worker's store; meanwhile the store is in use.
    from wasmtime import Limits, MemoryType, SharedMemory

    config = Config()
    config.shared_memory = True
    config.consume_fuel = True  # bounds the spin if the flag is never seen
    engine = Engine(config)
    shm = SharedMemory(engine, MemoryType(Limits(1, 1), shared=True))
    store = Store(engine)
    store.set_fuel(20 * 10**9)
    module = Module(
        engine,
        """
        (module
          (import "" "m" (memory 1 1 shared))
          ;; Raises the byte at 0, spins until the i32 at 4 is non-zero, returns it plus $x.
          (func (export "run") (param $x i32) (result i32)
            (local $v i32)
            (i32.atomic.store8 (i32.const 0) (i32.const 1))
            (loop $spin
              (local.set $v (i32.atomic.load (i32.const 4)))
              (br_if $spin (i32.eqz (local.get $v))))
            (i32.add (local.get $v) (local.get $x)))
          (func (export "one") (result i32) i32.const 1))
        """,
    )
    ex = Instance(store, module, [shm]).exports(store)
    out: list[Any] = []

    def work() -> None:
        try:
            out.append(("ok", ex["run"](store, 30)))
        except BaseException as e:  # noqa: BLE001
            out.append(("err", e))

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        for _ in range(10_000):
            if shm.read(0, 1) == bytearray(b"\x01") or not worker.is_alive():
                break
            time.sleep(0.001)
        assert shm.read(0, 1) == bytearray(b"\x01"), f"worker never entered wasm: {out}"
        with pytest.raises(WasmtimeError, match="in use by another thread"):
            ex["one"](store)
        finished, result = run_in_thread(lambda: store.gc(), 5)
        assert finished
        assert result[0] == "err"
        assert "in use by another thread" in str(result[1])
    finally:
        shm.write((12).to_bytes(4, "little"), 4)
        worker.join(60)
    assert not worker.is_alive()
    assert out == [("ok", 42)]
    assert ex["one"](store) == 1
