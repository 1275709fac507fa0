"""Zero-copy views stay sound (issue 8, item 7).

A ``memoryview`` or ``numpy`` array over ``Memory.buffer(store)`` must never read or write freed
memory: after ``Memory.grow`` it still shows the old bytes (length unchanged); after
``store.close()`` the store is retired, not freed, while a view is exported; after ``del store``
the view keeps the store alive. Growth that would move the memory (only possible with a small
``Config.memory_reservation``) is refused while a ``MemoryBuffer`` lives, and allowed again once
it is gone. ``data_ptr`` and ``get_buffer_ptr`` are unsafe by contract (documented in
``src/core/memory.rs``): only their valid use is tested.
"""

from __future__ import annotations

import ctypes
import gc
import weakref
from typing import Any

import numpy as np
import pytest

from wasmtime import (
    Config,
    Engine,
    Instance,
    Limits,
    Memory,
    MemoryBuffer,
    MemoryType,
    Module,
    Store,
)

PAGE = 65536

WAT = """
(module
  (memory (export "memory") 1)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size))
"""

PATTERN = bytes((i * 37 + 11) % 256 for i in range(PAGE))


def setup(store: Store) -> Any:
    ex = Instance(store, Module(store.engine, WAT), []).exports(store)
    ex["memory"].write(store, PATTERN, 0)
    return ex


def base_address(memory: Memory, store: Store) -> int:
    address = ctypes.cast(memory.data_ptr(store), ctypes.c_void_p).value
    assert address is not None
    return address


def view_address(view: Any) -> int:
    """The address a writable buffer starts at (reads nothing)."""
    return ctypes.addressof(ctypes.c_ubyte.from_buffer(view))


VIEW_KINDS = ["memoryview", "numpy"]


def make_view(kind: str, memory: Memory, store: Store) -> Any:
    if kind == "memoryview":
        return memoryview(memory.buffer(store))
    return np.frombuffer(memory.buffer(store), dtype=np.uint8)


def content(view: Any) -> bytes:
    return bytes(view)


# --------------------------------------------------------------------------------------------
# Growth (default config: the memory never moves)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", VIEW_KINDS)
@pytest.mark.parametrize("how", ["Memory.grow", "memory.grow"])
def test_view_after_growth_shows_the_old_bytes(kind: str, how: str) -> None:
    store = Store()
    ex = setup(store)
    memory = ex["memory"]
    view = make_view(kind, memory, store)
    address = view_address(view)
    for _ in range(3):
        if how == "Memory.grow":
            memory.grow(store, 2)
        else:
            assert ex["grow"](store, 2) > 0
    assert memory.size(store) == 7
    assert len(view) == PAGE
    assert content(view) == PATTERN
    assert view_address(view) == base_address(memory, store)
    assert view_address(view) == address
    # Both directions still go through the same bytes.
    view[100] = 0xAB
    assert ex["load"](store, 100) == 0xAB
    ex["store"](store, 200, 0xCD)
    assert view[200] == 0xCD
    # A new view sees the whole grown memory.
    assert len(make_view(kind, memory, store)) == 7 * PAGE


def test_writes_through_views_are_visible_to_wasm_and_back() -> None:
    store = Store()
    ex = setup(store)
    view = memoryview(ex["memory"].buffer(store))
    array = np.frombuffer(ex["memory"].buffer(store), dtype=np.uint8)
    view[0:4] = b"wasm"
    assert [ex["load"](store, i) for i in range(4)] == list(b"wasm")
    assert bytes(array[0:4]) == b"wasm"
    array[10:13] = [1, 2, 3]
    assert [ex["load"](store, 10 + i) for i in range(3)] == [1, 2, 3]
    assert bytes(view[10:13]) == b"\x01\x02\x03"
    ex["store"](store, PAGE - 1, 0x7F)
    assert view[PAGE - 1] == 0x7F
    assert array[PAGE - 1] == 0x7F
    assert ex["memory"].read(store, 0, 4) == bytearray(b"wasm")


