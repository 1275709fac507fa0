"""WASI preview 1: WasiConfig (argv, env, stdio files and callbacks, inherit_*, preopened
directories and their permissions), Store.set_wasi, Linker.define_wasi, commands and reactors,
proc_exit and ExitTrap, and a store that runs a WASI program without any configuration.

The guests are written in WAT against ``wasi_snapshot_preview1``. Every program is built by
``command`` from the same imports and helpers; ``SHELL_WAT`` is a small file-system tool driven
by its arguments (``shell PATH OP [ARG]``) used by the preopen tests.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from wasmtime import (
    DirPerms,
    Engine,
    ExitTrap,
    FilePerms,
    Linker,
    Managed,
    Memory,
    Module,
    Store,
    WasiConfig,
    WasmtimeError,
)

# --------------------------------------------------------------------------------------------
# Guest programs
# --------------------------------------------------------------------------------------------

# The WASI imports and helper functions ($write, $puts, $check, $arg, $cat, ...) that every
# guest here starts with; see the file for the memory map.
GUEST_LIB = (Path(__file__).parent / "guest_lib.wat").read_text()


def command(body: str, data: str = "") -> str:
    """A module importing WASI, with the shared helpers, ``data`` and ``body``."""
    return "(module" + GUEST_LIB + data + body + ")"


# Writes "hello stdout\n" in two pieces and "hello stderr\n".
HELLO_WAT = command(
    """
    (func (export "_start")
      (call $check (call $puts (i32.const 1) (i32.const 1024)))
      (call $check (call $puts (i32.const 1) (i32.const 1040)))
      (call $check (call $puts (i32.const 2) (i32.const 1056))))
    """,
    """
    (data (i32.const 1024) "hello \\00")
    (data (i32.const 1040) "stdout\\0a\\00")
    (data (i32.const 1056) "hello stderr\\0a\\00")
    """,
)

# Prints every argument on its own line.
ECHO_ARGS_WAT = command(
    """
    (func (export "_start") (local $n i32) (local $i i32)
      (local.set $n (call $load_args))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $check (call $puts (i32.const 1) (call $arg (local.get $i))))
        (call $newline (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
    """
)

# Prints every environment variable ("NAME=value") on its own line.
ECHO_ENV_WAT = command(
    """
    (func (export "_start") (local $n i32) (local $i i32)
      (local.set $n (call $load_env))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $check (call $puts (i32.const 1) (call $env (local.get $i))))
        (call $newline (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
    """
)

# Copies stdin to stdout.
CAT_STDIN_WAT = command('(func (export "_start") (call $cat (i32.const 0)))')

# Writes "hello" to stdout, then "after\n" to stderr, then exits with the first write's errno.
WRITE_ERRNO_WAT = command(
    """
    (func (export "_start") (local $e i32)
      (local.set $e (call $puts (i32.const 1) (i32.const 1024)))
      (drop (call $puts (i32.const 2) (i32.const 1040)))
      (call $proc_exit (local.get $e)))
    """,
    """
    (data (i32.const 1024) "hello\\00")
    (data (i32.const 1040) "after\\0a\\00")
    """,
)

# Prints "line 0\n" ... "line 199\n", one write at a time.
MANY_LINES = 200
MANY_LINES_WAT = command(
    f"""
    (func (export "_start") (local $i i32)
      (loop $next
        (call $check (call $puts (i32.const 1) (i32.const 1024)))
        (call $print_u32 (i32.const 1) (local.get $i))
        (call $newline (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const {MANY_LINES})))))
    """,
    '(data (i32.const 1024) "line \\00")',
)


def exit_wat(code: int) -> str:
    """Prints "bye\\n" and calls proc_exit(code)."""
    return command(
        f"""
        (func (export "_start")
          (call $check (call $puts (i32.const 1) (i32.const 1024)))
          (call $proc_exit (i32.const {code})))
        """,
        '(data (i32.const 1024) "bye\\0a\\00")',
    )


# Records what an environment offers into memory at 128 as nine i32s: args_sizes_get errno,
# argc, environ_sizes_get errno, environ count, fd_read(stdin) errno, bytes read,
# fd_write(stdout) errno, bytes written, fd_prestat_get(3) errno.
PROBE_ENVIRONMENT_WAT = command(
    """
    (func (export "_start")
      (i32.store (i32.const 128) (call $args_sizes_get (i32.const 16) (i32.const 20)))
      (i32.store (i32.const 132) (i32.load (i32.const 16)))
      (i32.store (i32.const 136) (call $environ_sizes_get (i32.const 24) (i32.const 28)))
      (i32.store (i32.const 140) (i32.load (i32.const 24)))
      (i32.store (i32.const 0) (i32.const 0x30000))
      (i32.store (i32.const 4) (i32.const 100))
      (i32.store (i32.const 8) (i32.const 77))
      (i32.store (i32.const 144) (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (i32.store (i32.const 148) (i32.load (i32.const 8)))
      (i32.store (i32.const 8) (i32.const 77))
      (i32.store (i32.const 152) (call $puts (i32.const 1) (i32.const 1024)))
      (i32.store (i32.const 156) (i32.load (i32.const 8)))
      (i32.store (i32.const 160) (call $fd_prestat_get (i32.const 3) (i32.const 64))))
    """,
    '(data (i32.const 1024) "discarded\\00")',
)
# The record of an empty environment: no args, no variables, stdin at end of file, stdout
# accepting (and dropping) the 9 bytes written, and no preopen at fd 3 (EBADF = 8).
EMPTY_ENVIRONMENT = (0, 0, 0, 0, 0, 0, 0, 9, 8)

# A reactor: `_initialize` prints "initialized\n" and sets the value `ready` returns.
REACTOR_WAT = command(
    """
    (global $ready (mut i32) (i32.const 0))
    (func (export "_initialize")
      (call $check (call $puts (i32.const 1) (i32.const 1024)))
      (global.set $ready (i32.add (global.get $ready) (i32.const 42))))
    (func (export "ready") (result i32) (global.get $ready))
    """,
    '(data (i32.const 1024) "initialized\\0a\\00")',
)

# `shell PATH OP [ARG]`: a file-system operation on PATH, relative to the preopen at fd 3.
# On success it prints what the operation produced, then "ok\n"; a failing call prints
# "errno=N\n" on stderr and exits with N. Ops: read, write (create/truncate, write ARG),
# create (exclusive), list (fd_readdir names, one per line), mkdir, rmdir, unlink,
# stat (prints the size), rename (to ARG), write_ro_fd (fd_write on a read-only fd),
# prestat (prints the preopen's guest path).
SHELL_WAT = command(
    """
    (func $open (param $path i32) (param $oflags i32) (param $rights i64) (result i32)
      (call $check (call $path_open (i32.const 3) (i32.const 1) (local.get $path)
        (call $strlen (local.get $path)) (local.get $oflags) (local.get $rights)
        (local.get $rights) (i32.const 0) (i32.const 12)))
      (i32.load (i32.const 12)))
    (func $list (param $fd i32) (local $p i32) (local $end i32) (local $n i32)
      (call $check (call $fd_readdir (local.get $fd) (i32.const 0x30000) (i32.const 0x10000)
        (i64.const 0) (i32.const 8)))
      (local.set $p (i32.const 0x30000))
      (local.set $end (i32.add (i32.const 0x30000) (i32.load (i32.const 8))))
      (block $done (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $p) (i32.const 24)) (local.get $end)))
        (local.set $n (i32.load (i32.add (local.get $p) (i32.const 16))))
        (drop (call $write (i32.const 1) (i32.add (local.get $p) (i32.const 24)) (local.get $n)))
        (call $newline (i32.const 1))
        (local.set $p (i32.add (local.get $p) (i32.add (i32.const 24) (local.get $n))))
        (br $next))))
    (func (export "_start") (local $path i32) (local $op i32) (local $fd i32)
      (drop (call $load_args))
      (local.set $path (call $arg (i32.const 1)))
      (local.set $op (call $arg (i32.const 2)))
      (block $done
        (if (call $streq (local.get $op) (i32.const 1024)) (then
          (call $cat (call $open (local.get $path) (i32.const 0) (i64.const 16422)))
          (br $done)))
        (if (call $streq (local.get $op) (i32.const 1032)) (then
          (local.set $fd (call $open (local.get $path) (i32.const 9) (i64.const 100)))
          (call $check (call $puts (local.get $fd) (call $arg (i32.const 3))))
          (call $check (call $fd_close (local.get $fd)))
          (br $done)))
        (if (call $streq (local.get $op) (i32.const 1040)) (then
          (drop (call $open (local.get $path) (i32.const 5) (i64.const 16486)))
          (br $done)))
        (if (call $streq (local.get $op) (i32.const 1048)) (then
          (call $list (call $open (local.get $path) (i32.const 2) (i64.const 16422)))
          (br $done)))
        (if (call $streq (local.get $op) (i32.const 1056)) (then
          (call $check (call $path_create_directory (i32.const 3) (local.get $path)
            (call $strlen (local.get $path))))
          (br $done)))
        (if (call $streq (local.get $op) (i32.const 1064)) (then
          (call $check (call $path_remove_directory (i32.const 3) (local.get $path)
            (call $strlen (local.get $path))))
          (br $done)))
        (if (call $streq (local.get $op) (i32.const 1072)) (then
          (call $check (call $path_unlink_file (i32.const 3) (local.get $path)
            (call $strlen (local.get $path))))
          (br $done)))
        (if (call $streq (local.get $op) (i32.const 1080)) (then
          (call $check (call $path_filestat_get (i32.const 3) (i32.const 1) (local.get $path)
            (call $strlen (local.get $path)) (i32.const 64)))
          (call $print_u32 (i32.const 1) (i32.load (i32.const 96)))
          (call $newline (i32.const 1))
          (br $done)))
        (if (call $streq (local.get $op) (i32.const 1088)) (then
          (call $check (call $path_rename (i32.const 3) (local.get $path)
            (call $strlen (local.get $path)) (i32.const 3) (call $arg (i32.const 3))
            (call $strlen (call $arg (i32.const 3)))))
          (br $done)))
        (if (call $streq (local.get $op) (i32.const 1096)) (then
          (local.set $fd (call $open (local.get $path) (i32.const 0) (i64.const 16422)))
          (call $check (call $puts (local.get $fd) (i32.const 1024)))
          (br $done)))
        (if (call $streq (local.get $op) (i32.const 1112)) (then
          (call $check (call $fd_prestat_get (i32.const 3) (i32.const 64)))
          (call $check (call $fd_prestat_dir_name (i32.const 3) (i32.const 0x20000)
            (i32.load (i32.const 68))))
          (drop (call $write (i32.const 1) (i32.const 0x20000) (i32.load (i32.const 68))))
          (call $newline (i32.const 1))
          (br $done)))
        (drop (call $puts (i32.const 2) (i32.const 1120)))
        (call $proc_exit (i32.const 100)))
      (drop (call $puts (i32.const 1) (i32.const 1136))))
    """,
    """
    (data (i32.const 1024) "read\\00")
    (data (i32.const 1032) "write\\00")
    (data (i32.const 1040) "create\\00")
    (data (i32.const 1048) "list\\00")
    (data (i32.const 1056) "mkdir\\00")
    (data (i32.const 1064) "rmdir\\00")
    (data (i32.const 1072) "unlink\\00")
    (data (i32.const 1080) "stat\\00")
    (data (i32.const 1088) "rename\\00")
    (data (i32.const 1096) "write_ro_fd\\00")
    (data (i32.const 1112) "prestat\\00")
    (data (i32.const 1120) "unknown op\\0a\\00")
    (data (i32.const 1136) "ok\\0a\\00")
    """,
)

# WASI errno values (wasi_snapshot_preview1).
EBADF = 8
EEXIST = 20
EIO = 29
ENOENT = 44
EPERM = 63

# --------------------------------------------------------------------------------------------
# Running guests
# --------------------------------------------------------------------------------------------


class Captured:
    """Collects a config's stdout and stderr through ``stdout_custom``/``stderr_custom``."""

    def __init__(self, config: WasiConfig) -> None:
        self.out_chunks: list[bytes] = []
        self.err_chunks: list[bytes] = []
        config.stdout_custom = self.out_chunks.append
        config.stderr_custom = self.err_chunks.append

    @property
    def stdout(self) -> bytes:
        return b"".join(self.out_chunks)

    @property
    def stderr(self) -> bytes:
        return b"".join(self.err_chunks)


def run(engine: Engine, wat: str, config: WasiConfig) -> int:
    """Runs the command ``wat`` with ``config`` in a new store.

    Returns 0 when ``_start`` returns, or the code of the ``ExitTrap`` it raises.
    """
    store = Store(engine)
    store.set_wasi(config)
    linker = Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, Module(engine, wat))
    try:
        instance.exports(store)["_start"](store)
    except ExitTrap as e:
        return e.code
    return 0


