"""The Extism call protocol: return codes and error texts, function_exists, guest runtime
initialisation, instance lifetime (``_start`` resets, traps do not), timeouts, cancellation, fuel,
memory limits, config and vars as guests see them (with the host freeing the handles it is
given), host context, threads, re-entrancy, host-function exceptions, closed plugins and WASI.

Guests are small WAT modules built from one prelude (kernel imports, the shared helpers of
kernel_lib.wat that copy guest bytes into Extism memory, and a few more); config and var details
use the probe guest of conftest.py.
"""

from __future__ import annotations

import functools
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

import extism
from extism.extism import CompiledPlugin

T = TypeVar("T")
I32 = extism.ValType.I32
NS = "wasmbridge:test_calls"  # namespace of this file's host functions
TRAP_PREFIX = "error while executing at wasm backtrace"
DEADLINE = 10.0  # generous bound for anything that must stop (timeouts, cancel)

Probe = Callable[..., Any]

IMPORTS = """
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
"""

# The kernel imports and the helpers ($block, $out, $out_block, $input_range, $input_block)
# shared by the Extism guests of the tests; see the file.
KERNEL_LIB = (Path(__file__).parent / "kernel_lib.wat").read_text()

HELPERS = """
  (memory (export "memory") PAGES)
  (func $err (param $ptr i32) (param $len i32)
    (call $error_set (call $block (local.get $ptr) (local.get $len))))
  ;; Output: the 8 little-endian bytes of $v.
  (func $out_i64 (param $v i64) (local $h i64)
    (local.set $h (call $alloc (i64.const 8)))
    (call $store_u64 (local.get $h) (local.get $v))
    (call $output_set (local.get $h) (i64.const 8)))
  ;; Output: a copy of the input.
  (func $echo (local $n i64)
    (local.set $n (call $input_length))
    (call $output_set (call $input_range (i64.const 0) (local.get $n)) (local.get $n)))
  ;; Runs 1000 loop iterations.
  (func $burn (local $i i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 1000)))))
  (data (i32.const 0x10) "ok")
"""


def guest(body: str, imports: str = "", pages: int = 1) -> str:
    """A WAT module: the imports, ``imports``, the kernel library, the helpers, then ``body``."""
    helpers = HELPERS.replace("PAGES", str(pages))
    return "(module" + IMPORTS + imports + KERNEL_LIB + helpers + body + ")"


def new_plugin(source: Any, **kwargs: Any) -> extism.Plugin:
    kwargs.setdefault("functions", [])
    return extism.Plugin(source, **kwargs)


def manifest(wat: str, **fields: Any) -> dict[str, Any]:
    return {"wasm": [{"data": wat.encode()}], **fields}


