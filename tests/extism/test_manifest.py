"""Extism manifests: the accepted sources (wasm, WAT, JSON, TOML, dicts), module entries (data,
path, url), names and the main-module rule, hashes, format errors and their texts, linking
modules by name (cycles included), config merging with ``Plugin(config=...)``, timeouts and
WASI preopens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import extism
import wasmtime
from extism.extism import CompiledPlugin

COMPILE = "Unable to compile Extism plugin: "
CREATE = "Unable to create Extism plugin: "
UNKNOWN = COMPILE + "Unknown manifest format"

Probe = Callable[..., Any]

# The kernel imports and the helpers ($out: output guest memory [ptr, ptr + len), ...) shared
# by the Extism guests of the tests; see the file.
KERNEL_LIB = (Path(__file__).parent / "kernel_lib.wat").read_text()


def module(body: str, imports: str = "") -> str:
    """A WAT module with ``imports``, the kernel library, one page of memory, then ``body``."""
    return "(module" + imports + KERNEL_LIB + '(memory (export "memory") 1)' + body + ")"


HELLO_WAT = module("""
  (data (i32.const 16) "hello")
  (func (export "hello") (result i32) (call $out (i32.const 16) (i32.const 5)) (i32.const 0))
  (func (export "spin") (loop $forever (br $forever)))
