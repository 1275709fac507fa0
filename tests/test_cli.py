"""The command-line tool: ``python -m wasmbridge run [options] PROGRAM [ARGS...]`` and the
``wasmbridge`` console script. Running WASI commands (.wat and .wasm), passing arguments,
``--env NAME=VALUE``, ``--dir HOST::GUEST``, exit codes, ``--invoke FUNC``, traps, missing
files and ``--help``.

Every test runs the tool in a subprocess whose working directory is the test's ``tmp_path``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import wasmtime

TIMEOUT = 60

# The WASI imports and helper functions ($write, $puts, $check, $arg, $cat, ...) that every
# guest here starts with; see the file for the memory map.
GUEST_LIB = (Path(__file__).parent / "wasi" / "guest_lib.wat").read_text()


def command(body: str, data: str = "") -> str:
    return "(module" + GUEST_LIB + data + body + ")"


HELLO_WAT = command(
    """
    (func (export "_start")
      (call $check (call $puts (i32.const 1) (i32.const 1024)))
      (call $check (call $puts (i32.const 2) (i32.const 1056))))
    """,
    """
    (data (i32.const 1024) "Hello, world!\\0a\\00")
    (data (i32.const 1056) "to stderr\\0a\\00")
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

# Prints every environment variable on its own line.
ECHO_ENV_WAT = command(
    """
    (func (export "_start") (local $n i32) (local $i i32)
      (call $check (call $environ_sizes_get (i32.const 24) (i32.const 28)))
      (call $check (call $environ_get (i32.const 8192) (i32.const 0x20000)))
      (local.set $n (i32.load (i32.const 24)))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $check (call $puts (i32.const 1)
          (i32.load (i32.add (i32.const 8192) (i32.shl (local.get $i) (i32.const 2))))))
        (call $newline (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
    """
)

# Prints the guest path of the preopen at fd 3, then the contents of argv[1] opened there.
CAT_FILE_WAT = command(
    """
    (func (export "_start") (local $path i32)
      (drop (call $load_args))
      (call $check (call $fd_prestat_get (i32.const 3) (i32.const 64)))
      (call $check (call $fd_prestat_dir_name (i32.const 3) (i32.const 0x20000)
        (i32.load (i32.const 68))))
      (drop (call $write (i32.const 1) (i32.const 0x20000) (i32.load (i32.const 68))))
      (call $newline (i32.const 1))
      (local.set $path (call $arg (i32.const 1)))
      (call $check (call $path_open (i32.const 3) (i32.const 1) (local.get $path)
        (call $strlen (local.get $path)) (i32.const 0) (i64.const 2) (i64.const 2)
        (i32.const 0) (i32.const 12)))
      (call $cat (i32.load (i32.const 12))))
    """
)

CAT_STDIN_WAT = command('(func (export "_start") (call $cat (i32.const 0)))')


def exit_wat(code: int) -> str:
    return command(
        f"""
        (func (export "_start")
          (call $check (call $puts (i32.const 1) (i32.const 1024)))
          (call $proc_exit (i32.const {code})))
        """,
        '(data (i32.const 1024) "before exit\\0a\\00")',
    )


ADD_WAT = """
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
"""

TRAP_WAT = """
(module
  (func $fail unreachable)
  (func (export "_start") (call $fail)))
"""