def within(seconds: float, fn: Callable[[], T]) -> T:
    """``fn()`` run on a daemon thread; fails the test if it has not finished in time."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 (handed to the caller)
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still running after {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class Background:
    """A plugin call running on a daemon thread."""

    def __init__(self, plugin: extism.Plugin, name: str, data: bytes = b"") -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(plugin, name, data), daemon=True)
        self.thread.start()

    def _run(self, plugin: extism.Plugin, name: str, data: bytes) -> None:
        try:
            self.result = plugin.call(name, data)
        except BaseException as exc:  # noqa: BLE001 (inspected by the test)
            self.error = exc

    def join(self, seconds: float = DEADLINE) -> None:
        self.thread.join(seconds)
        if self.thread.is_alive():
            pytest.fail(f"call still running after {seconds} s")


# --------------------------------------------------------------------------------------------
# Return codes and error texts
# --------------------------------------------------------------------------------------------

RC_WAT = guest("""
  (data (i32.const 0x100) "my custom error")
  (global (export "a_global") i32 (i32.const 0))
  (func (export "void"))
  (func (export "void_out") (call $out (i32.const 0x10) (i32.const 2)))
  (func (export "zero") (result i32) (call $out (i32.const 0x10) (i32.const 2)) (i32.const 0))
  (func (export "seven") (result i32) (call $out (i32.const 0x10) (i32.const 2)) (i32.const 7))
  (func (export "minus_two") (result i32) (i32.const -2))
  (func (export "i64_zero") (result i64) (i64.const 0))
  (func (export "f64_zero") (result f64) (f64.const 0))
  (func (export "two") (result i32 i32) (i32.const 0) (i32.const 0))
  (func (export "takes_param") (param i32) (result i32) (i32.const 0))
  (func (export "err_rc0") (result i32) (call $err (i32.const 0x100) (i32.const 15)) (i32.const 0))
  (func (export "err_rc5") (result i32) (call $err (i32.const 0x100) (i32.const 15)) (i32.const 5))
  (func (export "err_void") (call $err (i32.const 0x100) (i32.const 15)))
  (func (export "err_then_trap") (call $err (i32.const 0x100) (i32.const 15)) (unreachable))
  (func (export "err_cleared") (result i32)
    (call $err (i32.const 0x100) (i32.const 15))
    (call $error_set (i64.const 0))
    (call $out (i32.const 0x10) (i32.const 2))
    (i32.const 0))
  (func (export "err_mid_block") (result i32)
    (call $error_set (i64.add (call $block (i32.const 0x100) (i32.const 15)) (i64.const 1)))
    (i32.const 0))
  (func (export "unreachable") (unreachable))
  (func (export "div_zero") (result i32) (i32.div_s (i32.const 1) (i32.const 0)))
  (func (export "echo") (call $echo))
""")


@pytest.fixture(scope="module")
def rc_plugin() -> extism.Plugin:
    return new_plugin(RC_WAT)


@pytest.mark.parametrize(
    ("name", "output"),
    [("void", b""), ("void_out", b"ok"), ("zero", b"ok"), ("err_cleared", b"ok")],
)
def test_successful_calls(rc_plugin: extism.Plugin, name: str, output: bytes) -> None:
    assert rc_plugin.call(name, b"") == output


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("seven", "Error code: 7"),
        ("minus_two", "Error code: -2"),
        ("i64_zero", "Error code: -1"),
        ("f64_zero", "Error code: -1"),
        ("two", "Function two has 2 results, expected 0 or 1"),
        ("nope", "Function not found: nope"),
        ("memory", "Function not found: memory"),
        ("a_global", "Function not found: a_global"),
        ("err_rc0", "my custom error"),
        ("err_rc5", "my custom error"),
        ("err_void", "my custom error"),
        ("err_then_trap", "my custom error"),
        ("err_mid_block", ""),
    ],
)
def test_failing_calls(rc_plugin: extism.Plugin, name: str, message: str) -> None:
    with pytest.raises(extism.Error) as exc:
        rc_plugin.call(name, b"")
    assert exc.value.args == (message,)
    assert rc_plugin.call("echo", b"still fine") == b"still fine"


@pytest.mark.parametrize("name", ["unreachable", "div_zero"])
def test_traps(rc_plugin: extism.Plugin, name: str) -> None:
    with pytest.raises(extism.Error) as exc:
        rc_plugin.call(name, b"")
    assert str(exc.value).startswith(TRAP_PREFIX)


def test_export_with_parameters_can_be_called_and_fails(rc_plugin: extism.Plugin) -> None:
    with pytest.raises(extism.Error):
        rc_plugin.call("takes_param", b"")


@pytest.mark.parametrize(
    ("name", "exists"),
    [
        ("void", True),
        ("zero", True),
        ("seven", True),
        ("err_then_trap", True),
        ("i64_zero", False),
        ("f64_zero", False),
        ("two", False),
        ("takes_param", False),
        ("memory", False),
        ("a_global", False),
        ("nope", False),
    ],
)
def test_function_exists(rc_plugin: extism.Plugin, name: str, exists: bool) -> None:
    assert rc_plugin.function_exists(name) is exists


def test_input_and_output_round_trip(rc_plugin: extism.Plugin) -> None:
    data = bytes(range(256)) * 300
    assert rc_plugin.call("echo", data) == data
    assert rc_plugin.call("echo", "héllo") == "héllo".encode()
    assert rc_plugin.call("echo", b"") == b""
    assert rc_plugin.call("echo", b"abc", parse=lambda b: bytes(b).decode().upper()) == "ABC"


# --------------------------------------------------------------------------------------------
# Guest runtime initialisation
# --------------------------------------------------------------------------------------------

# Each init function appends a digit to $g (g = g * 10 + digit); "get" outputs $g.
INIT_PARTS = {
    "_initialize": '(func (export "_initialize") (call $digit (i64.const 1)))',
    "hs_init": '(func (export "hs_init") (param i32 i32) (call $digit (i64.const 2)))',
    "__wasm_call_ctors": '(func (export "__wasm_call_ctors") (call $digit (i64.const 5)))',
    "_start": '(func (export "_start") (call $digit (i64.const 7)))',
}


def init_guest(*parts: str) -> str:
    return guest(
        """
  (global $g (mut i64) (i64.const 0))
  (func $digit (param $d i64)
    (global.set $g (i64.add (i64.mul (global.get $g) (i64.const 10)) (local.get $d))))
  (func (export "get") (call $out_i64 (global.get $g)))