""")
HELLO_WASM = bytes(wasmtime.wat2wasm(HELLO_WAT))


def new_plugin(source: Any, **kwargs: Any) -> extism.Plugin:
    kwargs.setdefault("functions", [])
    return extism.Plugin(source, **kwargs)


def says_hello(source: Any, **kwargs: Any) -> bool:
    return bool(new_plugin(source, **kwargs).call("hello", b"") == b"hello")


def error_of(source: Any, **kwargs: Any) -> str:
    with pytest.raises(extism.Error) as exc:
        new_plugin(source, **kwargs)
    return str(exc.value)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def wasm_file(tmp_path: Path) -> Path:
    path = tmp_path / "hello.wasm"
    path.write_bytes(HELLO_WASM)
    return path


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


def test_wasm_bytes() -> None:
    assert says_hello(HELLO_WASM)


def test_wat_text_and_bytes() -> None:
    assert says_hello(HELLO_WAT)
    assert says_hello(HELLO_WAT.encode())


@pytest.mark.parametrize("prefix", [";; a comment\n", "(; a block comment ;)"])
def test_wat_starting_with_a_comment(prefix: str) -> None:
    assert says_hello(prefix + HELLO_WAT)


def test_wat_with_leading_whitespace() -> None:
    # The reference tests only the first raw byte and rejects this; accepting it is a superset.
    try:
        plugin = new_plugin("\n  " + HELLO_WAT)
    except extism.Error as exc:
        assert str(exc) == UNKNOWN
    else:
        assert plugin.call("hello", b"") == b"hello"


def test_path_as_str_loads_the_file(wasm_file: Path) -> None:
    assert says_hello(str(wasm_file))


def test_json_text(wasm_file: Path) -> None:
    text = json.dumps({"wasm": [{"path": str(wasm_file)}]})
    assert says_hello(text)
    assert says_hello(text.encode())


def test_toml_text(wasm_file: Path) -> None:
    assert says_hello(f'[[wasm]]\npath = "{wasm_file}"\n')
    toml = f'timeout_ms = 100\n\n[[wasm]]\ndata = "{b64(HELLO_WASM)}"\n'
    plugin = new_plugin(toml)
    assert plugin.call("hello", b"") == b"hello"
    assert spin_error(plugin) == "timeout"


def test_toml_config_table(probe_wat: Any, probe: Probe) -> None:
    toml = f'[[wasm]]\ndata = "{b64(probe_wat())}"\n\n[config]\ngreeting = "from toml"\n'
    p = probe(source=toml).program()
    p.output(p.config_get(p.block(b"greeting")))
    assert p.call() == b"from toml"


def test_dict_data_as_bytes_and_as_base64_text() -> None:
    assert says_hello({"wasm": [{"data": HELLO_WASM}]})
    assert says_hello({"wasm": [{"data": b64(HELLO_WASM)}]})
    assert says_hello({"wasm": [{"data": HELLO_WAT.encode()}]})  # data may be WAT too


def test_dict_path(wasm_file: Path, tmp_path: Path) -> None:
    assert says_hello({"wasm": [{"path": str(wasm_file)}]})
    wat_file = tmp_path / "hello.wat"
    wat_file.write_text(HELLO_WAT)
    assert says_hello({"wasm": [{"path": str(wat_file)}]})


def test_null_optional_fields_are_accepted() -> None:
    source = {
        "wasm": [{"data": HELLO_WASM, "name": None, "hash": None}],
        "memory": {"max_pages": None, "max_http_response_bytes": None, "max_var_bytes": None},
        "config": {},
        "allowed_hosts": None,
        "allowed_paths": None,
        "timeout_ms": None,
    }
    assert says_hello(source)


def test_single_entry_is_main_whatever_its_name() -> None:
    assert says_hello({"wasm": [{"data": HELLO_WASM, "name": "x"}]})


# --------------------------------------------------------------------------------------------
# Hashes
# --------------------------------------------------------------------------------------------


def test_matching_hash(wasm_file: Path) -> None:
    assert says_hello({"wasm": [{"data": HELLO_WASM, "hash": sha256(HELLO_WASM)}]})
    assert says_hello({"wasm": [{"path": str(wasm_file), "hash": sha256(HELLO_WASM)}]})


@pytest.mark.parametrize(
    "given",
    ["0" * 64, "cafebeef", sha256(HELLO_WASM).upper()],
    ids=["zeros", "short", "upper-case"],
)
def test_hash_mismatch(given: str) -> None:
    message = error_of({"wasm": [{"data": HELLO_WASM, "hash": given}]})
    assert message == f"{COMPILE}Hash mismatch, found {sha256(HELLO_WASM)} but expected {given}"


# --------------------------------------------------------------------------------------------
# Format errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        {"wasm": [{"data": HELLO_WASM}], "bogus": 1},
        {"wasm": [{"data": HELLO_WASM, "bogus": 1}]},
        {"wasm": [{"path": "x.wasm", "bogus": 1}]},
        {"wasm": [{"data": HELLO_WASM}], "memory": {"max_pagez": 1}},
        {"wasm": [{"data": HELLO_WASM}], "config": {"n": 1}},
        {"wasm": [{"data": HELLO_WASM}], "timeout_ms": -1},
        {"wasm": [{"data": HELLO_WASM}], "timeout_ms": "100"},
        {"wasm": {"data": HELLO_WASM}},
        "this is neither TOML nor JSON",
        '{"wasm": [',
    ],
    ids=[
        "top-level-key",
        "data-entry-key",
        "path-entry-key",
        "memory-key",
        "config-value",
        "negative-timeout",
        "string-timeout",
        "wasm-not-a-list",
        "text",
        "truncated-json",
    ],
)
def test_unknown_manifest_format(source: Any) -> None:
    # The reference's text, then (our addition) what the parser found wrong.
    assert error_of(source).startswith(UNKNOWN)


@pytest.mark.parametrize("source", [{"wasm": []}, {}, "wasm = []", '{"config": {}}'])
def test_no_wasm_files(source: Any) -> None:
    assert error_of(source) == COMPILE + "No wasm files specified in Extism manifest"


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.wasm"
    message = error_of({"wasm": [{"path": str(missing)}]})
    assert message.startswith(f'{COMPILE}Unable to load Wasm file "{missing}"')


@pytest.mark.parametrize(
    "source",
    [
        b"\x00asm\x01\x00\x00\x00\x01",  # truncated section
        b"\x00asm\x02\x00\x00\x00",  # unknown version
        b"\xff\xfe\xfd not text",  # neither UTF-8 nor wasm
        '(module (func (export "f") (unknown_instruction)))',
        {"wasm": [{"data": b"\x00asm\x01\x00\x00\x00\x01"}]},
    ],
    ids=["truncated", "version", "binary", "bad-wat", "bad-data"],
)
def test_compile_errors(source: Any) -> None:
    assert error_of(source).startswith(COMPILE)


@pytest.mark.parametrize(
    ("imports", "expected"),
    [
        ('(import "env" "nothing" (func))', "unknown import: `env::nothing` has not been defined"),
        (
            '(import "extism:host/env" "bogus" (func (param i64)))',
            "Invalid function import from extism:host/env: bogus",
        ),
        ('(import "extism:host/env" "memory_bytes" (func (param i32)))', ""),
        (
            '(import "extism:host/env" "memory" (memory 1))',
            "linked modules cannot access non-function exports of extism kernel",
        ),
    ],
    ids=["unknown-module", "unknown-kernel-function", "kernel-signature", "kernel-memory"],
)
def test_creation_errors(imports: str, expected: str) -> None:
    message = error_of("(module" + imports + ")")
    assert message.startswith(CREATE)
    assert expected in message


def test_data_given_as_pointer_and_length_is_refused() -> None:
    # The manifest crate would read process memory at `ptr`: refused, and never a crash.
    script = (
        "import extism, sys\n"
        "for ptr in (0, 4096, 1 << 40):\n"
        "    try:\n"
        "        extism.Plugin({'wasm': [{'data': {'ptr': ptr, 'len': 64}}]}, functions=[])\n"
        "    except extism.Error as exc:\n"
        "        print('Error:', exc)\n"
        "    else:\n"
        "        print('created')\n"
    )
    lines = run_isolated(script).splitlines()
    assert len(lines) == 3
    assert all(line.startswith("Error: " + COMPILE) for line in lines)


def run_isolated(script: str, *args: str) -> str:
    """Runs ``script`` in a fresh interpreter (so that a crash fails only this test)."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout


