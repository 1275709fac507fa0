"""``python -m wasmbridge call PLUGIN FUNC [options]``: calling one function of an Extism plugin
from the command line. Sources (.wat, .wasm, other names, JSON and TOML manifests with relative
wasm paths), input (``--input``, ``--stdin`` with binary bytes), ``--config``, ``--timeout``,
``--wasi``, ``--allow-path``, ``--allow-host`` (HTTP to a local server), ``--log-level``, the
errors (guest errors, unknown functions, bad plugins) and the exit statuses, usage errors and
``--help``.

Every test runs the tool in a subprocess whose working directory is the test's ``tmp_path``;
the guests are hand-written WAT modules on the Extism kernel ABI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import wasmtime

TIMEOUT = 60
INTERRUPTED = 130  # the exit status after Ctrl-C

# The kernel imports and the helpers ($block, $out, $out_block, $input_range, $input_block)
# shared by the Extism guests of the tests; see the file.
KERNEL_LIB = (Path(__file__).parent / "extism" / "kernel_lib.wat").read_text()

PRELUDE = """
  (memory (export "memory") 1)
  ;; Copies the input to guest memory at $ptr; returns its length.
  (func $input_to (param $ptr i32) (result i32) (local $n i32) (local $i i32)
    (local.set $n (i32.wrap_i64 (call $input_length)))
    (block $end (loop $next
      (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (local.get $ptr) (local.get $i))
        (call $input_load_u8 (i64.extend_i32_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $n))
"""


def guest(body: str, imports: str = "") -> str:
    """A WAT module: ``imports``, the kernel library, the prelude (memory, $input_to), ``body``."""
    return "(module" + imports + KERNEL_LIB + PRELUDE + body + ")"


# The plain guest: no WASI.
PLUGIN_WAT = guest(
    """
  (func (export "echo") (result i32)
    (call $out_block (call $input_block))
    (i32.const 0))
  ;; Output: the config value whose key is the input.
  (func (export "config") (result i32)
    (call $out_block (call $config_get (call $input_block)))
    (i32.const 0))
  ;; Fails with the input as the error message.
  (func (export "fail") (result i32)
    (call $error_set (call $input_block))
    (i32.const 1))
  (func (export "status") (result i32) (i32.const 3))
  (func (export "spin") (result i32) (loop $forever (br $forever)) (i32.const 0))
  ;; Logs the input at info level.
  (func (export "log") (result i32)
    (call $log_info (call $input_block))
    (i32.const 0))
  ;; Logs the input at info level, then spins forever.
  (func (export "log_then_spin") (result i32)
    (call $log_info (call $input_block))
    (loop $forever (br $forever))
    (i32.const 0))
  ;; The input is an HTTP request (JSON); the output is the response body.
  (func (export "http") (result i32)
    (call $out_block (call $http_request (call $input_block) (i64.const 0)))
    (i32.const 0))
""",
    """
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))
  (import "extism:host/env" "http_request" (func $http_request (param i64 i64) (result i64)))
""",
)

# A WASI guest. "args" checks that WASI is linked; "preopen" outputs the guest path of the first
# preopened directory (fd 3); "read" outputs the file named by the input in that directory, and
# "write" creates it holding "written" (a WASI errno is the call's status).
WASI_WAT = guest(
    """
  (data (i32.const 0x80) "written")
  (func (export "args") (result i32) (local $errno i32)
    (local.set $errno (call $args_sizes_get (i32.const 0x300) (i32.const 0x304)))
    (if (local.get $errno) (then (return (local.get $errno))))
    (call $out (i32.const 0x80) (i32.const 7))
    (i32.const 0))
  (func (export "preopen") (result i32) (local $errno i32)
    (local.set $errno (call $fd_prestat_get (i32.const 3) (i32.const 0x300)))
    (if (local.get $errno) (then (return (local.get $errno))))
    (local.set $errno
      (call $fd_prestat_dir_name (i32.const 3) (i32.const 0x400) (i32.load (i32.const 0x304))))
    (if (local.get $errno) (then (return (local.get $errno))))
    (call $out (i32.const 0x400) (i32.load (i32.const 0x304)))
    (i32.const 0))
  (func $open (param $oflags i32) (param $rights i64) (result i32)
    (call $path_open (i32.const 3) (i32.const 0) (i32.const 0x100) (call $input_to (i32.const 0x100))
      (local.get $oflags) (local.get $rights) (i64.const 0) (i32.const 0) (i32.const 0x200)))
  (func (export "read") (result i32) (local $errno i32)
    (local.set $errno (call $open (i32.const 0) (i64.const 2)))
    (if (local.get $errno) (then (return (local.get $errno))))
    (i32.store (i32.const 0x210) (i32.const 0x1000))
    (i32.store (i32.const 0x214) (i32.const 0x1000))
    (local.set $errno (call $fd_read
      (i32.load (i32.const 0x200)) (i32.const 0x210) (i32.const 1) (i32.const 0x218)))
    (if (local.get $errno) (then (return (local.get $errno))))
    (call $out (i32.const 0x1000) (i32.load (i32.const 0x218)))
    (i32.const 0))
  (func (export "write") (result i32) (local $errno i32)
    (local.set $errno (call $open (i32.const 9) (i64.const 64)))
    (if (local.get $errno) (then (return (local.get $errno))))
    (i32.store (i32.const 0x210) (i32.const 0x80))
    (i32.store (i32.const 0x214) (i32.const 7))
    (call $fd_write
      (i32.load (i32.const 0x200)) (i32.const 0x210) (i32.const 1) (i32.const 0x218)))
""",
    """
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get"
    (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
""",
)


def run_cli(cwd: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """``python -m wasmbridge *args`` in ``cwd``; stdout and stderr as bytes."""
    return subprocess.run(
        [sys.executable, "-m", "wasmbridge", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=TIMEOUT,
        env=os.environ.copy(),
        check=False,
    )


def call(cwd: Path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return run_cli(cwd, "call", *args, stdin=stdin)


def err(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stderr.decode("utf-8", "replace")


def assert_usage_error(result: subprocess.CompletedProcess[bytes], message: str) -> None:
    assert result.returncode == 2
    assert result.stdout == b""
    assert message in err(result)
    assert "Traceback" not in err(result)


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    """``plugin.wat`` (PLUGIN_WAT) in ``tmp_path``."""
    path = tmp_path / "plugin.wat"
    path.write_text(PLUGIN_WAT)
    return path


@pytest.fixture
def wasi_plugin(tmp_path: Path) -> Path:
    """``wasi.wat`` (WASI_WAT) in ``tmp_path``."""
    path = tmp_path / "wasi.wat"
    path.write_text(WASI_WAT)
    return path


# --------------------------------------------------------------------------------------------
# Help and usage errors
# --------------------------------------------------------------------------------------------


def test_top_level_help_lists_call(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--help")
    assert result.returncode == 0, err(result)
    assert b"call" in result.stdout


def test_call_help_lists_options(tmp_path: Path) -> None:
    result = call(tmp_path, "--help")
    assert result.returncode == 0, err(result)
    help_text = result.stdout.decode()
    for option in [
        "PLUGIN",
        "FUNC",
        "--input",
        "--stdin",
        "--wasi",
        "--config",
        "--allow-host",
        "--allow-path",
        "--timeout",
        "--log-level",
    ]:
        assert option in help_text


def test_missing_file(tmp_path: Path) -> None:
    assert_usage_error(call(tmp_path, "missing.wasm", "echo"), "error: no such file: missing.wasm")


def test_missing_manifest(tmp_path: Path) -> None:
    assert_usage_error(call(tmp_path, "missing.json", "echo"), "error: no such file: missing.json")


def test_directory_is_not_a_plugin(tmp_path: Path) -> None:
    (tmp_path / "dir.wasm").mkdir()
    assert_usage_error(call(tmp_path, "dir.wasm", "echo"), "error: not a file: dir.wasm")


def test_missing_function_argument(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat")
    assert_usage_error(result, "the following arguments are required: FUNC")


@pytest.mark.parametrize("item", ["NO_EQUALS", "=value"])
def test_bad_config_syntax(tmp_path: Path, plugin: Path, item: str) -> None:
    result = call(tmp_path, "plugin.wat", "echo", "--config", item)
    assert_usage_error(result, f"argument --config: expected KEY=VALUE, got {item!r}")


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("::/guest", "with a host path"),
        ("ro:", "with a host path"),
        ("ro:::/guest", "with a host path"),
        ("data::", "with a guest path"),
    ],
)
def test_bad_allow_path_syntax(tmp_path: Path, plugin: Path, item: str, message: str) -> None:
    result = call(tmp_path, "plugin.wat", "echo", "--allow-path", item)
    assert_usage_error(result, "argument --allow-path: expected HOST")
    assert f"{message}, got {item!r}" in err(result)


@pytest.mark.parametrize("value", ["0", "-5", "soon", "1.5"])
def test_bad_timeout(tmp_path: Path, plugin: Path, value: str) -> None:
    result = call(tmp_path, "plugin.wat", "echo", "--timeout", value)
    assert_usage_error(
        result, f"argument --timeout: expected a positive number of milliseconds, got {value!r}"
    )


def test_input_and_stdin_are_exclusive(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "echo", "--input", "x", "--stdin")
    assert_usage_error(result, "argument --stdin: not allowed with argument --input")


def test_invalid_json_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"wasm": [')
    result = call(tmp_path, "manifest.json", "echo")
    assert_usage_error(result, "error: manifest.json: not a valid manifest: ")


def test_invalid_toml_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.toml").write_text("wasm = [")
    result = call(tmp_path, "manifest.toml", "echo")
    assert_usage_error(result, "error: manifest.toml: not a valid manifest: ")


def test_manifest_must_be_an_object(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("[1, 2]")
    result = call(tmp_path, "manifest.json", "echo")
    assert_usage_error(result, "error: manifest.json: not a valid manifest: expected an object")


# --------------------------------------------------------------------------------------------
# Sources and input
# --------------------------------------------------------------------------------------------


def test_echo_input(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "echo", "--input", "hello, world")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"hello, world"  # no newline added
    assert result.stderr == b""


def test_input_is_utf8(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "echo", "--input", "héllo ✓")
    assert result.returncode == 0, err(result)
    assert result.stdout == "héllo ✓".encode()


def test_default_input_is_empty(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "echo", stdin=b"not read without --stdin")
    assert result.returncode == 0, err(result)
    assert result.stdout == b""


def test_stdin_binary_round_trip(tmp_path: Path, plugin: Path) -> None:
    data = bytes(range(256)) * 16 + b"\r\n\x00\xff"
    result = call(tmp_path, "plugin.wat", "echo", "--stdin", stdin=data)
    assert result.returncode == 0, err(result)
    assert result.stdout == data


def test_empty_stdin(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "echo", "--stdin", stdin=b"")
    assert result.returncode == 0, err(result)
    assert result.stdout == b""


def test_wasm_binary(tmp_path: Path) -> None:
    (tmp_path / "plugin.wasm").write_bytes(wasmtime.wat2wasm(PLUGIN_WAT))
    result = call(tmp_path, "plugin.wasm", "echo", "--input", "binary")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"binary"


def test_other_file_names_are_loaded_as_wasm(tmp_path: Path) -> None:
    (tmp_path / "plugin.bin").write_bytes(wasmtime.wat2wasm(PLUGIN_WAT))
    result = call(tmp_path, "plugin.bin", "echo", "--input", "any name")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"any name"


def test_plugin_by_absolute_path_from_elsewhere(tmp_path: Path, plugin: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    result = call(tmp_path / "elsewhere", str(plugin), "echo", "--input", "abs")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"abs"


def test_json_manifest_with_relative_path(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "echo.wasm").write_bytes(wasmtime.wat2wasm(PLUGIN_WAT))
    (plugins / "manifest.json").write_text(json.dumps({"wasm": [{"path": "echo.wasm"}]}))
    # The wasm path is relative to the manifest's directory, not to the working directory.
    result = call(tmp_path, "plugins/manifest.json", "echo", "--input", "via json")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"via json"
    (tmp_path / "elsewhere").mkdir()
    result = call(tmp_path / "elsewhere", "../plugins/manifest.json", "echo", "--input", "again")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"again"


def test_json_manifest_with_absolute_path(tmp_path: Path, plugin: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.json").write_text(json.dumps({"wasm": [{"path": str(plugin)}]}))
    result = call(tmp_path, "sub/m.json", "echo", "--input", "absolute")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"absolute"


def test_toml_manifest(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "plugin.wat").write_text(PLUGIN_WAT)
    (plugins / "manifest.toml").write_text(
        '[[wasm]]\npath = "plugin.wat"\n\n[config]\ngreeting = "from toml"\n'
    )
    result = call(tmp_path, "plugins/manifest.toml", "config", "--input", "greeting")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"from toml"


def test_manifest_wasm_path_missing(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"wasm": [{"path": "gone.wasm"}]}))
    result = call(tmp_path, "manifest.json", "echo")
    assert result.returncode == 1
    assert result.stdout == b""
    assert err(result).startswith("error: Unable to compile Extism plugin: ")
    assert str(tmp_path / "gone.wasm") in err(result)


def test_invalid_plugin(tmp_path: Path) -> None:
    (tmp_path / "broken.wasm").write_bytes(b"\x00asm\x01\x00\x00\x00garbage")
    result = call(tmp_path, "broken.wasm", "echo")
    assert result.returncode == 1
    assert result.stdout == b""
    assert err(result).startswith("error: Unable to compile Extism plugin: ")
    assert "Traceback" not in err(result)


# --------------------------------------------------------------------------------------------
# Call errors
# --------------------------------------------------------------------------------------------


def test_unknown_function(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "no_such_function")
    assert result.returncode == 1
    assert result.stdout == b""
    assert err(result) == "error: Function not found: no_such_function\n"


def test_guest_error_message(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "fail", "--input", "the guest says no")
    assert result.returncode == 1
    assert result.stdout == b""
    assert err(result) == "error: the guest says no\n"


def test_non_zero_status(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "status")
    assert result.returncode == 1
    assert err(result) == "error: Error code: 3\n"


def test_timeout_stops_an_infinite_loop(tmp_path: Path, plugin: Path) -> None:
    start = time.monotonic()
    result = call(tmp_path, "plugin.wat", "spin", "--timeout", "300")
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert result.stdout == b""
    assert err(result) == "error: timeout\n"
    assert elapsed < TIMEOUT / 3


def test_timeout_overrides_the_manifest(tmp_path: Path, plugin: Path) -> None:
    manifest = {"wasm": [{"path": "plugin.wat"}], "timeout_ms": 3_600_000}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    start = time.monotonic()
    result = call(tmp_path, "manifest.json", "spin", "--timeout", "200")
    assert result.returncode == 1
    assert err(result) == "error: timeout\n"
    assert time.monotonic() - start < TIMEOUT / 3


def test_manifest_timeout_is_used(tmp_path: Path, plugin: Path) -> None:
    (tmp_path / "manifest.json").write_text(
        json.dumps({"wasm": [{"path": "plugin.wat"}], "timeout_ms": 200})
    )
    result = call(tmp_path, "manifest.json", "spin")
    assert result.returncode == 1
    assert err(result) == "error: timeout\n"


def test_ctrl_c_stops_the_call(tmp_path: Path, plugin: Path) -> None:
    args = ["call", "plugin.wat", "log_then_spin", "--input", "spinning", "--log-level", "info"]
    process = subprocess.Popen(
        [sys.executable, "-m", "wasmbridge", *args],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        # The log line shows that the guest is running (past Python's start-up).
        first = process.stderr.readline().decode()
        assert "extism::pdk: spinning" in first
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == INTERRUPTED
    assert stdout == b""
    assert b"Traceback" not in stderr


# --------------------------------------------------------------------------------------------
# --config
# --------------------------------------------------------------------------------------------


def test_config_is_visible_to_the_guest(tmp_path: Path, plugin: Path) -> None:
    result = call(
        tmp_path, "plugin.wat", "config", "--input", "name", "--config", "name=Ada Lovelace"
    )
    assert result.returncode == 0, err(result)
    assert result.stdout == b"Ada Lovelace"


def test_config_value_may_hold_equals_signs_and_be_empty(tmp_path: Path, plugin: Path) -> None:
    args = ["plugin.wat", "config", "--config", "k=a=b", "--config", "empty="]
    result = call(tmp_path, *args, "--input", "k")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"a=b"
    result = call(tmp_path, *args, "--input", "empty")
    assert result.returncode == 0, err(result)
    assert result.stdout == b""


def test_config_repeated_key_last_wins(tmp_path: Path, plugin: Path) -> None:
    result = call(
        tmp_path, "plugin.wat", "config", "--input", "k", "--config", "k=1", "--config", "k=2"
    )
    assert result.returncode == 0, err(result)
    assert result.stdout == b"2"


def test_config_merges_over_the_manifest(tmp_path: Path, plugin: Path) -> None:
    manifest = {"wasm": [{"path": "plugin.wat"}], "config": {"a": "manifest a", "b": "manifest b"}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    for key, expected in [("a", b"manifest a"), ("b", b"command line b"), ("c", b"new c")]:
        result = call(
            tmp_path,
            "manifest.json",
            "config",
            "--input",
            key,
            "--config",
            "b=command line b",
            "--config",
            "c=new c",
        )
        assert result.returncode == 0, err(result)
        assert result.stdout == expected


# --------------------------------------------------------------------------------------------
# --log-level
# --------------------------------------------------------------------------------------------


def test_log_level_prints_guest_logs_to_stderr(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "log", "--input", "a log line", "--log-level", "info")
    assert result.returncode == 0, err(result)
    assert result.stdout == b""
    lines = err(result).splitlines()
    assert len(lines) == 1
    assert " INFO extism::pdk: a log line plugin=" in lines[0]


def test_no_logs_without_log_level(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "log", "--input", "a log line")
    assert result.returncode == 0, err(result)
    assert result.stderr == b""


def test_log_level_filters(tmp_path: Path, plugin: Path) -> None:
    result = call(tmp_path, "plugin.wat", "log", "--input", "a log line", "--log-level", "warn")
    assert result.returncode == 0, err(result)
    assert result.stderr == b""


# --------------------------------------------------------------------------------------------
# --wasi and --allow-path
# --------------------------------------------------------------------------------------------


def test_wasi(tmp_path: Path, wasi_plugin: Path) -> None:
    result = call(tmp_path, "wasi.wat", "args", "--wasi")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"written"


def test_wasi_imports_need_wasi(tmp_path: Path, wasi_plugin: Path) -> None:
    result = call(tmp_path, "wasi.wat", "args")
    assert result.returncode == 1
    assert result.stdout == b""
    assert err(result).startswith("error: ")
    assert "wasi_snapshot_preview1" in err(result)
    assert "Traceback" not in err(result)


def test_allow_path_preopens_a_directory(tmp_path: Path, wasi_plugin: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "note.txt").write_text("a note from the host")
    args = ["wasi.wat", "--wasi", "--allow-path", "data::/guest"]
    result = call(tmp_path, args[0], "preopen", *args[1:])
    assert result.returncode == 0, err(result)
    assert result.stdout == b"/guest"
    result = call(tmp_path, args[0], "read", *args[1:], "--input", "note.txt")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"a note from the host"
    result = call(tmp_path, args[0], "write", *args[1:], "--input", "new.txt")
    assert result.returncode == 0, err(result)
    assert (tmp_path / "data" / "new.txt").read_text() == "written"


def test_allow_path_without_guest_path(tmp_path: Path, wasi_plugin: Path) -> None:
    (tmp_path / "data").mkdir()
    result = call(tmp_path, "wasi.wat", "preopen", "--wasi", "--allow-path", "data")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"data"


def test_allow_path_read_only(tmp_path: Path, wasi_plugin: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "note.txt").write_text("read only")
    args = ["--wasi", "--allow-path", "ro:data::/guest"]
    result = call(tmp_path, "wasi.wat", "read", *args, "--input", "note.txt")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"read only"
    result = call(tmp_path, "wasi.wat", "write", *args, "--input", "new.txt")
    assert result.returncode == 1
    assert err(result).startswith("error: Error code: ")
    assert not (tmp_path / "data" / "new.txt").exists()
    # Without a guest path, the guest sees the host path without the prefix.
    result = call(tmp_path, "wasi.wat", "preopen", "--wasi", "--allow-path", "ro:data")
    assert result.returncode == 0, err(result)
    assert result.stdout == b"data"


def test_allow_path_missing_directory(tmp_path: Path, wasi_plugin: Path) -> None:
    result = call(tmp_path, "wasi.wat", "args", "--wasi", "--allow-path", "no_such_dir::/x")
    assert result.returncode == 1
    assert result.stdout == b""
    assert err(result).startswith("error: Unable to create Extism plugin: ")
    assert "Traceback" not in err(result)


def test_no_allow_path_means_no_preopen(tmp_path: Path, wasi_plugin: Path) -> None:
    result = call(tmp_path, "wasi.wat", "read", "--wasi", "--input", "wasi.wat")
    assert result.returncode == 1
    assert err(result) == "error: Error code: 8\n"  # EBADF: there is no fd 3


# --------------------------------------------------------------------------------------------
# --allow-host
# --------------------------------------------------------------------------------------------

BODY = b"hello from the server"

# A `LoopbackServer` of tests/conftest.py (the `http_server` fixture): `url(path)`, and
# `requests` (method, path, lower-case headers, body) of the requests that it received.
Server = Any


def assert_not_allowed(result: subprocess.CompletedProcess[bytes], url: str) -> None:
    # The host function's error comes with the guest's backtrace, as every host error does.
    assert result.returncode == 1
    assert result.stdout == b""
    assert err(result).startswith("error: ")
    assert f"HTTP request to {url} is not allowed" in err(result)
    assert "Traceback" not in err(result)


@pytest.fixture
def server(http_server: Callable[..., Server]) -> Server:
    """A local HTTP server answering every request with BODY."""
    return http_server(lambda request: (200, [("Content-Type", "text/plain")], BODY))


def test_http_is_denied_without_allow_host(tmp_path: Path, plugin: Path, server: Server) -> None:
    request = json.dumps({"url": server.url("/hello")})
    result = call(tmp_path, "plugin.wat", "http", "--input", request)
    assert_not_allowed(result, server.url("/hello"))
    assert server.requests == []


def test_http_is_denied_to_other_hosts(tmp_path: Path, plugin: Path, server: Server) -> None:
    request = json.dumps({"url": server.url("/hello")})
    result = call(tmp_path, "plugin.wat", "http", "--input", request, "--allow-host", "example.com")
    assert_not_allowed(result, server.url("/hello"))
    assert server.requests == []


@pytest.mark.parametrize("pattern", ["127.0.0.1", "127.0.0.*"])
def test_http_to_an_allowed_host(
    tmp_path: Path, plugin: Path, server: Server, pattern: str
) -> None:
    request = json.dumps({"url": server.url("/hello")})
    result = call(tmp_path, "plugin.wat", "http", "--input", request, "--allow-host", pattern)
    assert result.returncode == 0, err(result)
    assert result.stdout == BODY
    assert [r.path for r in server.requests] == ["/hello"]


def test_allow_host_adds_to_the_manifest(tmp_path: Path, plugin: Path, server: Server) -> None:
    manifest = {"wasm": [{"path": "plugin.wat"}], "allowed_hosts": ["example.com"]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    request = json.dumps({"url": server.url("/hello")})
    result = call(tmp_path, "manifest.json", "http", "--input", request)
    assert_not_allowed(result, server.url("/hello"))
    result = call(
        tmp_path, "manifest.json", "http", "--input", request, "--allow-host", "127.0.0.1"
    )
    assert result.returncode == 0, err(result)
    assert result.stdout == BODY