"""
        + "\n".join(INIT_PARTS[p] for p in parts)
    )


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((), 0),
        (("_initialize",), 1),
        (("__wasm_call_ctors",), 5),
        (("__wasm_call_ctors", "_initialize"), 5),  # ctors, and then not _initialize
        (("hs_init",), 2),
        (("hs_init", "_initialize"), 12),  # _initialize, then hs_init
        (("hs_init", "_initialize", "__wasm_call_ctors"), 12),
        (("_start",), 0),  # never called implicitly
        (("_start", "__wasm_call_ctors"), 5),
    ],
)
def test_runtime_initialisation(parts: tuple[str, ...], expected: int) -> None:
    plugin = new_plugin(init_guest(*parts))
    for _ in range(3):  # once per instance, not per call
        assert struct.unpack("<q", plugin.call("get", b"")) == (expected,)


# --------------------------------------------------------------------------------------------
# Instance lifetime: globals persist, traps keep the instance, _start resets the store
# --------------------------------------------------------------------------------------------

STATE_WAT = guest("""
  (data (i32.const 0x100) "key")
  (data (i32.const 0x110) "cfg")
  (global $g (mut i64) (i64.const 0))
  (func (export "_start") (global.set $g (i64.add (global.get $g) (i64.const 100))))
  (func (export "inc") (global.set $g (i64.add (global.get $g) (i64.const 1)))
    (call $out_i64 (global.get $g)))
  (func (export "inc_then_trap") (global.set $g (i64.add (global.get $g) (i64.const 1)))
    (unreachable))
  (func (export "set_var")
    (call $var_set (call $block (i32.const 0x100) (i32.const 3))
                   (call $block (i32.const 0x100) (i32.const 3))))
  (func (export "get_var") (call $out_block (call $var_get (call $block (i32.const 0x100) (i32.const 3)))))
  (func (export "get_config")
    (call $out_block (call $config_get (call $block (i32.const 0x110) (i32.const 3)))))
