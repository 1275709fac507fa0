"""Module: compilation from WAT/binary, validation, files, types, serialization."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmtime import (
    Config,
    Engine,
    ExportType,
    FuncType,
    GlobalType,
    ImportType,
    Instance,
    Limits,
    MemoryType,
    Module,
    Store,
    TableType,
    ValType,
    WasmtimeError,
    wat2wasm,
)

ANSWER_WAT = '(module (func (export "answer") (result i32) i32.const 42))'


def call_answer(engine: Engine, module: Module) -> int:
    store = Store(engine)
    return Instance(store, module, []).exports(store)["answer"](store)


def test_module_from_wat_str(engine: Engine) -> None:
    module = Module(engine, ANSWER_WAT)
    assert call_answer(engine, module) == 42


def test_module_from_wat_bytes(engine: Engine) -> None:
    module = Module(engine, ANSWER_WAT.encode())
    assert call_answer(engine, module) == 42
    Module(engine, b"(module)")


def test_module_from_binary(engine: Engine) -> None:
    binary = wat2wasm(ANSWER_WAT)
    assert call_answer(engine, Module(engine, bytes(binary))) == 42
    assert call_answer(engine, Module(engine, binary)) == 42


def test_module_from_str_starting_with_nul_is_binary(engine: Engine) -> None:
    # A str whose first char is NUL is not WAT; it is not bytes either.
    with pytest.raises(TypeError, match="^expected wasm bytes$"):
        Module(engine, "\0asm\x01\0\0\0")


def test_module_requires_engine() -> None:
    with pytest.raises(TypeError, match="^expected an Engine$"):
        Module(Store(), "(module)")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^expected an Engine$"):
        Module(None, "(module)")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [1, None, ["(module)"], ""])
def test_module_rejects_non_bytes(engine: Engine, bad: object) -> None:
    with pytest.raises(TypeError, match="^expected wasm bytes$"):
        Module(engine, bad)  # type: ignore[arg-type]


def test_module_empty_bytes(engine: Engine) -> None:
    with pytest.raises(WasmtimeError) as exc:
        Module(engine, b"")
    assert "unexpected end-of-file" in str(exc.value)


def test_module_single_nul_byte(engine: Engine) -> None:
    with pytest.raises(WasmtimeError):
        Module(engine, b"\x00")


def test_module_bad_wat(engine: Engine) -> None:
    with pytest.raises(WasmtimeError):
        Module(engine, "(module (func (result i32) i32.const))")
    with pytest.raises(WasmtimeError):
        Module(engine, "not wat at all")


def test_module_invalid_binary(engine: Engine) -> None:
    with pytest.raises(WasmtimeError) as exc:
        Module(engine, b"\x00asm\x01\x00\x00\x00\x01")
    assert "failed to parse WebAssembly module" in str(exc.value)


def test_module_type_error_in_wasm(engine: Engine) -> None:
    # Well-formed text but invalid: returns an i64 where an i32 is declared.
    with pytest.raises(WasmtimeError):
        Module(engine, "(module (func (result i32) i64.const 1))")


def test_validate_ok(engine: Engine) -> None:
    assert Module.validate(engine, wat2wasm(ANSWER_WAT)) is None
    assert Module.validate(engine, bytes(wat2wasm("(module)"))) is None


def test_validate_invalid(engine: Engine) -> None:
    with pytest.raises(WasmtimeError):
        Module.validate(engine, b"\x00asm\x01\x00\x00\x00\xff")
    # Text is not accepted by validate: it is binary only.
    with pytest.raises(WasmtimeError):
        Module.validate(engine, b"(module)")


@pytest.mark.parametrize("bad", ["(module)", 3, None])
def test_validate_type_error(engine: Engine, bad: object) -> None:
    with pytest.raises(TypeError, match="^expected wasm bytes$"):
        Module.validate(engine, bad)  # type: ignore[arg-type]


def test_validate_non_engine() -> None:
    with pytest.raises(AttributeError):
        Module.validate(1, b"")  # type: ignore[arg-type]


def test_validate_respects_engine_config() -> None:
    config = Config()
    config.wasm_multi_memory = False
    engine = Engine(config)
    binary = wat2wasm("(module (memory 1) (memory 1))")
    with pytest.raises(WasmtimeError):
        Module.validate(engine, binary)
    Module.validate(Engine(), binary)


def test_from_file_wat(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "answer.wat"
    path.write_text(ANSWER_WAT)
    assert call_answer(engine, Module.from_file(engine, str(path))) == 42
    assert call_answer(engine, Module.from_file(engine, path)) == 42
    assert call_answer(engine, Module.from_file(engine, str(path).encode())) == 42


def test_from_file_binary(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "answer.wasm"
    path.write_bytes(bytes(wat2wasm(ANSWER_WAT)))
    assert call_answer(engine, Module.from_file(engine, path)) == 42


def test_from_file_missing(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises((OSError, WasmtimeError)):
        Module.from_file(engine, tmp_path / "nope.wasm")


def test_from_file_invalid(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.wat"
    path.write_text("(module (func i32.add))")
    with pytest.raises(WasmtimeError):
        Module.from_file(engine, path)


IMPORTS_WAT = """
(module
  (import "env" "f" (func (param i32 i64) (result f32)))
  (import "env" "g" (global (mut f64)))
  (import "other" "t" (table 1 5 funcref))
  (import "other" "m" (memory 2 3))
  (import "env" "c" (global i32))
)
"""


def test_imports(engine: Engine) -> None:
    imports = Module(engine, IMPORTS_WAT).imports
    assert isinstance(imports, list)
    assert len(imports) == 5
    assert all(isinstance(i, ImportType) for i in imports)
    assert [(i.module, i.name) for i in imports] == [
        ("env", "f"),
        ("env", "g"),
        ("other", "t"),
        ("other", "m"),
        ("env", "c"),
    ]
    f, g, t, m, c = (i.type for i in imports)
    assert isinstance(f, FuncType)
    assert f.params == [ValType.i32(), ValType.i64()]
    assert f.results == [ValType.f32()]
    assert isinstance(g, GlobalType)
    assert g.content == ValType.f64()
    assert g.mutable is True
    assert isinstance(t, TableType)
    assert t.element == ValType.funcref()
    assert t.limits == Limits(1, 5)
    assert isinstance(m, MemoryType)
    assert m.limits == Limits(2, 3)
    assert isinstance(c, GlobalType)
    assert c.mutable is False
    assert c.content == ValType.i32()


EXPORTS_WAT = """
(module
  (func (export "run") (param externref) (result i32 i64) i32.const 0 i64.const 0)
  (memory (export "mem") 1)
  (table (export "tab") 3 externref)
  (global (export "glob") (mut i64) (i64.const 0))
)
"""


def test_exports(engine: Engine) -> None:
    exports = Module(engine, EXPORTS_WAT).exports
    assert isinstance(exports, list)
    assert all(isinstance(e, ExportType) for e in exports)
    assert [e.name for e in exports] == ["run", "mem", "tab", "glob"]
    run, mem, tab, glob = (e.type for e in exports)
    assert isinstance(run, FuncType)
    assert run.params == [ValType.externref()]
    assert run.results == [ValType.i32(), ValType.i64()]
    assert isinstance(mem, MemoryType)
    assert mem.limits == Limits(1, None)
    assert isinstance(tab, TableType)
    assert tab.element == ValType.externref()
    assert tab.limits == Limits(3, None)
    assert isinstance(glob, GlobalType)
    assert glob.content == ValType.i64()
    assert glob.mutable is True


def test_no_imports_no_exports(engine: Engine) -> None:
    module = Module(engine, "(module)")
    assert module.imports == []
    assert module.exports == []


def test_serialize_roundtrip(engine: Engine) -> None:
    module = Module(engine, ANSWER_WAT)
    encoded = module.serialize()
    assert isinstance(encoded, bytearray)
    assert len(encoded) > 0
    assert call_answer(engine, Module.deserialize(engine, encoded)) == 42
    assert call_answer(engine, Module.deserialize(engine, bytes(encoded))) == 42
    again = Module.deserialize(engine, encoded)
    assert [e.name for e in again.exports] == ["answer"]


def test_deserialize_file(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "answer.cwasm"
    path.write_bytes(bytes(Module(engine, ANSWER_WAT).serialize()))
    assert call_answer(engine, Module.deserialize_file(engine, str(path))) == 42


def test_deserialize_file_missing(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(WasmtimeError):
        Module.deserialize_file(engine, str(tmp_path / "missing.cwasm"))


@pytest.mark.parametrize("bad", ["text", 12, None])
def test_deserialize_type_error(engine: Engine, bad: object) -> None:
    with pytest.raises(TypeError, match="^expected bytes$"):
        Module.deserialize(engine, bad)  # type: ignore[arg-type]


def test_deserialize_garbage(engine: Engine) -> None:
    with pytest.raises(WasmtimeError):
        Module.deserialize(engine, b"definitely not a compiled module")
    # Raw wasm is not a serialized module either.
    with pytest.raises(WasmtimeError):
        Module.deserialize(engine, wat2wasm(ANSWER_WAT))


def test_deserialize_incompatible_engine(engine: Engine) -> None:
    encoded = Module(engine, ANSWER_WAT).serialize()
    config = Config()
    config.consume_fuel = True
    with pytest.raises(WasmtimeError):
        Module.deserialize(Engine(config), encoded)


def test_module_usable_in_many_stores(engine: Engine) -> None:
    module = Module(engine, ANSWER_WAT)
    assert [call_answer(engine, module) for _ in range(3)] == [42, 42, 42]
