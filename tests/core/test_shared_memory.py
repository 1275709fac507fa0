"""SharedMemory: engine-bound memories, imports and exports, several stores, threads, atomics."""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import wasmtime
from wasmtime import (
    Config,
    Engine,
    Instance,
    Limits,
    Memory,
    MemoryType,
    Module,
    SharedMemory,
    Store,
    Trap,
    TrapCode,
    WasmtimeError,
)

PAGE = 65536

# Imports a shared memory with the same limits as `new_shared(engine)`.
ACCESS_WAT = """
(module
  (import "" "m" (memory 1 2 shared))
  (func (export "load8") (param i32) (result i32) local.get 0 i32.atomic.load8_u)
  (func (export "store8") (param i32 i32) local.get 0 local.get 1 i32.atomic.store8)
  (func (export "size") (result i32) memory.size)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))
"""

EXPORT_WAT = """
(module
  (memory (export "m") 1 2 shared)
  (data (i32.const 3) "\\2a")
  (func (export "load8") (param i32) (result i32) local.get 0 i32.atomic.load8_u))
"""


@pytest.fixture
def shm_engine() -> Engine:
    config = Config()
    config.wasm_threads = True
    config.shared_memory = True
    return Engine(config)


def new_shared(engine: Engine, minimum: int = 1, maximum: int = 2) -> SharedMemory:
    return SharedMemory(engine, MemoryType(Limits(minimum, maximum), shared=True))


def access(engine: Engine, shm: SharedMemory) -> tuple[Store, Any]:
    """A fresh store with ACCESS_WAT instantiated against ``shm``; returns (store, exports)."""
    store = Store(engine)
    instance = Instance(store, Module(engine, ACCESS_WAT), [shm])
    return store, instance.exports(store)


# --------------------------------------------------------------------------------------------
# creation and configuration
# --------------------------------------------------------------------------------------------


def test_default_config_rejects_shared_memory() -> None:
    # Threads are on by default in wasmtime 48, shared memory is not.
    engine = Engine()
    with pytest.raises(WasmtimeError, match="shared memory support is disabled"):
        new_shared(engine)
    # Such a module compiles but cannot be instantiated either.
    module = Module(engine, EXPORT_WAT)
    store = Store(engine)
    with pytest.raises(WasmtimeError, match="shared memory support is disabled"):
        Instance(store, module, [])


def test_threads_disabled_rejects_shared_memory_module() -> None:
    config = Config()
    config.wasm_threads = False
    config.shared_memory = True
    with pytest.raises(WasmtimeError, match="threads must be enabled for shared memories"):
        Module(Engine(config), EXPORT_WAT)


def test_shared_memory_config_alone_is_enough() -> None:
    config = Config()
    config.shared_memory = True
    shm = new_shared(Engine(config))
    assert shm.type().is_shared is True


def test_new_shared_memory(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine, 1, 2)
    ty = shm.type()
    assert isinstance(ty, MemoryType)
    assert ty.is_shared is True
    assert ty.is_64 is False
    assert ty.limits == Limits(1, 2)
    assert shm.size() == 1
    assert shm.data_len() == PAGE
    assert shm.read() == bytearray(PAGE)


def test_non_shared_type_rejected(shm_engine: Engine) -> None:
    with pytest.raises(WasmtimeError, match="must have the `shared` flag"):
        SharedMemory(shm_engine, MemoryType(Limits(1, 2)))


def test_constructor_type_errors(shm_engine: Engine) -> None:
    with pytest.raises(AttributeError):
        SharedMemory(1, MemoryType(Limits(1, 2), shared=True))  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        SharedMemory(shm_engine, 1)  # type: ignore[arg-type]


def test_is_managed(shm_engine: Engine) -> None:
    assert isinstance(new_shared(shm_engine), wasmtime.Managed)


# --------------------------------------------------------------------------------------------
# grow / size
# --------------------------------------------------------------------------------------------


def test_grow_returns_previous_pages(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine, 1, 4)
    assert shm.grow(1) == 1
    assert shm.size() == 2
    assert shm.data_len() == 2 * PAGE
    assert shm.grow(2) == 2
    assert shm.size() == 4
    assert shm.grow(0) == 4
    assert shm.data_len() == 4 * PAGE


