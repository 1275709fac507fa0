"""Config: write-only setters, their type checks and their effect on engines."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

from wasmtime import Config, Engine, Module, Store, WasmtimeError

BOOL_SETTERS = [
    "debug_info",
    "wasm_threads",
    "wasm_tail_call",
    "wasm_reference_types",
    "wasm_simd",
    "wasm_bulk_memory",
    "wasm_multi_value",
    "wasm_multi_memory",
    "wasm_memory64",
    "wasm_relaxed_simd",
    "wasm_relaxed_simd_deterministic",
    "wasm_exceptions",
    "wasm_function_references",
    "wasm_gc",
    "wasm_wide_arithmetic",
    "wasm_custom_page_sizes",
    "wasm_stack_switching",
    "wasm_component_model",
    "wasm_component_model_map",
    "cranelift_debug_verifier",
    "cranelift_nan_canonicalization",
    "consume_fuel",
    "parallel_compilation",
    "shared_memory",
    "gc_support",
    "memory_may_move",
    "native_unwind_info",
    "macos_use_mach_ports",
    "signals_based_traps",
    "memory_init_cow",
]

INT_SETTERS = [
    "max_wasm_stack",
    "memory_reservation",
    "memory_guard_size",
    "memory_reservation_for_growth",
]

OTHER_SETTERS = [
    "strategy",
    "cranelift_opt_level",
    "profiler",
    "cache",
    "epoch_interruption",
    "target",
]

ALL_SETTERS = BOOL_SETTERS + INT_SETTERS + OTHER_SETTERS


def host_triple() -> str:
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform.startswith("linux"):
        return f"{arch}-unknown-linux-gnu"
    if sys.platform == "darwin":
        return f"{arch}-apple-darwin"
    return f"{arch}-pc-windows-msvc"


@pytest.mark.parametrize("name", BOOL_SETTERS)
@pytest.mark.parametrize("value", [True, False])
def test_bool_setter_accepts_bool(name: str, value: bool) -> None:
    config = Config()
    setattr(config, name, value)


@pytest.mark.parametrize("name", BOOL_SETTERS)
@pytest.mark.parametrize("bad", [1, "true", None])
def test_bool_setter_rejects_non_bool(name: str, bad: object) -> None:
    config = Config()
    with pytest.raises(TypeError, match="^expected a bool$"):
        setattr(config, name, bad)


@pytest.mark.parametrize("name", ALL_SETTERS)
def test_setters_are_write_only(name: str) -> None:
    config = Config()
    with pytest.raises(AttributeError):
        getattr(config, name)


@pytest.mark.parametrize("name", INT_SETTERS)
def test_int_setters(name: str) -> None:
    config = Config()
    setattr(config, name, 1 << 20)
    with pytest.raises(TypeError):
        setattr(config, name, "big")
    with pytest.raises(TypeError):
        setattr(config, name, 1.5)


def test_max_wasm_stack_type_error_message() -> None:
    config = Config()
    with pytest.raises(TypeError, match="^expected an int$"):
        config.max_wasm_stack = "1"  # type: ignore[assignment]


@pytest.mark.parametrize("value", ["auto", "cranelift"])
def test_strategy_ok(value: str) -> None:
    config = Config()
    config.strategy = value
    Engine(config)


def test_strategy_unknown() -> None:
    config = Config()
    with pytest.raises(WasmtimeError) as exc:
        config.strategy = "interpreter-of-doom"
    assert str(exc.value).startswith("unknown strategy")


@pytest.mark.parametrize("value", ["none", "speed", "speed_and_size"])
def test_cranelift_opt_level_ok(value: str) -> None:
    config = Config()
    config.cranelift_opt_level = value
    engine = Engine(config)
    Module(engine, '(module (func (export "f") (result i32) i32.const 1))')


@pytest.mark.parametrize("value", ["fast", "", "SPEED"])
def test_cranelift_opt_level_unknown(value: str) -> None:
    config = Config()
    with pytest.raises(WasmtimeError):
        config.cranelift_opt_level = value


@pytest.mark.parametrize("value", ["none", "jitdump", "vtune", "perfmap"])
def test_profiler_known_values(value: str) -> None:
    config = Config()
    config.profiler = value


@pytest.mark.parametrize("value", ["gprof", "", "NONE"])
def test_profiler_unknown(value: str) -> None:
    config = Config()
    with pytest.raises(WasmtimeError):
        config.profiler = value


def test_epoch_interruption_accepts_any_truthy_value() -> None:
    config = Config()
    config.epoch_interruption = 1  # type: ignore[assignment]
    config.epoch_interruption = ""  # type: ignore[assignment]
    config.epoch_interruption = True


def test_cache_false_is_error() -> None:
    config = Config()
    with pytest.raises(WasmtimeError, match="caching cannot be explicitly disabled"):
        config.cache = False


@pytest.mark.parametrize("bad", [1, None, 2.5])
def test_cache_bad_type(bad: object) -> None:
    config = Config()
    with pytest.raises(TypeError):
        config.cache = bad  # type: ignore[assignment]


def test_cache_missing_file(tmp_path: Path) -> None:
    config = Config()
    with pytest.raises(WasmtimeError):
        config.cache = str(tmp_path / "does-not-exist.toml")


def test_cache_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "cache.toml"
    path.write_text("[cache]\nthis-key-does-not-exist = 3\n")
    config = Config()
    with pytest.raises(WasmtimeError):
        config.cache = str(path)


def test_cache_from_file_uses_directory(tmp_path: Path) -> None:
    cache_dir = tmp_path / "the-cache"
    path = tmp_path / "cache.toml"
    path.write_text(f"[cache]\ndirectory = {str(cache_dir)!r}\n")
    config = Config()
    config.cache = str(path)
    engine = Engine(config)
    Module(engine, '(module (func (export "f")))')
    assert cache_dir.is_dir()


def test_cache_true_uses_default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    config = Config()
    config.cache = True
    engine = Engine(config)
    Module(engine, '(module (func (export "f")))')
    assert (tmp_path / "xdg-cache").is_dir()


def test_target_host_triple_ok() -> None:
    config = Config()
    config.target = host_triple()
    Engine(config)


def test_target_bogus_triple() -> None:
    config = Config()
    with pytest.raises(WasmtimeError):
        config.target = "not-a-real-triple-at-all"


def test_target_requires_str() -> None:
    config = Config()
    with pytest.raises(TypeError):
        config.target = 64  # type: ignore[assignment]


def test_cranelift_flags() -> None:
    config = Config()
    config.cranelift_flag_enable("enable_verifier")
    config.cranelift_flag_set("opt_level", "speed")
    with pytest.raises(TypeError):
        config.cranelift_flag_enable(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        config.cranelift_flag_set("opt_level", 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        config.cranelift_flag_set(None, "x")  # type: ignore[arg-type]


def test_all_setters_together_make_a_working_engine() -> None:
    config = Config()
    config.debug_info = True
    config.wasm_threads = True
    config.wasm_tail_call = True
    config.wasm_reference_types = True
    config.wasm_simd = True
    config.wasm_bulk_memory = True
    config.wasm_multi_value = True
    config.wasm_multi_memory = True
    config.wasm_memory64 = True
    config.wasm_relaxed_simd = True
    config.wasm_relaxed_simd_deterministic = True
    config.wasm_exceptions = True
    config.wasm_function_references = True
    config.wasm_gc = True
    config.wasm_wide_arithmetic = True
    config.wasm_custom_page_sizes = True
    config.wasm_component_model = True
    config.strategy = "cranelift"
    config.cranelift_debug_verifier = True
    config.cranelift_opt_level = "speed_and_size"
    config.cranelift_nan_canonicalization = True
    config.profiler = "none"
    config.epoch_interruption = True
    config.consume_fuel = True
    config.parallel_compilation = False
    config.shared_memory = True
    config.max_wasm_stack = 256 * 1024
    config.gc_support = True
    config.memory_may_move = True
    config.memory_reservation = 1 << 32
    config.memory_guard_size = 1 << 16
    config.memory_reservation_for_growth = 1 << 20
    config.native_unwind_info = True
    config.signals_based_traps = True
    config.memory_init_cow = True
    engine = Engine(config)
    store = Store(engine)
    store.set_fuel(1000)
    store.set_epoch_deadline(10)
    module = Module(engine, '(module (func (export "f") (result i32) i32.const 7))')
    assert len(module.exports) == 1


def test_consume_fuel_setting_takes_effect() -> None:
    config = Config()
    config.consume_fuel = True
    store = Store(Engine(config))
    assert store.get_fuel() == 0
    plain = Store(Engine())
    with pytest.raises(WasmtimeError, match="fuel is not configured in this store"):
        plain.get_fuel()


def test_disabled_feature_rejects_module() -> None:
    config = Config()
    config.wasm_multi_memory = False
    engine = Engine(config)
    wat = "(module (memory 1) (memory 1))"
    with pytest.raises(WasmtimeError):
        Module(engine, wat)
    # The default engine accepts the same module.
    Module(Engine(), wat)


def test_engine_rejects_invalid_config() -> None:
    config = Config()
    config.max_wasm_stack = 0
    with pytest.raises(WasmtimeError, match="max_wasm_stack"):
        Engine(config)


def test_setter_after_close_raises() -> None:
    config = Config()
    config.close()
    with pytest.raises(ValueError, match="already closed"):
        config.debug_info = True
    with pytest.raises(ValueError, match="already closed"):
        config.cranelift_flag_enable("enable_verifier")


def test_setter_after_consumed_by_engine_raises() -> None:
    config = Config()
    Engine(config)
    with pytest.raises(ValueError):
        config.consume_fuel = True