# --------------------------------------------------------------------------------------------
# Several modules: names, the main rule, linking
# --------------------------------------------------------------------------------------------

LIB_WAT = """(module
  (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))"""

# Imports lib::double and outputs double(21) as one byte.
USES_LIB_WAT = module(
    """
  (func (export "run") (result i32)
    (i32.store8 (i32.const 0) (call $double (i32.const 21)))
    (call $out (i32.const 0) (i32.const 1))
    (i32.const 0))
""",
    imports='(import "lib" "double" (func $double (param i32) (result i32)))',
)


def entry(wat: str, name: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"data": wat.encode()}
    if name is not None:
        e["name"] = name
    return e


@pytest.mark.parametrize(
    "wasm",
    [
        [entry(LIB_WAT, "lib"), entry(USES_LIB_WAT)],  # the last unnamed entry is main
        [entry(USES_LIB_WAT), entry(LIB_WAT, "lib")],  # an earlier unnamed entry is main
        [entry(LIB_WAT, "lib"), entry(USES_LIB_WAT, "anything")],  # the last is renamed main
        [entry(USES_LIB_WAT, "main"), entry(LIB_WAT, "lib")],
    ],
    ids=["lib-then-unnamed", "unnamed-then-lib", "last-renamed", "named-main-first"],
)
def test_main_module_imports_a_module_by_name(wasm: list[dict[str, Any]]) -> None:
    plugin = new_plugin({"wasm": wasm})
    assert plugin.call("run", b"") == bytes([42])
    # Only main's exports are callable.
    assert plugin.function_exists("run")
    assert not plugin.function_exists("double")
    with pytest.raises(extism.Error, match="^Function not found: double$"):
        plugin.call("double", b"")