# --------------------------------------------------------------------------------------------
# The store closed or garbage-collected under a live view
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", VIEW_KINDS)
def test_view_stays_readable_and_writable_after_store_close(kind: str) -> None:
    store = Store()
    ex = setup(store)
    memory = ex["memory"]
    view = make_view(kind, memory, store)
    store.close()
    # The store is closed for everything else...
    with pytest.raises(ValueError, match="already closed"):
        memory.size(store)
    with pytest.raises(ValueError, match="already closed"):
        memory.buffer(store)
    # ...but its memory is retired, not freed, while the view lives.
    assert len(view) == PAGE
    assert content(view) == PATTERN
    view[5] = 0x42
    assert view[5] == 0x42
    gc.collect()
    assert content(view)[:5] == PATTERN[:5]
    assert view[5] == 0x42


def test_buffer_made_before_close_cannot_export_after_it() -> None:
    # A MemoryBuffer with no view exported at close time does not keep the memory: it must then
    # refuse to hand out a view instead of pointing at freed memory.
    store = Store()
    ex = setup(store)
    buffer = ex["memory"].buffer(store)
    assert isinstance(buffer, MemoryBuffer)
    store.close()
    with pytest.raises(ValueError, match="already closed"):
        memoryview(buffer)
    with pytest.raises(ValueError, match="already closed"):
        np.frombuffer(buffer, dtype=np.uint8)


@pytest.mark.parametrize("kind", VIEW_KINDS)
@pytest.mark.parametrize("close", [False, True], ids=["open", "closed"])
def test_view_keeps_a_deleted_store_alive(kind: str, close: bool) -> None:
    store = Store()
    ex = setup(store)
    view = make_view(kind, ex["memory"], store)
    if close:
        store.close()
    ref = weakref.ref(store)
    del store, ex
    gc.collect()
    assert ref() is not None, "the store went away under a live view"
    assert content(view) == PATTERN
    view[0] = 0x99
    assert view[0] == 0x99
    # Releasing the view lets the store go.
    if kind == "memoryview":
        view.release()
    del view
    gc.collect()
    assert ref() is None


def test_many_views_of_one_store_after_close() -> None:
    store = Store()
    ex = setup(store)
    views = [memoryview(ex["memory"].buffer(store)) for _ in range(5)]
    arrays = [np.frombuffer(ex["memory"].buffer(store), dtype=np.uint8) for _ in range(5)]
    store.close()
    # Dropping some views does not free the memory under the others.
    for v in views[:4]:
        v.release()
    del arrays[:4]
    gc.collect()
    assert bytes(views[4]) == PATTERN
    assert bytes(arrays[0]) == PATTERN
    del store, ex
    gc.collect()
    assert bytes(views[4][:64]) == PATTERN[:64]
    assert int(arrays[0].sum()) == sum(PATTERN)


def test_view_of_a_host_created_memory_after_close() -> None:
    store = Store()
    memory = Memory(store, MemoryType(Limits(2, None)))
    memory.write(store, b"host", PAGE)
    view = memoryview(memory.buffer(store))
    store.close()
    del store
    gc.collect()
    assert bytes(view[PAGE : PAGE + 4]) == b"host"
    assert len(view) == 2 * PAGE


# --------------------------------------------------------------------------------------------
# Growth that would move the memory: refused while a MemoryBuffer lives
# --------------------------------------------------------------------------------------------


def moving_store(reservation: int = 0) -> Store:
    """A store whose memories move when they grow past `reservation` bytes."""
    config = Config()
    config.memory_reservation = reservation
    config.memory_reservation_for_growth = 0
    return Store(Engine(config))


def test_small_reservation_really_moves_memory() -> None:
    # The premise of the tests below: without a view, growth moves the memory.
    store = moving_store()
    ex = setup(store)
    before = base_address(ex["memory"], store)
    assert ex["memory"].grow(store, 1) == 1
    assert base_address(ex["memory"], store) != before
    assert ex["memory"].read(store, 0, PAGE) == bytearray(PATTERN)