def run_captured(
    engine: Engine, wat: str, argv: list[str] | None = None
) -> tuple[int, bytes, bytes]:
    config = WasiConfig()
    if argv is not None:
        config.argv = argv
    captured = Captured(config)
    code = run(engine, wat, config)
    return code, captured.stdout, captured.stderr


def run_shell(
    engine: Engine,
    directory: Path,
    *args: str,
    guest_path: str = "/sandbox",
    perms: tuple[DirPerms, FilePerms] | None = None,
) -> tuple[int, str, str]:
    """Runs ``shell *args`` with ``directory`` preopened at fd 3 as ``guest_path``."""
    config = WasiConfig()
    config.argv = ["shell", *args]
    if perms is None:
        config.preopen_dir(str(directory), guest_path)
    else:
        config.preopen_dir(str(directory), guest_path, perms[0], perms[1])
    captured = Captured(config)
    code = run(engine, SHELL_WAT, config)
    return code, captured.stdout.decode(), captured.stderr.decode()


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A directory with a file, a subdirectory holding a file, and an empty directory."""
    root = tmp_path / "sandbox"
    (root / "sub").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "inside.txt").write_bytes(b"inside data\n")
    (root / "sub" / "file.txt").write_bytes(b"sub file\n")
    return root


def tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root``: file contents, or "dir"."""
    result: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        result[key] = "dir" if path.is_dir() else path.read_bytes()
    return result


