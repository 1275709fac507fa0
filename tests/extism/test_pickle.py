"""Pickling `CompiledPlugin` and `Plugin`: round trips, manifest settings and plugin options that
travel, multi-module manifests, host functions (by name and by value), the errors of closed
objects and corrupt pickles, and process pools."""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import pickle
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import extism
import wasmtime
from extism import CompiledPlugin
from extism.extism import _unpickle_compiled_plugin

TESTS = Path(__file__).resolve().parents[1]
KERNEL_LIB = (Path(__file__).parent / "kernel_lib.wat").read_text()
CORRUPT = "cannot unpickle CompiledPlugin: "


def guest(body: str, imports: str = "", pages: int = 1) -> str:
    """A WAT module: ``imports``, the kernel library, ``pages`` of memory, then ``body``."""
    return "(module" + imports + KERNEL_LIB + f'(memory (export "memory") {pages})' + body + ")"


def manifest(wat: str, **fields: Any) -> dict[str, Any]:
    return {"wasm": [{"data": wat.encode()}], **fields}


# config (key = input), a variable "k" (set from the input, read back), spin, grow (by input
# length pages), hello.
GUEST = guest(
    """
  (data (i32.const 16) "k")
  (data (i32.const 32) "hello")
  (func (export "config") (result i32)
    (call $out_block (call $config_get (call $input_block))) (i32.const 0))
  (func (export "set_var") (result i32)
    (call $var_set (call $block (i32.const 16) (i32.const 1)) (call $input_block)) (i32.const 0))
  (func (export "get_var") (result i32)
    (call $out_block (call $var_get (call $block (i32.const 16) (i32.const 1)))) (i32.const 0))
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "grow") (result i32)
    (drop (memory.grow (i32.wrap_i64 (call $input_length)))) (i32.const 0))
  (func (export "hello") (result i32) (call $out (i32.const 32) (i32.const 5)) (i32.const 0))
""",
    imports="""
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
""",
)

# A library module and a main module that imports it by name.
LIB_WAT = """
(module
  (func (export "double") (param i32) (result i32) (i32.shl (local.get 0) (i32.const 1))))
"""
USES_LIB_WAT = guest(
    """
  (func (export "run") (result i32)
    (i32.store8 (i32.const 0) (call $double (i32.const 21)))
    (call $out (i32.const 0) (i32.const 1))
    (i32.const 0))
""",
    imports='(import "lib" "double" (func $double (param i32) (result i32)))',
)

WASI_GUEST = guest(
    """
  (data (i32.const 32) "bye")
  (func (export "exit0") (call $out (i32.const 32) (i32.const 3)) (call $proc_exit (i32.const 0)))
""",
    imports='(import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))',
)


def roundtrip(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj))