""")


def counter(plugin: extism.Plugin) -> int:
    value: int = struct.unpack("<q", plugin.call("inc", b""))[0]
    return value


def test_globals_persist_across_calls() -> None:
    plugin = new_plugin(STATE_WAT)
    assert [counter(plugin) for _ in range(4)] == [1, 2, 3, 4]


def test_instance_is_reused_after_a_trap() -> None:
    plugin = new_plugin(STATE_WAT)
    assert counter(plugin) == 1
    with pytest.raises(extism.Error) as exc:
        plugin.call("inc_then_trap", b"")
    assert str(exc.value).startswith(TRAP_PREFIX)
    assert counter(plugin) == 3


def test_start_resets_the_store_before_the_next_call() -> None:
    plugin = new_plugin(STATE_WAT, config={"cfg": "kept"})
    assert [counter(plugin) for _ in range(2)] == [1, 2]
    plugin.call("set_var", b"")
    assert plugin.call("get_var", b"") == b"key"
    assert plugin.call("_start", b"") == b""
    # A fresh instance (where _start has not run) and no vars; config is kept.
    assert counter(plugin) == 1
    assert plugin.call("get_var", b"") == b""
    assert plugin.call("get_config", b"") == b"kept"
    assert counter(plugin) == 2
    plugin.call("_start", b"")
    plugin.call("_start", b"")
    assert counter(plugin) == 1


# --------------------------------------------------------------------------------------------
# Timeouts and cancellation
# --------------------------------------------------------------------------------------------

SPIN_WAT = guest(
    """
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "spin_after_start") (call $started) (loop $forever (br $forever)))
  (func (export "wait_release")
    (loop $wait (br_if $wait (i32.eqz (call $released))))
    (call $out (i32.const 0x20) (i32.const 8)))
  (func (export "count") (call $burn) (call $out (i32.const 0x10) (i32.const 2)))
  (data (i32.const 0x20) "released")
""",
    imports=f"""
  (import "{NS}" "started" (func $started))
  (import "{NS}" "released" (func $released (result i32)))
""",
)


class Signals:
    """Host functions for SPIN_WAT: ``started`` sets an event; ``released`` reports whether the
    test released the guest (and records that the guest is waiting)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.waiting = threading.Event()
        self.release = threading.Event()

        @extism.host_fn(name="started", namespace=NS, signature=([], []))
        def started(current: Any, params: Any, results: Any) -> None:
            self.started.set()

        @extism.host_fn(name="released", namespace=NS, signature=([], [I32]))
        def released(current: Any, params: Any, results: Any) -> None:
            self.waiting.set()
            results[0].value = int(self.release.is_set())

        self.functions = [started, released]


def test_timeout_stops_a_spinning_call_and_the_plugin_stays_usable() -> None:
    signals = Signals()
    plugin = new_plugin(manifest(SPIN_WAT, timeout_ms=200), functions=signals.functions)
    start = time.monotonic()
    with pytest.raises(extism.Error) as exc:
        within(DEADLINE, lambda: plugin.call("spin", b""))
    elapsed = time.monotonic() - start
    assert str(exc.value) == "timeout"
    assert elapsed >= 0.15  # not before the timeout
    assert plugin.call("count", b"") == b"ok"
    with pytest.raises(extism.Error, match="^timeout$"):
        within(DEADLINE, lambda: plugin.call("spin", b""))


@pytest.mark.parametrize(
    "spinner",
    [
        "(func $spin (loop $forever (br $forever))) (start $spin)",
        '(func (export "_initialize") (loop $forever (br $forever)))',
    ],
    ids=["start-function", "_initialize"],
)
def test_timeout_bounds_initialisation(spinner: str) -> None:
    source = manifest(guest(spinner + '(func (export "noop"))'), timeout_ms=200)

    def create_and_call() -> Any:
        return new_plugin(source).call("noop", b"")

    with pytest.raises(extism.Error, match="timeout"):
        within(DEADLINE, create_and_call)


def test_cancel_stops_the_running_call() -> None:
    signals = Signals()
    plugin = new_plugin(SPIN_WAT, functions=signals.functions)
    handle = plugin.cancel_handle()
    call = Background(plugin, "spin_after_start")
    assert signals.started.wait(DEADLINE)
    assert handle.cancel() is True
    call.join()
    assert isinstance(call.error, extism.Error)
    assert str(call.error) == "timeout"
    assert plugin.call("count", b"") == b"ok"


def test_cancel_while_idle_is_a_no_op() -> None:
    plugin = new_plugin(SPIN_WAT, functions=Signals().functions)
    assert plugin.cancel_handle().cancel() is True
    assert within(DEADLINE, lambda: plugin.call("count", b"")) == b"ok"
    assert within(DEADLINE, lambda: plugin.call("count", b"")) == b"ok"