# --------------------------------------------------------------------------------------------
# The guests themselves are sound (they are validated by the wat2wasm in our build)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wat",
    [
        HELLO_WAT,
        ECHO_ARGS_WAT,
        ECHO_ENV_WAT,
        CAT_STDIN_WAT,
        WRITE_ERRNO_WAT,
        MANY_LINES_WAT,
        PROBE_ENVIRONMENT_WAT,
        REACTOR_WAT,
        SHELL_WAT,
        exit_wat(3),
    ],
    ids=[
        "hello",
        "echo_args",
        "echo_env",
        "cat_stdin",
        "write_errno",
        "many_lines",
        "probe",
        "reactor",
        "shell",
        "exit",
    ],
)
def test_guest_imports_only_wasi_preview1(engine: Engine, wat: str) -> None:
    module = Module(engine, wat)
    modules = {imp.module for imp in module.imports}
    assert modules == {"wasi_snapshot_preview1"}
    assert "memory" in [exp.name for exp in module.exports]


# --------------------------------------------------------------------------------------------
# stdout and stderr
# --------------------------------------------------------------------------------------------


def test_stdout_and_stderr_files(engine: Engine, tmp_path: Path) -> None:
    config = WasiConfig()
    config.stdout_file = str(tmp_path / "out.txt")
    config.stderr_file = str(tmp_path / "err.txt")
    assert run(engine, HELLO_WAT, config) == 0
    assert (tmp_path / "out.txt").read_bytes() == b"hello stdout\n"
    assert (tmp_path / "err.txt").read_bytes() == b"hello stderr\n"


def test_stdout_file_accepts_path_and_bytes(engine: Engine, tmp_path: Path) -> None:
    config = WasiConfig()
    config.stdout_file = tmp_path / "out.txt"
    config.stderr_file = os.fsencode(tmp_path / "err.txt")
    assert run(engine, HELLO_WAT, config) == 0
    assert (tmp_path / "out.txt").read_bytes() == b"hello stdout\n"
    assert (tmp_path / "err.txt").read_bytes() == b"hello stderr\n"


