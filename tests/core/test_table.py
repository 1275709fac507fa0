"""Table: creation, get/set/grow, funcref and externref elements, wasm interop, misuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from wasmtime import (
    Func,
    FuncType,
    Instance,
    Limits,
    Module,
    Store,
    Table,
    TableType,
    Trap,
    TrapCode,
    ValType,
    WasmtimeError,
)


def const_func(store: Store, value: int) -> Func:
    return Func(store, FuncType([], [ValType.i32()]), lambda: value)


def funcref_table(
    store: Store, minimum: int = 2, maximum: int | None = 4, init: Any = None
) -> Table:
    return Table(store, TableType(ValType.funcref(), Limits(minimum, maximum)), init)


def test_new_funcref_table(store: Store) -> None:
    t = funcref_table(store)
    assert t.size(store) == 2
    assert t.get(store, 0) == None
    assert t.get(store, 1) == None
    ty = t.type(store)
    assert isinstance(ty, TableType)
    assert ty.element == ValType.funcref()
    assert ty.limits == Limits(2, 4)


def test_table_init_with_func(store: Store) -> None:
    t = funcref_table(store, init=const_func(store, 8))
    for i in range(2):
        f = t.get(store, i)
        assert isinstance(f, Func)
        assert f(store) == 8


def test_get_out_of_bounds_returns_none(store: Store) -> None:
    t = funcref_table(store, init=const_func(store, 1))
    assert t.get(store, 2) is None
    assert t.get(store, 10**6) is None


def test_set_and_get(store: Store) -> None:
    t = funcref_table(store)
    t.set(store, 1, const_func(store, 42))
    got = t.get(store, 1)
    assert isinstance(got, Func)
    assert got(store) == 42
    t.set(store, 1, None)
    assert t.get(store, 1) == None


def test_set_out_of_bounds(store: Store) -> None:
    t = funcref_table(store)
    with pytest.raises(WasmtimeError):
        t.set(store, 2, None)
    with pytest.raises(WasmtimeError):
        t.set(store, 100, const_func(store, 1))


def test_set_wrong_type(store: Store) -> None:
    t = funcref_table(store)
    with pytest.raises(TypeError):
        t.set(store, 0, "not a func")
    with pytest.raises(TypeError):
        t.set(store, 0, 5)


def test_grow(store: Store) -> None:
    t = funcref_table(store)
    assert t.grow(store, 1, const_func(store, 3)) == 2
    assert t.size(store) == 3
    assert t.get(store, 2)(store) == 3
    assert t.grow(store, 1, None) == 3
    assert t.size(store) == 4
    assert t.get(store, 3) == None


def test_grow_past_maximum(store: Store) -> None:
    t = funcref_table(store, 2, 3)
    with pytest.raises(WasmtimeError):
        t.grow(store, 2, None)
    assert t.size(store) == 2


def test_grow_type_errors(store: Store) -> None:
    t = funcref_table(store)
    with pytest.raises(TypeError):
        t.grow(store, "1", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        t.grow(store, 1, "x")
    assert t.size(store) == 2


def test_constructor_type_errors(store: Store) -> None:
    with pytest.raises(TypeError):
        Table(store, TableType(ValType.funcref(), Limits(1, None)), "x")
    with pytest.raises(TypeError):
        Table(store, TableType(ValType.funcref(), Limits(1, None)), 1)


def test_externref_table(store: Store) -> None:
    obj = object()
    t = Table(store, TableType(ValType.externref(), Limits(2, None)), obj)
    assert t.get(store, 0) is obj
    assert t.get(store, 1) is obj
    other = {"k": "v"}
    t.set(store, 1, other)
    assert t.get(store, 1) is other
    assert t.grow(store, 2, "s") == 2
    assert t.get(store, 3) == "s"
    t.set(store, 0, None)
    assert t.get(store, 0) == None
    t.set(store, 0, 0)
    assert t.get(store, 0) == 0
    t.set(store, 0, "")
    assert t.get(store, 0) == ""
    assert t.type(store).element == ValType.externref()
    # Like wasmtime's Table::ty, the type reports the declared limits, not the current size.
    assert t.type(store).limits == Limits(2, None)
    assert t.size(store) == 4


CALL_INDIRECT_WAT = """
(module
  (type $t (func (result i32)))
  (table (export "table") 3 funcref)
  (func $seven (result i32) i32.const 7)
  (elem (i32.const 0) $seven)
  (func (export "call") (param i32) (result i32) local.get 0 call_indirect (type $t)))
"""


def test_exported_table_call_indirect(exports: Callable[..., Any], store: Store) -> None:
    ex = exports(CALL_INDIRECT_WAT)
    table = ex["table"]
    assert isinstance(table, Table)
    assert ex["call"](store, 0) == 7
    assert table.get(store, 0)(store) == 7
    table.set(store, 1, const_func(store, 55))
    assert ex["call"](store, 1) == 55
    with pytest.raises(Trap) as info:
        ex["call"](store, 2)
    assert info.value.trap_code == TrapCode.INDIRECT_CALL_TO_NULL
    with pytest.raises(Trap) as info:
        ex["call"](store, 3)
    assert info.value.trap_code == TrapCode.TABLE_OUT_OF_BOUNDS


def test_bad_signature_through_table(exports: Callable[..., Any], store: Store) -> None:
    ex = exports(CALL_INDIRECT_WAT)
    ex["table"].set(store, 1, Func(store, FuncType([ValType.i32()], []), lambda x: None))
    with pytest.raises(Trap) as info:
        ex["call"](store, 1)
    assert info.value.trap_code == TrapCode.BAD_SIGNATURE


def test_imported_table(store: Store) -> None:
    t = funcref_table(store, 1, None, const_func(store, 21))
    module = Module(
        store.engine,
        """
        (module
          (type $t (func (result i32)))
          (import "" "t" (table 1 funcref))
          (func (export "call0") (result i32) i32.const 0 call_indirect (type $t))
          (func (export "size") (result i32) table.size 0))
        """,
    )
    ex = Instance(store, module, [t]).exports(store)
    assert ex["call0"](store) == 21
    t.grow(store, 2, None)
    assert ex["size"](store) == 3


def test_table_wrong_store(store: Store) -> None:
    t = funcref_table(store)
    other = Store(store.engine)
    with pytest.raises(WasmtimeError, match="wrong store"):
        t.size(other)
    with pytest.raises(WasmtimeError, match="wrong store"):
        t.get(other, 0)
    with pytest.raises(WasmtimeError, match="wrong store"):
        t.set(other, 0, None)
    with pytest.raises(WasmtimeError, match="wrong store"):
        t.grow(other, 1, None)
    with pytest.raises(WasmtimeError, match="wrong store"):
        t.type(other)
    assert t.size(store) == 2


def test_func_from_other_store_in_table(store: Store) -> None:
    t = funcref_table(store)
    other = Store(store.engine)
    foreign = const_func(other, 1)
    with pytest.raises(WasmtimeError):
        t.set(store, 0, foreign)


def test_table_after_store_closed(store: Store) -> None:
    t = funcref_table(store)
    store.close()
    with pytest.raises(ValueError, match="already closed"):
        t.size(store)