def test_cancel_stops_only_its_own_plugin() -> None:
    signals = Signals()
    compiled = CompiledPlugin(SPIN_WAT, functions=signals.functions)
    spinner = extism.Plugin(compiled)
    waiter = extism.Plugin(compiled)
    spinning = Background(spinner, "spin_after_start")
    waiting = Background(waiter, "wait_release")
    assert signals.started.wait(DEADLINE)
    assert signals.waiting.wait(DEADLINE)
    spinner.cancel_handle().cancel()
    spinning.join()
    assert str(spinning.error) == "timeout"
    time.sleep(0.2)
    assert waiting.thread.is_alive()  # the sibling was not interrupted
    signals.release.set()
    waiting.join()
    assert waiting.error is None
    assert waiting.result == b"released"
    assert spinner.call("count", b"") == b"ok"


def test_cancel_handle_outlives_its_plugin() -> None:
    plugin = new_plugin(SPIN_WAT, functions=Signals().functions)
    handle = plugin.cancel_handle()
    plugin.__del__()
    assert handle.cancel() is True


# --------------------------------------------------------------------------------------------
# Fuel
# --------------------------------------------------------------------------------------------


def test_fuel_limit_stops_a_spinning_call() -> None:
    plugin = new_plugin(SPIN_WAT, functions=Signals().functions, fuel_limit=30_000)
    with pytest.raises(extism.Error) as exc:
        within(DEADLINE, lambda: plugin.call("spin", b""))
    assert str(exc.value) == "plugin ran out of fuel"
    # Refilled for every call: ten calls of 1000 loop iterations each fit only that way.
    for _ in range(10):
        assert plugin.call("count", b"") == b"ok"


def test_fuel_limit_of_compiled_plugin_applies_to_each_plugin() -> None:
    compiled = CompiledPlugin(SPIN_WAT, functions=Signals().functions, fuel_limit=30_000)
    for plugin in (extism.Plugin(compiled), extism.Plugin(compiled)):
        with pytest.raises(extism.Error, match="^plugin ran out of fuel$"):
            within(DEADLINE, functools.partial(plugin.call, "spin", b""))
        assert plugin.call("count", b"") == b"ok"


# --------------------------------------------------------------------------------------------
# memory.max_pages
# --------------------------------------------------------------------------------------------

GROW_BODY = """
  ;; Grows the guest memory by (input length) pages; outputs the old size.
  (func (export "grow")
    (call $out_i64 (i64.extend_i32_s (memory.grow (i32.wrap_i64 (call $input_length))))))
  ;; Allocates (input length) * 64 KiB of Extism memory; outputs the handle.
  (func (export "kalloc")
    (call $out_i64 (call $alloc (i64.mul (call $input_length) (i64.const 65536)))))
  (func (export "echo") (call $echo))
"""


def grow_plugin(max_pages: int, pages: int = 1) -> extism.Plugin:
    source = manifest(guest(GROW_BODY, pages=pages), memory={"max_pages": max_pages})
    return new_plugin(source)


def test_guest_memory_growth_is_bounded_by_max_pages() -> None:
    plugin = grow_plugin(3)
    assert struct.unpack("<q", plugin.call("grow", b"xx")) == (1,)
    with pytest.raises(extism.Error, match="^oom$"):
        plugin.call("grow", b"xx")
    assert struct.unpack("<q", plugin.call("grow", b"x")) == (3,)


def test_main_module_initial_pages_must_fit() -> None:
    assert grow_plugin(3, pages=3).call("echo", b"fits") == b"fits"
    with pytest.raises(extism.Error, match="oom"):
        grow_plugin(3, pages=4).call("echo", b"too big")


def test_extism_memory_growth_counts_against_max_pages() -> None:
    # Two pages of Extism memory need two more kernel pages: fits a budget of 2. Three do not:
    # upstream's kernel is wasm, so the refused memory.grow traps ("oom") rather than making
    # alloc return 0.
    assert struct.unpack("<q", grow_plugin(2).call("kalloc", b"xx")) == (77 + 2 + 12,)
    with pytest.raises(extism.Error, match="^oom$"):
        grow_plugin(2).call("kalloc", b"xxx")