def test_stdout_file_is_created_when_set_and_truncated(engine: Engine, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_bytes(b"previous content that is much longer than the new output\n")
    config = WasiConfig()
    config.stdout_file = out
    # Truncated as soon as it is configured, before anything runs.
    assert out.read_bytes() == b""
    config.stderr_file = tmp_path / "new_err.txt"
    assert (tmp_path / "new_err.txt").exists()
    assert run(engine, HELLO_WAT, config) == 0
    assert out.read_bytes() == b"hello stdout\n"


@pytest.mark.parametrize("attr", ["stdout_file", "stderr_file"])
def test_output_file_in_missing_directory(tmp_path: Path, attr: str) -> None:
    config = WasiConfig()
    stream = attr.removesuffix("_file")
    with pytest.raises(WasmtimeError, match=f"^failed to set {stream} file$"):
        setattr(config, attr, str(tmp_path / "no" / "such" / "dir" / "out.txt"))
    assert not (tmp_path / "no").exists()


def test_custom_callbacks_receive_bytes(engine: Engine) -> None:
    config = WasiConfig()
    out: list[Any] = []
    err: list[Any] = []
    config.stdout_custom = out.append
    config.stderr_custom = err.append
    assert run(engine, HELLO_WAT, config) == 0
    assert out, "stdout callback never called"
    assert all(type(chunk) is bytes for chunk in out + err)
    assert b"".join(out) == b"hello stdout\n"
    assert b"".join(err) == b"hello stderr\n"


def test_custom_callback_sees_every_write(engine: Engine) -> None:
    code, stdout, stderr = run_captured(engine, MANY_LINES_WAT)
    assert code == 0
    assert stderr == b""
    assert stdout == b"".join(b"line %d\n" % i for i in range(MANY_LINES))


def test_custom_callback_exception_becomes_guest_eio(
    engine: Engine, capfd: pytest.CaptureFixture[str]
) -> None:
    calls: list[bytes] = []

    def broken(data: bytes) -> None:
        calls.append(data)
        raise RuntimeError("callback exploded")

    config = WasiConfig()
    config.stdout_custom = broken
    err: list[bytes] = []
    config.stderr_custom = err.append
    # The exception does not propagate: the guest sees EIO from fd_write, goes on, and exits
    # with that errno.
    assert run(engine, WRITE_ERRNO_WAT, config) == EIO
    assert calls == [b"hello"]
    assert b"".join(err) == b"after\n"
    captured = capfd.readouterr()
    assert "callback exploded" in captured.out + captured.err


def test_custom_callback_returning_none_means_all_written(engine: Engine) -> None:
    seen: list[bytes] = []

    def callback(data: bytes) -> None:
        seen.append(data)

    config = WasiConfig()
    config.stdout_custom = callback
    config.stderr_custom = lambda data: None
    assert run(engine, WRITE_ERRNO_WAT, config) == 0
    assert b"".join(seen) == b"hello"


def test_custom_callback_from_worker_thread_while_main_thread_runs_python(engine: Engine) -> None:
    module = Module(engine, MANY_LINES_WAT)
    chunks: list[bytes] = []
    callback_threads: set[int] = set()
    outcome: list[Any] = []

    def on_stdout(data: bytes) -> None:
        callback_threads.add(threading.get_ident())
        chunks.append(data)

    def work() -> None:
        try:
            store = Store(engine)
            config = WasiConfig()
            config.stdout_custom = on_stdout
            store.set_wasi(config)
            linker = Linker(engine)
            linker.define_wasi()
            instance = linker.instantiate(store, module)
            outcome.append(instance.exports(store)["_start"](store))
        except BaseException as e:  # noqa: BLE001
            outcome.append(e)

    worker = threading.Thread(target=work)
    worker.start()
    # The main thread keeps the interpreter busy while the guest writes; each callback has to
    # take the GIL from it.
    spins = 0
    deadline = time.monotonic() + 30
    while worker.is_alive() and time.monotonic() < deadline:
        sum(range(2000))
        spins += 1
    worker.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not worker.is_alive(), "WASI output callback deadlocked"
    assert spins > 0
    assert outcome == [None]
    assert threading.get_ident() not in callback_threads
    assert b"".join(chunks) == b"".join(b"line %d\n" % i for i in range(MANY_LINES))


def test_inherit_stdout_and_stderr(engine: Engine, capfd: pytest.CaptureFixture[str]) -> None:
    config = WasiConfig()
    config.inherit_stdout()
    config.inherit_stderr()
    assert run(engine, HELLO_WAT, config) == 0
    captured = capfd.readouterr()
    assert captured.out == "hello stdout\n"
    assert captured.err == "hello stderr\n"


def test_last_output_setting_wins(engine: Engine, tmp_path: Path) -> None:
    config = WasiConfig()
    config.stdout_file = tmp_path / "first.txt"
    chunks: list[bytes] = []
    config.stdout_custom = chunks.append
    config.stderr_custom = lambda data: None
    assert run(engine, HELLO_WAT, config) == 0
    assert b"".join(chunks) == b"hello stdout\n"
    assert (tmp_path / "first.txt").read_bytes() == b""


# --------------------------------------------------------------------------------------------
# stdin
# --------------------------------------------------------------------------------------------


def test_stdin_file(engine: Engine, tmp_path: Path) -> None:
    # More than the guest's 64 KiB buffer, and not UTF-8.
    payload = b"line one\nline two\n\xff\x00\xfe" + bytes(range(256)) * 400
    (tmp_path / "in.bin").write_bytes(payload)
    config = WasiConfig()
    config.stdin_file = tmp_path / "in.bin"
    captured = Captured(config)
    assert run(engine, CAT_STDIN_WAT, config) == 0
    assert captured.stdout == payload
    assert captured.stderr == b""


@pytest.mark.parametrize("kind", ["str", "bytes"])
def test_stdin_file_path_types(engine: Engine, tmp_path: Path, kind: str) -> None:
    (tmp_path / "in.txt").write_bytes(b"from a file\n")
    config = WasiConfig()
    path = tmp_path / "in.txt"
    config.stdin_file = str(path) if kind == "str" else os.fsencode(path)
    captured = Captured(config)
    assert run(engine, CAT_STDIN_WAT, config) == 0
    assert captured.stdout == b"from a file\n"


def test_stdin_defaults_to_empty(engine: Engine) -> None:
    code, stdout, stderr = run_captured(engine, CAT_STDIN_WAT)
    assert (code, stdout, stderr) == (0, b"", b"")


def test_missing_stdin_file(tmp_path: Path) -> None:
    config = WasiConfig()
    with pytest.raises(WasmtimeError, match="^failed to set stdin file$"):
        config.stdin_file = tmp_path / "missing.txt"
    with pytest.raises(WasmtimeError, match="^failed to set stdin file$"):
        config.stdin_file = str(tmp_path / "missing.txt")


INHERIT_STDIN_SCRIPT = """
import sys
import wasmtime

engine = wasmtime.Engine()
store = wasmtime.Store(engine)
config = wasmtime.WasiConfig()
config.inherit_stdin()
config.inherit_stdout()
store.set_wasi(config)
linker = wasmtime.Linker(engine)
linker.define_wasi()
instance = linker.instantiate(store, wasmtime.Module(engine, sys.argv[1]))
instance.exports(store)["_start"](store)
"""


def test_inherit_stdin_and_stdout_in_a_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-c", INHERIT_STDIN_SCRIPT, CAT_STDIN_WAT],
        check=False,
        input=b"piped into the process\n\x01\x02",
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"piped into the process\n\x01\x02"


# --------------------------------------------------------------------------------------------
# argv and environment
# --------------------------------------------------------------------------------------------


def test_argv(engine: Engine) -> None:
    argv = ["prog", "first", "with space", "héllo", "", "日本語", "--flag=1"]
    code, stdout, stderr = run_captured(engine, ECHO_ARGS_WAT, argv)
    assert code == 0
    assert stderr == b""
    assert stdout.decode("utf-8").split("\n") == [*argv, ""]


def test_argv_tuple(engine: Engine) -> None:
    config = WasiConfig()
    config.argv = ("a", "b")
    captured = Captured(config)
    assert run(engine, ECHO_ARGS_WAT, config) == 0
    assert captured.stdout == b"a\nb\n"


def test_argv_defaults_to_empty(engine: Engine) -> None:
    assert run_captured(engine, ECHO_ARGS_WAT) == (0, b"", b"")


def test_inherit_argv(engine: Engine) -> None:
    config = WasiConfig()
    config.inherit_argv()
    captured = Captured(config)
    assert run(engine, ECHO_ARGS_WAT, config) == 0
    # The process's own argv, as the C runtime saw it.
    assert captured.stdout.decode().split("\n") == [*sys.orig_argv, ""]


def test_env(engine: Engine) -> None:
    config = WasiConfig()
    config.env = [("FIRST", "1"), ("EMPTY", ""), ("UNICODE", "ünï"), ("SPACED", "a b=c")]
    captured = Captured(config)
    assert run(engine, ECHO_ENV_WAT, config) == 0
    assert captured.stdout.decode("utf-8") == "FIRST=1\nEMPTY=\nUNICODE=ünï\nSPACED=a b=c\n"


def test_env_from_dict_items_and_generator(engine: Engine) -> None:
    config = WasiConfig()
    config.env = {"A": "x", "B": "y"}.items()
    captured = Captured(config)
    assert run(engine, ECHO_ENV_WAT, config) == 0
    assert captured.stdout == b"A=x\nB=y\n"

    config = WasiConfig()
    config.env = ((f"V{i}", str(i * i)) for i in range(3))
    captured = Captured(config)
    assert run(engine, ECHO_ENV_WAT, config) == 0
    assert captured.stdout == b"V0=0\nV1=1\nV2=4\n"


def test_env_defaults_to_empty(engine: Engine) -> None:
    assert run_captured(engine, ECHO_ENV_WAT) == (0, b"", b"")


def test_inherit_env(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMBRIDGE_WASI_TEST", "inherited value")
    monkeypatch.setenv("WASMBRIDGE_WASI_GONE", "x")
    monkeypatch.delenv("WASMBRIDGE_WASI_GONE")
    config = WasiConfig()
    config.inherit_env()
    captured = Captured(config)
    assert run(engine, ECHO_ENV_WAT, config) == 0
    lines = captured.stdout.decode("utf-8", "replace").split("\n")
    assert "WASMBRIDGE_WASI_TEST=inherited value" in lines
    assert not [line for line in lines if line.startswith("WASMBRIDGE_WASI_GONE=")]
    if "PATH" in os.environ:
        assert f"PATH={os.environ['PATH']}" in lines


# --------------------------------------------------------------------------------------------
# Setter validation, write-only attributes, lifecycle
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [3, None, 2.5])
def test_argv_rejects_non_sequence(bad: Any) -> None:
    with pytest.raises(TypeError):
        WasiConfig().argv = bad


@pytest.mark.parametrize("bad", [[1, 2], ["ok", 3], [None], [b"bytes"]])
def test_argv_rejects_non_str_items(bad: Any) -> None:
    # wasmtime-py fails while encoding the item (AttributeError); a TypeError is as good.
    with pytest.raises((TypeError, AttributeError)):
        WasiConfig().argv = bad


@pytest.mark.parametrize("bad", [3, None])
def test_env_rejects_non_iterable(bad: Any) -> None:
    with pytest.raises(TypeError):
        WasiConfig().env = bad


@pytest.mark.parametrize("bad", [[("only_name",)], [("a", "b", "c")], ["abc"]])
def test_env_rejects_items_that_are_not_pairs(bad: Any) -> None:
    # wasmtime-py unpacks each item into two names (ValueError).
    with pytest.raises((ValueError, TypeError)):
        WasiConfig().env = bad


@pytest.mark.parametrize("bad", [[(1, "v")], [("k", 2)], [("k", None)]])
def test_env_rejects_non_str_names_and_values(bad: Any) -> None:
    with pytest.raises((TypeError, AttributeError)):
        WasiConfig().env = bad


def test_argv_and_env_reject_unencodable_strings() -> None:
    with pytest.raises((UnicodeError, WasmtimeError)):
        WasiConfig().argv = ["\udcff"]
    with pytest.raises((UnicodeError, WasmtimeError)):
        WasiConfig().env = [("K", "\udcff")]


@pytest.mark.parametrize("attr", ["stdin_file", "stdout_file", "stderr_file"])
@pytest.mark.parametrize("bad", [3, None, 1.5])
def test_file_setters_reject_non_paths(attr: str, bad: Any) -> None:
    # wasmtime-py looks for __fspath__ (AttributeError); a TypeError is as good.
    with pytest.raises((TypeError, AttributeError)):
        setattr(WasiConfig(), attr, bad)


@pytest.mark.parametrize(
    "attr",
    ["argv", "env", "stdin_file", "stdout_file", "stderr_file", "stdout_custom", "stderr_custom"],
)
def test_attributes_are_write_only(attr: str) -> None:
    with pytest.raises(AttributeError):
        getattr(WasiConfig(), attr)


def test_inherit_methods_return_none() -> None:
    config = WasiConfig()
    assert config.inherit_argv() is None
    assert config.inherit_env() is None
    assert config.inherit_stdin() is None
    assert config.inherit_stdout() is None
    assert config.inherit_stderr() is None


def test_wasi_config_is_managed() -> None:
    config = WasiConfig()
    assert isinstance(config, Managed)
    with config as entered:
        assert entered is config
    with pytest.raises(ValueError, match="^already closed$"):
        config.argv = ["a"]
    with pytest.raises(ValueError, match="^already closed$"):
        Store().set_wasi(config)


def test_set_wasi_consumes_the_config(engine: Engine) -> None:
    config = WasiConfig()
    store = Store(engine)
    assert store.set_wasi(config) is None
    with pytest.raises(ValueError, match="^already closed$"):
        Store(engine).set_wasi(config)
    with pytest.raises(ValueError, match="^already closed$"):
        store.set_wasi(config)
    with pytest.raises(ValueError, match="^already closed$"):
        config.argv = ["x"]
    with pytest.raises(ValueError, match="^already closed$"):
        config.inherit_env()
    with pytest.raises(ValueError, match="^already closed$"):
        config.preopen_dir(".", "/x")


def test_set_wasi_again_with_a_new_config_replaces_it(engine: Engine) -> None:
    store = Store(engine)
    first = WasiConfig()
    first.argv = ["first"]
    first.stdout_custom = lambda data: None
    store.set_wasi(first)
    second = WasiConfig()
    second.argv = ["second"]
    captured = Captured(second)
    store.set_wasi(second)
    linker = Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, Module(engine, ECHO_ARGS_WAT))
    instance.exports(store)["_start"](store)
    assert captured.stdout == b"second\n"


