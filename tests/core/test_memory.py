"""Memory: creation, grow, size, read/write slice semantics, raw pointers, buffer protocol."""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
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
    Store,
    WasmtimeError,
)

PAGE = 65536

MEM_WAT = """
(module
  (memory (export "memory") 1 4)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size)
  (data (i32.const 10) "\\01\\02\\03\\04"))
"""


@pytest.fixture
def mem_exports(exports: Callable[..., Any]) -> Any:
    return exports(MEM_WAT)


def new_memory(store: Store, pages: int = 1, maximum: int | None = None) -> Memory:
    return Memory(store, MemoryType(Limits(pages, maximum)))


def test_new_memory(store: Store) -> None:
    mem = new_memory(store, 2, 5)
    assert mem.size(store) == 2
    assert mem.data_len(store) == 2 * PAGE
    ty = mem.type(store)
    assert isinstance(ty, MemoryType)
    assert ty.limits == Limits(2, 5)
    assert mem.page_size(store) == PAGE
    assert mem.page_size_log2(store) == 16


def test_new_memory_is_zeroed(store: Store) -> None:
    mem = new_memory(store)
    assert mem.read(store) == bytearray(PAGE)


def test_memory_constructor_type_errors(store: Store) -> None:
    with pytest.raises(AttributeError):
        Memory(1, MemoryType(Limits(1, None)))  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        Memory(store, 1)  # type: ignore[arg-type]


def test_grow_returns_old_size(store: Store) -> None:
    mem = new_memory(store, 1, 4)
    assert mem.grow(store, 1) == 1
    assert mem.size(store) == 2
    assert mem.grow(store, 2) == 2
    assert mem.size(store) == 4
    assert mem.data_len(store) == 4 * PAGE
    assert mem.grow(store, 0) == 4


def test_grow_past_maximum(store: Store) -> None:
    mem = new_memory(store, 1, 2)
    with pytest.raises(WasmtimeError):
        mem.grow(store, 2)
    assert mem.size(store) == 1


def test_grow_negative(store: Store) -> None:
    mem = new_memory(store)
    with pytest.raises(WasmtimeError) as exc:
        mem.grow(store, -1)
    assert str(exc.value) == "cannot grow by negative amount"


def test_grow_type_error(store: Store) -> None:
    mem = new_memory(store)
    with pytest.raises(TypeError):
        mem.grow(store, "1")  # type: ignore[arg-type]


def test_grow_visible_to_wasm(mem_exports: Any, store: Store) -> None:
    mem = mem_exports["memory"]
    assert mem_exports["size"](store) == 1
    assert mem.grow(store, 1) == 1
    assert mem_exports["size"](store) == 2
    assert mem_exports["grow"](store, 1) == 2
    assert mem.size(store) == 3
    assert mem_exports["grow"](store, 5) == -1


# --------------------------------------------------------------------------------------------
# read / write
# --------------------------------------------------------------------------------------------


def test_read_data_segment(mem_exports: Any, store: Store) -> None:
    mem = mem_exports["memory"]
    assert mem.read(store, 10, 14) == bytearray(b"\x01\x02\x03\x04")
    assert isinstance(mem.read(store, 10, 14), bytearray)


def test_read_whole_memory(store: Store) -> None:
    mem = new_memory(store)
    data = mem.read(store)
    assert len(data) == PAGE
    assert mem.read(store, 0, None) == data


def test_read_start_none(store: Store) -> None:
    # The signature is read(store, start: int | None = 0, stop: int | None = None).
    mem = new_memory(store)
    mem.write(store, b"\x01\x02", 0)
    assert mem.read(store, None, 2) == bytearray(b"\x01\x02")
    assert len(mem.read(store, None, None)) == PAGE


def test_read_slice_semantics(store: Store) -> None:
    mem = new_memory(store)
    mem.write(store, bytes(range(16)), 0)
    mem.write(store, b"\xaa\xbb\xcc", PAGE - 3)
    assert mem.read(store, -3) == bytearray(b"\xaa\xbb\xcc")
    assert mem.read(store, -3, -1) == bytearray(b"\xaa\xbb")
    assert mem.read(store, 2, 5) == bytearray(b"\x02\x03\x04")
    assert mem.read(store, 5, 2) == bytearray()
    assert mem.read(store, 5, 5) == bytearray()
    assert mem.read(store, PAGE - 2, PAGE + 100) == bytearray(b"\xbb\xcc")
    assert mem.read(store, -(10**9), 3) == bytearray(b"\x00\x01\x02")
    assert mem.read(store, PAGE + 5, PAGE + 10) == bytearray()
    assert mem.read(store, 0, -(PAGE - 2)) == bytearray(b"\x00\x01")


