"""Conformance: the real Extism plugins of ``../shared/fixtures/extism/`` on our runtime.

Each test names the fixture file it runs and checks the result that the Extism projects' own
tests (listed in the fixtures' ``INDEX.md``) or the reference SDK give for it. The binaries are
read from the shared folder, never copied into the project; the module skips when the folder is
absent (an outside clone).

Calls that could spin forever (loops, timeouts, cancellation, start functions) run through
``within_deadline`` so that a runtime that fails to stop them fails the test instead of hanging
the suite; cases where the reference crashes the process run in a subprocess. Time bounds are
generous: they detect hangs, never slowness.
"""

from __future__ import annotations

import json
import random
import re
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self

import pytest

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "extism"
if not FIXTURES.is_dir():
    pytest.skip(f"Extism fixtures not found at {FIXTURES}", allow_module_level=True)

import extism
from extism import CurrentPlugin, Function, Val, ValType, host_fn
from extism.extism import HOST_FN_REGISTRY, CompiledPlugin

# `within_deadline(fn, timeout=60.0)`, from conftest: fn(), or a test failure if it hangs.
Deadline = Callable[..., Any]

I64 = ValType.I64
I32 = ValType.I32

# How long a call that should stop (by timeout, cancel or error) may take before the test calls
# it a hang. Far above any expected duration.
HANG = 60.0

TRAP_PREFIX = "error while executing at wasm backtrace"


# -------------------------------------------------------------------------------------------------
# Helpers
# -------------------------------------------------------------------------------------------------


def path(name: str) -> str:
    file = FIXTURES / name
    assert file.is_file(), f"fixture {name} is missing from {FIXTURES}"
    return str(file)


def wasm(name: str, module: str | None = None) -> dict[str, Any]:
    """A manifest `wasm` entry loading the fixture `name` from disk, optionally named."""
    entry = {"path": path(name)}
    if module is not None:
        entry["name"] = module
    return entry


def manifest(*modules: dict[str, str], **options: Any) -> dict[str, Any]:
    return {"wasm": list(modules), **options}


class Canceller:
    """Calls `handle.cancel()` from another thread every 50 ms, starting after `delay`, until the
    `with` block ends; records what each `cancel()` returned."""

    def __init__(self, handle: Any, delay: float = 0.2) -> None:
        self.handle = handle
        self.delay = delay
        self.returned: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while not self._stop.is_set():
            self.returned.append(self.handle.cancel())
            self._stop.wait(0.05)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive()