@pytest.mark.parametrize("bad", [None, 3, "config"])
def test_set_wasi_rejects_non_config(bad: Any) -> None:
    with pytest.raises((TypeError, AttributeError)):
        Store().set_wasi(bad)


def test_define_wasi_twice(engine: Engine) -> None:
    linker = Linker(engine)
    assert linker.define_wasi() is None
    with pytest.raises(WasmtimeError, match=r"wasi_snapshot_preview1::\w+` defined twice"):
        linker.define_wasi()
    linker.allow_shadowing = True
    linker.define_wasi()


def test_unresolved_wasi_import_without_define_wasi(engine: Engine) -> None:
    store = Store(engine)
    store.set_wasi(WasiConfig())
    with pytest.raises(WasmtimeError, match="wasi_snapshot_preview1"):
        Linker(engine).instantiate(store, Module(engine, HELLO_WAT))


# --------------------------------------------------------------------------------------------
# proc_exit and ExitTrap
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 3, 125])
def test_proc_exit_raises_exit_trap(engine: Engine, code: int) -> None:
    store = Store(engine)
    config = WasiConfig()
    captured = Captured(config)
    store.set_wasi(config)
    linker = Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, Module(engine, exit_wat(code)))
    with pytest.raises(ExitTrap) as info:
        instance.exports(store)["_start"](store)
    assert info.value.code == code
    assert type(info.value.code) is int
    assert isinstance(info.value, WasmtimeError)
    assert f"Exited with i32 exit status {code}\n" in str(info.value)
    assert captured.stdout == b"bye\n"


