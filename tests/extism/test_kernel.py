"""The Extism kernel ABI as guests see it: the 20 functions of ``extism:host/env`` that manage
Extism memory, with upstream's exact layout and allocator (offsets, reuse, splitting, growth) and
its bounds rules; and the legacy 0.x ABI (``env::extism_*``) running the same guest.

Most tests drive the kernel through the probe guest of conftest.py: a program of kernel calls
whose results come back as a list. Expected offsets follow from the layout: the root header at 1
(64 bytes), blocks from 65, each with a 12-byte header in front of its data; the allocator
manages 65536 - 64 = 65472 bytes at first, in a kernel memory of 16 pages.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest

import extism

FIRST_HANDLE = 77  # data of the first block: 65 + 12
HEADER = 12
MANAGED = 65472  # bytes the allocator manages before any growth
PAGE = 65536
KERNEL_END = 16 * PAGE  # size of a fresh kernel memory
TRAP_PREFIX = "error while executing at wasm backtrace"

Probe = Callable[..., Any]


def le64(data: bytes) -> int:
    return int.from_bytes(data, "little")


# --------------------------------------------------------------------------------------------
# The host's part of a call: input block, reset before each call
# --------------------------------------------------------------------------------------------


def test_input_is_the_first_block_of_a_call(probe: Probe) -> None:
    p = probe().program()
    offset = p.input_offset()
    length = p.input_length()
    first = p.alloc(4)
    r = p.run()
    program_bytes = 32 * 4  # three ops and the emit
    assert r[offset] == FIRST_HANDLE
    assert r[length] == program_bytes
    assert r[first] == FIRST_HANDLE + program_bytes + HEADER


def test_empty_input_has_offset_0_and_takes_no_block(probe: Probe) -> None:
    plugin = probe().plugin
    empty = struct.unpack("<3Q", plugin.call("bare", b""))
    assert empty == (0, 0, FIRST_HANDLE)
    abc = struct.unpack("<3Q", plugin.call("bare", b"abc"))
    assert abc == (FIRST_HANDLE, 3, FIRST_HANDLE + 3 + HEADER)


def test_kernel_is_reset_before_each_call(probe: Probe) -> None:
    plugin = probe()
    first = plugin.program()
    kept = first.alloc(7)
    r1 = first.run()
    assert r1[kept] == FIRST_HANDLE + 64 + HEADER
    second = plugin.program()
    offset = second.input_offset()
    gone = second.length(r1[kept])
    r2 = second.run()
    assert r2[offset] == FIRST_HANDLE
    assert r2[gone] == 0


# --------------------------------------------------------------------------------------------
# alloc, free: bump allocation, reuse only when the bump region is exhausted
# --------------------------------------------------------------------------------------------


def test_allocations_follow_each_other(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    a = p.alloc(10)
    b = p.alloc(5)
    c = p.alloc(1)
    r = p.run()
    assert r[a] == 77
    assert r[b] == 77 + 10 + HEADER
    assert r[c] == 99 + 5 + HEADER


def test_alloc_0_returns_0_and_takes_nothing(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    zero = p.alloc(0)
    a = p.alloc(1)
    r = p.run()
    assert r[zero] == 0
    assert r[a] == FIRST_HANDLE


def test_freed_block_is_not_reused_while_the_bump_region_has_room(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    a = p.alloc(10)
    p.free(a)
    freed = p.length(a)
    b = p.alloc(10)
    r = p.run()
    assert r[a] == 77
    assert r[freed] == 0
    assert r[b] == 99


def test_exhausted_bump_region_splits_a_large_free_block(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    big = p.alloc(60000)
    p.free(big)
    carved = p.alloc(6000)  # 65 + 12 + (60000 - 6012): the end of the free block
    carved_length = p.length(carved)
    big_length = p.length(big)
    small = p.alloc(100)  # fits the bump region again: bumps
    carved_again = p.alloc(6000)  # exhausted again: splits what is left of the free block
    size = p.memory_bytes()
    r = p.run()
    assert r[big] == 77
    assert r[carved] == 54077
    assert r[carved_length] == 6000
    assert r[big_length] == 0
    assert r[small] == 65 + 60012 + HEADER
    assert r[carved_again] == 65 + HEADER + (60000 - 2 * 6012) + HEADER
    assert r[size] == MANAGED


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (59872, 65 + HEADER + (60000 - 59872 - HEADER) + HEADER),  # 128 left over: split
        (59873, 77),  # 127 left over: the whole block is reused
    ],
    ids=["split-at-128", "whole-below-128"],
)
def test_split_rule(probe: Probe, n: int, expected: int) -> None:
    p = probe().program()
    p.reset()
    big = p.alloc(60000)
    p.free(big)
    reused = p.alloc(n)
    length = p.length(reused)
    fast = p.length_unsafe(reused)
    r = p.run()
    assert r[reused] == expected
    assert r[length] == n
    assert r[fast] == n


def test_free_block_too_small_grows_the_region_instead(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    a = p.alloc(30000)
    b = p.alloc(30000)
    p.free(a)
    c = p.alloc(40000)
    size = p.memory_bytes()
    r = p.run()
    assert (r[a], r[b]) == (77, 77 + 30000 + HEADER)
    assert r[c] == 65 + 2 * (30000 + HEADER) + HEADER
    assert r[size] == MANAGED + PAGE


def test_free_ignores_0_unknown_and_mid_block_handles(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    a = p.alloc(10)
    p.free(0)
    p.free(a + 1)
    p.free(a - 1)
    p.free(1 << 40)
    still = p.length(a)
    p.free(a)
    p.free(a)
    gone = p.length(a)
    r = p.run()
    assert r[still] == 10
    assert r[gone] == 0


# --------------------------------------------------------------------------------------------
# memory_bytes and growth
# --------------------------------------------------------------------------------------------


def test_memory_bytes_starts_at_65472_and_grows_by_whole_pages(probe: Probe) -> None:
    plugin = probe()
    p = plugin.program()
    initial = p.memory_bytes()
    p.reset()
    p.store_u8(KERNEL_END + 10, 7)
    beyond_before = p.load_u8(KERNEL_END + 10)
    fits = p.alloc(MANAGED - 64 - HEADER - 1)  # need < bytes left: no growth
    unchanged = p.memory_bytes()
    grows = p.alloc(1)
    grown = p.memory_bytes()
    p.store_u8(KERNEL_END + 10, 7)
    beyond_after = p.load_u8(KERNEL_END + 10)
    r = p.run()
    assert r[initial] == MANAGED
    assert r[beyond_before] == 0
    assert r[fits] == 77
    assert r[unchanged] == MANAGED
    assert r[grows] == 65 + MANAGED - 64 - 1 + HEADER
    assert r[grown] == MANAGED + PAGE
    assert r[beyond_after] == 7  # the kernel memory grew by a page after its 16

    later = plugin.program()
    kept = later.memory_bytes()
    assert later.run()[kept] == MANAGED + PAGE  # memory never shrinks


def test_large_allocation_grows_by_several_pages(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    a = p.alloc(200000)
    length = p.length(a)
    size = p.memory_bytes()
    p.reset()
    after_reset = p.memory_bytes()
    r = p.run()
    assert r[a] == 77
    assert r[length] == 200000
    assert r[size] == MANAGED + 3 * PAGE
    assert r[after_reset] == MANAGED + 3 * PAGE


# --------------------------------------------------------------------------------------------
# length and length_unsafe
# --------------------------------------------------------------------------------------------


def test_length_of_valid_invalid_and_mid_block_handles(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    a = p.alloc(32)
    b = p.alloc(20)
    checks = {
        "a": (p.length(a), p.length_unsafe(a)),
        "b": (p.length(b), p.length_unsafe(b)),
        "a+1": (p.length(a + 1), p.length_unsafe(a + 1)),
        "b-1": (p.length(b - 1), p.length_unsafe(b - 1)),
        "0": (p.length(0), p.length_unsafe(0)),
        "63": (p.length(63), p.length_unsafe(63)),
        "past the last block": (p.length(b + 20 + HEADER), p.length_unsafe(b + 20 + HEADER)),
        "far away": (p.length(1 << 40), p.length_unsafe(1 << 40)),
    }
    p.free(b)
    freed = (p.length(b), p.length_unsafe(b))
    r = p.run()
    got = {name: (r[x], r[y]) for name, (x, y) in checks.items()}
    assert got == {
        "a": (32, 32),
        "b": (20, 20),
        "a+1": (0, 0),
        "b-1": (0, 0),
        "0": (0, 0),
        "63": (0, 0),
        "past the last block": (0, 0),
        "far away": (0, 0),
    }
    assert (r[freed[0]], r[freed[1]]) == (0, 0)


def test_length_unsafe_trusts_the_header_in_front_of_the_handle(probe: Probe) -> None:
    # A fake header written inside a block's data: status Active, used = 5. length_unsafe
    # reads it; length walks the real block list and finds no block there.
    p = probe().program()
    p.reset()
    a = p.alloc(32)
    p.store_u8(a, 1)
    p.store_u64(a + 8, 5)
    fast = p.length_unsafe(a + HEADER)
    walked = p.length(a + HEADER)
    r = p.run()
    assert r[fast] == 5
    assert r[walked] == 0


# --------------------------------------------------------------------------------------------
# load_* and store_*: bounds rules
# --------------------------------------------------------------------------------------------


def test_load_and_store_round_trip(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    h = p.alloc(16)
    p.store_u8(h, 0x1FF)  # the low byte only
    byte = p.load_u8(h)
    p.store_u64(h + 3, 0x0102030405060708)  # unaligned
    word = p.load_u64(h + 3)
    low = p.load_u8(h + 3)
    high = p.load_u8(h + 10)
    r = p.run()
    assert r[byte] == 0xFF
    assert r[word] == 0x0102030405060708
    assert (r[low], r[high]) == (0x08, 0x01)


def test_accesses_below_64_read_0_and_stores_are_ignored(probe: Probe) -> None:
    # The root header is at 1..64: output_offset at 49..56, output_length at 57..64, the bump
    # position at 9..16. Only accesses whose last byte is at 64 or above reach it.
    p = probe().program()
    p.reset()
    h = p.block(b"hello")
    p.output_set(h, 5)
    length_word = p.load_u64(57)  # bytes 57..64: readable
    shifted = p.load_u64(56)  # ends at 63: reads 0
    offset_byte = p.load_u8(49)  # the low byte of output_offset: reads 0
    length_byte = p.load_u8(57)
    p.store_u8(57, 99)  # ignored: output_length stays 5
    p.store_u64(9, 0)  # ignored: the bump position is kept
    out_length = p.output_length()
    after = p.alloc(1)
    r = p.run()
    assert r[h] == 77
    assert r[length_word] == 5
    assert r[shifted] == 0
    assert r[offset_byte] == 0
    assert r[length_byte] == 0
    assert r[out_length] == 5
    assert r[after] == 77 + 5 + HEADER


def test_accesses_beyond_the_end_read_0_and_stores_are_ignored(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    p.store_u8(KERNEL_END - 1, 9)
    last_byte = p.load_u8(KERNEL_END - 1)
    p.store_u8(KERNEL_END + 1, 9)
    past_byte = p.load_u8(KERNEL_END + 1)
    p.store_u64(KERNEL_END - 8, 0x1122334455667788)
    last_word = p.load_u64(KERNEL_END - 8)
    p.store_u64(KERNEL_END - 6, 0xFFFF)  # last byte past the end: ignored
    unchanged = p.load_u64(KERNEL_END - 8)
    straddling = p.load_u64(KERNEL_END - 6)
    huge_u8 = p.load_u8(1 << 63)
    p.store_u8(1 << 63, 1)
    wrapped = p.load_u64((1 << 64) - 1)  # p + 7 wraps below 64
    r = p.run()
    assert r[last_byte] == 9
    assert r[past_byte] == 0
    assert r[last_word] == 0x1122334455667788
    assert r[unchanged] == 0x1122334455667788
    assert r[straddling] == 0
    assert r[huge_u8] == 0
    assert r[wrapped] == 0


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


def test_input_loads_and_the_u64_tail_rule(probe: Probe) -> None:
    data = b"0123456789"
    p = probe().program()
    blk = p.block(data)
    p.input_set(blk, len(data))
    offset = p.input_offset()
    length = p.input_length()
    loads = [p.input_load_u8(i) for i in (0, 9, 10, 1 << 63)]
    words = [p.input_load_u64(i) for i in (0, 2, 3, 10)]
    r = p.run()
    assert r[offset] == r[blk]
    assert r[length] == 10
    assert [r[x] for x in loads] == [ord("0"), ord("9"), 0, 0]
    # A u64 is read only if all 8 bytes are input: PDKs read the tail bytewise.
    assert [r[x] for x in words] == [le64(b"01234567"), le64(b"23456789"), 0, 0]


def test_freeing_the_input_block_zeroes_input_length(probe: Probe) -> None:
    p = probe().program()
    offset = p.input_offset()
    before = p.input_length()
    p.free(offset)
    after = p.input_length()
    still = p.input_offset()
    first_byte = p.input_load_u8(0)
    r = p.run()
    assert r[offset] == FIRST_HANDLE
    assert r[before] == 32 * 7
    assert r[after] == 0
    assert r[still] == FIRST_HANDLE
    assert r[first_byte] == 0


# --------------------------------------------------------------------------------------------
# input_set / output_set / error_set range rules, reset, error_get
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["input", "output"])
def test_designation_range_rules(probe: Probe, which: str) -> None:
    # [h, h + len) is accepted only if h and h + len - 1 are in [65, 65 + memory_bytes).
    p = probe().program()
    p.reset()
    setter = getattr(p, f"{which}_set")
    observed = []

    def designate(h: int, n: int) -> None:
        setter(h, n)
        observed.append((p.op(f"{which}_offset"), p.op(f"{which}_length")))

    designate(77, 3)  # accepted
    designate(0, 0)  # ignored
    designate(64, 1)  # ignored: below the blocks
    designate(65, 1)  # accepted
    designate(77, MANAGED - 12)  # last byte at 65536: accepted
    designate(77, MANAGED - 11)  # last byte at 65537: ignored
    designate(65536, 1)  # accepted
    designate(65537, 1)  # ignored
    p.alloc(MANAGED)  # grows the managed region by a page
    designate(65537, 1)  # accepted now
    r = p.run()
    assert [(r[o], r[n]) for o, n in observed] == [
        (77, 3),
        (77, 3),
        (77, 3),
        (65, 1),
        (77, MANAGED - 12),
        (77, MANAGED - 12),
        (65536, 1),
        (65536, 1),
        (65537, 1),
    ]


def test_output_longer_than_its_block_returns_the_bytes_after_it(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    h = p.block(b"abc")
    p.block(b"XYZ")
    p.output_set(h, 3 + HEADER + 3)
    p.ret(0)
    # The next block's header: status 1 (active), size 3 at +4, used 3 at +8.
    header = bytes([1, 0, 0, 0]) + struct.pack("<II", 3, 3)
    assert p.call() == b"abc" + header + b"XYZ"


def test_output_set_and_getters(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    h = p.block(b"hello world")
    p.output_set(h + 6, 5)
    p.ret(0)
    assert p.call() == b"world"

    q = probe().program()
    q.reset()
    h = q.block(b"hello world")
    q.output_set(h + 6, 5)
    offset = q.output_offset()
    length = q.output_length()
    r = q.run()
    assert (r[offset], r[length]) == (r[h] + 6, 5)


def test_error_set_range_rules_and_error_get(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    seen = []
    for h in (64, 65, 0, 65536, 65537, 1 << 40):
        p.error_set(h)
        seen.append(p.error_get())
    p.error_set(0)  # leave no error, so that the call succeeds
    r = p.run()
    assert [r[x] for x in seen] == [0, 65, 0, 65536, 65536, 65536]


def test_error_get_is_0_at_the_start_of_a_call(probe: Probe) -> None:
    p = probe().program()
    e = p.error_get()
    assert p.run()[e] == 0


def test_reset_forgets_blocks_and_designations(probe: Probe) -> None:
    p = probe().program()
    p.reset()
    h = p.block(b"payload")
    p.output_set(h, 7)
    p.input_set(h, 7)
    p.error_set(h)
    error_before = p.error_get()
    p.reset()
    after = {
        "error": p.error_get(),
        "input_offset": p.input_offset(),
        "input_length": p.input_length(),
        "output_offset": p.output_offset(),
        "output_length": p.output_length(),
        "data": p.load_u64(h),
        "length": p.length(h),
        "length_unsafe": p.length_unsafe(h),
    }
    again = p.alloc(3)
    r = p.run()
    assert r[error_before] == 77
    assert {name: r[x] for name, x in after.items()} == dict.fromkeys(after, 0)
    assert r[again] == 77


# --------------------------------------------------------------------------------------------
# Errors raised through the kernel
# --------------------------------------------------------------------------------------------


def test_error_block_becomes_the_call_error(probe: Probe) -> None:
    p = probe().program()
    p.error_set(p.block(b"kernel says no"))
    p.ret(0)
    with pytest.raises(extism.Error) as exc:
        p.call()
    assert str(exc.value) == "kernel says no"


def test_guest_trap_is_an_error(probe: Probe) -> None:
    p = probe().program()
    p.trap()
    with pytest.raises(extism.Error) as exc:
        p.call()
    assert str(exc.value).startswith(TRAP_PREFIX)


# --------------------------------------------------------------------------------------------
# Legacy 0.x ABI: env::extism_*
# --------------------------------------------------------------------------------------------


def test_legacy_abi_guest_runs_with_the_same_kernel(probe: Probe) -> None:
    plugin = probe(legacy=True)
    p = plugin.program()
    p.reset()
    a = p.alloc(10)
    b = p.alloc(5)
    p.write(b, b"abcde")
    word = p.load_u64(b - 3)
    byte = p.load_u8(b + 4)
    length = p.length(b)
    size = p.memory_bytes()
    p.free(a)
    freed = p.length(a)
    r = p.run()
    assert (r[a], r[b]) == (77, 99)
    assert r[word] == le64(b"\x00\x00\x00abcde")
    assert r[byte] == ord("e")
    assert r[length] == 5
    assert r[size] == MANAGED
    assert r[freed] == 0

    out = plugin.program()
    out.output(out.block(b"legacy output"))
    assert out.call() == b"legacy output"


def test_legacy_abi_input_error_and_host_functions(probe: Probe) -> None:
    plugin = probe({"config": {"who": "legacy"}}, legacy=True)
    p = plugin.program()
    offset = p.input_offset()
    length = p.input_length()
    first = p.input_load_u8(0)
    value = p.config_get(p.block(b"who"))
    value_length = p.length(value)
    p.var_set(p.block(b"k"), p.block(b"v1"))
    var = p.var_get(p.block(b"k"))
    var_length = p.length(var)
    r = p.run()
    assert r[offset] == FIRST_HANDLE
    assert r[length] == len(p.encode())
    assert r[first] == p.encode()[0]
    assert r[value_length] == len(b"legacy")
    assert r[var_length] == 2

    e = plugin.program()
    e.error_set(e.block(b"legacy error"))
    e.ret(0)
    with pytest.raises(extism.Error) as exc:
        e.call()
    assert str(exc.value) == "legacy error"


def test_legacy_wasi_plugin_keeps_vars_across_its_fresh_instances(probe: Probe) -> None:
    # 0.x hosts re-instantiated WASI plugins before every call; variables live in the host.
    plugin = probe(legacy=True, wasi=True)
    p = plugin.program()
    p.var_set(p.block(b"k"), p.block(b"kept"))
    p.run()
    q = plugin.program()
    value = q.var_get(q.block(b"k"))
    length = q.length(value)
    assert q.run()[length] == len(b"kept")