def test_write_returns_count_and_is_visible_to_wasm(mem_exports: Any, store: Store) -> None:
    mem = mem_exports["memory"]
    assert mem.write(store, b"\x07\x08", 100) == 2
    assert mem_exports["load"](store, 100) == 7
    assert mem_exports["load"](store, 101) == 8
    mem_exports["store"](store, 200, 0x5A)
    assert mem.read(store, 200, 201) == bytearray(b"\x5a")


def test_write_default_start(store: Store) -> None:
    mem = new_memory(store)
    assert mem.write(store, b"abc") == 3
    assert mem.read(store, 0, 3) == bytearray(b"abc")


def test_write_bytearray_and_other_iterables(store: Store) -> None:
    mem = new_memory(store)
    assert mem.write(store, bytearray(b"xyz"), 5) == 3
    assert mem.write(store, [1, 2, 3], 20) == 3  # type: ignore[arg-type]
    assert mem.read(store, 5, 8) == bytearray(b"xyz")
    assert mem.read(store, 20, 23) == bytearray(b"\x01\x02\x03")


def test_write_negative_start(store: Store) -> None:
    mem = new_memory(store)
    assert mem.write(store, b"zz", -2) == 2
    assert mem.read(store, PAGE - 2, PAGE) == bytearray(b"zz")


def test_write_empty(store: Store) -> None:
    mem = new_memory(store)
    assert mem.write(store, b"", 0) == 0
    assert mem.write(store, b"", PAGE - 1) == 0


def test_write_start_out_of_range(store: Store) -> None:
    mem = new_memory(store)
    with pytest.raises(IndexError):
        mem.write(store, b"a", PAGE)
    with pytest.raises(IndexError):
        mem.write(store, b"", PAGE)
    with pytest.raises(IndexError):
        mem.write(store, b"a", PAGE + 100)


def test_write_past_end(store: Store) -> None:
    mem = new_memory(store)
    with pytest.raises(IndexError, match="index out of range"):
        mem.write(store, b"abc", PAGE - 2)
    # Nothing was written.
    assert mem.read(store, PAGE - 2) == bytearray(2)
    assert mem.write(store, b"ab", PAGE - 2) == 2


# --------------------------------------------------------------------------------------------
# raw pointers
# --------------------------------------------------------------------------------------------


def test_data_ptr(mem_exports: Any, store: Store) -> None:
    mem = mem_exports["memory"]
    ptr = mem.data_ptr(store)
    assert isinstance(ptr, ctypes.POINTER(ctypes.c_ubyte))
    assert ptr[10] == 1
    assert ptr[13] == 4
    ptr[300] = 77
    assert mem_exports["load"](store, 300) == 77
    mem_exports["store"](store, 301, 66)
    assert ptr[301] == 66


def test_get_buffer_ptr_default(store: Store) -> None:
    mem = new_memory(store)
    mem.write(store, b"\x11\x22", 0)
    arr = mem.get_buffer_ptr(store)
    assert isinstance(arr, ctypes.Array)
    assert len(arr) == PAGE
    assert arr[0] == 0x11
    assert arr[1] == 0x22
    arr[2] = 0x33
    assert mem.read(store, 2, 3) == bytearray(b"\x33")
    base = ctypes.cast(mem.data_ptr(store), ctypes.c_void_p).value
    assert ctypes.addressof(arr) == base


def test_get_buffer_ptr_size_and_offset(store: Store) -> None:
    mem = new_memory(store)
    mem.write(store, b"hello", 1000)
    arr = mem.get_buffer_ptr(store, 5, 1000)
    assert len(arr) == 5
    assert bytes(arr) == b"hello"
    base = ctypes.cast(mem.data_ptr(store), ctypes.c_void_p).value
    assert base is not None
    assert ctypes.addressof(arr) == base + 1000


# --------------------------------------------------------------------------------------------
# buffer protocol extension
# --------------------------------------------------------------------------------------------


def test_buffer_is_memorybuffer(store: Store) -> None:
    mem = new_memory(store, 2)
    buf = mem.buffer(store)
    assert isinstance(buf, wasmtime.MemoryBuffer)
    assert len(buf) == 2 * PAGE