@pytest.mark.parametrize("code", [126, 255, -1])
def test_proc_exit_status_outside_wasi_range_is_an_error(engine: Engine, code: int) -> None:
    # WASI exit statuses are 0..125; wasmtime turns anything else into a plain error.
    config = WasiConfig()
    config.stdout_custom = lambda data: None
    with pytest.raises(WasmtimeError) as info:
        run(engine, exit_wat(code), config)
    assert not isinstance(info.value, ExitTrap)
    assert "exit with invalid exit status outside of [0..126)" in str(info.value)


def test_returning_from_start_is_not_an_exit(engine: Engine) -> None:
    store = Store(engine)
    config = WasiConfig()
    captured = Captured(config)
    store.set_wasi(config)
    linker = Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, Module(engine, HELLO_WAT))
    assert instance.exports(store)["_start"](store) is None
    assert captured.stdout == b"hello stdout\n"


def test_store_usable_after_exit(engine: Engine) -> None:
    store = Store(engine)
    config = WasiConfig()
    captured = Captured(config)
    store.set_wasi(config)
    linker = Linker(engine)
    linker.define_wasi()
    exiting = linker.instantiate(store, Module(engine, exit_wat(7)))
    with pytest.raises(ExitTrap) as info:
        exiting.exports(store)["_start"](store)
    assert info.value.code == 7
    hello = linker.instantiate(store, Module(engine, HELLO_WAT))
    hello.exports(store)["_start"](store)
    assert captured.stdout == b"bye\nhello stdout\n"


# --------------------------------------------------------------------------------------------
# Commands and reactors
# --------------------------------------------------------------------------------------------


def test_command_through_define_module_and_get_default(engine: Engine) -> None:
    store = Store(engine)
    config = WasiConfig()
    config.argv = ["cmd", "x"]
    captured = Captured(config)
    store.set_wasi(config)
    linker = Linker(engine)
    linker.define_wasi()
    linker.define_module(store, "cmd", Module(engine, ECHO_ARGS_WAT))
    start = linker.get_default(store, "cmd")
    start(store)
    start(store)
    assert captured.stdout == b"cmd\nx\ncmd\nx\n"


def test_reactor_through_define_module_is_initialized_once(engine: Engine) -> None:
    store = Store(engine)
    config = WasiConfig()
    captured = Captured(config)
    store.set_wasi(config)
    linker = Linker(engine)
    linker.define_wasi()
    linker.define_module(store, "reactor", Module(engine, REACTOR_WAT))
    ready = linker.get(store, "reactor", "ready")
    assert ready(store) == 42
    assert ready(store) == 42
    assert captured.stdout == b"initialized\n"


def test_reactor_through_instantiate_and_initialize(engine: Engine) -> None:
    store = Store(engine)
    config = WasiConfig()
    captured = Captured(config)
    store.set_wasi(config)
    linker = Linker(engine)
    linker.define_wasi()
    exports = linker.instantiate(store, Module(engine, REACTOR_WAT)).exports(store)
    assert "_start" not in exports
    assert exports["ready"](store) == 0
    assert captured.stdout == b""
    exports["_initialize"](store)
    assert exports["ready"](store) == 42
    assert captured.stdout == b"initialized\n"


def test_instance_pre_with_wasi(engine: Engine) -> None:
    linker = Linker(engine)
    linker.define_wasi()
    pre = linker.instantiate_pre(Module(engine, ECHO_ARGS_WAT))
    outputs = []
    for name in ["one", "two"]:
        store = Store(engine)
        config = WasiConfig()
        config.argv = [name]
        outputs.append(Captured(config))
        store.set_wasi(config)
        pre.instantiate(store).exports(store)["_start"](store)
    assert [c.stdout for c in outputs] == [b"one\n", b"two\n"]


# --------------------------------------------------------------------------------------------
# A store without set_wasi
# --------------------------------------------------------------------------------------------


def probe_environment(engine: Engine, store: Store) -> tuple[int, ...]:
    linker = Linker(engine)
    linker.define_wasi()
    exports = linker.instantiate(store, Module(engine, PROBE_ENVIRONMENT_WAT)).exports(store)
    assert exports["_start"](store) is None
    memory = exports["memory"]
    assert isinstance(memory, Memory)
    return struct.unpack("<9i", bytes(memory.read(store, 128, 164)))


def test_empty_config_gives_empty_environment(engine: Engine) -> None:
    store = Store(engine)
    store.set_wasi(WasiConfig())
    assert probe_environment(engine, store) == EMPTY_ENVIRONMENT