def test_last_named_entry_becomes_main_even_if_another_imports_it() -> None:
    # [x, lib]: "lib" is renamed main, so x's import of lib::double has no provider.
    message = error_of({"wasm": [entry(USES_LIB_WAT, "x"), entry(LIB_WAT, "lib")]})
    assert message.startswith(CREATE)
    assert "lib::double" in message


@pytest.mark.parametrize(
    ("wasm", "name"),
    [
        ([entry(HELLO_WAT), entry(HELLO_WAT)], "main"),
        ([entry(LIB_WAT, "lib"), entry(LIB_WAT, "lib"), entry(USES_LIB_WAT)], "lib"),
        ([entry(USES_LIB_WAT), entry(LIB_WAT, "lib"), entry(HELLO_WAT, "main")], "main"),
    ],
    ids=["two-unnamed", "two-libs", "unnamed-and-main"],
)
def test_duplicate_module_names(wasm: list[dict[str, Any]], name: str) -> None:
    assert (
        error_of({"wasm": wasm})
        == COMPILE + f"Duplicate module name found in Extism manifest: {name}"
    )


def test_module_named_extism_host_user_provides_host_functions() -> None:
    user = '(module (func (export "answer") (result i32) (i32.const 42)))'
    main = module(
        """
  (func (export "run") (result i32)
    (i32.store8 (i32.const 0) (call $answer))
    (call $out (i32.const 0) (i32.const 1))
    (i32.const 0))
""",
        imports='(import "extism:host/user" "answer" (func $answer (result i32)))',
    )
    plugin = new_plugin({"wasm": [entry(user, "extism:host/user"), entry(main)]})
    assert plugin.call("run", b"") == bytes([42])


def test_modules_share_memory_through_imports() -> None:
    lib = """(module (memory (export "mem") 1)
      (func (export "put") (i32.store8 (i32.const 100) (i32.const 7))))"""
    main = """(module
      (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
      (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
      (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
      (import "lib" "mem" (memory 1))
      (import "lib" "put" (func $put))
      (func (export "run") (local $h i64)
        (call $put)
        (local.set $h (call $alloc (i64.const 1)))
        (call $store_u8 (local.get $h) (i32.load8_u (i32.const 100)))
        (call $output_set (local.get $h) (i64.const 1))))"""
    plugin = new_plugin({"wasm": [entry(lib, "lib"), entry(main)]})
    assert plugin.call("run", b"") == bytes([7])


CYCLES = {
    "two-modules": [
        entry('(module (import "b" "f" (func $f)) (func (export "g") (call $f)))', "a"),
        entry('(module (import "a" "g" (func $g)) (func (export "f") (call $g)))', "b"),
        entry('(module (import "a" "g" (func $g)) (func (export "run") (call $g)))'),
    ],
    "self": [
        entry('(module (import "a" "g" (func $g)) (func (export "g") (call $g)))', "a"),
        entry('(module (import "a" "g" (func $g)) (func (export "run") (call $g)))'),
    ],
}


@pytest.mark.parametrize("name", list(CYCLES))
def test_circular_imports_are_an_error(name: str) -> None:
    wasm = [{**e, "data": b64(e["data"])} for e in CYCLES[name]]
    script = (
        "import extism, json, sys\n"
        "try:\n"
        "    extism.Plugin(json.loads(sys.argv[1]), functions=[])\n"
        "except extism.Error as exc:\n"
        "    print('Error:', exc)\n"
        "else:\n"
        "    print('created')\n"
    )
    assert run_isolated(script, json.dumps({"wasm": wasm})).startswith("Error: " + CREATE)


# --------------------------------------------------------------------------------------------
# Config merging
# --------------------------------------------------------------------------------------------


def config_of(plugin: Any, *keys: str) -> dict[str, bytes]:
    """What config_get returns for each key (b"" when missing or empty)."""
    values = {}
    for key in keys:
        p = plugin.program()
        p.output(p.config_get(p.block(key.encode())))
        values[key] = p.call()
    return values