def test_buffer_memoryview_zero_copy(mem_exports: Any, store: Store) -> None:
    mem = mem_exports["memory"]
    view = memoryview(mem.buffer(store))
    assert view.readonly is False
    assert view.nbytes == mem.data_len(store)
    assert len(view) == mem.data_len(store)
    assert view.itemsize == 1
    assert bytes(view[10:14]) == b"\x01\x02\x03\x04"
    view[500] = 200
    assert mem_exports["load"](store, 500) == 200
    mem_exports["store"](store, 501, 123)
    assert view[501] == 123
    view[600:603] = b"abc"
    assert mem.read(store, 600, 603) == bytearray(b"abc")
    base = ctypes.cast(mem.data_ptr(store), ctypes.c_void_p).value
    assert ctypes.addressof(ctypes.c_ubyte.from_buffer(view)) == base


def test_buffer_length_fixed_at_creation(store: Store) -> None:
    mem = new_memory(store, 1, 3)
    buf = mem.buffer(store)
    mem.grow(store, 1)
    assert len(buf) == PAGE
    assert len(mem.buffer(store)) == 2 * PAGE


# --------------------------------------------------------------------------------------------
# imports, custom page sizes, misuse
# --------------------------------------------------------------------------------------------


def test_memory_as_import(store: Store) -> None:
    mem = new_memory(store)
    module = Module(
        store.engine,
        """
        (module
          (import "" "m" (memory 1))
          (func (export "poke") (param i32 i32) local.get 0 local.get 1 i32.store))
        """,
    )
    inst = Instance(store, module, [mem])
    inst.exports(store)["poke"](store, 8, 0x01020304)
    assert mem.read(store, 8, 12) == bytearray(b"\x04\x03\x02\x01")


def test_custom_page_size() -> None:
    config = Config()
    config.wasm_custom_page_sizes = True
    store = Store(Engine(config))
    mem = Memory(store, MemoryType(Limits(3, 10), page_size_log2=0))
    assert mem.page_size(store) == 1
    assert mem.page_size_log2(store) == 0
    assert mem.data_len(store) == 3
    assert mem.grow(store, 2) == 3
    assert mem.data_len(store) == 5


def test_memory_wrong_store(store: Store) -> None:
    mem = new_memory(store)
    other = Store(store.engine)
    for op in (
        lambda: mem.size(other),
        lambda: mem.data_len(other),
        lambda: mem.grow(other, 1),
        lambda: mem.read(other, 0, 1),
        lambda: mem.write(other, b"x", 0),
        lambda: mem.type(other),
        lambda: mem.data_ptr(other),
        lambda: mem.buffer(other),
    ):
        with pytest.raises(WasmtimeError, match="wrong store"):
            op()
    assert mem.size(store) == 1


def test_memory_after_store_closed(store: Store) -> None:
    mem = new_memory(store)
    store.close()
    with pytest.raises(ValueError, match="already closed"):
        mem.size(store)
    with pytest.raises(ValueError, match="already closed"):
        mem.buffer(store)


# --------------------------------------------------------------------------------------------
# properties: read/write follow list-slice rules
# --------------------------------------------------------------------------------------------


@functools.cache
def _pattern_memory() -> tuple[Store, Memory, bytes]:
    store = Store()
    mem = Memory(store, MemoryType(Limits(1, 1)))
    pattern = bytes((i * 7 + 3) % 251 for i in range(PAGE))
    mem.write(store, pattern, 0)
    return store, mem, pattern


index = st.one_of(st.none(), st.integers(-3 * PAGE, 3 * PAGE))


@given(start=st.integers(-3 * PAGE, 3 * PAGE), stop=index)
@settings(max_examples=300, deadline=None)
def test_read_matches_slicing(start: int, stop: int | None) -> None:
    store, mem, pattern = _pattern_memory()
    assert mem.read(store, start, stop) == bytearray(pattern[start:stop])


@given(
    start=st.one_of(st.none(), st.integers(-PAGE, 2 * PAGE)),
    value=st.binary(max_size=40),
)
@settings(max_examples=300, deadline=None)
def test_write_rules(start: int | None, value: bytes) -> None:
    store = Store()
    mem = Memory(store, MemoryType(Limits(1, 1)))
    begin = 0 if start is None else (start + PAGE if start < 0 else start)
    if begin >= PAGE or begin + len(value) > PAGE:
        with pytest.raises(IndexError):
            mem.write(store, value, start)
        assert mem.read(store) == bytearray(PAGE)
        return
    assert mem.write(store, value, start) == len(value)
    expected = bytearray(PAGE)
    expected[begin : begin + len(value)] = value
    assert mem.read(store) == expected