def run_isolated(script: str, *args: str, timeout: float = 90.0) -> str:
    """Run `script` in a fresh interpreter (for cases that crash the reference's process) and
    return its stdout; a crash or a hang fails the test."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", script, *args],
            capture_output=True,
            check=False,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the subprocess hung for {timeout} s")
    assert done.returncode == 0, (
        f"the subprocess died with status {done.returncode}\nstdout: {done.stdout}\n"
        f"stderr: {done.stderr[-3000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module", autouse=True)
def _restore_host_fn_registry() -> Iterator[None]:
    # `host_fn` appends to the process-wide registry, the default `functions` of every plugin;
    # what this module registers must not leak into other modules' plugins.
    saved = list(HOST_FN_REGISTRY)
    yield
    HOST_FN_REGISTRY[:] = saved


def counts(output: bytes) -> dict[str, Any]:
    value = json.loads(output)
    assert isinstance(value, dict)
    return value


# -------------------------------------------------------------------------------------------------
# Coverage of the fixture folder
# -------------------------------------------------------------------------------------------------


def test_every_fixture_in_the_folder_is_exercised_here() -> None:
    source = Path(__file__).read_text()
    missing = [f.name for f in sorted(FIXTURES.glob("*.wasm")) if f'"{f.name}"' not in source]
    assert missing == []


# -------------------------------------------------------------------------------------------------
# count_vowels: python-sdk__code.wasm and extism__code.wasm (Rust PDK, config + vars)
# -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def python_sdk_code() -> CompiledPlugin:
    return CompiledPlugin(manifest(wasm("python-sdk__code.wasm")), functions=[])


@pytest.fixture(scope="module")
def extism_code() -> CompiledPlugin:
    return CompiledPlugin(manifest(wasm("extism__code.wasm")), functions=[])


def test_python_sdk_code_count_vowels_counts_and_accumulates_total(
    python_sdk_code: CompiledPlugin,
) -> None:
    plugin = extism.Plugin(python_sdk_code)
    seen = []
    for text in (
        "this is a test",
        "this is a test again",
        "this is a test thrice",
        "🌎hello🌎world🌎",
    ):
        result = counts(plugin.call("count_vowels", text))
        seen.append((result["count"], result["total"], result["vowels"]))
    assert seen == [
        (4, 4, "aeiouAEIOU"),
        (7, 11, "aeiouAEIOU"),
        (6, 17, "aeiouAEIOU"),
        (3, 20, "aeiouAEIOU"),
    ]


def test_python_sdk_code_total_is_per_plugin(python_sdk_code: CompiledPlugin) -> None:
    first = extism.Plugin(python_sdk_code)
    second = extism.Plugin(python_sdk_code)
    assert counts(first.call("count_vowels", "aaaa"))["total"] == 4
    assert counts(first.call("count_vowels", "aa"))["total"] == 6
    # A sibling plugin from the same CompiledPlugin has its own vars.
    assert counts(second.call("count_vowels", "a"))["total"] == 1
    assert counts(first.call("count_vowels", "a"))["total"] == 7


def test_python_sdk_code_config_vowels_overrides_the_vowel_set(
    python_sdk_code: CompiledPlugin,
) -> None:
    plugin = extism.Plugin(python_sdk_code, config={"vowels": "aA"})
    result = counts(plugin.call("count_vowels", "Banana Apple, eerie"))
    assert result == {"count": 4, "total": 4, "vowels": "aA"}


def test_python_sdk_code_manifest_config_vowels() -> None:
    plugin = extism.Plugin(
        manifest(wasm("python-sdk__code.wasm"), config={"vowels": "eE"}), functions=[]
    )
    assert counts(plugin.call("count_vowels", "Eerie tree")) == {
        "count": 5,
        "total": 5,
        "vowels": "eE",
    }


@pytest.mark.parametrize(
    ("text", "count"), [("hello world", 3), ("aaaaaa", 6), ("", 0), ("bbbbbbb", 0)]
)
def test_extism_code_count_vowels_go_sdk_cases(
    extism_code: CompiledPlugin, text: str, count: int
) -> None:
    plugin = extism.Plugin(extism_code)
    assert counts(plugin.call("count_vowels", text)) == {
        "count": count,
        "total": count,
        "vowels": "aeiouAEIOU",
    }


def test_extism_code_count_vowels_exact_output_and_running_total(
    extism_code: CompiledPlugin,
) -> None:
    plugin = extism.Plugin(extism_code)
    assert plugin.call("count_vowels", "aaa") == b'{"count":3,"total":3,"vowels":"aeiouAEIOU"}'
    assert plugin.call("count_vowels", "bbba") == b'{"count":1,"total":4,"vowels":"aeiouAEIOU"}'


def test_extism_code_max_pages_16_is_oom_and_17_is_enough() -> None:
    # The module itself declares 17 pages, so 16 cannot even hold it.
    big_input = "a" * (65536 * 2)
    small = extism.Plugin(
        manifest(wasm("extism__code.wasm"), memory={"max_pages": 16}), functions=[]
    )
    with pytest.raises(extism.Error, match="oom"):
        small.call("count_vowels", big_input)
    enough = extism.Plugin(
        manifest(wasm("extism__code.wasm"), memory={"max_pages": 17}), functions=[]
    )
    assert counts(enough.call("count_vowels", big_input))["count"] == 65536 * 2


def test_python_sdk_code_vars_are_cleared_after_a_start_call() -> None:
    """python-sdk__code.wasm linked as module "code" behind a main module that also exports
    `_start`: calling `_start` throws the store away, so the `total` var starts over."""
    main = """(module
      (import "code" "count_vowels" (func $count_vowels (result i32)))
      (func (export "count_vowels") (result i32) (call $count_vowels))
      (func (export "_start")))"""
    plugin = extism.Plugin(
        manifest(wasm("python-sdk__code.wasm", "code"), {"data": main.encode(), "name": "main"}),
        functions=[],
    )
    assert counts(plugin.call("count_vowels", "aaa"))["total"] == 3
    assert counts(plugin.call("count_vowels", "aaa"))["total"] == 6
    assert plugin.call("_start", b"") == b""
    assert counts(plugin.call("count_vowels", "aaa"))["total"] == 3
    assert counts(plugin.call("count_vowels", "a"))["total"] == 4


# -------------------------------------------------------------------------------------------------
# Host functions from real plugins
# -------------------------------------------------------------------------------------------------


def test_extism_code_functions_passes_the_count_to_hello_world_and_outputs_its_result() -> None:
    seen: list[str] = []

    @host_fn()
    def hello_world(text: str) -> str:
        seen.append(text)
        return f"host saw {text}"

    plugin = extism.Plugin(
        manifest(wasm("extism__code-functions.wasm")), wasi=True, functions=[hello_world]
    )
    assert plugin.call("count_vowels", "hello world") == b'host saw {"count": 3}'
    assert plugin.call("count_vowels", "aaaaeeee") == b'host saw {"count": 8}'
    assert seen == ['{"count": 3}', '{"count": 8}']


def test_extism_code_functions_needs_wasi() -> None:
    @host_fn()
    def hello_world(text: str) -> str:
        return text

    with pytest.raises(extism.Error, match="wasi_snapshot_preview1"):
        extism.Plugin(manifest(wasm("extism__code-functions.wasm")), functions=[hello_world])


def test_go_sdk_host_calls_mult_with_42_and_2() -> None:
    calls: list[tuple[int, int]] = []

    def mult(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        a, b = params[0].value, params[1].value
        calls.append((a, b))
        results[0].value = a * b

    plugin = extism.Plugin(
        manifest(wasm("go-sdk__host.wasm")),
        wasi=True,
        functions=[Function("extism:host/user", "mult", [I64, I64], [I64], mult)],
    )
    assert plugin.call("run_test", b"") == b"42 x 2 = 84"
    assert calls == [(42, 2)]


def test_go_sdk_host_memory_to_upper_in_namespace_host() -> None:
    freed: list[int] = []

    @host_fn(name="to_upper", namespace="host", signature=([I64], [I64]))
    def to_upper(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        text = plugin.input_string(params[0])
        # Like the go-sdk host: free the guest's block before answering.
        plugin.free(plugin.memory_at_offset(params[0]))
        freed.append(plugin.memory_at_offset(params[0]).length)
        plugin.return_string(results[0], text.upper())

    plugin = extism.Plugin(
        manifest(wasm("go-sdk__host_memory.wasm")), wasi=True, functions=[to_upper]
    )
    assert plugin.call("run_test", "Frodo") == b"HELLO FRODO!"
    assert freed == [0]


def test_go_sdk_host_memory_without_the_host_namespace_fails_to_link() -> None:
    @host_fn(name="to_upper", signature=([I64], [I64]))
    def to_upper(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        results[0].value = params[0].value

    with pytest.raises(extism.Error, match="host::to_upper"):
        extism.Plugin(manifest(wasm("go-sdk__host_memory.wasm")), wasi=True, functions=[to_upper])


def test_go_sdk_host_multiple_emoji_messages() -> None:
    @host_fn()
    def hostGreenMessage(message: str) -> str:
        return "🟢:" + message

    @host_fn()
    def hostPurpleMessage(message: str) -> str:
        return "🟣:" + message

    plugin = extism.Plugin(
        manifest(wasm("go-sdk__host_multiple.wasm")),
        wasi=True,
        functions=[hostGreenMessage, hostPurpleMessage],
    )
    assert plugin.call("say_green", "John Doe").decode() == "🟢:🫱 Hey from say_green John Doe"
    assert plugin.call("say_purple", "Jane Doe").decode() == "🟣:👋 Hello from say_purple Jane Doe"


# -------------------------------------------------------------------------------------------------
# extism__reflect.wasm and extism__upper.wasm
# -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reflect_plugin() -> extism.Plugin:
    def host_reflect(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        plugin.return_bytes(results[0], plugin.input_bytes(params[0]))

    return extism.Plugin(
        manifest(wasm("extism__reflect.wasm")),
        functions=[Function("extism:host/user", "host_reflect", [I64], [I64], host_reflect)],
    )


@pytest.mark.parametrize(
    "size", [1, 2, 7, 8, 9, 15, 16, 17, 255, 4096, 65471, 65472, 65473, 65535, 65536, 65539]
)
def test_extism_reflect_round_trips_through_host_reflect(
    reflect_plugin: extism.Plugin, size: int
) -> None:
    # The plugin reads its input as a Rust `String`: UTF-8 only.
    rng = random.Random(size)
    data = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(size))
    assert reflect_plugin.call("reflect", data) == data.encode()


def test_extism_reflect_linked_with_extism_upper_as_extism_host_user() -> None:
    plugin = extism.Plugin(
        manifest(
            wasm("extism__reflect.wasm", "main"), wasm("extism__upper.wasm", "extism:host/user")
        ),
        functions=[],
    )
    assert plugin.call("reflect", "Hello, world!") == b"HELLO, WORLD!"
    assert plugin.call("reflect", "again, Once More") == b"AGAIN, ONCE MORE"


def test_extism_upper_alone_is_a_library_without_extism_functions() -> None:
    plugin = extism.Plugin(manifest(wasm("extism__upper.wasm")), functions=[])
    # host_reflect takes an i64: not an Extism function.
    assert plugin.function_exists("host_reflect") is False


# -------------------------------------------------------------------------------------------------
# Small plugins: globals, echo, consume, allocations, empty, unreachable, input_offset
# -------------------------------------------------------------------------------------------------


def test_extism_globals_count_persists_across_calls() -> None:
    plugin = extism.Plugin(manifest(wasm("extism__globals.wasm")), wasi=True, functions=[])
    outputs = [plugin.call("globals", b"") for _ in range(5)]
    assert outputs == [f'{{"count": {i}}}'.encode() for i in range(5)]


def test_extism_globals_instances_are_per_plugin() -> None:
    compiled = CompiledPlugin(manifest(wasm("extism__globals.wasm")), wasi=True, functions=[])
    first = extism.Plugin(compiled)
    second = extism.Plugin(compiled)
    assert first.call("globals", b"") == b'{"count": 0}'
    assert first.call("globals", b"") == b'{"count": 1}'
    assert second.call("globals", b"") == b'{"count": 0}'


def test_extism_echo_returns_whole_words_and_zeroes_a_short_tail() -> None:
    plugin = extism.Plugin(manifest(wasm("extism__echo.wasm")), functions=[])
    block = random.Random(1).randbytes(65536)
    assert plugin.call("echo", block) == block
    assert plugin.call("echo", block * 3) == block * 3
    # input_load_u64 returns 0 when fewer than 8 bytes remain.
    assert plugin.call("echo", "hello") == b"\0" * 5


def test_extism_consume_reads_everything_and_outputs_nothing() -> None:
    plugin = extism.Plugin(manifest(wasm("extism__consume.wasm")), functions=[])
    assert plugin.call("consume", b"x" * 100_000) == b""
    assert plugin.call("consume", b"") == b""


def test_extism_allocations_succeeds_without_output() -> None:
    plugin = extism.Plugin(manifest(wasm("extism__allocations.wasm")), functions=[])
    assert plugin.call("allocations", b"") == b""
    assert plugin.call("allocations", b"") == b""


def test_extism_empty_zero_length_blocks() -> None:
    plugin = extism.Plugin(manifest(wasm("extism__empty.wasm")), functions=[])
    assert plugin.call("test", b"") == b""
    assert plugin.call("test", b"ignored input") == b""


def test_extism_unreachable_traps_and_the_plugin_stays_usable() -> None:
    plugin = extism.Plugin(manifest(wasm("extism__unreachable.wasm")), wasi=True, functions=[])
    for _ in range(3):
        with pytest.raises(extism.Error) as exc:
            plugin.call("do_unreachable", b"")
        assert str(exc.value).startswith(TRAP_PREFIX)
    assert plugin.function_exists("do_unreachable") is True
    with pytest.raises(extism.Error, match="Function not found: nope"):
        plugin.call("nope", b"")


@pytest.mark.parametrize("data", [b"hello world", b"x", b"y" * 70_000])
def test_go_sdk_input_offset_length_matches_the_input(data: bytes) -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__input_offset.wasm")), functions=[])
    assert plugin.call("input_offset_length", data) == len(data).to_bytes(8, "little")


def test_go_sdk_input_offset_of_empty_input_is_zero() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__input_offset.wasm")), functions=[])
    assert plugin.call("input_offset_length", b"") == bytes(8)


# -------------------------------------------------------------------------------------------------
# go-sdk C and TinyGo plugins
# -------------------------------------------------------------------------------------------------


def test_go_sdk_hello_outputs_hello_world() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__hello.wasm")), functions=[])
    assert plugin.call("run_test", b"") == b"Hello, world!"
    assert plugin.call("run_test", b"") == b"Hello, world!"


def test_go_sdk_fail_raises_the_guest_error_message() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__fail.wasm")), functions=[])
    with pytest.raises(extism.Error) as exc:
        plugin.call("run_test", b"")
    assert str(exc.value) == "Some error message"


def test_go_sdk_throw_raises_the_guest_error_message() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__throw.wasm")), wasi=True, functions=[])
    with pytest.raises(extism.Error) as exc:
        plugin.call("run_test", b"")
    assert str(exc.value) == "my custom error"


def test_go_sdk_alloc_run_test_succeeds() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__alloc.wasm")), functions=[])
    assert plugin.call("run_test", b"") == b""


def test_go_sdk_noop_run_test_succeeds_without_output() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__noop.wasm")), wasi=True, functions=[])
    assert plugin.call("run_test", b"") == b""


def test_go_sdk_replace_substitutes_test_with_wasm() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__replace.wasm")), wasi=True, functions=[])
    assert plugin.call("run_test", "this test is a test") == b"this wasm is a wasm"


def test_go_sdk_log_runs_with_logging_off() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__log.wasm")), wasi=True, functions=[])
    assert plugin.call("run_test", b"") == b""


@pytest.fixture(scope="module")
def go_sdk_config() -> CompiledPlugin:
    return CompiledPlugin(manifest(wasm("go-sdk__config.wasm")), wasi=True, functions=[])


def test_go_sdk_config_reads_thing(go_sdk_config: CompiledPlugin) -> None:
    plugin = extism.Plugin(go_sdk_config, config={"thing": "hello"})
    assert plugin.call("run_test", b"") == b'{"config": "hello"}'


def test_go_sdk_config_unset_thing(go_sdk_config: CompiledPlugin) -> None:
    plugin = extism.Plugin(go_sdk_config)
    assert plugin.call("run_test", b"") == b'{"config": "<unset by host>"}'


def test_go_sdk_config_from_the_manifest() -> None:
    plugin = extism.Plugin(
        manifest(wasm("go-sdk__config.wasm"), config={"thing": "from manifest"}),
        wasi=True,
        functions=[],
    )
    assert plugin.call("run_test", b"") == b'{"config": "from manifest"}'


def test_go_sdk_var_reads_and_writes_var_a() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__var.wasm")), wasi=True, functions=[])
    assert plugin.call("run_test", b"") == b"a: 0"
    assert plugin.call("run_test", b"") == b"a: 0"


def test_go_sdk_var_fails_when_vars_are_disabled() -> None:
    plugin = extism.Plugin(
        manifest(wasm("go-sdk__var.wasm"), memory={"max_var_bytes": 0}), wasi=True, functions=[]
    )
    with pytest.raises(extism.Error, match="Vars are disabled by this host"):
        plugin.call("run_test", b"")


@pytest.fixture(scope="module")
def go_sdk_exit() -> CompiledPlugin:
    return CompiledPlugin(manifest(wasm("go-sdk__exit.wasm")), wasi=True, functions=[])


def test_go_sdk_exit_code_0_is_success(go_sdk_exit: CompiledPlugin) -> None:
    plugin = extism.Plugin(go_sdk_exit, config={"code": "0"})
    assert plugin.call("_start", b"") == b""
    # `_start` rebuilds the store; the next call runs the same way.
    assert plugin.call("_start", b"") == b""


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("abc", r"exit status 1\b"),
        (None, r"exit status 2\b"),
        ("125", r"exit status 125\b"),
        # WASI p1 in wasmtime (the reference's too) refuses statuses outside [0, 126).
        ("500", r"invalid exit status"),
        ("-1", r"invalid exit status"),
    ],
)
def test_go_sdk_exit_nonzero_code_is_an_error_naming_it(
    go_sdk_exit: CompiledPlugin, code: str | None, expected: str
) -> None:
    plugin = extism.Plugin(go_sdk_exit, config=None if code is None else {"code": code})
    for _ in range(2):
        with pytest.raises(extism.Error) as exc:
            plugin.call("_start", b"")
        message = str(exc.value)
        assert message.startswith(TRAP_PREFIX)
        assert re.search(expected, message), message


def test_go_sdk_lib_and_main_link_by_module_name() -> None:
    plugin = extism.Plugin(
        manifest(wasm("go-sdk__lib.wasm", "lib"), wasm("go-sdk__main.wasm", "main")),
        wasi=True,
        functions=[],
    )
    assert plugin.call("run_test", "benjamin") == b"Hello, BENJAMIN"
    assert plugin.call("run_test", "frodo") == b"Hello, FRODO"


def test_go_sdk_main_without_lib_fails_to_link() -> None:
    with pytest.raises(extism.Error, match="lib::capitalize"):
        extism.Plugin(manifest(wasm("go-sdk__main.wasm")), wasi=True, functions=[])


def test_go_sdk_hello_haskell_greets_with_the_configured_greeting() -> None:
    plugin = extism.Plugin(
        manifest(wasm("go-sdk__hello_haskell.wasm")),
        wasi=True,
        config={"greeting": "Howdy"},
        functions=[],
    )
    assert plugin.call("testing", "John") == b"Howdy, John"


def test_js_sdk_hello_haskell_two_calls() -> None:
    plugin = extism.Plugin(
        manifest(wasm("js-sdk__hello_haskell.wasm"), config={"greeting": "Howdy"}),
        wasi=True,
        functions=[],
    )
    assert plugin.call("testing", "John") == b"Howdy, John"
    assert plugin.call("testing", "Ben") == b"Howdy, Ben"


# -------------------------------------------------------------------------------------------------
# Go 1.24 wasip1 plugins: commands (`_start`) and a reactor
# -------------------------------------------------------------------------------------------------


def test_go_sdk_std_command_start_says_hello_and_runs_twice() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__std_command.wasm")), wasi=True, functions=[])
    assert plugin.call("_start", "ben") == b"hello ben"
    assert plugin.call("_start", "again") == b"hello again"


def test_go_sdk_count_vowels_std_start() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__count_vowels_std.wasm")), wasi=True, functions=[])
    expected = {"count": 3, "config": "<unset by host>", "a": "this is var a"}
    assert json.loads(plugin.call("_start", "hello world")) == expected
    assert json.loads(plugin.call("_start", "hello world")) == expected
    assert json.loads(plugin.call("_start", "aeiou AEIOU"))["count"] == 10


def test_go_sdk_count_vowels_std_start_with_config() -> None:
    plugin = extism.Plugin(
        manifest(wasm("go-sdk__count_vowels_std.wasm")),
        wasi=True,
        config={"thing": "cfg value"},
        functions=[],
    )
    assert json.loads(plugin.call("_start", "abc")) == {
        "count": 1,
        "config": "cfg value",
        "a": "this is var a",
    }


# -------------------------------------------------------------------------------------------------
# File system: read_write, fs, fs_std, fs-link
# -------------------------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "data.txt").write_text("hello world!")
    (directory / "test.txt").write_text("hello world!")
    return directory


def test_extism_read_write_reads_and_appends_on_a_writable_mount(data_dir: Path) -> None:
    plugin = extism.Plugin(
        manifest(
            wasm("extism__read_write.wasm"),
            allowed_paths={str(data_dir): "/data"},
            config={"path": "/data/data.txt"},
        ),
        wasi=True,
        functions=[],
    )
    assert plugin.call("try_read", b"") == b"hello world!"
    plugin.call("try_write", "hello world 2")
    content = (data_dir / "data.txt").read_text()
    assert content.startswith("hello world!")
    assert content.endswith("hello world 2")


def test_extism_read_write_ro_mount_rejects_writes(data_dir: Path) -> None:
    plugin = extism.Plugin(
        manifest(
            wasm("extism__read_write.wasm"),
            allowed_paths={"ro:" + str(data_dir): "/data"},
            config={"path": "/data/data.txt"},
        ),
        wasi=True,
        functions=[],
    )
    assert plugin.call("try_read", b"") == b"hello world!"
    with pytest.raises(extism.Error, match="Failed to write file"):
        plugin.call("try_write", "hello world 2")
    assert (data_dir / "data.txt").read_text() == "hello world!"
    # Reading still works after the failed write.
    assert plugin.call("try_read", b"") == b"hello world!"


def test_extism_read_write_without_a_mount_cannot_read(data_dir: Path) -> None:
    plugin = extism.Plugin(
        manifest(wasm("extism__read_write.wasm"), config={"path": "/data/data.txt"}),
        wasi=True,
        functions=[],
    )
    with pytest.raises(extism.Error, match="Failed to read file"):
        plugin.call("try_read", b"")


def test_go_sdk_fs_loads_as_main_and_reads_mnt_test_txt(data_dir: Path) -> None:
    # TinyGo 0.28 exports both `_start` and `_initialize`; the reference refuses to load it.
    plugin = extism.Plugin(
        manifest(wasm("go-sdk__fs.wasm"), allowed_paths={str(data_dir): "/mnt"}),
        wasi=True,
        functions=[],
    )
    assert plugin.call("run_test", b"") == b"hello world!"
    assert (data_dir / "test.txt").read_text() == "hello world!"


def test_go_sdk_fs_std_reads_mnt_test_txt(data_dir: Path) -> None:
    plugin = extism.Plugin(
        manifest(wasm("go-sdk__fs_std.wasm"), allowed_paths={str(data_dir): "/mnt"}),
        wasi=True,
        functions=[],
    )
    assert plugin.call("run_test", b"") == b"hello world!"


def test_js_sdk_fs_link_with_a_command_and_reactor_side_module_does_not_crash(
    data_dir: Path,
) -> None:
    """js-sdk__fs-link.wasm imports `side::run_test` from go-sdk__fs.wasm (a command that is also
    a reactor): either an Error or the file's contents, but never a crash."""
    try:
        plugin = extism.Plugin(
            manifest(
                wasm("go-sdk__fs.wasm", "side"),
                wasm("js-sdk__fs-link.wasm", "main"),
                allowed_paths={str(data_dir): "/mnt"},
            ),
            wasi=True,
            functions=[],
        )
        output = plugin.call("run_test", b"")
    except extism.Error as e:
        assert str(e)
    else:
        assert output == b"hello world!"


