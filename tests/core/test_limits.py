"""Resource limits and interruption: fuel, epochs, store limits, stack overflow, Ctrl-C."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

from wasmtime import (
    Config,
    Engine,
    Instance,
    Limits,
    Memory,
    MemoryType,
    Module,
    Store,
    Trap,
    TrapCode,
    WasmtimeError,
)

LOOP_WAT = """
(module
  (func (export "spin") (loop br 0))
  (func (export "one") (result i32) i32.const 1))
"""

RECURSE_WAT = """
(module
  (func $r (export "recurse") (param i32) (result i32)
    local.get 0
    i32.const 1
    i32.add
    call $r))
"""


def exports_of(store: Store, wat: str) -> Any:
    return Instance(store, Module(store.engine, wat), []).exports(store)


def run_python(code: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --------------------------------------------------------------------------------------------
# Fuel
# --------------------------------------------------------------------------------------------


def fuel_store() -> Store:
    config = Config()
    config.consume_fuel = True
    return Store(Engine(config))


def test_out_of_fuel_traps() -> None:
    store = fuel_store()
    ex = exports_of(store, LOOP_WAT)
    store.set_fuel(10_000)
    with pytest.raises(Trap) as info:
        ex["spin"](store)
    assert info.value.trap_code == TrapCode.OUT_OF_FUEL
    assert store.get_fuel() == 0


def test_zero_fuel_cannot_run() -> None:
    store = fuel_store()
    ex = exports_of(store, LOOP_WAT)
    with pytest.raises(Trap) as info:
        ex["one"](store)
    assert info.value.trap_code == TrapCode.OUT_OF_FUEL


def test_refuel_and_continue() -> None:
    store = fuel_store()
    ex = exports_of(store, LOOP_WAT)
    store.set_fuel(1000)
    assert ex["one"](store) == 1
    store.set_fuel(5)
    with pytest.raises(Trap):
        ex["spin"](store)
    store.set_fuel(1000)
    assert ex["one"](store) == 1


# --------------------------------------------------------------------------------------------
# Epochs
# --------------------------------------------------------------------------------------------


def epoch_store() -> Store:
    config = Config()
    config.epoch_interruption = True
    return Store(Engine(config))


def test_epoch_interrupts_infinite_loop_from_thread() -> None:
    store = epoch_store()
    ex = exports_of(store, LOOP_WAT)
    store.set_epoch_deadline(1)
    done = threading.Event()

    def ticker() -> None:
        time.sleep(0.05)
        while not done.wait(0.02):
            store.engine.increment_epoch()

    t = threading.Thread(target=ticker)
    t.start()
    start = time.monotonic()
    try:
        with pytest.raises(Trap) as info:
            ex["spin"](store)
    finally:
        done.set()
        t.join()
    assert info.value.trap_code == TrapCode.INTERRUPT
    assert time.monotonic() - start < 10
    # The store works again after a new deadline.
    store.set_epoch_deadline(1)
    assert ex["one"](store) == 1


def test_epoch_deadline_already_reached() -> None:
    store = epoch_store()
    ex = exports_of(store, LOOP_WAT)
    store.set_epoch_deadline(1)
    store.engine.increment_epoch()
    with pytest.raises(Trap) as info:
        ex["one"](store)
    assert info.value.trap_code == TrapCode.INTERRUPT


# --------------------------------------------------------------------------------------------
# Store limits on growth
# --------------------------------------------------------------------------------------------

GROW_WAT = """
(module
  (memory (export "memory") 1)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))