MANIFEST_CONFIG = {"config": {"a": "1", "b": "2"}}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, {"a": b"1", "b": b"2", "c": b""}),
        ({}, {"a": b"1", "b": b"2", "c": b""}),
        ({"b": "3", "c": "4"}, {"a": b"1", "b": b"3", "c": b"4"}),
        ({"a": None, "c": "4"}, {"a": b"", "b": b"2", "c": b"4"}),
        # Anything but str -> str | None is ignored as a whole, as in the reference.
        ({"b": 5, "c": "4"}, {"a": b"1", "b": b"2", "c": b""}),
        ({"c": ["4"]}, {"a": b"1", "b": b"2", "c": b""}),
        (["c", "4"], {"a": b"1", "b": b"2", "c": b""}),
        ("c=4", {"a": b"1", "b": b"2", "c": b""}),
    ],
    ids=["none", "empty", "override", "remove", "int-value", "list-value", "list", "str"],
)
def test_config_merges_over_the_manifest(
    probe: Probe, config: Any, expected: dict[str, bytes]
) -> None:
    plugin = probe(MANIFEST_CONFIG, config=config)
    assert config_of(plugin, "a", "b", "c") == expected


def test_config_is_per_plugin_over_one_compiled_plugin(probe_wat: Any, probe: Probe) -> None:
    compiled = CompiledPlugin({"wasm": [{"data": probe_wat().encode()}], **MANIFEST_CONFIG})
    first = probe(source=compiled, config={"a": "first"})
    second = probe(source=compiled)
    assert config_of(first, "a", "b") == {"a": b"first", "b": b"2"}
    assert config_of(second, "a", "b") == {"a": b"1", "b": b"2"}


# --------------------------------------------------------------------------------------------
# timeout_ms
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["dict", "json"])
def test_timeout_ms(form: str) -> None:
    source: Any = {"wasm": [{"data": HELLO_WASM}], "timeout_ms": 100}
    if form == "json":
        source = json.dumps({**source, "wasm": [{"data": b64(HELLO_WASM)}]})
    plugin = new_plugin(source)
    assert plugin.call("hello", b"") == b"hello"

    assert spin_error(plugin) == "timeout"


