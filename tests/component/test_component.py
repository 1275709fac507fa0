"""`Component` and `ExportIndex` (spec §3.1)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import wasmtime
from wasmtime import Engine, Managed, WasmtimeError
from wasmtime.component import Component, ExportIndex

EMPTY_BINARY = b"\0asm\x0d\0\x01\0"  # an empty component, in the binary format

NESTED = """
    (component
        (core module $m)
        (instance (export "x")
            (export "m" (core module $m))
        )
    )
"""


def test_from_text_and_binary(engine: Engine) -> None:
    Component(engine, "(component)")
    Component(engine, b"(component)")
    Component(engine, EMPTY_BINARY)
    Component(engine, bytearray(EMPTY_BINARY))
    Component(engine, wasmtime.wat2wasm("(component)"))


def test_invalid_input_raises_wasmtime_error(engine: Engine) -> None:
    for bad in ("(component2)", "(module)", b"", b"\x00", b"\0asm\x01\0\0\0", "(component"):
        with pytest.raises(WasmtimeError):
            Component(engine, bad)


def test_core_module_binary_is_rejected(engine: Engine) -> None:
    with pytest.raises(WasmtimeError):
        Component(engine, wasmtime.wat2wasm('(module (func (export "f")))'))


def test_invalid_component_is_rejected(engine: Engine) -> None:
    # Parses, but does not validate: the lifted core function does not exist.
    with pytest.raises(WasmtimeError):
        Component(
            engine,
            """(component
                (core module $m)
                (core instance $i (instantiate $m))
                (func (export "f") (canon lift (core func $i "missing"))))""",
        )


def test_argument_types(engine: Engine) -> None:
    with pytest.raises(TypeError):
        Component(1, b"")
    with pytest.raises(TypeError):
        Component(engine, 2)


def test_is_managed(engine: Engine) -> None:
    component = Component(engine, "(component)")
    assert isinstance(component, Managed)
    with component as c:
        assert c is component


def test_closed_component_raises(engine: Engine) -> None:
    component = Component(engine, "(component)")
    component.close()
    component.close()  # idempotent
    with pytest.raises(ValueError):
        component.serialize()


def test_serialize_round_trip(engine: Engine, tmp_path: Path) -> None:
    component = Component(engine, NESTED)
    encoded = component.serialize()
    assert isinstance(encoded, bytearray)
    again = Component.deserialize(engine, encoded)
    assert again.get_export_index("x") is not None
    again = Component.deserialize(engine, bytes(encoded))
    assert again.get_export_index("x") is not None

    path = tmp_path / "component.cwasm"
    path.write_bytes(encoded)
    with Component.deserialize_file(engine, str(path)) as from_file:
        assert from_file.get_export_index("x") is not None


def test_deserialize_rejects_bad_input(engine: Engine) -> None:
    with pytest.raises(TypeError):
        Component.deserialize(engine, "not bytes")
    with pytest.raises(WasmtimeError):
        Component.deserialize(engine, b"not a serialized component")


def test_from_file(engine: Engine, tmp_path: Path) -> None:
    text = tmp_path / "c.wat"
    text.write_text(NESTED)
    assert Component.from_file(engine, str(text)).get_export_index("x") is not None
    binary = tmp_path / "c.wasm"
    binary.write_bytes(wasmtime.wat2wasm(NESTED))
    assert Component.from_file(engine, str(binary)).get_export_index("x") is not None


def test_get_export_index(engine: Engine) -> None:
    empty = Component(engine, "(component)")
    assert empty.get_export_index("foo") is None
    assert empty.get_export_index("foo", instance=None) is None

    c = Component(engine, '(component (core module (export "foo")))')
    foo = c.get_export_index("foo")
    assert isinstance(foo, ExportIndex)
    assert c.get_export_index("bar") is None
    # `foo` is not an instance: nothing is found under it.
    assert c.get_export_index("foo", instance=foo) is None


def test_get_export_index_nested(component: Callable[[str], Any]) -> None:
    c = component(NESTED)
    x = c.get_export_index("x")
    assert x is not None
    assert c.get_export_index("m", instance=x) is not None
    assert c.get_export_index("m") is None
    assert c.get_export_index("missing", instance=x) is None


def test_export_index_of_another_component_finds_nothing(component: Callable[[str], Any]) -> None:
    c1 = component(NESTED)
    c2 = component(NESTED)
    x1 = c1.get_export_index("x")
    assert c2.get_export_index("m", instance=x1) is None


def test_export_index_cannot_be_constructed() -> None:
    with pytest.raises(WasmtimeError, match="ExportIndex"):
        ExportIndex()


def test_export_index_is_managed(engine: Engine) -> None:
    c = Component(engine, NESTED)
    index = c.get_export_index("x")
    assert isinstance(index, Managed)
    with index:
        pass