"""


def test_limit_memory_grow_from_host() -> None:
    store = Store()
    store.set_limits(memory_size=2 * 65536)
    mem = exports_of(store, GROW_WAT)["memory"]
    assert mem.grow(store, 1) == 1
    with pytest.raises(WasmtimeError):
        mem.grow(store, 1)
    assert mem.size(store) == 2


def test_limit_memory_grow_in_wasm_returns_minus_one() -> None:
    store = Store()
    store.set_limits(memory_size=3 * 65536)
    ex = exports_of(store, GROW_WAT)
    assert ex["grow"](store, 2) == 1
    assert ex["grow"](store, 1) == -1
    assert ex["memory"].size(store) == 3


def test_limit_host_memory_grow() -> None:
    store = Store()
    store.set_limits(memory_size=65536)
    mem = Memory(store, MemoryType(Limits(1, None)))
    with pytest.raises(WasmtimeError):
        mem.grow(store, 1)


def test_limit_table_elements_on_grow() -> None:
    store = Store()
    store.set_limits(table_elements=3)
    ex = exports_of(
        store,
        """
        (module
          (table (export "t") 1 funcref)
          (func (export "grow") (param i32) (result i32) ref.null func local.get 0 table.grow 0))
        """,
    )
    assert ex["grow"](store, 2) == 1
    assert ex["grow"](store, 1) == -1
    with pytest.raises(WasmtimeError):
        ex["t"].grow(store, 1, None)
    assert ex["t"].size(store) == 3


# --------------------------------------------------------------------------------------------
# Stack overflow
# --------------------------------------------------------------------------------------------


def test_stack_overflow_main_thread() -> None:
    store = Store()
    ex = exports_of(store, RECURSE_WAT)
    with pytest.raises(Trap) as info:
        ex["recurse"](store, 0)
    assert info.value.trap_code == TrapCode.STACK_OVERFLOW
    # The store survives the overflow.
    with pytest.raises(Trap):
        ex["recurse"](store, 0)


def test_stack_overflow_on_worker_thread() -> None:
    store = Store()
    ex = exports_of(store, RECURSE_WAT)
    result: list[BaseException] = []

    def work() -> None:
        try:
            ex["recurse"](store, 0)
        except BaseException as e:  # noqa: BLE001
            result.append(e)

    t = threading.Thread(target=work)
    t.start()
    t.join(60)
    assert len(result) == 1
    assert isinstance(result[0], Trap)
    assert result[0].trap_code == TrapCode.STACK_OVERFLOW


def test_stack_overflow_on_small_thread_stack() -> None:
    # Run in a subprocess: if the wasm stack limit were larger than the thread's stack, the
    # process would crash, and that must not take pytest down with it.
    proc = run_python(
        """
        import threading
        import wasmtime

        store = wasmtime.Store()
        wat = '''
        (module
          (func $r (export "recurse") (param i32) (result i32)
            local.get 0 i32.const 1 i32.add call $r))
        '''
        recurse = wasmtime.Instance(store, wasmtime.Module(store.engine, wat), []).exports(store)["recurse"]
        out = []

        def work():
            try:
                recurse(store, 0)
            except BaseException as e:
                out.append(e)

        threading.stack_size(256 * 1024)
        t = threading.Thread(target=work)
        t.start()
        t.join()
        e = out[0]
        print(type(e).__name__, getattr(e, "trap_code", None))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Trap TrapCode.STACK_OVERFLOW"


# --------------------------------------------------------------------------------------------
# Ctrl-C
# --------------------------------------------------------------------------------------------


def test_ctrl_c_interrupts_wasm_loop() -> None:
    proc = run_python(
        """
        import os, signal, threading, time
        import wasmtime

        store = wasmtime.Store()
        wat = '(module (func (export "spin") (loop br 0)) (func (export "one") (result i32) i32.const 1))'
        ex = wasmtime.Instance(store, wasmtime.Module(store.engine, wat), []).exports(store)
        timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        start = time.monotonic()
        try:
            ex["spin"](store)
        except KeyboardInterrupt:
            elapsed = time.monotonic() - start
            print("interrupted", elapsed < 2.3)
        else:
            print("not interrupted")
        timer.join()
        print("after", ex["one"](store))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["interrupted True", "after 1"]


def test_ctrl_c_twice() -> None:
    proc = run_python(
        """
        import os, signal, threading
        import wasmtime

        store = wasmtime.Store()
        wat = '(module (func (export "spin") (loop br 0)))'
        spin = wasmtime.Instance(store, wasmtime.Module(store.engine, wat), []).exports(store)["spin"]
        for i in range(2):
            timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
            timer.start()
            try:
                spin(store)
            except KeyboardInterrupt:
                print("interrupted", i)
            timer.join()
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["interrupted 0", "interrupted 1"]