@pytest.mark.parametrize("kind", VIEW_KINDS)
def test_growth_that_would_move_is_refused_while_a_view_lives(kind: str) -> None:
    store = moving_store()
    ex = setup(store)
    memory = ex["memory"]
    view = make_view(kind, memory, store)
    address = view_address(view)
    with pytest.raises(BufferError, match="MemoryBuffer"):
        memory.grow(store, 1)
    assert ex["grow"](store, 1) == -1
    assert memory.size(store) == 1
    assert ex["size"](store) == 1
    # Nothing moved: the view still shows (and writes) the memory.
    assert base_address(memory, store) == address
    assert content(view) == PATTERN
    view[7] = 0x11
    assert ex["load"](store, 7) == 0x11
    # Once the view is gone, growth works (and moves the memory, old bytes and all).
    if kind == "memoryview":
        view.release()
    del view
    gc.collect()
    assert memory.grow(store, 1) == 1
    assert ex["grow"](store, 1) == 2
    assert memory.size(store) == 3
    expected = bytearray(PATTERN)
    expected[7] = 0x11
    assert memory.read(store, 0, PAGE) == expected
    assert len(make_view(kind, memory, store)) == 3 * PAGE


def test_an_unexported_memory_buffer_also_pins_the_memory() -> None:
    # A MemoryBuffer remembers the address at creation; a view taken from it later must not
    # point at a moved memory, so its mere existence refuses moving growth.
    store = moving_store()
    ex = setup(store)
    memory = ex["memory"]
    buffer = memory.buffer(store)
    with pytest.raises(BufferError):
        memory.grow(store, 1)
    assert ex["grow"](store, 1) == -1
    view = memoryview(buffer)
    assert view_address(view) == base_address(memory, store)
    assert bytes(view) == PATTERN
    view.release()
    del view, buffer
    gc.collect()
    assert memory.grow(store, 1) == 1


def test_growth_within_the_reservation_is_allowed_with_a_view() -> None:
    # With two pages reserved, growing to two pages keeps the memory in place; a third page
    # would move it.
    store = moving_store(reservation=2 * PAGE)
    ex = setup(store)
    memory = ex["memory"]
    view = memoryview(memory.buffer(store))
    address = view_address(view)
    assert memory.grow(store, 1) == 1
    assert base_address(memory, store) == address
    with pytest.raises(BufferError):
        memory.grow(store, 1)
    assert ex["grow"](store, 1) == -1
    assert memory.size(store) == 2
    assert bytes(view) == PATTERN
    view.release()
    gc.collect()
    assert ex["grow"](store, 1) == 2


def test_a_view_of_one_memory_pins_the_others_of_its_store() -> None:
    store = moving_store()
    ex = setup(store)
    other = Memory(store, MemoryType(Limits(1, None)))
    view = memoryview(other.buffer(store))
    with pytest.raises(BufferError):
        ex["memory"].grow(store, 1)
    assert ex["grow"](store, 1) == -1
    view.release()
    gc.collect()
    assert ex["grow"](store, 1) == 1
    assert other.grow(store, 1) == 1


def test_views_of_another_store_do_not_pin() -> None:
    engine = moving_store().engine
    pinned = Store(engine)
    pinned_ex = setup(pinned)
    view = memoryview(pinned_ex["memory"].buffer(pinned))
    free = Store(engine)
    free_ex = setup(free)
    assert free_ex["grow"](free, 1) == 1
    assert free_ex["memory"].grow(free, 1) == 2
    assert pinned_ex["grow"](pinned, 1) == -1
    assert bytes(view) == PATTERN


# --------------------------------------------------------------------------------------------
# data_ptr / get_buffer_ptr: unsafe by contract; their valid use
# --------------------------------------------------------------------------------------------


def test_raw_pointers_agree_with_the_view_while_valid() -> None:
    store = Store()
    ex = setup(store)
    memory = ex["memory"]
    view = memoryview(memory.buffer(store))
    pointer = memory.data_ptr(store)
    array = memory.get_buffer_ptr(store, 16, 32)
    assert view_address(view) == base_address(memory, store)
    assert ctypes.addressof(array) == base_address(memory, store) + 32
    assert bytes(array) == PATTERN[32:48]
    assert pointer[40] == PATTERN[40]
    pointer[40] = 0x01
    array[9] = 0x02  # offset 41
    assert view[40:42] == b"\x01\x02"
    assert ex["load"](store, 40) == 1
    assert ex["load"](store, 41) == 2
    # As a numpy array over the raw pointer, for as long as the store is alive and unchanged.
    raw = np.ctypeslib.as_array(pointer, shape=(PAGE,))
    assert bytes(raw[40:42]) == b"\x01\x02"
    assert int(raw.sum()) == sum(bytes(view))
