"""WASI sandboxing: a guest with one preopened directory cannot reach anything outside it.

One guest, ``shell PATH OP [ARG]``, performs a single file-system call on PATH relative to the
preopen at fd 3 (a ``|`` in PATH or ARG stands for a NUL byte). Every escape attempt must fail
with the errno wasmtime gives, print nothing, and leave the whole host tree (inside and outside
the preopen) untouched; a secret stored outside must never show up in the guest's output.
A read-only preopen must refuse every call that writes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wasmtime import DirPerms, Engine, ExitTrap, FilePerms, Linker, Module, Store, WasiConfig

# The WASI imports and helper functions ($write, $puts, $check, $arg, $cat, ...) that every
# guest here starts with; see the file for the memory map.
GUEST_LIB = (Path(__file__).parent / "guest_lib.wat").read_text()

# `shell PATH OP [ARG]`. On success it prints what the operation produced, then "ok\n".
# Ops: read (cat), write (create/truncate, write ARG), create (exclusive), trunc (O_TRUNC
# with read rights only), list (fd_readdir names), mkdir, rmdir, unlink, stat (size),
# rename (PATH to ARG), link (hard link ARG to PATH), symlink (a link named ARG whose target
# is PATH), write_ro_fd (fd_write on a fd opened for reading).
SHELL_BODY = """
  (func $open (param $path i32) (param $len i32) (param $oflags i32) (param $rights i64)
    (result i32)
    (call $check (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (local.get $len)
      (local.get $oflags) (local.get $rights) (local.get $rights) (i32.const 0) (i32.const 12)))
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
  (func (export "_start")
    (local $path i32) (local $len i32) (local $op i32) (local $arg i32) (local $arg_len i32)
    (local $fd i32)
    (call $check (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (call $check (call $args_get (i32.const 4096) (i32.const 0x10000)))
    (local.set $path (call $arg (i32.const 1)))
    (local.set $len (call $path_len (i32.const 1)))
    (local.set $op (call $arg (i32.const 2)))
    (local.set $arg (call $arg (i32.const 3)))
    (local.set $arg_len (call $path_len (i32.const 3)))
    (block $done
      (if (call $streq (local.get $op) (i32.const 1024)) (then
        (call $cat (call $open (local.get $path) (local.get $len) (i32.const 0) (i64.const 16422)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1032)) (then
        (local.set $fd (call $open (local.get $path) (local.get $len) (i32.const 9) (i64.const 100)))
        (call $check (call $write (local.get $fd) (local.get $arg) (local.get $arg_len)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1040)) (then
        (drop (call $open (local.get $path) (local.get $len) (i32.const 5) (i64.const 16486)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1048)) (then
        (drop (call $open (local.get $path) (local.get $len) (i32.const 8) (i64.const 16422)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1056)) (then
        (call $list (call $open (local.get $path) (local.get $len) (i32.const 2) (i64.const 16422)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1064)) (then
        (call $check (call $path_create_directory (i32.const 3) (local.get $path) (local.get $len)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1072)) (then
        (call $check (call $path_remove_directory (i32.const 3) (local.get $path) (local.get $len)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1080)) (then
        (call $check (call $path_unlink_file (i32.const 3) (local.get $path) (local.get $len)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1088)) (then
        (call $check (call $path_filestat_get (i32.const 3) (i32.const 1) (local.get $path)
          (local.get $len) (i32.const 64)))
        (call $print_u32 (i32.const 1) (i32.load (i32.const 96)))
        (call $newline (i32.const 1))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1096)) (then
        (call $check (call $path_rename (i32.const 3) (local.get $path) (local.get $len)
          (i32.const 3) (local.get $arg) (local.get $arg_len)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1104)) (then
        (call $check (call $path_link (i32.const 3) (i32.const 0) (local.get $path) (local.get $len)
          (i32.const 3) (local.get $arg) (local.get $arg_len)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1112)) (then
        (call $check (call $path_symlink (local.get $path) (local.get $len)
          (i32.const 3) (local.get $arg) (local.get $arg_len)))
        (br $done)))
      (if (call $streq (local.get $op) (i32.const 1120)) (then
        (local.set $fd (call $open (local.get $path) (local.get $len) (i32.const 0) (i64.const 16422)))
        (call $check (call $puts (local.get $fd) (i32.const 1024)))
        (br $done)))
      (drop (call $puts (i32.const 2) (i32.const 1136)))
      (call $proc_exit (i32.const 100)))
    (drop (call $puts (i32.const 1) (i32.const 1152))))
"""

SHELL_DATA = """
  (data (i32.const 1024) "read\\00")
  (data (i32.const 1032) "write\\00")
  (data (i32.const 1040) "create\\00")
  (data (i32.const 1048) "trunc\\00")
  (data (i32.const 1056) "list\\00")
  (data (i32.const 1064) "mkdir\\00")
  (data (i32.const 1072) "rmdir\\00")
  (data (i32.const 1080) "unlink\\00")
  (data (i32.const 1088) "stat\\00")
  (data (i32.const 1096) "rename\\00")
  (data (i32.const 1104) "link\\00")
  (data (i32.const 1112) "symlink\\00")
  (data (i32.const 1120) "write_ro_fd\\00")
  (data (i32.const 1136) "unknown op\\0a\\00")
  (data (i32.const 1152) "ok\\0a\\00")
"""

SHELL_WAT = "(module" + GUEST_LIB + SHELL_DATA + SHELL_BODY + ")"

# WASI errno values (wasi_snapshot_preview1).
EBADF = 8
EINVAL = 28
ELOOP = 32
ENAMETOOLONG = 37
ENOENT = 44
ENOTDIR = 54
EPERM = 63

SECRET = "TOP-SECRET-3f9c2a"
SECRET_NAME = "secret-name-7d41e0.txt"

GUEST_PATHS = ["/sandbox", "."]

# --------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.fixture(scope="module")
def shell(engine: Engine) -> Module:
    return Module(engine, SHELL_WAT)


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """The host tree: secrets outside ``sandbox/``, and symlinks inside it pointing out."""
    root = tmp_path / "world"
    sandbox = root / "sandbox"
    (sandbox / "sub").mkdir(parents=True)
    (sandbox / "empty").mkdir()
    (sandbox / "inside.txt").write_text("inside data\n")
    (sandbox / "sub" / "file.txt").write_text("sub file\n")
    (root / "outside.txt").write_text(SECRET + "\n")
    (root / "outside_dir").mkdir()
    (root / "outside_dir" / "secret.txt").write_text(SECRET + " in a directory\n")
    (root / SECRET_NAME).write_text(SECRET + " behind a secret name\n")
    links = {
        "link_file": "../outside.txt",
        "abs_link": str(root / "outside.txt"),
        "link_dir": "../outside_dir",
        "abs_dir_link": str(root / "outside_dir"),
        "chain1": "chain2",
        "chain2": "link_file",
        "in_link": "sub",
        "good_link": "inside.txt",
        "loop": "loop",
    }
    for name, target in links.items():
        os.symlink(target, sandbox / name)
    return root


def tree(root: Path) -> dict[str, Any]:
    """Every entry under ``root`` without following symlinks: contents, "dir" or the target."""
    result: dict[str, Any] = {}

    def walk(directory: Path) -> Iterator[Path]:
        for entry in sorted(directory.iterdir()):
            yield entry
            if entry.is_dir() and not entry.is_symlink():
                yield from walk(entry)

    for path in walk(root):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            result[key] = ("symlink", os.readlink(path))
        elif path.is_dir():
            result[key] = "dir"
        else:
            result[key] = path.read_bytes()
    return result


def run_shell(
    engine: Engine,
    shell: Module,
    world: Path,
    *args: str,
    guest_path: str = "/sandbox",
    perms: tuple[DirPerms, FilePerms] = (DirPerms.READ_WRITE, FilePerms.READ_WRITE),
) -> tuple[int, str, str]:
    """Runs ``shell *args`` with ``world/sandbox`` preopened; returns (status, stdout, stderr)."""
    config = WasiConfig()
    config.argv = ["shell", *args]
    config.preopen_dir(str(world / "sandbox"), guest_path, perms[0], perms[1])
    out: list[bytes] = []
    err: list[bytes] = []
    config.stdout_custom = out.append
    config.stderr_custom = err.append
    store = Store(engine)
    store.set_wasi(config)
    linker = Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, shell)
    code = 0
    try:
        instance.exports(store)["_start"](store)
    except ExitTrap as e:
        code = e.code
    return code, b"".join(out).decode("utf-8", "replace"), b"".join(err).decode()


def case_id(value: Any) -> str:
    """A readable test id: the guest's arguments, or an expected errno/output."""
    if isinstance(value, tuple):
        text = " ".join(value)
        return text if len(text) < 60 else f"{text[:25]}...{text[-25:]} ({len(text)} chars)"
    return repr(value) if isinstance(value, str) else f"errno{value}"


# --------------------------------------------------------------------------------------------
# The guest works where it should (so that refusals below mean something)
# --------------------------------------------------------------------------------------------

ALLOWED = [
    (("inside.txt", "read"), "inside data\nok\n"),
    (("sub/file.txt", "read"), "sub file\nok\n"),
    (("./sub/../inside.txt", "read"), "inside data\nok\n"),
    (("good_link", "read"), "inside data\nok\n"),
    (("in_link/file.txt", "read"), "sub file\nok\n"),
    (("in_link/../inside.txt", "read"), "inside data\nok\n"),
    (("inside.txt", "stat"), "12\nok\n"),
    (("new.txt", "write", "fresh"), "ok\n"),
    (("sub/new_dir", "mkdir"), "ok\n"),
    (("inside.txt", "rename", "sub/moved.txt"), "ok\n"),
    (("inside.txt", "link", "hard.txt"), "ok\n"),
    (("inside.txt", "symlink", "sub/to_inside"), "ok\n"),
]


@pytest.mark.parametrize("guest_path", GUEST_PATHS)
@pytest.mark.parametrize(("args", "expected"), ALLOWED, ids=case_id)
def test_allowed_operations_inside_the_sandbox(
    engine: Engine,
    shell: Module,
    world: Path,
    guest_path: str,
    args: tuple[str, ...],
    expected: str,
) -> None:
    assert run_shell(engine, shell, world, *args, guest_path=guest_path) == (0, expected, "")


def test_allowed_writes_land_on_the_host(engine: Engine, shell: Module, world: Path) -> None:
    sandbox = world / "sandbox"
    assert run_shell(engine, shell, world, "new.txt", "write", "fresh")[0] == 0
    assert (sandbox / "new.txt").read_text() == "fresh"
    assert run_shell(engine, shell, world, "new.txt", "link", "sub/hard.txt")[0] == 0
    assert os.stat(sandbox / "sub" / "hard.txt").st_ino == os.stat(sandbox / "new.txt").st_ino
    assert run_shell(engine, shell, world, "new.txt", "symlink", "sub/soft")[0] == 0
    assert os.readlink(sandbox / "sub" / "soft") == "new.txt"


def test_list_shows_only_the_sandbox(engine: Engine, shell: Module, world: Path) -> None:
    code, out, err = run_shell(engine, shell, world, ".", "list")
    assert (code, err) == (0, "")
    names = set(out.split("\n")[:-2]) - {".", ".."}
    assert names == {p.name for p in (world / "sandbox").iterdir()}
    assert SECRET_NAME not in out


def test_unlinking_a_symlink_removes_only_the_link(
    engine: Engine, shell: Module, world: Path
) -> None:
    assert run_shell(engine, shell, world, "link_file", "unlink") == (0, "ok\n", "")
    assert run_shell(engine, shell, world, "link_dir", "unlink") == (0, "ok\n", "")
    assert not os.path.lexists(world / "sandbox" / "link_file")
    assert not os.path.lexists(world / "sandbox" / "link_dir")
    assert (world / "outside.txt").read_text() == SECRET + "\n"
    assert (world / "outside_dir" / "secret.txt").is_file()


# --------------------------------------------------------------------------------------------
# Escapes: each must fail with the expected errno, print nothing and change nothing
# --------------------------------------------------------------------------------------------

LONG_DOTS = "/".join(["."] * 3000) + "/../outside.txt"

ESCAPES: list[tuple[tuple[str, ...], int]] = [
    # Plain "..".
    (("..", "list"), EPERM),
    (("..", "read"), EPERM),
    (("../outside.txt", "read"), EPERM),
    (("../x", "write", "PWNED"), EPERM),
    (("../outside.txt", "write", "PWNED"), EPERM),
    (("../outside_dir/secret.txt", "read"), EPERM),
    # ".." hidden inside a longer path, with "." tricks.
    (("a/../../outside.txt", "read"), ENOENT),
    (("sub/../../outside.txt", "read"), EPERM),
    (("sub/../../outside_dir/secret.txt", "read"), EPERM),
    (("./../outside.txt", "read"), EPERM),
    (("./sub/../../outside.txt", "read"), EPERM),
    (("sub/./.././../outside.txt", "read"), EPERM),
    # Absolute paths.
    (("/etc/passwd", "read"), EPERM),
    (("/", "list"), EPERM),
    (("{world}/outside.txt", "read"), EPERM),
    (("{world}", "list"), EPERM),
    # Trailing slashes on files.
    (("inside.txt/", "read"), ENOTDIR),
    (("inside.txt/.", "read"), ENOTDIR),
    (("../outside.txt/", "read"), EPERM),
    (("link_file/", "read"), EPERM),
    # Symlinks inside the preopen pointing out: files, directories, absolute, chains.
    (("link_file", "read"), EPERM),
    (("abs_link", "read"), EPERM),
    (("link_dir/secret.txt", "read"), EPERM),
    (("abs_dir_link/secret.txt", "read"), EPERM),
    (("link_dir", "list"), EPERM),
    (("chain1", "read"), EPERM),
    (("loop", "read"), ELOOP),
    # ".." through a symlinked directory.
    (("in_link/../../outside.txt", "read"), EPERM),
    (("link_dir/..", "list"), EPERM),
    (("link_dir/../outside.txt", "read"), EPERM),
    # readdir of the parent.
    (("sub/../..", "list"), EPERM),
    # NUL bytes (written "|").
    (("inside.txt|../../outside.txt", "read"), EINVAL),
    (("../outside.txt|", "read"), EINVAL),
    (("inside.txt|", "read"), EINVAL),
    # Very long paths and names.
    ((LONG_DOTS, "read"), ENAMETOOLONG),
    (("a" * 300, "read"), ENAMETOOLONG),
    (("a/" * 2100 + "x", "read"), ENAMETOOLONG),
    # Metadata of outside files.
    (("../outside.txt", "stat"), EPERM),
    (("link_file", "stat"), EPERM),
    (("abs_link", "stat"), EPERM),
    (("..", "stat"), EPERM),
    # Creating outside (O_CREAT, O_CREAT|O_EXCL, through symlinks), truncating outside.
    (("../created.txt", "create"), EPERM),
    (("link_dir/new.txt", "write", "PWNED"), EPERM),
    (("link_file", "write", "PWNED"), EPERM),
    (("abs_link", "write", "PWNED"), EPERM),
    (("link_file", "trunc"), EPERM),
    (("../outside.txt", "trunc"), EPERM),
    # Directories outside.
    (("../newdir", "mkdir"), EPERM),
    (("link_dir/newdir", "mkdir"), EPERM),
    (("../outside_dir", "rmdir"), EPERM),
    (("link_dir", "rmdir"), ENOTDIR),
    # Unlinking outside.
    (("../outside.txt", "unlink"), EPERM),
    (("link_dir/secret.txt", "unlink"), EPERM),
    # Renaming out of and into the sandbox.
    (("inside.txt", "rename", "../stolen.txt"), EPERM),
    (("inside.txt", "rename", "link_dir/stolen.txt"), EPERM),
    (("../outside.txt", "rename", "stolen.txt"), EPERM),
    (("link_dir/secret.txt", "rename", "stolen.txt"), EPERM),
    # Hard links out of and into the sandbox.
    (("inside.txt", "link", "../hard.txt"), EPERM),
    (("../outside.txt", "link", "hard.txt"), EPERM),
    (("link_dir/secret.txt", "link", "hard.txt"), EPERM),
    # A symlink whose target is an absolute host path cannot even be created.
    (("{world}/outside.txt", "symlink", "evil"), EPERM),
    (("inside.txt", "symlink", "../evil"), EPERM),
]


@pytest.mark.parametrize("guest_path", GUEST_PATHS)
@pytest.mark.parametrize(("args", "errno"), ESCAPES, ids=case_id)
def test_escape_is_refused(
    engine: Engine,
    shell: Module,
    world: Path,
    guest_path: str,
    args: tuple[str, ...],
    errno: int,
) -> None:
    args = tuple(arg.replace("{world}", str(world)) for arg in args)
    before = tree(world)
    code, out, err = run_shell(engine, shell, world, *args, guest_path=guest_path)
    assert (code, out, err) == (errno, "", f"errno={errno}\n")
    assert SECRET not in out
    assert tree(world) == before


# Two steps: the first may succeed (it only makes a link inside the sandbox), the second
# tries to get through it and must fail.
TWO_STEP_ESCAPES: list[tuple[tuple[str, ...], int, tuple[str, ...], int]] = [
    # A new symlink pointing out, then reading through it.
    (("../outside.txt", "symlink", "evil"), 0, ("evil", "read"), EPERM),
    (("../outside.txt", "symlink", "evil"), 0, ("evil", "write", "PWNED"), EPERM),
    (("../outside_dir", "symlink", "evil_dir"), 0, ("evil_dir/secret.txt", "read"), EPERM),
    (("../outside_dir", "symlink", "evil_dir"), 0, ("evil_dir", "list"), EPERM),
    (("sub/../..", "symlink", "up"), 0, ("up/outside.txt", "read"), EPERM),
    (("../link_file", "symlink", "sub/deeper"), 0, ("sub/deeper", "read"), EPERM),
    # A hard link to a symlink that points out is itself such a symlink.
    (("link_file", "link", "hard_link"), 0, ("hard_link", "read"), EPERM),
    (("link_file", "link", "hard_link"), 0, ("hard_link", "write", "PWNED"), EPERM),
    # A symlink loop created by the guest.
    (("self", "symlink", "self"), 0, ("self", "read"), ELOOP),
]


@pytest.mark.parametrize("guest_path", GUEST_PATHS)
@pytest.mark.parametrize(
    ("first", "first_errno", "second", "errno"),
    TWO_STEP_ESCAPES,
    ids=case_id,
)
def test_escape_through_a_link_made_by_the_guest(
    engine: Engine,
    shell: Module,
    world: Path,
    guest_path: str,
    first: tuple[str, ...],
    first_errno: int,
    second: tuple[str, ...],
    errno: int,
) -> None:
    outside = world / "outside.txt"
    secret_dir = tree(world / "outside_dir")
    code, out, _ = run_shell(engine, shell, world, *first, guest_path=guest_path)
    assert code == first_errno
    code, out2, err2 = run_shell(engine, shell, world, *second, guest_path=guest_path)
    assert (code, out2, err2) == (errno, "", f"errno={errno}\n")
    assert SECRET not in out + out2
    assert outside.read_text() == SECRET + "\n"
    assert tree(world / "outside_dir") == secret_dir
    assert sorted(p.name for p in world.iterdir()) == sorted(
        ["sandbox", "outside.txt", "outside_dir", SECRET_NAME]
    )


# --------------------------------------------------------------------------------------------
# A read-only preopen refuses every call that writes
# --------------------------------------------------------------------------------------------

READ_ONLY = [
    (DirPerms.READ_ONLY, FilePerms.READ_ONLY),
    (DirPerms.READ_ONLY, FilePerms.READ_WRITE),
]

WRITES: list[tuple[tuple[str, ...], int]] = [
    (("inside.txt", "write", "PWNED"), EPERM),  # path_open with write rights
    (("new.txt", "write", "PWNED"), EPERM),  # path_open with O_CREAT
    (("new.txt", "create"), EPERM),  # O_CREAT | O_EXCL
    (("inside.txt", "trunc"), EPERM),  # O_TRUNC
    (("newdir", "mkdir"), EPERM),  # path_create_directory
    (("empty", "rmdir"), EPERM),  # path_remove_directory
    (("inside.txt", "unlink"), EPERM),  # path_unlink_file
    (("good_link", "unlink"), EPERM),
    (("inside.txt", "rename", "renamed.txt"), EPERM),  # path_rename
    (("inside.txt", "link", "hard.txt"), EPERM),  # path_link
    (("inside.txt", "symlink", "soft"), EPERM),  # path_symlink
    (("inside.txt", "write_ro_fd"), EBADF),  # fd_write on a read-only fd
    # Escapes stay refused too.
    (("../outside.txt", "write", "PWNED"), EPERM),
    (("link_file", "read"), EPERM),
    (("..", "list"), EPERM),
]


@pytest.mark.parametrize("perms", READ_ONLY, ids=lambda p: f"dir_{p[0].name}-file_{p[1].name}")
@pytest.mark.parametrize(("args", "errno"), WRITES, ids=case_id)
def test_read_only_preopen_refuses_writes(
    engine: Engine,
    shell: Module,
    world: Path,
    perms: tuple[DirPerms, FilePerms],
    args: tuple[str, ...],
    errno: int,
) -> None:
    before = tree(world)
    code, out, err = run_shell(engine, shell, world, *args, perms=perms)
    assert (code, out, err) == (errno, "", f"errno={errno}\n")
    assert tree(world) == before


@pytest.mark.parametrize("perms", READ_ONLY, ids=lambda p: f"dir_{p[0].name}-file_{p[1].name}")
def test_read_only_preopen_still_reads(
    engine: Engine, shell: Module, world: Path, perms: tuple[DirPerms, FilePerms]
) -> None:
    assert run_shell(engine, shell, world, "inside.txt", "read", perms=perms) == (
        0,
        "inside data\nok\n",
        "",
    )
    assert run_shell(engine, shell, world, "good_link", "read", perms=perms) == (
        0,
        "inside data\nok\n",
        "",
    )
    assert run_shell(engine, shell, world, "inside.txt", "stat", perms=perms) == (0, "12\nok\n", "")
    code, out, err = run_shell(engine, shell, world, "sub", "list", perms=perms)
    assert (code, err) == (0, "")
    assert "file.txt\n" in out


def test_fd_write_on_read_only_fd_in_writable_preopen(
    engine: Engine, shell: Module, world: Path
) -> None:
    assert run_shell(engine, shell, world, "inside.txt", "write_ro_fd") == (
        EBADF,
        "",
        "errno=8\n",
    )
    assert (world / "sandbox" / "inside.txt").read_text() == "inside data\n"