def compiled(source: Any = None, **kwargs: Any) -> CompiledPlugin:
    kwargs.setdefault("functions", [])
    return CompiledPlugin(manifest(GUEST) if source is None else source, **kwargs)


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The `pickle_jobs` helper module, importable by that name (also in spawned workers)."""
    monkeypatch.syspath_prepend(str(TESTS))
    yield importlib.import_module("pickle_jobs")


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


def test_compiled_plugin_round_trip() -> None:
    original = compiled()
    loaded = roundtrip(original)
    assert isinstance(loaded, CompiledPlugin)
    assert loaded is not original
    assert loaded.pointer != original.pointer
    assert extism.Plugin(loaded).call("hello", b"") == b"hello"
    # Unpickled again: still the same artifacts.
    assert roundtrip(loaded)._impl.artifacts() == original._impl.artifacts()


def test_compiled_plugin_reduce_shape() -> None:
    original = compiled(manifest(GUEST, config={"a": "b"}), fuel_limit=10_000)
    unpickle, args = original.__reduce__()
    assert unpickle is _unpickle_compiled_plugin
    artifacts, functions, wasi, fuel_limit, http_response_headers = args
    assert (functions, wasi, fuel_limit, http_response_headers) == ([], False, 10_000, False)
    fmt, version, settings, modules = artifacts
    assert (fmt, version) == (1, wasmtime.wasmtime_version)
    assert json.loads(settings)["config"] == {"a": "b"}
    assert [name for name, _ in modules] == ["main"]
    assert all(isinstance(code, bytes) and code for _, code in modules)


def test_plugin_round_trip_is_a_fresh_plugin() -> None:
    plugin = extism.Plugin(manifest(GUEST), functions=[])
    plugin.call("set_var", b"remembered")
    assert plugin.call("get_var", b"") == b"remembered"
    loaded = roundtrip(plugin)
    assert isinstance(loaded, extism.Plugin)
    assert loaded.id != plugin.id
    assert isinstance(loaded.compiled_plugin, CompiledPlugin)
    assert loaded.compiled_plugin is not plugin.compiled_plugin
    assert loaded.call("hello", b"") == b"hello"
    assert loaded.call("get_var", b"") == b""  # no variables of the original
    assert plugin.call("get_var", b"") == b"remembered"


def test_plugin_from_compiled_plugin_round_trip() -> None:
    source = compiled()
    plugin = extism.Plugin(source)
    loaded = roundtrip(plugin)
    assert loaded.call("hello", b"") == b"hello"
    assert loaded.compiled_plugin is not source
    # The original's compiled plugin is untouched, and still makes plugins.
    assert extism.Plugin(source).call("hello", b"") == b"hello"


# --------------------------------------------------------------------------------------------
# What travels
# --------------------------------------------------------------------------------------------


def test_manifest_config_travels() -> None:
    loaded = roundtrip(compiled(manifest(GUEST, config={"who": "manifest", "x": "1"})))
    plugin = extism.Plugin(loaded)
    assert plugin.call("config", b"who") == b"manifest"
    assert plugin.call("config", b"x") == b"1"
    assert plugin.call("config", b"missing") == b""


def test_plugin_config_override_travels() -> None:
    source = compiled(manifest(GUEST, config={"who": "manifest", "x": "1"}))
    plugin = extism.Plugin(source, config={"who": "override", "x": None})
    assert plugin.call("config", b"who") == b"override"
    loaded = roundtrip(plugin)
    assert loaded.call("config", b"who") == b"override"
    assert loaded.call("config", b"x") == b""
    # A plugin made from the unpickled compiled plugin has the manifest's config.
    assert extism.Plugin(loaded.compiled_plugin).call("config", b"who") == b"manifest"


def test_timeout_ms_travels(within_deadline: Any) -> None:
    loaded = roundtrip(compiled(manifest(GUEST, timeout_ms=100)))
    plugin = extism.Plugin(loaded)
    with pytest.raises(extism.Error) as exc:
        within_deadline(lambda: plugin.call("spin", b""), 30)
    assert str(exc.value) == "timeout"
    assert plugin.call("hello", b"") == b"hello"


def test_max_pages_travels() -> None:
    # One page of guest memory plus the kernel's; max_pages 3 leaves room for two more.
    loaded = roundtrip(compiled(manifest(GUEST, memory={"max_pages": 3})))
    plugin = extism.Plugin(loaded)
    plugin.call("grow", b"xx")
    with pytest.raises(extism.Error, match="^oom$"):
        plugin.call("grow", b"xx")
    unlimited = extism.Plugin(roundtrip(compiled()))
    unlimited.call("grow", b"xx")
    unlimited.call("grow", b"xx")


def test_all_manifest_settings_travel(tmp_path: Path) -> None:
    source = manifest(
        GUEST,
        config={"a": "b"},
        memory={"max_pages": 40, "max_var_bytes": 1000, "max_http_response_bytes": 2000},
        allowed_hosts=["example.com", "*.example.org"],
        allowed_paths={str(tmp_path): "/data"},
        timeout_ms=5000,
    )
    original = compiled(source)
    settings = json.loads(original._impl.artifacts()[2])
    assert settings == {
        "config": {"a": "b"},
        "max_pages": 40,
        "max_var_bytes": 1000,
        "max_http_response_bytes": 2000,
        "allowed_hosts": ["example.com", "*.example.org"],
        "allowed_paths": {str(tmp_path): "/data"},
        "timeout_ms": 5000,
    }
    assert roundtrip(original)._impl.artifacts()[2] == original._impl.artifacts()[2]


def test_max_var_bytes_travels() -> None:
    loaded = roundtrip(compiled(manifest(GUEST, memory={"max_var_bytes": 64})))
    plugin = extism.Plugin(loaded)
    plugin.call("set_var", b"short")
    assert plugin.call("get_var", b"") == b"short"
    with pytest.raises(extism.Error, match="Variable store is full"):
        plugin.call("set_var", b"x" * 100)
    unlimited = extism.Plugin(roundtrip(compiled()))
    unlimited.call("set_var", b"x" * 100)
    assert unlimited.call("get_var", b"") == b"x" * 100


def test_multi_module_manifest_travels() -> None:
    source = {"wasm": [{"data": LIB_WAT.encode(), "name": "lib"}, {"data": USES_LIB_WAT.encode()}]}
    original = compiled(source)
    assert [name for name, _ in original._impl.artifacts()[3]] == ["lib", "main"]
    loaded = roundtrip(original)
    assert extism.Plugin(loaded).call("run", b"") == bytes([42])
    assert roundtrip(extism.Plugin(original)).call("run", b"") == bytes([42])


def test_fuel_limit_travels() -> None:
    loaded = roundtrip(compiled(fuel_limit=50_000))
    plugin = extism.Plugin(loaded)
    with pytest.raises(extism.Error, match="^plugin ran out of fuel$"):
        plugin.call("spin", b"")
    assert plugin.call("hello", b"") == b"hello"  # refilled for each call


def test_wasi_travels() -> None:
    with pytest.raises(extism.Error, match="wasi_snapshot_preview1::proc_exit"):
        extism.Plugin(manifest(WASI_GUEST), functions=[])
    loaded = roundtrip(compiled(manifest(WASI_GUEST), wasi=True))
    assert extism.Plugin(loaded).call("exit0", b"") == b"bye"
    plugin = roundtrip(extism.Plugin(manifest(WASI_GUEST), wasi=True, functions=[]))
    assert plugin.call("exit0", b"") == b"bye"


def test_options_travel() -> None:
    original = compiled(wasi=True, fuel_limit=1234, http_response_headers=True)
    assert roundtrip(original).__reduce__()[1][1:] == ([], True, 1234, True)


# --------------------------------------------------------------------------------------------
# Host functions
# --------------------------------------------------------------------------------------------


def test_module_level_host_fn_pickles_by_name(jobs: ModuleType) -> None:
    assert roundtrip(jobs.shout) is jobs.shout
    assert b"pickle_jobs" in pickle.dumps(jobs.shout)


def test_function_pickles_by_value_with_its_user_data(jobs: ModuleType) -> None:
    function = extism.Function("scale", [extism.ValType.I64], [extism.ValType.I64], jobs.scale, 3)
    loaded = roundtrip(function)
    assert loaded is not function
    assert type(loaded) is extism.Function
    assert (loaded.namespace, loaded.name, loaded.args, loaded.returns) == (
        function.namespace,
        function.name,
        function.args,
        function.returns,
    )
    assert loaded.f is jobs.scale
    assert loaded.user_data == (3,)


def test_plugin_with_host_functions_by_name_and_by_value(jobs: ModuleType) -> None:
    source = CompiledPlugin(manifest(jobs.PLUGIN_WAT), functions=jobs.host_functions(3))
    loaded = roundtrip(source)
    assert loaded.functions[0] is jobs.shout
    plugin = extism.Plugin(loaded)
    assert plugin.call("shout", b"hey") == b"HEY!"
    assert plugin.call("scale", b"abcd") == bytes([12])
    again = roundtrip(extism.Plugin(manifest(jobs.PLUGIN_WAT), functions=jobs.host_functions(5)))
    assert again.call("scale", b"abcd") == bytes([20])


@pytest.fixture
def restore_registry() -> Iterator[None]:
    """`host_fn` adds to `HOST_FN_REGISTRY` (the default `functions`): undo that after the test."""
    registry = extism.extism.HOST_FN_REGISTRY
    saved = list(registry)
    yield
    registry[:] = saved


@pytest.mark.usefixtures("restore_registry")
def test_decorated_host_functions_pickle_by_value(jobs: ModuleType) -> None:
    inferred = extism.host_fn(name="shout", user_data="?")(jobs.exclaim)
    explicit = extism.host_fn(
        name="scale", signature=([extism.ValType.I64], [extism.ValType.I64]), user_data=7
    )(jobs.scale)
    assert type(roundtrip(inferred)) is type(inferred)
    assert type(roundtrip(explicit)) is type(explicit)
    source = CompiledPlugin(manifest(jobs.PLUGIN_WAT), functions=[inferred, explicit])
    plugin = extism.Plugin(roundtrip(source))
    assert plugin.call("shout", b"really") == b"really?"
    assert plugin.call("scale", b"abc") == bytes([21])


UNPICKLABLE = extism.Function("answer", [], [extism.ValType.I64], lambda cp, params, results: None)


def test_unpicklable_host_function_fails_the_pickle() -> None:
    source = CompiledPlugin(manifest(GUEST), functions=[UNPICKLABLE])
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(source)
    with pytest.raises(pickle.PicklingError):
        pickle.dumps(extism.Plugin(source))


# --------------------------------------------------------------------------------------------
# Closed objects and corrupt pickles
# --------------------------------------------------------------------------------------------


def test_closed_compiled_plugin_cannot_be_pickled() -> None:
    source = compiled()
    source.__del__()
    with pytest.raises(TypeError, match="^cannot pickle a closed CompiledPlugin$"):
        pickle.dumps(source)


def test_closed_plugin_cannot_be_pickled() -> None:
    plugin = extism.Plugin(manifest(GUEST), functions=[])
    plugin.__del__()
    with pytest.raises(TypeError, match="^cannot pickle a closed plugin$"):
        pickle.dumps(plugin)
    with extism.Plugin(manifest(GUEST), functions=[]) as plugin:
        pass
    with pytest.raises(TypeError, match="^cannot pickle a closed plugin$"):
        pickle.dumps(plugin)


def test_plugin_whose_compiled_plugin_was_closed_still_pickles() -> None:
    source = compiled()
    plugin = extism.Plugin(source)
    source.__del__()
    assert plugin.call("hello", b"") == b"hello"  # documented: plugins keep working
    assert roundtrip(plugin).call("hello", b"") == b"hello"


@pytest.fixture
def reduced() -> tuple[Any, ...]:
    unpickle, args = compiled(fuel_limit=10_000).__reduce__()
    assert unpickle is _unpickle_compiled_plugin
    return args


def unpickle_error(args: tuple[Any, ...]) -> str:
    with pytest.raises(extism.Error) as exc:
        _unpickle_compiled_plugin(*args)
    return str(exc.value)


def test_unpickle_with_unaltered_args(reduced: tuple[Any, ...]) -> None:
    assert extism.Plugin(_unpickle_compiled_plugin(*reduced)).call("hello", b"") == b"hello"


def test_corrupt_format(reduced: tuple[Any, ...]) -> None:
    (_, version, settings, modules), *rest = reduced
    message = unpickle_error(((2, version, settings, modules), *rest))
    assert message == CORRUPT + "pickle format 2, this wasmbridge reads 1"


def test_corrupt_version(reduced: tuple[Any, ...]) -> None:
    (fmt, version, settings, modules), *rest = reduced
    message = unpickle_error(((fmt, "47.0.0", settings, modules), *rest))
    assert message == CORRUPT + f"compiled by wasmtime 47.0.0, this is wasmtime {version}"


@pytest.mark.parametrize(
    "alter",
    [lambda code: b"junk", lambda code: code[: len(code) // 2], lambda code: b""],
    ids=["junk", "truncated", "empty"],
)
def test_corrupt_code(reduced: tuple[Any, ...], alter: Any) -> None:
    (fmt, version, settings, [(name, code)]), *rest = reduced
    message = unpickle_error(((fmt, version, settings, [(name, alter(code))]), *rest))
    assert message.startswith(CORRUPT + "module main: ")


def test_code_compiled_with_fuel_loaded_without(reduced: tuple[Any, ...]) -> None:
    artifacts, functions, wasi, _, headers = reduced
    message = unpickle_error((artifacts, functions, wasi, None, headers))
    assert message.startswith(CORRUPT + "module main: ")
    assert "fuel" in message


@pytest.mark.parametrize("modules", ["no-modules", "only-a-library"])
def test_missing_main_module(reduced: tuple[Any, ...], modules: str) -> None:
    (fmt, version, settings, [(_, code)]), *rest = reduced
    listed = [] if modules == "no-modules" else [("lib", code)]
    message = unpickle_error(((fmt, version, settings, listed), *rest))
    assert message == CORRUPT + "the pickle has no main module"


def test_corrupt_settings(reduced: tuple[Any, ...]) -> None:
    (fmt, version, _, modules), *rest = reduced
    message = unpickle_error(((fmt, version, "{not json", modules), *rest))
    assert message.startswith(CORRUPT + "bad manifest settings: ")


# --------------------------------------------------------------------------------------------
# Process pools
# --------------------------------------------------------------------------------------------


def test_spawn_pool_worker_receives_plugins(jobs: ModuleType) -> None:
    source = CompiledPlugin(manifest(jobs.PLUGIN_WAT), functions=jobs.host_functions(3))
    plugin = extism.Plugin(manifest(jobs.PLUGIN_WAT), functions=jobs.host_functions(4))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        shouted = pool.submit(jobs.call_plugin, source, "shout", b"spawned")
        scaled = pool.submit(jobs.call_plugin, source, "scale", b"abc")
        from_plugin = pool.submit(jobs.call_plugin, plugin, "scale", b"abc")
        pid, output = shouted.result(timeout=60)
        assert pid != os.getpid()
        assert output == b"SPAWNED!"
        assert scaled.result(timeout=60)[1] == bytes([9])
        assert from_plugin.result(timeout=60)[1] == bytes([12])


def fork_job(plugin: extism.Plugin, name: str, queue: Any) -> None:
    try:
        queue.put(plugin.call(name, b""))
    except extism.Error as exc:
        queue.put(exc)


@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_fork_worker_receives_a_plugin() -> None:
    plugin = extism.Plugin(manifest(GUEST, config={"who": "parent"}), functions=[])
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        calls = [pool.submit(roundtrip_call, plugin, "hello") for _ in range(4)]
        assert [c.result(timeout=60) for c in calls] == [b"hello"] * 4


def roundtrip_call(plugin: extism.Plugin, name: str) -> bytes:
    return bytes(plugin.call(name, b""))


@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_timeout_ms_works_in_a_forked_worker() -> None:
    source = compiled(manifest(GUEST, timeout_ms=100))
    # The ticker has started in this process before the fork.
    with pytest.raises(extism.Error, match="^timeout$"):
        extism.Plugin(source).call("spin", b"")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=fork_job, args=(extism.Plugin(source), "spin", queue))
    worker.start()
    try:
        worker.join(3)
        assert not worker.is_alive(), "the worker's call did not time out"
        outcome = queue.get(timeout=5)
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()
    assert isinstance(outcome, extism.Error)
    assert str(outcome) == "timeout"
