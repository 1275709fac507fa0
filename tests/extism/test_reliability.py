"""Nothing a Python program does with plugins may crash, hang or mix up the process: Ctrl-C,
threads, closing, bad arguments."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

import extism

SPIN = '(module (func (export "spin") (result i32) (loop br 0) i32.const 0))'

# Echoes its input after spinning `n` iterations (n = first input byte * 100000).
ECHO_SLOW = """
(module
  (import "extism:host/env" "input_length" (func $len (result i64)))
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "input_load_u8" (func $byte (param i64) (result i32)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (func (export "echo") (result i32)
    (local $n i32)
    (local.set $n (i32.mul (call $byte (i64.const 0)) (i32.const 100000)))
    (block $done
      (loop $spin
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $spin)))
    (call $out (call $in) (call $len))
    (i32.const 0)))
"""


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_ctrl_c_stops_a_plugin_call() -> None:
    proc = run_python(
        f"""
        import os, signal, threading, time
        import extism

        plugin = extism.Plugin({SPIN!r})
        threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        start = time.monotonic()
        try:
            plugin.call("spin", b"")
        except KeyboardInterrupt:
            print("interrupted", time.monotonic() - start < 5)
        print("usable", plugin.function_exists("spin"))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["interrupted True", "usable True"]


def test_ctrl_c_while_waiting_for_a_busy_plugin() -> None:
    # The main thread waits for a plugin another thread runs; Ctrl-C ends the wait.
    proc = run_python(
        f"""
        import os, signal, threading, time
        import extism

        compiled = extism.CompiledPlugin({SPIN!r}, functions=[])
        plugin = extism.Plugin(compiled)
        handle = plugin.cancel_handle()
        worker = threading.Thread(target=lambda: plugin.call("spin", b""), daemon=True)
        worker.start()
        time.sleep(0.2)
        threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        try:
            plugin.call("spin", b"")
        except KeyboardInterrupt:
            print("interrupted")
        handle.cancel()
        worker.join(10)
        print("worker done", not worker.is_alive())
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["interrupted", "worker done True"]


def test_dropping_a_plugin_during_a_call() -> None:
    plugin = extism.Plugin(ECHO_SLOW)
    results: list[bytes] = []
    worker = threading.Thread(
        target=lambda call: results.append(call("echo", b"\x20abc")), args=(plugin.call,)
    )
    worker.start()
    time.sleep(0.05)
    del plugin  # only this thread's reference: the running call keeps the plugin alive
    worker.join(30)
    assert results == [b"\x20abc"]


def test_close_from_another_thread_then_call_raises() -> None:
    plugin = extism.Plugin(ECHO_SLOW)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            plugin.call("echo", b"\x10x")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.01)
    plugin.__exit__(None, None, None)
    worker.join(30)
    # Either the call finished before the close, or it ran entirely before it: never a crash.
    assert all(isinstance(e, TypeError) for e in errors)
    with pytest.raises(TypeError, match="plugin is closed"):
        plugin.call("echo", b"x")


def test_many_threads_many_plugins_of_one_compiled_plugin() -> None:
    compiled = extism.CompiledPlugin(ECHO_SLOW, functions=[])
    plugins = [extism.Plugin(compiled) for _ in range(4)]
    out: dict[int, list[bytes]] = {i: [] for i in range(8)}

    def work(i: int) -> None:
        p = plugins[i % 4]
        for j in range(20):
            data = bytes([1]) + f"{i}:{j}".encode()
            out[i].append(p.call("echo", data))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i in range(8):
        assert out[i] == [bytes([1]) + f"{i}:{j}".encode() for j in range(20)]


def test_cancel_handle_outlives_its_plugin() -> None:
    plugin = extism.Plugin(SPIN)
    handle = plugin.cancel_handle()
    plugin.__exit__(None, None, None)
    assert handle.cancel() is True


@pytest.mark.parametrize("name", [None, 3, b"\xff"])
def test_bad_function_names(name: object) -> None:
    plugin = extism.Plugin(SPIN)
    with pytest.raises((TypeError, UnicodeDecodeError, extism.Error)):
        plugin.call(name, b"")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "source",
    [b"", b"\x00asm", b"\x00asm\x01\x00\x00\x00\x01", b"\xff\xfe garbage", "(module (func", {}],
)
def test_bad_sources_raise_extism_error(source: object) -> None:
    with pytest.raises(extism.Error, match="^Unable to (compile|create) Extism plugin: "):
        extism.Plugin(source)  # type: ignore[arg-type]


def test_a_temporary_plugin_lives_through_its_call() -> None:
    # `Plugin(...).call(...)`: nothing else holds the plugin while it runs.
    assert extism.Plugin(ECHO_SLOW).call("echo", b"\x01hi") == b"\x01hi"