# -------------------------------------------------------------------------------------------------
# Memory limits: js-sdk__memory.wasm
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_pages", [2, 6])
def test_js_sdk_memory_alloc_memory_beyond_max_pages_fails(max_pages: int) -> None:
    plugin = extism.Plugin(
        manifest(wasm("js-sdk__memory.wasm"), memory={"max_pages": max_pages}), functions=[]
    )
    with pytest.raises(extism.Error, match="oom"):
        plugin.call("alloc_memory", json.dumps({"bytes": 5 * 65536}))


def test_js_sdk_memory_alloc_memory_within_max_pages_succeeds() -> None:
    plugin = extism.Plugin(
        manifest(wasm("js-sdk__memory.wasm"), memory={"max_pages": 30}), functions=[]
    )
    plugin.call("alloc_memory", json.dumps({"bytes": 5 * 65536}))
    plugin.call("alloc_memory", json.dumps({"bytes": 5 * 65536}))


@pytest.mark.parametrize("max_var_bytes", [100, 1024])
def test_js_sdk_memory_alloc_var_beyond_max_var_bytes_fails(max_var_bytes: int) -> None:
    # 1024 is too small for a 1024-byte value: each entry also counts its key and 48 bytes.
    plugin = extism.Plugin(
        manifest(wasm("js-sdk__memory.wasm"), memory={"max_var_bytes": max_var_bytes}),
        functions=[],
    )
    with pytest.raises(extism.Error, match="Variable store is full"):
        plugin.call("alloc_var", json.dumps({"bytes": 1024}))


