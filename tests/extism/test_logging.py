"""Plugins' log messages: levels, sinks and the line format.

Logging is set up once per process (as in the reference SDK), so every case runs in a fresh
interpreter.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# A guest that reports `get_log_level` as output and logs one message at each level.
GUEST = """
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "get_log_level" (func $level (result i32)))
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
    (i32.const 0)))
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


def test_logging_is_off_by_default() -> None:
    assert run("").strip() == f"level {2**31 - 1}"


def test_custom_logger_gets_enabled_levels_only() -> None:
    out = run(
        "lines = []\n"
        "logger = extism.set_log_custom(lines.append, 'info')\n"
        "import atexit\n"
        "atexit.register(lambda: (logger.drain(), print(''.join(lines), end='')))"
    )
    first, *lines = out.splitlines()
    assert first == "level 2"
    assert [LINE.match(line).group(2) for line in lines] == ["info", "warn", "error"]  # type: ignore[union-attr]
    assert all(LINE.match(line) for line in lines)


def test_log_file_appends_lines(tmp_path: Path) -> None:
    log = tmp_path / "extism.log"
    log.write_text("before\n")
    out = run(f"extism.set_log_file({str(log)!r}, 'trace')")
    assert out.strip() == "level 0"
    before, *lines = log.read_text().splitlines()
    assert before == "before"
    assert [LINE.match(line).group(2) for line in lines] == [  # type: ignore[union-attr]
        "trace",
        "debug",
        "info",
        "warn",
        "error",
    ]


def test_filter_directives_and_first_setup_wins(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    out = run(
        f"extism.set_log_file('stderr', 'extism=warn,cranelift=debug')\n"
        f"extism.set_log_file({str(log)!r}, 'trace')"
    )
    lines = out.splitlines()
    assert "level 3" in lines
    assert sorted(LINE.match(x).group(2) for x in lines if LINE.match(x)) == ["error", "warn"]  # type: ignore[union-attr]
    assert not log.exists()


def test_default_level_is_error() -> None:
    out = run("extism.set_log_file('stdout')")
    lines = out.splitlines()
    assert lines[-1] == "level 4"
    assert [LINE.match(x).group(2) for x in lines[:-1]] == ["error"]  # type: ignore[union-attr]