def test_input_too_large_for_max_pages() -> None:
    plugin = grow_plugin(1)
    with pytest.raises(extism.Error, match="failed to allocate extism memory"):
        plugin.call("echo", bytes(200_000))
    assert plugin.call("echo", b"small") == b"small"


# --------------------------------------------------------------------------------------------
# config_get, var_get, var_set (probe guest)
# --------------------------------------------------------------------------------------------


def test_config_get(probe: Probe) -> None:
    plugin = probe({"config": {"greeting": "hello", "empty": ""}})
    p = plugin.program()
    present = p.config_get(p.block(b"greeting"))
    missing = p.config_get(p.block(b"nope"))
    empty = p.config_get(p.block(b"empty"))
    null_key = p.config_get(0)
    present_length = p.length(present)
    r = p.run()
    assert r[present] != 0
    assert r[present_length] == 5
    assert (r[missing], r[empty], r[null_key]) == (0, 0, 0)

    out = plugin.program()
    out.output(out.config_get(out.block(b"greeting")))
    assert out.call() == b"hello"


def test_vars_persist_across_calls_and_are_per_plugin(probe: Probe, probe_wat: Any) -> None:
    compiled = CompiledPlugin(probe_wat(), functions=[])
    first = probe(source=compiled)
    second = probe(source=compiled)

    p = first.program()
    p.var_set(p.block(b"counter"), p.block(b"forty-two"))
    missing = p.var_get(p.block(b"other"))
    assert p.run()[missing] == 0

    p = first.program()
    p.output(p.var_get(p.block(b"counter")))
    assert p.call() == b"forty-two"

    p = second.program()
    value = p.var_get(p.block(b"counter"))
    assert p.run()[value] == 0


def test_var_set_with_0_deletes(probe: Probe) -> None:
    plugin = probe()
    p = plugin.program()
    p.var_set(p.block(b"k"), p.block(b"v"))
    before = p.length(p.var_get(p.block(b"k")))
    p.var_set(p.block(b"k"), 0)
    after = p.var_get(p.block(b"k"))
    r = p.run()
    assert r[before] == 1
    assert r[after] == 0

    p = plugin.program()
    later = p.var_get(p.block(b"k"))
    assert p.run()[later] == 0


def test_host_frees_the_handles_it_is_given(probe: Probe) -> None:
    p = probe({"config": {"c": "value"}}).program()
    config_key = p.block(b"c")
    value = p.config_get(config_key)
    var_key = p.block(b"k")
    var_value = p.block(b"v")
    p.var_set(var_key, var_value)
    get_key = p.block(b"k")
    got = p.var_get(get_key)
    delete_key = p.block(b"k")
    p.var_set(delete_key, 0)
    lengths = [p.length(h) for h in (config_key, var_key, var_value, get_key, delete_key)]
    kept = [p.length(value), p.length(got)]  # results are new blocks owned by the guest
    r = p.run()
    assert [r[x] for x in lengths] == [0, 0, 0, 0, 0]
    assert [r[x] for x in kept] == [5, 1]


@pytest.mark.parametrize(
    "call",
    [
        lambda p, key: p.config_get(key + 1),
        lambda p, key: p.var_get(key + 1),
        lambda p, key: p.var_set(key + 1, key),
        lambda p, key: p.var_set(key, key + 1),
    ],
    ids=["config_get-key", "var_get-key", "var_set-key", "var_set-value"],
)
def test_invalid_handles_trap(probe: Probe, call: Callable[..., Any]) -> None:
    p = probe({"config": {"ab": "x"}}).program()
    call(p, p.block(b"abcd"))
    p.ret(0)
    with pytest.raises(extism.Error) as exc:
        p.call()
    assert str(exc.value).startswith(TRAP_PREFIX)