def test_js_sdk_memory_alloc_var_within_max_var_bytes_succeeds() -> None:
    plugin = extism.Plugin(
        manifest(wasm("js-sdk__memory.wasm"), memory={"max_var_bytes": 1100}), functions=[]
    )
    plugin.call("alloc_var", json.dumps({"bytes": 1024}))


# -------------------------------------------------------------------------------------------------
# Timeouts and cancellation: loops and sleeps
# -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def python_sdk_loop() -> CompiledPlugin:
    return CompiledPlugin(manifest(wasm("python-sdk__loop.wasm")), functions=[])


def test_extism_loop_timeout_ms_stops_the_call_with_timeout(within_deadline: Deadline) -> None:
    plugin = extism.Plugin(manifest(wasm("extism__loop.wasm"), timeout_ms=300), functions=[])
    for _ in range(2):
        with pytest.raises(extism.Error) as exc:
            within_deadline(lambda: plugin.call("loop_forever", "abc123"))
        assert str(exc.value) == "timeout"


def test_python_sdk_loop_cancel_from_another_thread(
    within_deadline: Deadline, python_sdk_loop: CompiledPlugin
) -> None:
    plugin = extism.Plugin(python_sdk_loop)
    for _ in range(2):
        with (
            Canceller(plugin.cancel_handle()) as canceller,
            pytest.raises(extism.Error) as exc,
        ):
            within_deadline(lambda: plugin.call("loop_forever", b""))
        assert str(exc.value) == "timeout"
        assert canceller.returned
        assert all(result is True for result in canceller.returned)


