"""Compiled code reuse: Module.serialize/deserialize across engines, and the compilation cache.

The basic serialize round trip, `deserialize_file`, garbage input and the Config.cache setter's
error cases are covered in test_module.py and test_config.py; this file adds what they do not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmtime import (
    Config,
    Engine,
    Func,
    FuncType,
    Instance,
    Module,
    Store,
    ValType,
    WasmtimeError,
)

# Imports, memory with a data segment, a mutable global: more than a bare function to restore.
RICH_WAT = """
(module
  (import "" "h" (func $h (param i32) (result i32)))
  (memory (export "mem") 1)
  (data (i32.const 16) "hi!")
  (global (export "g") (mut i64) (i64.const 5))
  (func (export "run") (param i32) (result i32) local.get 0 call $h i32.const 1 i32.add))
"""


def const_wat(n: int) -> str:
    return f'(module (func (export "f") (result i32) i32.const {n}))'


def run_rich(engine: Engine, module: Module) -> tuple[int, bytearray, int]:
    store = Store(engine)
    h = Func(store, FuncType([ValType.i32()], [ValType.i32()]), lambda x: x * 10)
    ex = Instance(store, module, [h]).exports(store)
    return ex["run"](store, 4), ex["mem"].read(store, 16, 19), ex["g"].value(store)


def run_const(engine: Engine, module: Module) -> int:
    store = Store(engine)
    return Instance(store, module, []).exports(store)["f"](store)


# --------------------------------------------------------------------------------------------
# serialize / deserialize
# --------------------------------------------------------------------------------------------


def test_roundtrip_into_another_engine_with_same_config() -> None:
    encoded = Module(Engine(), RICH_WAT).serialize()
    engine = Engine()
    module = Module.deserialize(engine, encoded)
    assert [(i.module, i.name) for i in module.imports] == [("", "h")]
    assert [e.name for e in module.exports] == ["mem", "g", "run"]
    assert run_rich(engine, module) == (41, bytearray(b"hi!"), 5)


def test_deserialized_module_serializes_again(engine: Engine) -> None:
    first = Module(engine, RICH_WAT).serialize()
    again = Module.deserialize(engine, first).serialize()
    assert isinstance(again, bytearray)
    assert run_rich(engine, Module.deserialize(engine, again)) == (41, bytearray(b"hi!"), 5)


def test_serialized_artifact_is_native_object(engine: Engine) -> None:
    # wasmtime's precompiled format is an ELF image, not wasm.
    encoded = Module(engine, const_wat(1)).serialize()
    assert bytes(encoded[:4]) == b"\x7fELF"


@pytest.mark.parametrize("cut", [10, 64, "half"])
def test_deserialize_truncated(engine: Engine, cut: int | str) -> None:
    encoded = Module(engine, RICH_WAT).serialize()
    end = len(encoded) // 2 if cut == "half" else cut
    assert isinstance(end, int)
    with pytest.raises(WasmtimeError):
        Module.deserialize(engine, encoded[:end])


def test_deserialize_empty(engine: Engine) -> None:
    with pytest.raises(WasmtimeError, match="failed to parse precompiled artifact"):
        Module.deserialize(engine, b"")


def test_deserialize_file_garbage(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "garbage.cwasm"
    path.write_bytes(b"garbage")
    with pytest.raises(WasmtimeError, match="failed deserialization for"):
        Module.deserialize_file(engine, str(path))


def test_deserialize_file_survives_file_removal(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "rich.cwasm"
    path.write_bytes(bytes(Module(engine, RICH_WAT).serialize()))
    module = Module.deserialize_file(engine, str(path))
    path.unlink()
    assert run_rich(engine, module) == (41, bytearray(b"hi!"), 5)


def fuel_engine() -> Engine:
    config = Config()
    config.consume_fuel = True
    return Engine(config)


def test_fuel_mismatch_both_directions() -> None:
    plain = Module(Engine(), const_wat(1)).serialize()
    fueled = Module(fuel_engine(), const_wat(1)).serialize()
    with pytest.raises(WasmtimeError) as exc:
        Module.deserialize(fuel_engine(), plain)
    assert str(exc.value) == (
        "Module was compiled without fuel support but it is enabled for the host"
    )
    with pytest.raises(WasmtimeError) as exc:
        Module.deserialize(Engine(), fueled)
    assert str(exc.value) == (
        "Module was compiled with fuel support but it is not enabled for the host"
    )


def test_feature_mismatch() -> None:
    encoded = Module(Engine(), const_wat(1)).serialize()
    config = Config()
    config.wasm_threads = False
    with pytest.raises(WasmtimeError, match="WebAssembly feature `threads`"):
        Module.deserialize(Engine(config), encoded)


def test_fuel_module_runs_after_deserialize() -> None:
    engine = fuel_engine()
    module = Module.deserialize(engine, Module(fuel_engine(), const_wat(9)).serialize())
    store = Store(engine)
    store.set_fuel(1000)
    f = Instance(store, module, []).exports(store)["f"]
    assert f(store) == 9
    assert store.get_fuel() < 1000


# --------------------------------------------------------------------------------------------
# Config.cache
# --------------------------------------------------------------------------------------------


def write_cache_config(tmp_path: Path) -> tuple[Path, Path]:
    cache_dir = tmp_path / "cache-dir"
    toml = tmp_path / "cache.toml"
    toml.write_text(f"[cache]\ndirectory = {str(cache_dir)!r}\n")
    return toml, cache_dir


def cached_engine(toml: Path, fuel: bool = False) -> Engine:
    config = Config()
    config.cache = str(toml)
    if fuel:
        config.consume_fuel = True
    return Engine(config)


def cache_entries(cache_dir: Path) -> set[Path]:
    """The compiled-module files of the cache (not its .stats files or worker markers)."""
    if not cache_dir.exists():
        return set()
    return {
        p
        for p in cache_dir.rglob("*")
        # Not the worker's usage stats, nor files it is writing (renamed into place when done).
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix != ".stats"
        and ".wip-atomic-write-" not in p.name
    }


def test_cache_true_is_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    config = Config()
    config.cache = True
    engine = Engine(config)
    assert run_const(engine, Module(engine, const_wat(4))) == 4


def test_cache_writes_entries(tmp_path: Path) -> None:
    toml, cache_dir = write_cache_config(tmp_path)
    engine = cached_engine(toml)
    assert cache_entries(cache_dir) == set()
    Module(engine, const_wat(1))
    first = cache_entries(cache_dir)
    assert len(first) == 1
    Module(engine, const_wat(2))
    assert len(cache_entries(cache_dir)) == 2
    # Compiling the same wasm again adds nothing.
    Module(engine, const_wat(1))
    assert len(cache_entries(cache_dir)) == 2


def test_second_engine_hits_the_cache(tmp_path: Path) -> None:
    toml, cache_dir = write_cache_config(tmp_path)
    engine1 = cached_engine(toml)
    Module(engine1, const_wat(1))
    (entry_1,) = cache_entries(cache_dir)
    Module(engine1, const_wat(2))
    (entry_2,) = cache_entries(cache_dir) - {entry_1}
    # Swap the two cached artifacts. A fresh engine that really loads from the cache (instead
    # of compiling) now runs the other module's code: proof of a hit, without timing anything.
    code_1, code_2 = entry_1.read_bytes(), entry_2.read_bytes()
    entry_1.write_bytes(code_2)
    entry_2.write_bytes(code_1)
    engine2 = cached_engine(toml)
    assert run_const(engine2, Module(engine2, const_wat(1))) == 2
    assert run_const(engine2, Module(engine2, const_wat(2))) == 1
    assert len(cache_entries(cache_dir)) == 2
    # An engine without the cache compiles for real.
    plain = Engine()
    assert run_const(plain, Module(plain, const_wat(1))) == 1


def test_cache_key_includes_engine_config(tmp_path: Path) -> None:
    toml, cache_dir = write_cache_config(tmp_path)
    Module(cached_engine(toml), const_wat(1))
    (entry,) = cache_entries(cache_dir)
    entry.write_bytes(b"not used by an engine with another config")
    engine = cached_engine(toml, fuel=True)
    module = Module(engine, const_wat(1))
    assert len(cache_entries(cache_dir)) == 2
    store = Store(engine)
    store.set_fuel(100)
    assert Instance(store, module, []).exports(store)["f"](store) == 1


def test_corrupt_cache_entry_is_recompiled(tmp_path: Path) -> None:
    toml, cache_dir = write_cache_config(tmp_path)
    Module(cached_engine(toml), const_wat(5))
    (entry,) = cache_entries(cache_dir)
    entry.write_bytes(b"corrupted")
    engine = cached_engine(toml)
    assert run_const(engine, Module(engine, const_wat(5))) == 5


def test_cache_config_unknown_field(tmp_path: Path) -> None:
    # wasmtime 48 has no `enabled` key: the file's presence turns the cache on.
    toml = tmp_path / "cache.toml"
    toml.write_text(f"[cache]\nenabled = true\ndirectory = {str(tmp_path)!r}\n")
    config = Config()
    with pytest.raises(WasmtimeError, match="unknown field `enabled`"):
        config.cache = str(toml)


def test_cache_config_without_cache_table(tmp_path: Path) -> None:
    toml = tmp_path / "cache.toml"
    toml.write_text("")
    config = Config()
    with pytest.raises(WasmtimeError, match="missing field `cache`"):
        config.cache = str(toml)


def test_cache_setter_messages(tmp_path: Path) -> None:
    config = Config()
    with pytest.raises(WasmtimeError) as exc:
        config.cache = False
    assert str(exc.value) == "caching cannot be explicitly disabled"
    with pytest.raises(WasmtimeError, match="^failed to read config file"):
        config.cache = str(tmp_path / "missing.toml")
    with pytest.raises(TypeError):
        config.cache = 1  # type: ignore[assignment]
    # The config is still usable after the failures.
    toml, cache_dir = write_cache_config(tmp_path)
    config.cache = str(toml)
    engine = Engine(config)
    assert run_const(engine, Module(engine, const_wat(6))) == 6
    assert len(cache_entries(cache_dir)) == 1