def spin_error(plugin: extism.Plugin) -> str:
    """Calls "spin" on a daemon thread; the text of the `extism.Error` it must raise within
    10 s."""
    caught: list[BaseException] = []

    def spin() -> None:
        try:
            plugin.call("spin", b"")
        except BaseException as exc:  # noqa: BLE001 (inspected by the test)
            caught.append(exc)

    worker = threading.Thread(target=spin, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "still spinning after 10 s"
    assert len(caught) == 1
    assert isinstance(caught[0], extism.Error)
    return str(caught[0])


# --------------------------------------------------------------------------------------------
# allowed_paths (WASI preopens)
# --------------------------------------------------------------------------------------------

FS_WAT = module(
    """
  (data (i32.const 0x100) "in.txt")
  (data (i32.const 0x110) "out.txt")
  (data (i32.const 0x120) "written")
  ;; Opens a path relative to the first preopen (fd 3); returns the errno, fd at 0x200.
  (func $open (param $path i32) (param $len i32) (param $oflags i32) (param $rights i64)
    (result i32)
    (call $path_open (i32.const 3) (i32.const 0) (local.get $path) (local.get $len)
      (local.get $oflags) (local.get $rights) (i64.const 0) (i32.const 0) (i32.const 0x200)))
  ;; Outputs the contents of in.txt; an errno is the status.
  (func (export "read") (result i32) (local $errno i32)
    (local.set $errno (call $open (i32.const 0x100) (i32.const 6) (i32.const 0) (i64.const 2)))
    (if (local.get $errno) (then (return (local.get $errno))))
    (i32.store (i32.const 0x210) (i32.const 0x1000))
    (i32.store (i32.const 0x214) (i32.const 0x1000))
    (local.set $errno
      (call $fd_read (i32.load (i32.const 0x200)) (i32.const 0x210) (i32.const 1) (i32.const 0x218)))
    (if (local.get $errno) (then (return (local.get $errno))))
    (call $out (i32.const 0x1000) (i32.load (i32.const 0x218)))
    (i32.const 0))
  ;; Creates out.txt holding "written"; an errno is the status.
  (func (export "write") (result i32) (local $errno i32)
    (local.set $errno (call $open (i32.const 0x110) (i32.const 7) (i32.const 9) (i64.const 64)))
    (if (local.get $errno) (then (return (local.get $errno))))
    (i32.store (i32.const 0x210) (i32.const 0x120))
    (i32.store (i32.const 0x214) (i32.const 7))
    (call $fd_write (i32.load (i32.const 0x200)) (i32.const 0x210) (i32.const 1) (i32.const 0x218)))
""",
    imports="""
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
""",
)


def fs_plugin(host_dir: str) -> extism.Plugin:
    source = {"wasm": [{"data": FS_WAT.encode()}], "allowed_paths": {host_dir: "/data"}}
    return new_plugin(source, wasi=True)


def test_allowed_paths_preopen_a_directory(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("from the host")
    plugin = fs_plugin(str(tmp_path))
    assert plugin.call("read", b"") == b"from the host"
    assert plugin.call("write", b"") == b""
    assert (tmp_path / "out.txt").read_text() == "written"


def test_read_only_preopen_refuses_writes(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("read me")
    plugin = fs_plugin("ro:" + str(tmp_path))
    assert plugin.call("read", b"") == b"read me"
    with pytest.raises(extism.Error, match="^Error code: [1-9][0-9]*$"):
        plugin.call("write", b"")
    assert not (tmp_path / "out.txt").exists()


def test_missing_preopen_directory(tmp_path: Path) -> None:
    source = {
        "wasm": [{"data": FS_WAT.encode()}],
        "allowed_paths": {str(tmp_path / "missing"): "/data"},
    }
    assert error_of(source, wasi=True).startswith(CREATE)


# --------------------------------------------------------------------------------------------
# url entries
# --------------------------------------------------------------------------------------------


# A `LoopbackServer` of tests/conftest.py (the `http_server` fixture): `url(path)`, and
# `requests` (method, path, lower-case headers, body) of the requests that it received.
Server = Any


@pytest.fixture
def wasm_server(http_server: Callable[..., Server]) -> Server:
    """A local HTTP server that serves HELLO_WASM for any path."""
    return http_server(lambda request: (200, [("Content-Type", "application/wasm")], HELLO_WASM))


def test_url_entry_is_fetched(wasm_server: Server) -> None:
    assert says_hello({"wasm": [{"url": wasm_server.url("/plugin.wasm")}]})
    request = wasm_server.requests[0]
    assert (request.method, request.path) == ("GET", "/plugin.wasm")


def test_url_entry_method_headers_and_hash(wasm_server: Server) -> None:
    source = {
        "wasm": [
            {
                "url": wasm_server.url("/p.wasm"),
                "method": "post",
                "headers": {"X-Wasmbridge-Test": "yes"},
                "hash": sha256(HELLO_WASM),
            }
        ]
    }
    assert says_hello(source)
    request = wasm_server.requests[0]
    assert request.method == "POST"
    assert request.headers["x-wasmbridge-test"] == "yes"


def test_url_entry_hash_mismatch(wasm_server: Server) -> None:
    source = {"wasm": [{"url": wasm_server.url("/p.wasm"), "hash": "0" * 64}]}
    message = error_of(source)
    assert message == f"{COMPILE}Hash mismatch, found {sha256(HELLO_WASM)} but expected {'0' * 64}"


def test_url_entry_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on that port any more.
    assert error_of({"wasm": [{"url": f"http://127.0.0.1:{port}/p.wasm"}]}).startswith(COMPILE)