def test_go_sdk_hello_cancel_while_idle_does_not_affect_later_calls() -> None:
    plugin = extism.Plugin(manifest(wasm("go-sdk__hello.wasm")), functions=[])
    handle = plugin.cancel_handle()
    assert handle.cancel() is True
    assert handle.cancel() is True
    assert plugin.call("run_test", b"") == b"Hello, world!"
    assert plugin.call("run_test", b"") == b"Hello, world!"


def test_js_sdk_loop_forever_timeout(within_deadline: Deadline) -> None:
    plugin = extism.Plugin(
        manifest(wasm("js-sdk__loop-forever.wasm"), timeout_ms=250), functions=[]
    )
    with pytest.raises(extism.Error) as exc:
        within_deadline(lambda: plugin.call("loop", b""))
    assert str(exc.value) == "timeout"


def test_js_sdk_loop_forever_init_timeout_applies_to_initialization(
    within_deadline: Deadline,
) -> None:
    """The start section of js-sdk__loop-forever-init.wasm spins: the reference hangs in
    `Plugin()`; with a timeout_ms ours must fail with "timeout" (at creation or first call)."""

    def create_and_call() -> bytes:
        plugin = extism.Plugin(
            manifest(wasm("js-sdk__loop-forever-init.wasm"), timeout_ms=300), functions=[]
        )
        return plugin.call("loop", b"")

    with pytest.raises(extism.Error, match="timeout"):
        within_deadline(create_and_call)