def run_cli(
    cwd: Path,
    *args: str,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m wasmbridge *args`` in ``cwd``."""
    return run_program(cwd, [sys.executable, "-m", "wasmbridge", *args], stdin=stdin, env=env)


def run_program(
    cwd: Path,
    argv: list[str],
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv,
        cwd=cwd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def write(directory: Path, name: str, wat: str) -> Path:
    path = directory / name
    path.write_text(wat)
    return path


# --------------------------------------------------------------------------------------------
# Help and version
# --------------------------------------------------------------------------------------------


def test_help(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert "run" in result.stdout


def test_run_help_lists_options(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run", "--help")
    assert result.returncode == 0, result.stderr
    for option in ["--invoke", "--env", "--dir"]:
        assert option in result.stdout


def test_version(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wasmbridge ")
    assert f"wasmtime {wasmtime.wasmtime_version}" in result.stdout


def test_unknown_subcommand_fails(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "no-such-subcommand")
    assert result.returncode != 0
    assert result.stderr != ""
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------------------------
# Running commands
# --------------------------------------------------------------------------------------------


def test_run_hello_wat(tmp_path: Path) -> None:
    write(tmp_path, "hello.wat", HELLO_WAT)
    result = run_cli(tmp_path, "run", "hello.wat")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello, world!\n"
    assert result.stderr == "to stderr\n"


def test_run_hello_wasm_binary(tmp_path: Path) -> None:
    (tmp_path / "hello.wasm").write_bytes(wasmtime.wat2wasm(HELLO_WAT))
    result = run_cli(tmp_path, "run", "hello.wasm")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello, world!\n"


def test_run_by_absolute_path(tmp_path: Path) -> None:
    program = write(tmp_path, "hello.wat", HELLO_WAT)
    (tmp_path / "elsewhere").mkdir()
    result = run_cli(tmp_path / "elsewhere", "run", str(program))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello, world!\n"


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("wasmbridge")
    if not script.exists():
        pytest.skip("the wasmbridge console script is not installed next to this interpreter")
    write(tmp_path, "hello.wat", HELLO_WAT)
    result = run_program(tmp_path, [str(script), "run", "hello.wat"])
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello, world!\n"
    result = run_program(tmp_path, [str(script), "--help"])
    assert result.returncode == 0
    assert "run" in result.stdout


def test_args_are_passed(tmp_path: Path) -> None:
    write(tmp_path, "echo.wat", ECHO_ARGS_WAT)
    result = run_cli(tmp_path, "run", "echo.wat", "first", "two words", "", "héllo")
    assert result.returncode == 0, result.stderr
    argv = result.stdout.split("\n")
    assert argv[-1] == ""
    assert Path(argv[0]).name == "echo.wat"
    assert argv[1:-1] == ["first", "two words", "", "héllo"]


def test_options_after_the_program_belong_to_the_guest(tmp_path: Path) -> None:
    write(tmp_path, "echo.wat", ECHO_ARGS_WAT)
    result = run_cli(tmp_path, "run", "echo.wat", "--env", "X=1", "-v", "--help", "--", "end")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[1:-1] == ["--env", "X=1", "-v", "--help", "--", "end"]


def test_no_args_means_only_the_program_name(tmp_path: Path) -> None:
    write(tmp_path, "echo.wat", ECHO_ARGS_WAT)
    result = run_cli(tmp_path, "run", "echo.wat")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split("\n")) == 2


def test_env(tmp_path: Path) -> None:
    write(tmp_path, "env.wat", ECHO_ENV_WAT)
    result = run_cli(
        tmp_path,
        "run",
        "--env",
        "K=V",
        "--env",
        "OTHER=a=b c",
        "env.wat",
        env={"WASMBRIDGE_HOST_ONLY": "not for the guest"},
    )
    assert result.returncode == 0, result.stderr
    # Only what --env gives: the host environment is not inherited.
    assert result.stdout == "K=V\nOTHER=a=b c\n"


def test_no_env_by_default(tmp_path: Path) -> None:
    write(tmp_path, "env.wat", ECHO_ENV_WAT)
    result = run_cli(tmp_path, "run", "env.wat", env={"WASMBRIDGE_HOST_ONLY": "x"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_dir_mapping(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "note.txt").write_text("a note from the host\n")
    write(tmp_path, "cat.wat", CAT_FILE_WAT)
    result = run_cli(tmp_path, "run", "--dir", "data::/guest", "cat.wat", "note.txt")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "/guest\na note from the host\n"


def test_dir_mapping_with_absolute_host_path(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "note.txt").write_text("absolute\n")
    write(tmp_path, "cat.wat", CAT_FILE_WAT)
    (tmp_path / "cwd").mkdir()
    result = run_cli(
        tmp_path / "cwd", "run", "--dir", f"{data}::.", str(tmp_path / "cat.wat"), "note.txt"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ".\nabsolute\n"


def test_dir_without_guest_path_uses_the_host_path(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "note.txt").write_text("same name\n")
    write(tmp_path, "cat.wat", CAT_FILE_WAT)
    result = run_cli(tmp_path, "run", "--dir", "data", "cat.wat", "note.txt")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "data\nsame name\n"


def test_env_without_equals_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "env.wat", ECHO_ENV_WAT)
    result = run_cli(tmp_path, "run", "--env", "NO_VALUE", "env.wat")
    assert result.returncode != 0
    assert "NO_VALUE" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_dir_does_not_escape(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "secret.txt").write_text("TOP SECRET\n")
    write(tmp_path, "cat.wat", CAT_FILE_WAT)
    result = run_cli(tmp_path, "run", "--dir", "data::/guest", "cat.wat", "../secret.txt")
    assert result.returncode == 63  # EPERM, reported by the guest through proc_exit
    assert result.stdout == "/guest\n"
    assert "errno=63" in result.stderr
    assert "TOP SECRET" not in result.stdout + result.stderr


def test_no_dir_means_no_preopen(tmp_path: Path) -> None:
    write(tmp_path, "cat.wat", CAT_FILE_WAT)
    result = run_cli(tmp_path, "run", "cat.wat", "cat.wat")
    assert result.returncode == 8  # EBADF from fd_prestat_get(3)
    assert result.stdout == ""
    assert result.stderr.startswith("errno=8\n")


def test_missing_dir_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "hello.wat", HELLO_WAT)
    result = run_cli(tmp_path, "run", "--dir", "no_such_dir::/x", "hello.wat")
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr != ""
    assert "Traceback" not in result.stderr


def test_stdin_is_inherited(tmp_path: Path) -> None:
    write(tmp_path, "cat.wat", CAT_STDIN_WAT)
    result = run_cli(tmp_path, "run", "cat.wat", stdin=b"through the pipe\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "through the pipe\n"


# --------------------------------------------------------------------------------------------
# Exit codes, traps, errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 3, 42, 125])
def test_exit_code(tmp_path: Path, code: int) -> None:
    write(tmp_path, "exit.wat", exit_wat(code))
    result = run_cli(tmp_path, "run", "exit.wat")
    assert result.returncode == code, result.stderr
    assert result.stdout == "before exit\n"
    assert "Traceback" not in result.stderr


def test_trap_exits_nonzero_with_message(tmp_path: Path) -> None:
    write(tmp_path, "trap.wat", TRAP_WAT)
    result = run_cli(tmp_path, "run", "trap.wat")
    assert result.returncode not in (0, None)
    assert "wasm `unreachable` instruction executed" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run", "missing.wat")
    assert result.returncode != 0
    assert "missing.wat" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_invalid_module(tmp_path: Path) -> None:
    (tmp_path / "broken.wat").write_text('(module (func (export "_start") i32.add))')
    result = run_cli(tmp_path, "run", "broken.wat")
    assert result.returncode != 0
    assert result.stderr != ""
    assert "Traceback" not in result.stderr


def test_run_without_program_fails(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run")
    assert result.returncode != 0
    assert result.stderr != ""
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------------------------
# --invoke
# --------------------------------------------------------------------------------------------


def test_invoke_prints_result(tmp_path: Path) -> None:
    write(tmp_path, "add.wat", ADD_WAT)
    result = run_cli(tmp_path, "run", "--invoke", "add", "add.wat", "1", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_invoke_negative_and_wrapping(tmp_path: Path) -> None:
    write(tmp_path, "add.wat", ADD_WAT)
    result = run_cli(tmp_path, "run", "--invoke", "add", "add.wat", "-5", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "-3"
    result = run_cli(tmp_path, "run", "--invoke", "add", "add.wat", "2147483647", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "-2147483648"


def test_invoke_wasm_binary(tmp_path: Path) -> None:
    (tmp_path / "add.wasm").write_bytes(wasmtime.wat2wasm(ADD_WAT))
    result = run_cli(tmp_path, "run", "--invoke", "add", "add.wasm", "40", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "42"


def test_invoke_floats(tmp_path: Path) -> None:
    write(
        tmp_path,
        "half.wat",
        '(module (func (export "half") (param f64) (result f64) '
        "(f64.div (local.get 0) (f64.const 2))))",
    )
    result = run_cli(tmp_path, "run", "--invoke", "half", "half.wat", "5")
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == 2.5


def test_invoke_missing_function(tmp_path: Path) -> None:
    write(tmp_path, "add.wat", ADD_WAT)
    result = run_cli(tmp_path, "run", "--invoke", "sub", "add.wat", "1", "2")
    assert result.returncode != 0
    assert "sub" in result.stderr
    assert "Traceback" not in result.stderr


def test_invoke_wrong_argument_count(tmp_path: Path) -> None:
    write(tmp_path, "add.wat", ADD_WAT)
    result = run_cli(tmp_path, "run", "--invoke", "add", "add.wat", "1")
    assert result.returncode != 0
    assert result.stderr != ""
    assert "Traceback" not in result.stderr


def test_invoke_trap(tmp_path: Path) -> None:
    write(tmp_path, "trap.wat", '(module (func (export "boom") (result i32) unreachable))')
    result = run_cli(tmp_path, "run", "--invoke", "boom", "trap.wat")
    assert result.returncode != 0
    assert "wasm `unreachable` instruction executed" in result.stderr
    assert "Traceback" not in result.stderr
