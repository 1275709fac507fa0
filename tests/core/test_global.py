"""Global: creation, value conversion, mutability, wasm interop, misuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from wasmtime import (
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Module,
    Store,
    Val,
    ValType,
    WasmtimeError,
)


def test_i32_global(store: Store) -> None:
    g = Global(store, GlobalType(ValType.i32(), True), 5)
    assert g.value(store) == 5
    g.set_value(store, -6)
    assert g.value(store) == -6
    g.set_value(store, 2**32 + 1)
    assert g.value(store) == 1


def test_global_type(store: Store) -> None:
    g = Global(store, GlobalType(ValType.f64(), False), 1.5)
    ty = g.type(store)
    assert isinstance(ty, GlobalType)
    assert ty.content == ValType.f64()
    assert ty.mutable is False
    g2 = Global(store, GlobalType(ValType.externref(), True), None)
    assert g2.type(store).mutable is True
    assert g2.type(store).content == ValType.externref()


def test_i64_zero_is_int(store: Store) -> None:
    g = Global(store, GlobalType(ValType.i64(), False), 0)
    value = g.value(store)
    assert value == 0
    assert type(value) is int


def test_i64_wraps(store: Store) -> None:
    g = Global(store, GlobalType(ValType.i64(), True), 2**63)
    assert g.value(store) == -(2**63)


def test_f32_rounding(store: Store) -> None:
    g = Global(store, GlobalType(ValType.f32(), True), 0.1)
    assert g.value(store) == 0.10000000149011612
    g.set_value(store, 2.5)
    assert g.value(store) == 2.5


def test_f64(store: Store) -> None:
    g = Global(store, GlobalType(ValType.f64(), True), 0.1)
    assert g.value(store) == 0.1


def test_externref_identity(store: Store) -> None:
    obj = {"a": 1}
    g = Global(store, GlobalType(ValType.externref(), True), obj)
    assert g.value(store) is obj
    other = ["x"]
    g.set_value(store, other)
    assert g.value(store) is other
    g.set_value(store, None)
    assert g.value(store) == None


def test_funcref_global(store: Store) -> None:
    g = Global(store, GlobalType(ValType.funcref(), True), None)
    assert g.value(store) == None
    f = Func(store, FuncType([], [ValType.i32()]), lambda: 31)
    g.set_value(store, f)
    got = g.value(store)
    assert isinstance(got, Func)
    assert got(store) == 31
    with pytest.raises(TypeError):
        g.set_value(store, 3)


def test_immutable_set_fails(store: Store) -> None:
    g = Global(store, GlobalType(ValType.i32(), False), 1)
    with pytest.raises(WasmtimeError):
        g.set_value(store, 2)
    assert g.value(store) == 1


def test_set_value_type_error(store: Store) -> None:
    g = Global(store, GlobalType(ValType.i32(), True), 1)
    with pytest.raises(TypeError):
        g.set_value(store, "two")
    with pytest.raises(TypeError):
        g.set_value(store, 2.0)
    assert g.value(store) == 1
    h = Global(store, GlobalType(ValType.f64(), True), 1.0)
    with pytest.raises(TypeError):
        h.set_value(store, 1)


def test_constructor_type_errors(store: Store) -> None:
    with pytest.raises(TypeError, match="^expected a GlobalType$"):
        Global(store, ValType.i32(), 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Global(store, GlobalType(ValType.i32(), True), "1")
    with pytest.raises(TypeError):
        Global(store, GlobalType(ValType.f32(), True), 1)
    with pytest.raises(AttributeError):
        Global(1, GlobalType(ValType.i32(), True), 1)  # type: ignore[arg-type]


def test_exported_global(exports: Callable[..., Any], store: Store) -> None:
    ex = exports(
        """
        (module
          (global (export "g") (mut i32) (i32.const 10))
          (global (export "c") i64 (i64.const -3))
          (func (export "get") (result i32) global.get 0)
          (func (export "inc") global.get 0 i32.const 1 i32.add global.set 0))
        """
    )
    g = ex["g"]
    assert isinstance(g, Global)
    assert g.value(store) == 10
    ex["inc"](store)
    assert g.value(store) == 11
    g.set_value(store, 99)
    assert ex["get"](store) == 99
    assert ex["c"].value(store) == -3
    assert ex["c"].type(store).mutable is False


def test_imported_global(store: Store) -> None:
    g = Global(store, GlobalType(ValType.i32(), True), 7)
    module = Module(
        store.engine,
        """
        (module
          (import "" "g" (global $g (mut i32)))
          (func (export "bump") global.get $g i32.const 100 i32.add global.set $g))
        """,
    )
    inst = Instance(store, module, [g])
    inst.exports(store)["bump"](store)
    assert g.value(store) == 107


def test_imported_global_mutability_mismatch(store: Store) -> None:
    g = Global(store, GlobalType(ValType.i32(), False), 7)
    module = Module(store.engine, '(module (import "" "g" (global (mut i32))))')
    with pytest.raises(WasmtimeError):
        Instance(store, module, [g])


def test_global_wrong_store(store: Store) -> None:
    g = Global(store, GlobalType(ValType.i32(), True), 1)
    other = Store(store.engine)
    with pytest.raises(WasmtimeError, match="wrong store"):
        g.value(other)
    with pytest.raises(WasmtimeError, match="wrong store"):
        g.set_value(other, 2)
    with pytest.raises(WasmtimeError, match="wrong store"):
        g.type(other)
    assert g.value(store) == 1


def test_global_after_store_closed(store: Store) -> None:
    g = Global(store, GlobalType(ValType.i32(), True), 1)
    store.close()
    with pytest.raises(ValueError, match="already closed"):
        g.value(store)


def test_global_accepts_val(store: Store) -> None:
    g = Global(store, GlobalType(ValType.i64(), True), Val.i64(-9))
    assert g.value(store) == -9
    g.set_value(store, Val.i64(10))
    assert g.value(store) == 10
    with pytest.raises(TypeError, match="^wrong type of `Val` provided$"):
        g.set_value(store, Val.i32(1))
    with pytest.raises(TypeError, match="^wrong type of `Val` provided$"):
        Global(store, GlobalType(ValType.f32(), True), Val.f64(1.0))