@pytest.fixture(scope="module")
def go_sdk_sleep() -> CompiledPlugin:
    return CompiledPlugin(manifest(wasm("go-sdk__sleep.wasm")), wasi=True, functions=[])


def test_go_sdk_sleep_busy_waits_the_configured_seconds(
    within_deadline: Deadline, go_sdk_sleep: CompiledPlugin
) -> None:
    plugin = extism.Plugin(go_sdk_sleep, config={"duration": "1"})
    start = time.monotonic()
    assert within_deadline(lambda: plugin.call("run_test", b"")) == b"slept for 1 seconds"
    assert time.monotonic() - start >= 0.9


def test_go_sdk_sleep_timeout(within_deadline: Deadline) -> None:
    plugin = extism.Plugin(
        manifest(wasm("go-sdk__sleep.wasm"), timeout_ms=100),
        wasi=True,
        config={"duration": "3"},
        functions=[],
    )
    for _ in range(2):
        with pytest.raises(extism.Error) as exc:
            within_deadline(lambda: plugin.call("run_test", b""))
        assert str(exc.value) == "timeout"


def test_go_sdk_sleep_cancelled_then_reused(
    within_deadline: Deadline, go_sdk_sleep: CompiledPlugin
) -> None:
    plugin = extism.Plugin(go_sdk_sleep, config={"duration": "1"})
    with (
        Canceller(plugin.cancel_handle(), delay=0.1),
        pytest.raises(extism.Error, match="^timeout$"),
    ):
        within_deadline(lambda: plugin.call("run_test", b""))
    assert within_deadline(lambda: plugin.call("run_test", b"")) == b"slept for 1 seconds"


class FakeClock:
    """get_now_ms/notify host functions for js-sdk__sleep.wasm; the clock advances `step` ms per
    reading."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.now = 1_700_000_000_000
        self.readings = 0
        self.notified = 0

    def functions(self) -> list[Function]:
        def get_now_ms(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
            self.readings += 1
            self.now += self.step
            results[0].value = self.now

        def notify(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
            self.notified += 1

        return [
            Function("extism:host/user", "get_now_ms", [], [I64], get_now_ms),
            Function("extism:host/user", "notify", [], [], notify),
        ]


def test_js_sdk_sleep_waits_on_the_host_clock_then_notifies(within_deadline: Deadline) -> None:
    clock = FakeClock(step=10)
    plugin = extism.Plugin(manifest(wasm("js-sdk__sleep.wasm")), functions=clock.functions())
    within_deadline(lambda: plugin.call("sleep", json.dumps({"duration_ms": 100})))
    assert clock.notified == 1
    # 100 ms at 10 ms per reading: about ten readings, at least two.
    assert 2 <= clock.readings <= 20


def test_js_sdk_sleep_timeout_while_the_host_clock_stands_still(within_deadline: Deadline) -> None:
    clock = FakeClock(step=0)
    plugin = extism.Plugin(
        manifest(wasm("js-sdk__sleep.wasm"), timeout_ms=300), functions=clock.functions()
    )
    with pytest.raises(extism.Error) as exc:
        within_deadline(lambda: plugin.call("sleep", json.dumps({"duration_ms": 1000})))
    assert str(exc.value) == "timeout"
    assert clock.readings > 0
    assert clock.notified == 0


# -------------------------------------------------------------------------------------------------
# Linking corner cases: circular imports, commands exporting globals, freed handles
# -------------------------------------------------------------------------------------------------

CIRCULAR_SCRIPT = """
import json, sys
import extism
try:
    plugin = extism.Plugin(json.loads(sys.argv[1]), functions=[])
    output = plugin.call("encalculate", b"")