def test_store_without_set_wasi_gets_empty_environment(engine: Engine) -> None:
    store = Store(engine)
    assert probe_environment(engine, store) == EMPTY_ENVIRONMENT


def test_store_without_set_wasi_runs_commands(engine: Engine) -> None:
    store = Store(engine)
    linker = Linker(engine)
    linker.define_wasi()
    for wat in [HELLO_WAT, ECHO_ARGS_WAT, ECHO_ENV_WAT, CAT_STDIN_WAT]:
        exports = linker.instantiate(store, Module(engine, wat)).exports(store)
        assert exports["_start"](store) is None
    exiting = linker.instantiate(store, Module(engine, exit_wat(4)))
    with pytest.raises(ExitTrap) as info:
        exiting.exports(store)["_start"](store)
    assert info.value.code == 4


# --------------------------------------------------------------------------------------------
# Preopened directories
# --------------------------------------------------------------------------------------------


def test_dir_and_file_perms_enums() -> None:
    for enum in (DirPerms, FilePerms):
        assert [(m.name, m.value) for m in enum] == [
            ("READ_ONLY", 1),
            ("WRITE_ONLY", 2),
            ("READ_WRITE", 3),
        ]
    assert DirPerms(3) is DirPerms.READ_WRITE
    assert FilePerms["READ_ONLY"] is FilePerms.READ_ONLY
    assert DirPerms.READ_ONLY != FilePerms.READ_ONLY


@pytest.mark.parametrize("guest_path", ["/sandbox", ".", "/"])
def test_preopen_guest_path(engine: Engine, sandbox: Path, guest_path: str) -> None:
    assert run_shell(engine, sandbox, ".", "prestat", guest_path=guest_path) == (
        0,
        f"{guest_path}\nok\n",
        "",
    )


def test_no_preopen_means_no_fd_3(engine: Engine) -> None:
    config = WasiConfig()
    config.argv = ["shell", "inside.txt", "read"]
    captured = Captured(config)
    assert run(engine, SHELL_WAT, config) == EBADF
    assert captured.stderr == b"errno=8\n"


def test_preopen_read_file(engine: Engine, sandbox: Path) -> None:
    assert run_shell(engine, sandbox, "inside.txt", "read") == (0, "inside data\nok\n", "")
    assert run_shell(engine, sandbox, "sub/file.txt", "read") == (0, "sub file\nok\n", "")
    assert run_shell(engine, sandbox, "./sub/../inside.txt", "read") == (
        0,
        "inside data\nok\n",
        "",
    )


def test_preopen_read_missing_file(engine: Engine, sandbox: Path) -> None:
    assert run_shell(engine, sandbox, "nope.txt", "read") == (ENOENT, "", "errno=44\n")


def test_preopen_stat(engine: Engine, sandbox: Path) -> None:
    assert run_shell(engine, sandbox, "inside.txt", "stat") == (0, "12\nok\n", "")


def test_preopen_write_new_file(engine: Engine, sandbox: Path) -> None:
    assert run_shell(engine, sandbox, "new.txt", "write", "fresh bytes") == (0, "ok\n", "")
    assert (sandbox / "new.txt").read_bytes() == b"fresh bytes"


def test_preopen_overwrite_file(engine: Engine, sandbox: Path) -> None:
    assert run_shell(engine, sandbox, "sub/file.txt", "write", "new") == (0, "ok\n", "")
    assert (sandbox / "sub" / "file.txt").read_bytes() == b"new"


def test_preopen_list_directory(engine: Engine, sandbox: Path) -> None:
    (sandbox / "sub" / "second.bin").write_bytes(b"")
    code, out, err = run_shell(engine, sandbox, ".", "list")
    assert (code, err) == (0, "")
    assert out.endswith("ok\n")
    assert set(out.split("\n")[:-2]) >= {"inside.txt", "sub", "empty"}
    assert set(out.split("\n")[:-2]) - {".", ".."} == {"inside.txt", "sub", "empty"}
    code, out, err = run_shell(engine, sandbox, "sub", "list")
    assert (code, err) == (0, "")
    assert set(out.split("\n")[:-2]) - {".", ".."} == {"file.txt", "second.bin"}


def test_preopen_create_and_unlink(engine: Engine, sandbox: Path) -> None:
    assert run_shell(engine, sandbox, "created.txt", "create") == (0, "ok\n", "")
    assert (sandbox / "created.txt").read_bytes() == b""
    # Exclusive creation of an existing file fails.
    assert run_shell(engine, sandbox, "created.txt", "create") == (EEXIST, "", "errno=20\n")
    assert run_shell(engine, sandbox, "created.txt", "unlink") == (0, "ok\n", "")
    assert not (sandbox / "created.txt").exists()
    assert run_shell(engine, sandbox, "created.txt", "unlink") == (ENOENT, "", "errno=44\n")


def test_preopen_mkdir_rename_rmdir(engine: Engine, sandbox: Path) -> None:
    assert run_shell(engine, sandbox, "made", "mkdir") == (0, "ok\n", "")
    assert (sandbox / "made").is_dir()
    assert run_shell(engine, sandbox, "inside.txt", "rename", "made/moved.txt") == (0, "ok\n", "")
    assert (sandbox / "made" / "moved.txt").read_bytes() == b"inside data\n"
    assert not (sandbox / "inside.txt").exists()
    assert run_shell(engine, sandbox, "empty", "rmdir") == (0, "ok\n", "")
    assert not (sandbox / "empty").exists()


def test_preopen_fd_write_on_read_only_fd(engine: Engine, sandbox: Path) -> None:
    assert run_shell(engine, sandbox, "inside.txt", "write_ro_fd") == (EBADF, "", "errno=8\n")
    assert (sandbox / "inside.txt").read_bytes() == b"inside data\n"


def test_preopen_sees_host_changes_after_config(engine: Engine, sandbox: Path) -> None:
    config = WasiConfig()
    config.argv = ["shell", "later.txt", "read"]
    config.preopen_dir(str(sandbox), "/sandbox")
    captured = Captured(config)
    (sandbox / "later.txt").write_bytes(b"written after preopen_dir\n")
    assert run(engine, SHELL_WAT, config) == 0
    assert captured.stdout == b"written after preopen_dir\nok\n"