def test_grow_past_maximum(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine, 1, 2)
    with pytest.raises(WasmtimeError):
        shm.grow(2)
    assert shm.size() == 1
    assert shm.grow(1) == 1
    with pytest.raises(WasmtimeError):
        shm.grow(1)
    assert shm.size() == 2


def test_grow_negative(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    with pytest.raises(WasmtimeError) as exc:
        shm.grow(-1)
    assert str(exc.value) == "cannot grow by negative amount"
    assert shm.size() == 1


def test_grow_type_error(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    with pytest.raises(TypeError):
        shm.grow("1")  # type: ignore[arg-type]
    assert shm.size() == 1


def test_type_reports_declared_limits_after_grow(shm_engine: Engine) -> None:
    # As for Memory, the type is the declared one (wasmtime's SharedMemory::ty).
    shm = new_shared(shm_engine, 1, 3)
    shm.grow(2)
    assert shm.type().limits == Limits(1, 3)
    assert shm.size() == 3


# --------------------------------------------------------------------------------------------
# read / write (no store argument)
# --------------------------------------------------------------------------------------------


def test_write_and_read(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    assert shm.write(b"\x01\x02\x03") == 3
    assert shm.read(0, 3) == bytearray(b"\x01\x02\x03")
    assert isinstance(shm.read(0, 3), bytearray)
    assert shm.write(bytearray(b"xyz"), 100) == 3
    assert shm.read(100, 103) == bytearray(b"xyz")
    assert shm.write([7, 8], 200) == 2  # type: ignore[arg-type]
    assert shm.read(start=200, stop=202) == bytearray(b"\x07\x08")


def test_read_slice_semantics(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    shm.write(bytes(range(8)), 0)
    shm.write(b"\xaa\xbb\xcc", PAGE - 3)
    assert shm.read(-3) == bytearray(b"\xaa\xbb\xcc")
    assert shm.read(-3, -1) == bytearray(b"\xaa\xbb")
    assert shm.read(2, 5) == bytearray(b"\x02\x03\x04")
    assert shm.read(5, 2) == bytearray()
    assert shm.read(PAGE - 1, PAGE + 50) == bytearray(b"\xcc")
    assert shm.read(PAGE + 1, PAGE + 9) == bytearray()
    assert shm.read(-(10**9), 2) == bytearray(b"\x00\x01")
    assert shm.read(None, 2) == bytearray(b"\x00\x01")
    assert len(shm.read()) == PAGE


def test_write_negative_start_and_bounds(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    assert shm.write(b"zz", -2) == 2
    assert shm.read(PAGE - 2) == bytearray(b"zz")
    assert shm.write(b"", 5) == 0
    with pytest.raises(IndexError):
        shm.write(b"a", PAGE)
    with pytest.raises(IndexError):
        shm.write(b"", PAGE)
    with pytest.raises(IndexError, match="index out of range"):
        shm.write(b"abc", PAGE - 2)
    # Nothing was written by the failed call.
    assert shm.read(PAGE - 2) == bytearray(b"zz")


def test_read_write_follow_growth(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine, 1, 2)
    with pytest.raises(IndexError):
        shm.write(b"q", PAGE + 1)
    shm.grow(1)
    assert shm.write(b"q", PAGE + 1) == 1
    assert shm.read(PAGE, PAGE + 2) == bytearray(b"\x00q")
    assert len(shm.read()) == 2 * PAGE


@given(
    start=st.integers(-2 * PAGE, 2 * PAGE),
    stop=st.one_of(st.none(), st.integers(-2 * PAGE, 2 * PAGE)),
)
@settings(max_examples=100, deadline=None)
def test_read_matches_slicing(start: int, stop: int | None) -> None:
    config = Config()
    config.shared_memory = True
    shm = new_shared(Engine(config), 1, 1)
    pattern = bytes((i * 13 + 5) % 256 for i in range(PAGE))
    shm.write(pattern)
    assert shm.read(start, stop) == bytearray(pattern[start:stop])


# --------------------------------------------------------------------------------------------
# raw pointer
# --------------------------------------------------------------------------------------------


def test_data_ptr_shares_bytes_with_wasm(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    store, ex = access(shm_engine, shm)
    ptr = shm.data_ptr()
    assert isinstance(ptr, ctypes.POINTER(ctypes.c_ubyte))
    ptr[100] = 55
    assert ex["load8"](store, 100) == 55
    ex["store8"](store, 101, 66)
    assert ptr[101] == 66
    assert shm.read(100, 102) == bytearray(b"\x37\x42")


def test_data_ptr_is_stable_across_growth(shm_engine: Engine) -> None:
    # A shared memory never moves: other threads may be using it.
    shm = new_shared(shm_engine, 1, 2)
    before = ctypes.cast(shm.data_ptr(), ctypes.c_void_p).value
    shm.data_ptr()[10] = 9
    assert shm.grow(1) == 1
    after = ctypes.cast(shm.data_ptr(), ctypes.c_void_p).value
    assert before is not None
    assert before == after
    assert shm.data_ptr()[10] == 9
    shm.data_ptr()[PAGE + 10] = 8
    assert shm.read(PAGE + 10, PAGE + 11) == bytearray(b"\x08")


# --------------------------------------------------------------------------------------------
# imports, exports, several stores
# --------------------------------------------------------------------------------------------


def test_import_into_instance(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    store, ex = access(shm_engine, shm)
    shm.write(b"\x11\x22", 40)
    assert ex["load8"](store, 41) == 0x22
    ex["store8"](store, 42, 0x33)
    assert shm.read(40, 43) == bytearray(b"\x11\x22\x33")
    assert ex["size"](store) == 1


def test_two_stores_see_the_same_bytes(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    store_a, ex_a = access(shm_engine, shm)
    store_b, ex_b = access(shm_engine, shm)
    ex_a["store8"](store_a, 7, 99)
    assert ex_b["load8"](store_b, 7) == 99
    ex_b["store8"](store_b, 8, 98)
    assert ex_a["load8"](store_a, 8) == 98
    assert shm.read(7, 9) == bytearray(b"\x63\x62")


def test_growth_is_seen_by_every_store(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine, 1, 2)
    store_a, ex_a = access(shm_engine, shm)
    store_b, ex_b = access(shm_engine, shm)
    assert ex_a["grow"](store_a, 1) == 1
    assert ex_b["size"](store_b) == 2
    assert shm.size() == 2
    assert shm.data_len() == 2 * PAGE
    ex_b["store8"](store_b, PAGE + 5, 4)
    assert shm.read(PAGE + 5, PAGE + 6) == bytearray(b"\x04")
    assert ex_a["grow"](store_a, 1) == -1


def test_exported_shared_memory_is_shared_memory(shm_engine: Engine) -> None:
    store = Store(shm_engine)
    ex = Instance(store, Module(shm_engine, EXPORT_WAT), []).exports(store)
    shm = ex["m"]
    assert isinstance(shm, SharedMemory)
    assert not isinstance(shm, Memory)
    assert shm.type().is_shared is True
    assert shm.type().limits == Limits(1, 2)
    assert shm.read(3, 4) == bytearray(b"\x2a")
    # It can be handed to an instance in another store, which then shares the bytes.
    other_store, other = access(shm_engine, shm)
    assert other["load8"](other_store, 3) == 42
    other["store8"](other_store, 4, 43)
    assert ex["load8"](store, 4) == 43


def test_plain_memory_for_shared_import(shm_engine: Engine) -> None:
    store = Store(shm_engine)
    plain = Memory(store, MemoryType(Limits(1, 2)))
    with pytest.raises(WasmtimeError, match="expected shared memory"):
        Instance(store, Module(shm_engine, ACCESS_WAT), [plain])


def test_shared_memory_for_plain_import(shm_engine: Engine) -> None:
    store = Store(shm_engine)
    module = Module(shm_engine, '(module (import "" "m" (memory 1 2)))')
    with pytest.raises(WasmtimeError):
        Instance(store, module, [new_shared(shm_engine)])


def test_shared_memory_from_other_engine(shm_engine: Engine) -> None:
    config = Config()
    config.shared_memory = True
    foreign = new_shared(Engine(config))
    store = Store(shm_engine)
    with pytest.raises(WasmtimeError):
        Instance(store, Module(shm_engine, ACCESS_WAT), [foreign])


# --------------------------------------------------------------------------------------------
# close
# --------------------------------------------------------------------------------------------


def test_closed_shared_memory(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    shm.close()
    shm.close()
    uses: list[Callable[[], Any]] = [
        shm.type,
        shm.size,
        shm.data_len,
        shm.data_ptr,
        lambda: shm.grow(1),
        lambda: shm.read(0, 1),
        lambda: shm.write(b"x"),
    ]
    for use in uses:
        with pytest.raises(ValueError, match="already closed"):
            use()


def test_context_manager_closes(shm_engine: Engine) -> None:
    with new_shared(shm_engine) as shm:
        assert shm.size() == 1
    with pytest.raises(ValueError, match="already closed"):
        shm.size()


def test_instance_keeps_memory_after_close(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    store, ex = access(shm_engine, shm)
    shm.write(b"\x05", 0)
    shm.close()
    # Closing the Python handle does not free the memory that the instance imported.
    assert ex["load8"](store, 0) == 5
    ex["store8"](store, 1, 6)
    assert ex["load8"](store, 1) == 6


def test_closed_shared_memory_as_import(shm_engine: Engine) -> None:
    shm = new_shared(shm_engine)
    shm.close()
    store = Store(shm_engine)
    with pytest.raises(ValueError, match="already closed"):
        Instance(store, Module(shm_engine, ACCESS_WAT), [shm])


# --------------------------------------------------------------------------------------------
# atomics and threads
# --------------------------------------------------------------------------------------------

THREADS_WAT = """
(module
  (import "" "m" (memory 1 1 shared))
  (func (export "wait") (param i32 i32 i64) (result i32)
    local.get 0 local.get 1 local.get 2 memory.atomic.wait32)
  (func (export "notify") (param i32 i32) (result i32)
    local.get 0 local.get 1 memory.atomic.notify)
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.atomic.rmw.add)
  ;; Keeps notifying one waiter at the address until one was actually woken.
  (func (export "notify_until_woken") (param i32) (result i32)
    (local $n i32)
    (loop $again
      (local.set $n (memory.atomic.notify (local.get 0) (i32.const 1)))
      (br_if $again (i32.eqz (local.get $n))))
    local.get $n)
  ;; Takes `rounds` turns on the counter at address 0: waits (spinning) until its parity is
  ;; `parity`, then increments it. Two callers with parities 0 and 1 alternate strictly, so
  ;; they can only finish if both run at the same time.
  (func (export "pingpong") (param $parity i32) (param $rounds i32) (result i32)
    (local $i i32) (local $v i32)
    (block $done
      (loop $turn
        (br_if $done (i32.ge_u (local.get $i) (local.get $rounds)))
        (loop $spin
          (local.set $v (i32.atomic.load (i32.const 0)))
          (br_if $spin (i32.ne (i32.and (local.get $v) (i32.const 1)) (local.get $parity))))
        (i32.atomic.store (i32.const 0) (i32.add (local.get $v) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $turn)))
    local.get $i)
  ;; Sets the byte at $flag to 1, then spins until the i32 at $addr equals $val.
  (func (export "announce_and_spin") (param $flag i32) (param $addr i32) (param $val i32) (result i32)
    (i32.atomic.store8 (local.get $flag) (i32.const 1))
    (loop $spin
      (br_if $spin (i32.ne (i32.atomic.load (local.get $addr)) (local.get $val))))
    local.get $val))
"""

# Safety nets for the threaded tests, so that a failure raises instead of hanging. Fuel bounds a
# spin even if the other thread never gets to run (e.g. the GIL is held during wasm); the epoch
# watchdog interrupts everything after WATCHDOG_SECONDS if the GIL is free.
FUEL = 20 * 10**9
WATCHDOG_SECONDS = 60.0
WAIT_TIMEOUT_NS = 20 * 10**9


def threaded_engine() -> Engine:
    config = Config()
    config.wasm_threads = True
    config.shared_memory = True
    config.consume_fuel = True
    config.epoch_interruption = True
    return Engine(config)


def guarded(engine: Engine, shm: SharedMemory) -> tuple[Store, Any]:
    store = Store(engine)
    store.set_fuel(FUEL)
    store.set_epoch_deadline(1)
    instance = Instance(store, Module(engine, THREADS_WAT), [shm])
    return store, instance.exports(store)


@contextmanager
def watchdog(engine: Engine) -> Iterator[None]:
    timer = threading.Timer(WATCHDOG_SECONDS, engine.increment_epoch)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def run_threads(*fns: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Runs each function on its own thread; returns ("ok", result) or ("err", exception)."""
    results: list[tuple[str, Any]] = [("missing", None)] * len(fns)

    def work(i: int, fn: Callable[[], Any]) -> None:
        try:
            results[i] = ("ok", fn())
        except BaseException as e:  # noqa: BLE001
            results[i] = ("err", e)

    threads = [threading.Thread(target=work, args=(i, fn), daemon=True) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WATCHDOG_SECONDS * 2)
    assert not any(t.is_alive() for t in threads), "a thread is stuck in wasm"
    return results


def test_atomics_single_thread(shm_engine: Engine) -> None:
    shm = SharedMemory(shm_engine, MemoryType(Limits(1, 1), shared=True))
    store = Store(shm_engine)
    ex = Instance(store, Module(shm_engine, THREADS_WAT), [shm]).exports(store)
    assert ex["add"](store, 16, 5) == 0
    assert ex["add"](store, 16, 2) == 5
    assert shm.read(16, 20) == bytearray(b"\x07\x00\x00\x00")
    # wait32: 1 = "not-equal", 2 = "timed-out"; notify returns the number of waiters woken.
    assert ex["wait"](store, 16, 0, 0) == 1
    assert ex["wait"](store, 16, 7, 0) == 2
    assert ex["wait"](store, 16, 7, 1000) == 2
    assert ex["notify"](store, 16, 1) == 0


def test_atomic_wait_on_plain_memory_traps(store: Store) -> None:
    module = Module(
        store.engine,
        '(module (memory 1) (func (export "w") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0))))',
    )
    w = Instance(store, module, []).exports(store)["w"]
    with pytest.raises(Trap) as info:
        w(store)
    assert info.value.trap_code == TrapCode.ATOMIC_WAIT_NON_SHARED_MEMORY


def test_two_threads_run_wasm_in_parallel() -> None:
    # Each thread's wasm spins with i32.atomic.load until the other thread's wasm, in another
    # store, takes its turn. Finishing proves both ran wasm at the same time (no GIL held).
    engine = threaded_engine()
    shm = SharedMemory(engine, MemoryType(Limits(1, 1), shared=True))
    store_a, ex_a = guarded(engine, shm)
    store_b, ex_b = guarded(engine, shm)
    rounds = 100
    with watchdog(engine):
        results = run_threads(
            lambda: ex_a["pingpong"](store_a, 0, rounds),
            lambda: ex_b["pingpong"](store_b, 1, rounds),
        )
    assert results == [("ok", rounds), ("ok", rounds)], f"wasm did not run in parallel: {results}"
    assert shm.read(0, 4) == bytearray((2 * rounds).to_bytes(4, "little"))


def test_wait_and_notify_across_threads() -> None:
    engine = threaded_engine()
    shm = SharedMemory(engine, MemoryType(Limits(1, 1), shared=True))
    store_a, ex_a = guarded(engine, shm)
    store_b, ex_b = guarded(engine, shm)
    with watchdog(engine):
        results = run_threads(
            # 0 means "woken by a notify" (2 would be a timeout).
            lambda: ex_a["wait"](store_a, 64, 0, WAIT_TIMEOUT_NS),
            lambda: ex_b["notify_until_woken"](store_b, 64),
        )
    assert results == [("ok", 0), ("ok", 1)]


def test_python_thread_writes_while_wasm_spins() -> None:
    # The worker's wasm raises a flag, then spins until the i32 at 128 becomes 7. The main thread
    # sees the flag and writes the value through SharedMemory.write (no store involved), which it
    # can only do while the worker is inside wasm if the GIL was released.
    engine = threaded_engine()
    shm = SharedMemory(engine, MemoryType(Limits(1, 1), shared=True))
    store, ex = guarded(engine, shm)
    out: list[tuple[str, Any]] = []

    def work() -> None:
        try:
            out.append(("ok", ex["announce_and_spin"](store, 132, 128, 7)))
        except BaseException as e:  # noqa: BLE001
            out.append(("err", e))

    with watchdog(engine):
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        deadline = time.monotonic() + WATCHDOG_SECONDS
        while shm.read(132, 133) != bytearray(b"\x01"):
            assert worker.is_alive(), f"worker stopped before raising its flag: {out}"
            assert time.monotonic() < deadline, "worker never entered wasm"
            time.sleep(0.001)
        assert worker.is_alive()
        assert shm.write((7).to_bytes(4, "little"), 128) == 4
        worker.join(WATCHDOG_SECONDS * 2)
    assert not worker.is_alive()
    assert out == [("ok", 7)]