def var_set_fits(probe: Probe, limit: int, *entries: tuple[bytes, int]) -> list[bool]:
    """Sets each (key, value size) in turn on one plugin with ``max_var_bytes = limit``;
    reports which calls succeeded."""
    plugin = probe({"memory": {"max_var_bytes": limit}})
    fits = []
    for key, size in entries:
        p = plugin.program()
        value = p.alloc(size)
        p.fill(value, size, ord("x"))
        p.var_set(p.block(key), value)
        try:
            p.run()
        except extism.Error as exc:
            assert str(exc).startswith(TRAP_PREFIX)
            fits.append(False)
        else:
            fits.append(True)
    return fits


def test_max_var_bytes_counts_48_bytes_per_entry(probe: Probe) -> None:
    # 48 + len(key) + len(value) must not exceed the limit.
    assert var_set_fits(probe, 1024, (b"k", 1024)) == [False]
    assert var_set_fits(probe, 1100, (b"k", 1024)) == [True]
    assert var_set_fits(probe, 1073, (b"k", 1024)) == [True]
    assert var_set_fits(probe, 1072, (b"k", 1024)) == [False]
    assert var_set_fits(probe, 10, (b"k", 1)) == [False]


def test_max_var_bytes_counts_existing_entries(probe: Probe) -> None:
    # Each entry of 50 bytes under a 1-byte key costs 99; the entry being replaced counts too.
    assert var_set_fits(probe, 200, (b"a", 50), (b"b", 50), (b"c", 1)) == [True, True, False]
    assert var_set_fits(probe, 200, (b"a", 50), (b"a", 50)) == [True, True]
    assert var_set_fits(probe, 200, (b"a", 50), (b"b", 50), (b"a", 50)) == [True, True, False]


def test_failed_var_set_stores_nothing(probe: Probe) -> None:
    plugin = probe({"memory": {"max_var_bytes": 100}})
    p = plugin.program()
    p.var_set(p.block(b"k"), p.block(bytes(100)))
    with pytest.raises(extism.Error):
        p.run()
    p = plugin.program()
    value = p.var_get(p.block(b"k"))
    assert p.run()[value] == 0


def test_max_var_bytes_0_disables_var_set(probe: Probe) -> None:
    plugin = probe({"memory": {"max_var_bytes": 0}})
    p = plugin.program()
    p.var_set(p.block(b"k"), p.block(b"v"))
    with pytest.raises(extism.Error) as exc:
        p.run()
    assert str(exc.value).startswith(TRAP_PREFIX)
    p = plugin.program()
    p.var_set(p.block(b"k"), 0)
    with pytest.raises(extism.Error):
        p.run()
    p = plugin.program()
    value = p.var_get(p.block(b"k"))
    assert p.run()[value] == 0


# --------------------------------------------------------------------------------------------
# Host functions: context, exceptions, re-entrancy
# --------------------------------------------------------------------------------------------

HOST_WAT = guest(
    """
  (func (export "call_host") (call $host) (call $out (i32.const 0x10) (i32.const 2)))
  (func (export "echo") (call $echo))
""",
    imports=f'(import "{NS}" "host" (func $host))',
)


def host_plugin(f: Callable[..., None]) -> extism.Plugin:
    function = extism.host_fn(name="host", namespace=NS, signature=([], []))(f)
    return new_plugin(HOST_WAT, functions=[function])


def test_host_context_is_the_object_passed_to_call() -> None:
    seen: list[Any] = []
    plugin = host_plugin(lambda current, params, results: seen.append(current.host_context()))
    context = {"mutable": []}
    assert plugin.call("call_host", b"", host_context=context) == b"ok"
    plugin.call("call_host", b"")
    assert seen[0] is context
    assert seen[1] is None


class Boom(Exception):
    pass


def test_exception_in_a_host_function_is_what_call_raises() -> None:
    error = Boom("from the host")

    def host(current: Any, params: Any, results: Any) -> None:
        raise error

    plugin = host_plugin(host)
    with pytest.raises(Boom) as exc:
        plugin.call("call_host", b"")
    assert exc.value is error
    assert plugin.call("echo", b"after") == b"after"