def test_two_preopens(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "only_in_b.txt").write_bytes(b"b!")
    config = WasiConfig()
    config.argv = ["shell", "only_in_b.txt", "read"]
    config.preopen_dir(str(tmp_path / "a"), "/a")
    config.preopen_dir(str(tmp_path / "b"), "/b")
    captured = Captured(config)
    # The guest opens relative to fd 3, the first preopen, which does not have the file.
    assert run(engine, SHELL_WAT, config) == ENOENT
    assert captured.stdout == b""


def test_missing_preopen_dir(tmp_path: Path) -> None:
    config = WasiConfig()
    with pytest.raises(WasmtimeError, match="^failed to add preopen dir$"):
        config.preopen_dir(str(tmp_path / "missing"), "/sandbox")


def test_preopen_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_bytes(b"")
    config = WasiConfig()
    with pytest.raises(WasmtimeError, match="^failed to add preopen dir$"):
        config.preopen_dir(str(tmp_path / "file.txt"), "/sandbox")


def test_preopen_dir_is_opened_immediately(engine: Engine, tmp_path: Path) -> None:
    # The directory is opened by preopen_dir: renaming it afterwards does not matter.
    original = tmp_path / "original"
    original.mkdir()
    (original / "f.txt").write_bytes(b"still reachable\n")
    config = WasiConfig()
    config.argv = ["shell", "f.txt", "read"]
    config.preopen_dir(str(original), "/d")
    original.rename(tmp_path / "renamed")
    captured = Captured(config)
    assert run(engine, SHELL_WAT, config) == 0
    assert captured.stdout == b"still reachable\nok\n"


@pytest.mark.parametrize("bad", [(3, "/x"), ("/tmp", 3), (None, "/x")])
def test_preopen_dir_rejects_non_str(bad: tuple[Any, Any]) -> None:
    with pytest.raises((TypeError, AttributeError)):
        WasiConfig().preopen_dir(*bad)


WRITABLE_PERMS = [
    (DirPerms.READ_WRITE, FilePerms.READ_WRITE),
    (DirPerms.WRITE_ONLY, FilePerms.WRITE_ONLY),
    (DirPerms.READ_WRITE, FilePerms.WRITE_ONLY),
]
READ_ONLY_PERMS = [
    (DirPerms.READ_ONLY, FilePerms.READ_ONLY),
    (DirPerms.READ_ONLY, FilePerms.READ_WRITE),
    (DirPerms.READ_WRITE, FilePerms.READ_ONLY),
    (DirPerms.WRITE_ONLY, FilePerms.READ_ONLY),
]


def perms_id(perms: tuple[DirPerms, FilePerms]) -> str:
    return f"dir_{perms[0].name}-file_{perms[1].name}"


@pytest.mark.parametrize("perms", WRITABLE_PERMS + READ_ONLY_PERMS, ids=perms_id)
def test_every_permission_allows_reading(
    engine: Engine, sandbox: Path, perms: tuple[DirPerms, FilePerms]
) -> None:
    assert run_shell(engine, sandbox, "inside.txt", "read", perms=perms) == (
        0,
        "inside data\nok\n",
        "",
    )
    code, out, _ = run_shell(engine, sandbox, ".", "list", perms=perms)
    assert code == 0
    assert "inside.txt\n" in out


@pytest.mark.parametrize("perms", WRITABLE_PERMS, ids=perms_id)
def test_writable_permissions(
    engine: Engine, sandbox: Path, perms: tuple[DirPerms, FilePerms]
) -> None:
    assert run_shell(engine, sandbox, "inside.txt", "write", "changed", perms=perms) == (
        0,
        "ok\n",
        "",
    )
    assert (sandbox / "inside.txt").read_bytes() == b"changed"
    assert run_shell(engine, sandbox, "new.txt", "create", perms=perms) == (0, "ok\n", "")
    assert run_shell(engine, sandbox, "newdir", "mkdir", perms=perms) == (0, "ok\n", "")
    assert run_shell(engine, sandbox, "sub/file.txt", "unlink", perms=perms) == (0, "ok\n", "")
    assert tree(sandbox) == {
        "empty": "dir",
        "inside.txt": b"changed",
        "new.txt": b"",
        "newdir": "dir",
        "sub": "dir",
    }


READ_ONLY_REFUSALS = [
    ("inside.txt", "write", "changed"),
    ("brand_new.txt", "write", "data"),
    ("brand_new.txt", "create"),
    ("newdir", "mkdir"),
    ("empty", "rmdir"),
    ("inside.txt", "unlink"),
    ("sub/file.txt", "unlink"),
    ("inside.txt", "rename", "renamed.txt"),
]


@pytest.mark.parametrize("perms", READ_ONLY_PERMS, ids=perms_id)
@pytest.mark.parametrize("args", READ_ONLY_REFUSALS, ids=lambda a: "-".join(a[:2]))
def test_read_only_permissions_refuse_writes(
    engine: Engine,
    sandbox: Path,
    perms: tuple[DirPerms, FilePerms],
    args: tuple[str, ...],
) -> None:
    before = tree(sandbox)
    assert run_shell(engine, sandbox, *args, perms=perms) == (EPERM, "", "errno=63\n")
    assert tree(sandbox) == before


def test_perms_are_per_preopen(engine: Engine, tmp_path: Path) -> None:
    writable, frozen = tmp_path / "rw", tmp_path / "ro"
    writable.mkdir()
    frozen.mkdir()
    assert run_shell(
        engine, frozen, "x.txt", "write", "x", perms=(DirPerms.READ_ONLY, FilePerms.READ_ONLY)
    ) == (EPERM, "", "errno=63\n")
    assert run_shell(engine, writable, "x.txt", "write", "x") == (0, "ok\n", "")
    assert (writable / "x.txt").read_bytes() == b"x"
    assert list(frozen.iterdir()) == []


def test_output_without_configuration_is_discarded(
    engine: Engine, capfd: pytest.CaptureFixture[str]
) -> None:
    # No stdout/stderr configured: the guest's writes succeed and go nowhere.
    assert run(engine, HELLO_WAT, WasiConfig()) == 0
    assert capfd.readouterr() == ("", "")