except extism.Error as e:
    print("ERROR " + str(e).replace("\\n", " "))
else:
    print("OUTPUT " + output.hex())
"""


def test_js_sdk_circular_imports_are_an_error_not_a_crash() -> None:
    """js-sdk__circular-lhs.wasm and js-sdk__circular-rhs.wasm import each other and
    js-sdk__circular.wasm imports both: the reference recurses until SIGSEGV."""
    spec = manifest(
        wasm("js-sdk__circular-lhs.wasm", "lhs"),
        wasm("js-sdk__circular-rhs.wasm", "rhs"),
        wasm("js-sdk__circular.wasm", "main"),
    )
    stdout = run_isolated(CIRCULAR_SCRIPT, json.dumps(spec))
    assert stdout.startswith("ERROR "), stdout


def test_go_sdk_nested_c_instr_with_dylibso_observe_host_functions_does_not_crash() -> None:
    events: list[tuple[str, int]] = []

    def recorder(kind: str) -> Function:
        def record(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
            events.append((kind, params[0].value))

        return Function("dylibso_observe", kind, [I32], [], record)

    functions = [
        recorder("instrument_enter"),
        recorder("instrument_exit"),
        recorder("instrument_memory_grow"),
    ]
    try:
        plugin = extism.Plugin(
            manifest(wasm("go-sdk__nested.c.instr.wasm")), wasi=True, functions=functions
        )
        plugin.call("_start", b"")
    except extism.Error as e:
        assert str(e)
    else:
        enters = [e for e in events if e[0] == "instrument_enter"]
        exits = [e for e in events if e[0] == "instrument_exit"]
        assert enters
        assert len(exits) <= len(enters)


def test_js_sdk_02_var_reflected_reusing_a_freed_handle_is_an_error() -> None:
    """js-sdk__02-var-reflected.wasm passes one handle as var_set's key and value, then to
    var_get: the host frees var_set's handles (1.x ownership), so var_get gets a freed handle."""
    seen: list[str] = []

    def test(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        seen.append(plugin.input_string(params[0]))

    plugin = extism.Plugin(
        manifest(wasm("js-sdk__02-var-reflected.wasm")),
        functions=[Function("user", "test", [I64], [], test)],
    )
    with pytest.raises(extism.Error, match="invalid handle offset for var key"):
        plugin.call("test", b"")
    assert seen == []


# -------------------------------------------------------------------------------------------------
# WASI output is discarded
# -------------------------------------------------------------------------------------------------


def test_js_sdk_wasistdout_prints_nothing(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXTISM_ENABLE_WASI_OUTPUT", raising=False)
    plugin = extism.Plugin(manifest(wasm("js-sdk__wasistdout.wasm")), wasi=True, functions=[])
    assert plugin.call("say_hello", b"") == b""
    captured = capfd.readouterr()
    assert "hello world" not in captured.out
    assert "hello world" not in captured.err


def test_go_sdk_println_prints_nothing(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXTISM_ENABLE_WASI_OUTPUT", raising=False)
    plugin = extism.Plugin(manifest(wasm("go-sdk__println.wasm")), wasi=True, functions=[])
    assert plugin.call("run_test", "from the test") == b""
    captured = capfd.readouterr()
    assert "printed from the plugin" not in captured.out
    assert "printed from the plugin" not in captured.err


# -------------------------------------------------------------------------------------------------
# Legacy 0.x ABI (env::extism_*)
# -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def legacy_go_example() -> CompiledPlugin:
    return CompiledPlugin(manifest(wasm("legacy__go-pdk_example.wasm")), wasi=True, functions=[])


def test_legacy_go_pdk_example_count_vowels(legacy_go_example: CompiledPlugin) -> None:
    plugin = extism.Plugin(legacy_go_example)
    expected = {"count": 4, "config": "<unset by host>", "a": "this is var a"}
    assert json.loads(plugin.call("count_vowels", "this is a test")) == expected
    assert json.loads(plugin.call("count_vowels", "this is a test")) == expected


def test_legacy_go_pdk_example_count_vowels_with_config(legacy_go_example: CompiledPlugin) -> None:
    plugin = extism.Plugin(legacy_go_example, config={"thing": "1234"})
    assert json.loads(plugin.call("count_vowels", "aeiou")) == {
        "count": 5,
        "config": "1234",
        "a": "this is var a",
    }


@pytest.fixture(scope="module")
def legacy_js_out() -> CompiledPlugin:
    return CompiledPlugin(manifest(wasm("legacy__js-pdk_out.wasm")), wasi=True, functions=[])


def test_legacy_js_pdk_out_count_vowels(legacy_js_out: CompiledPlugin) -> None:
    plugin = extism.Plugin(legacy_js_out)
    assert json.loads(plugin.call("count_vowels", "hello world")) == {"count": 3}


@pytest.mark.parametrize("function", ["greet", "greet2"])
def test_legacy_js_pdk_out_greet(legacy_js_out: CompiledPlugin, function: str) -> None:
    plugin = extism.Plugin(legacy_js_out)
    assert plugin.call(function, "Benjamin") == f"Hello World from {function}! Benjamin".encode()


# -------------------------------------------------------------------------------------------------
# HTTP: without allowed_hosts refused; against a loopback server
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "function", "data", "wasi"),
    [
        ("extism__http.wasm", "http_request", '{"url": "https://extism.org"}', False),
        ("extism__http_headers.wasm", "http_get", '{"url": "https://extism.org"}', False),
        ("go-sdk__http.wasm", "run_test", "", True),
        (
            "js-sdk__http.wasm",
            "http_get",
            '{"url": "https://jsonplaceholder.typicode.com/todos/1"}',
            False,
        ),
        ("legacy__go-pdk_http.wasm", "http_get", "", True),
    ],
)
def test_http_without_allowed_hosts_is_not_allowed(
    within_deadline: Deadline, file: str, function: str, data: str, wasi: bool
) -> None:
    plugin = extism.Plugin(manifest(wasm(file)), wasi=wasi, functions=[])
    with pytest.raises(extism.Error, match="not allowed"):
        within_deadline(lambda: plugin.call(function, data))


# A `LoopbackServer` of tests/conftest.py (the `http_server` fixture): `url(path)`, and
# `requests` (method, path, lower-case headers, body) of the requests that it received.
Loopback = Any


def answer(request: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """The loopback server's answer for the HTTP fixtures.

    ``/hello``: 200 "hello world" with ``Content-Type: text/plain`` and ``X-Custom: yes``;
    ``/echo``: 200, JSON of the request's method, lower-cased headers and body (as text);
    anything else: 404 "not found".
    """
    if request.path == "/hello":
        return 200, [("Content-Type", "text/plain"), ("X-Custom", "yes")], b"hello world"
    if request.path == "/echo":
        echo = {
            "method": request.method,
            "headers": request.headers,
            "body": request.body.decode("latin-1"),
        }
        return 200, [], json.dumps(echo).encode()
    return 404, [], b"not found"


@pytest.fixture
def loopback(http_server: Callable[..., Loopback]) -> Loopback:
    return http_server(answer)


def requests_of(server: Loopback) -> list[tuple[str, str, bytes]]:
    """(method, path, body) of each request that ``server`` received."""
    return [(r.method, r.path, r.body) for r in server.requests]


def http_plugin(file: str, **options: Any) -> extism.Plugin:
    """A plugin of the HTTP fixture `file` allowed to reach 127.0.0.1."""
    plugin_options = {k: options.pop(k) for k in list(options) if k == "http_response_headers"}
    source = manifest(wasm(file), allowed_hosts=["127.0.0.1"], **options)
    return extism.Plugin(source, functions=[], **plugin_options)


def test_extism_http_request_loopback(loopback: Loopback, within_deadline: Deadline) -> None:
    plugin = http_plugin("extism__http.wasm")
    data = json.dumps({"url": loopback.url("/hello")})
    assert within_deadline(lambda: plugin.call("http_request", data)) == b"hello world"
    assert requests_of(loopback) == [("GET", "/hello", b"")]


def test_extism_http_request_loopback_post_with_data(
    loopback: Loopback, within_deadline: Deadline
) -> None:
    plugin = http_plugin("extism__http.wasm")
    data = json.dumps(
        {
            "url": loopback.url("/echo"),
            "method": "POST",
            "headers": {"X-Fixture": "extism"},
            "data": "posted text",
        }
    )
    echo = json.loads(within_deadline(lambda: plugin.call("http_request", data)))
    assert echo["method"] == "POST"
    assert echo["headers"]["x-fixture"] == "extism"
    assert echo["body"] == "posted text"


def test_js_sdk_http_get_loopback(loopback: Loopback, within_deadline: Deadline) -> None:
    plugin = http_plugin("js-sdk__http.wasm")
    data = json.dumps({"url": loopback.url("/hello")})
    assert within_deadline(lambda: plugin.call("http_get", data)) == b"hello world"
    assert requests_of(loopback) == [("GET", "/hello", b"")]


def test_js_sdk_http_post_loopback(loopback: Loopback, within_deadline: Deadline) -> None:
    plugin = http_plugin("js-sdk__http.wasm")
    data = json.dumps({"url": loopback.url("/echo"), "method": "POST", "data": "from js-sdk"})
    echo = json.loads(within_deadline(lambda: plugin.call("http_post", data)))
    assert echo["method"] == "POST"
    assert echo["body"] == "from js-sdk"


def test_js_sdk_http_max_http_response_bytes(loopback: Loopback, within_deadline: Deadline) -> None:
    plugin = http_plugin("js-sdk__http.wasm", memory={"max_http_response_bytes": 1})
    data = json.dumps({"url": loopback.url("/hello")})
    with pytest.raises(
        extism.Error, match="HTTP response exceeds the configured maximum number of bytes: 1"
    ):
        within_deadline(lambda: plugin.call("http_get", data))


def test_extism_http_headers_are_empty_without_the_extension(
    loopback: Loopback, within_deadline: Deadline
) -> None:
    # The reference Python SDK never enables header capture: the PDK sees no headers.
    plugin = http_plugin("extism__http_headers.wasm")
    data = json.dumps({"url": loopback.url("/hello")})
    assert json.loads(within_deadline(lambda: plugin.call("http_get", data))) == {}
    assert requests_of(loopback) == [("GET", "/hello", b"")]


def test_extism_http_headers_with_the_extension(
    loopback: Loopback, within_deadline: Deadline
) -> None:
    plugin = http_plugin("extism__http_headers.wasm", http_response_headers=True)
    data = json.dumps({"url": loopback.url("/hello")})
    headers = json.loads(within_deadline(lambda: plugin.call("http_get", data)))
    assert headers["content-type"] == "text/plain"
    assert headers["x-custom"] == "yes"
    assert headers["content-length"] == "11"


def test_legacy_js_pdk_out_gets_a_fresh_instance_per_call(legacy_js_out: CompiledPlugin) -> None:
    # The 0.x JS PDK traps on a second call into the same instance; 0.x hosts re-instantiated
    # WASI plugins before every call, and so do we for 0.x plugins.
    plugin = extism.Plugin(legacy_js_out)
    assert plugin.call("greet", "a") == b"Hello World from greet! a"
    assert plugin.call("greet", "b") == b"Hello World from greet! b"
    assert json.loads(plugin.call("count_vowels", "aeiou")) == {"count": 5}
    assert plugin.call("greet2", "c") == b"Hello World from greet2! c"


def test_legacy_go_pdk_example_keeps_vars_across_fresh_instances() -> None:
    plugin = extism.Plugin(manifest(wasm("legacy__go-pdk_example.wasm")), wasi=True, functions=[])
    for text, count in [("hello", 2), ("aaa", 3), ("", 0)]:
        out = json.loads(plugin.call("count_vowels", text))
        assert out["count"] == count
        assert out["a"] == "this is var a"
