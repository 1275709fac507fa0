"""Plugins' log messages: levels, sinks and the line format.

Logging is set up once per process (as in the reference SDK), so every case runs in a fresh
interpreter.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

# A guest that reports `get_log_level` as output and logs one message at each level.
GUEST = """
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "get_log_level" (func $level (result i32)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "log_trace" (func $trace (param i64)))
  (import "extism:host/env" "log_debug" (func $debug (param i64)))
  (import "extism:host/env" "log_info" (func $info (param i64)))
  (import "extism:host/env" "log_warn" (func $warn (param i64)))
  (import "extism:host/env" "log_error" (func $error (param i64)))
  (memory 1)
  (data (i32.const 0) "trace-msgdebug-msginfo--msgwarn--msgerror-msg")
  ;; Copies the 9 bytes at `at` of linear memory into a new Extism block.
  (func $msg (param $at i32) (result i64)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.const 9)))
    (block $done
      (loop $next
        (br_if $done (i32.eq (local.get $i) (i32.const 9)))
        (call $store_u8
          (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
          (i32.load8_u (i32.add (local.get $at) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $h))
  (func (export "run") (result i32)
    (local $out i64)
    (call $trace (call $msg (i32.const 0)))
    (call $debug (call $msg (i32.const 9)))
    (call $info (call $msg (i32.const 18)))
    (call $warn (call $msg (i32.const 27)))
    (call $error (call $msg (i32.const 36)))
    (local.set $out (call $alloc (i64.const 8)))
    (call $store_u64 (local.get $out) (i64.extend_i32_s (call $level)))
    (call $output_set (local.get $out) (i64.const 8))
    (i32.const 0))
  ;; Fails with the error message "boom".
  (func (export "fail") (result i32)
    (local $h i64)
    (local.set $h (call $alloc (i64.const 4)))
    (call $store_u8 (local.get $h) (i32.const 98))
    (call $store_u8 (i64.add (local.get $h) (i64.const 1)) (i32.const 111))
    (call $store_u8 (i64.add (local.get $h) (i64.const 2)) (i32.const 111))
    (call $store_u8 (i64.add (local.get $h) (i64.const 3)) (i32.const 109))
    (call $error_set (local.get $h))
    (i32.const 1)))
"""


def run(setup: str) -> str:
    """Runs GUEST once after `setup` in a new interpreter; returns what it printed."""
    code = "\n".join(
        [
            "import struct, extism",
            f"GUEST = {GUEST!r}",
            setup,
            "plugin = extism.Plugin(GUEST)",
            'print("level", struct.unpack("<q", plugin.call("run", b""))[0])',
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout + done.stderr


LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (TRACE|DEBUG| INFO| WARN|ERROR) extism::pdk: "
    r'(\w+)-+msg plugin="[0-9a-f-]{36}"$'
)
# The runtime's own events: `extism::plugin` lines with the plugin's id.
EVENT = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (TRACE|DEBUG| INFO| WARN|ERROR) extism::plugin: "
    r'(.*) plugin="([0-9a-f-]{36})"$'
)
LEVELS = ["trace", "debug", "info", "warn", "error"]


def pdk_levels(text: str) -> list[str]:
    """The levels of the guest's messages among the lines of `text`, in order."""
    return [m.group(2) for m in map(LINE.match, text.splitlines()) if m]


def events(text: str) -> list[tuple[str, str]]:
    """(level, message) of the runtime's events among the lines of `text`."""
    return [(m.group(1).strip(), m.group(2)) for m in map(EVENT.match, text.splitlines()) if m]


def test_logging_is_off_by_default() -> None:
    assert run("").strip() == f"level {2**31 - 1}"


@pytest.mark.parametrize("level", LEVELS)
def test_custom_logger_gets_enabled_levels_only(level: str) -> None:
    out = run(
        "lines = []\n"
        f"logger = extism.set_log_custom(lines.append, {level!r})\n"
        "import atexit\n"
        "atexit.register(lambda: (logger.drain(), print(''.join(lines), end='')))"
    )
    first, *lines = out.splitlines()
    assert first == f"level {LEVELS.index(level)}"
    assert pdk_levels(out) == LEVELS[LEVELS.index(level) :]
    # Every line the callback got is a whole line, the guest's or the runtime's.
    assert all(LINE.match(line) or EVENT.match(line) for line in lines)


@pytest.mark.parametrize("level", LEVELS)
def test_log_file_appends_lines(tmp_path: Path, level: str) -> None:
    log = tmp_path / "extism.log"
    log.write_text("before\n")
    out = run(f"extism.set_log_file({str(log)!r}, {level!r})")
    assert out.strip() == f"level {LEVELS.index(level)}"
    before, *lines = log.read_text().splitlines()
    assert before == "before"
    assert pdk_levels(log.read_text()) == LEVELS[LEVELS.index(level) :]
    assert all(LINE.match(line) or EVENT.match(line) for line in lines)


def test_filter_directives_and_first_setup_wins(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    out = run(
        f"extism.set_log_file('stderr', 'extism=warn,cranelift=debug')\n"
        f"extism.set_log_file({str(log)!r}, 'trace')"
    )
    # `get_log_level` is the most verbose level of any directive (cranelift's debug here).
    assert "level 1" in out.splitlines()
    assert pdk_levels(out) == ["warn", "error"]
    assert not log.exists()


def test_a_directive_for_the_guest_target_alone() -> None:
    out = run("extism.set_log_file('stdout', 'extism::pdk=info')")
    assert pdk_levels(out) == ["info", "warn", "error"]
    assert events(out) == []


def test_default_level_is_error() -> None:
    out = run("extism.set_log_file('stdout')")
    lines = out.splitlines()
    assert lines[-1] == "level 4"
    assert pdk_levels(out) == ["error"]


def test_runtime_events_carry_the_plugin_id() -> None:
    out = run(
        "extism.set_log_file('stdout', 'debug')\n"
        "failing = extism.Plugin(GUEST)\n"
        "try:\n"
        "    failing.call('fail', b'')\n"
        "except extism.Error as e:\n"
        "    print('raised', e)\n"
        "print('id', failing.id)"
    )
    lines = out.splitlines()
    assert "raised boom" in lines
    failing_id = next(x for x in lines if x.startswith("id ")).split()[1]
    got = [(m.group(1).strip(), m.group(2), m.group(3)) for m in map(EVENT.match, lines) if m]
    assert ("DEBUG", "calling function fail with 0 bytes of input", failing_id) in got
    assert ("ERROR", "call to fail returned with error message: boom", failing_id) in got
    assert ("DEBUG", "function run returned successfully") in [(lv, msg) for lv, msg, _ in got]


def test_runtime_errors_are_logged_at_the_default_level() -> None:
    out = run(
        "extism.set_log_file('stdout')\n"
        "try:\n"
        "    extism.Plugin(GUEST).call('missing', b'')\n"
        "except extism.Error as e:\n"
        "    print('raised', e)"
    )
    assert "raised Function not found: missing" in out.splitlines()
    assert events(out) == [("ERROR", "call to missing failed: Function not found: missing")]