def test_reentrant_call_from_a_host_function_raises() -> None:
    holder: list[extism.Plugin] = []
    seen: list[BaseException] = []

    def host(current: Any, params: Any, results: Any) -> None:
        try:
            holder[0].call("echo", b"inner")
        except BaseException as exc:  # noqa: BLE001 (recorded for the test)
            seen.append(exc)

    plugin = host_plugin(host)
    holder.append(plugin)
    assert within(DEADLINE, lambda: plugin.call("call_host", b"")) == b"ok"
    assert len(seen) == 1
    assert isinstance(seen[0], extism.Error)
    assert "reentrant" in str(seen[0])


# --------------------------------------------------------------------------------------------
# Threads and closed plugins
# --------------------------------------------------------------------------------------------


def test_concurrent_calls_on_one_plugin_never_mix_outputs(rc_plugin: extism.Plugin) -> None:
    barrier = threading.Barrier(4)
    failures: list[str] = []

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(100):
            data = f"thread {n} call {i} ".encode() * (n + 1) * 10
            out = rc_plugin.call("echo", data)
            if out != data:
                failures.append(f"thread {n} call {i}: {out[:40]!r}")

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert failures == []


def test_closed_plugin_raises_type_error() -> None:
    with new_plugin(RC_WAT) as plugin:
        assert plugin.call("void_out", b"") == b"ok"
    with pytest.raises(TypeError):
        plugin.call("void_out", b"")
    with pytest.raises(TypeError):
        plugin.function_exists("void")
    with pytest.raises(TypeError):
        plugin.cancel_handle()
    plugin.__del__()  # idempotent


# --------------------------------------------------------------------------------------------
# WASI
# --------------------------------------------------------------------------------------------

WASI_WAT = guest(
    """
  (data (i32.const 0x100) "to stdout\\n")
  (data (i32.const 0x120) "to stderr\\n")
  (data (i32.const 0x140) "bye")
  ;; Writes [ptr, ptr + len) to fd; returns the errno.
  (func $print (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0x400) (local.get $ptr))
    (i32.store (i32.const 0x404) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0x400) (i32.const 1) (i32.const 0x408)))
  (func (export "say") (result i32)
    (local $errno i32)
    (local.set $errno (i32.or (call $print (i32.const 1) (i32.const 0x100) (i32.const 10))
                              (call $print (i32.const 2) (i32.const 0x120) (i32.const 10))))
    (call $out (i32.const 0x10) (i32.const 2))
    (local.get $errno))
  (func (export "exit0") (call $out (i32.const 0x140) (i32.const 3)) (call $proc_exit (i32.const 0)))
  (func (export "exit3") (call $out (i32.const 0x140) (i32.const 3)) (call $proc_exit (i32.const 3)))
""",
    imports="""
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
""",
)


def test_wasi_output_is_discarded(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXTISM_ENABLE_WASI_OUTPUT", raising=False)
    plugin = new_plugin(WASI_WAT, wasi=True)
    assert plugin.call("say", b"") == b"ok"
    captured = capfd.readouterr()
    assert "to stdout" not in captured.out
    assert "to stderr" not in captured.err


def test_wasi_exit_0_is_success_with_the_output_set_before() -> None:
    plugin = new_plugin(WASI_WAT, wasi=True)
    assert plugin.call("exit0", b"") == b"bye"
    assert plugin.call("say", b"") == b"ok"


def test_wasi_exit_with_a_non_zero_code_fails() -> None:
    plugin = new_plugin(WASI_WAT, wasi=True)
    with pytest.raises(extism.Error):
        plugin.call("exit3", b"")


def test_wasi_imports_need_wasi() -> None:
    with pytest.raises(extism.Error) as exc:
        new_plugin(WASI_WAT)
    assert str(exc.value).startswith("Unable to create Extism plugin: ")
    assert "wasi_snapshot_preview1::" in str(exc.value)
