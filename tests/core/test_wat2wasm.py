"""wat2wasm: text to binary conversion."""

from __future__ import annotations

import doctest

import pytest

import wasmtime
from wasmtime import Engine, Module, WasmtimeError, wat2wasm


def test_empty_module() -> None:
    out = wat2wasm("(module)")
    assert type(out) is bytearray
    assert out == bytearray(b"\x00asm\x01\x00\x00\x00")


def test_bytes_input() -> None:
    assert wat2wasm(b"(module)") == bytearray(b"\x00asm\x01\x00\x00\x00")


def test_output_compiles() -> None:
    binary = wat2wasm('(module (func (export "f") (result i32) i32.const 3))')
    assert binary[:4] == b"\x00asm"
    module = Module(Engine(), binary)
    assert [e.name for e in module.exports] == ["f"]


def test_names_section_emitted() -> None:
    with_names = wat2wasm("(module $m (func $f))")
    without = wat2wasm("(module (func))")
    assert b"name" in with_names
    assert len(with_names) > len(without)


def test_parse_error_message() -> None:
    with pytest.raises(WasmtimeError) as info:
        wat2wasm("x")
    assert str(info.value) == "expected `(`\n     --> <anon>:1:1\n      |\n    1 | x\n      | ^"


def test_parse_error_types() -> None:
    with pytest.raises(WasmtimeError):
        wat2wasm("(module (func (result i32) i32.const))")
    with pytest.raises(WasmtimeError):
        wat2wasm("(module")
    with pytest.raises(WasmtimeError):
        wat2wasm(b"\xff\xfe")


def test_non_string_input() -> None:
    with pytest.raises(TypeError):
        wat2wasm(12)  # type: ignore[arg-type]


def test_docstring_example() -> None:
    finder = doctest.DocTestFinder()
    tests = finder.find(
        wasmtime.wat2wasm, "wat2wasm", module=False, globs={"wat2wasm": wasmtime.wat2wasm}
    )
    examples = [ex for t in tests for ex in t.examples]
    assert any("wat2wasm('(module)')" in ex.source for ex in examples)
    runner = doctest.DocTestRunner(verbose=False)
    for t in tests:
        runner.run(t)
    results = runner.summarize(verbose=False)
    assert results.failed == 0
    assert results.attempted >= 1
