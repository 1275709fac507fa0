"""Instance and InstanceExports."""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping

import pytest

from wasmtime import (
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Limits,
    Memory,
    MemoryType,
    Module,
    Store,
    Table,
    TableType,
    Trap,
    TrapCode,
    ValType,
    WasmtimeError,
)

EXPORTS_WAT = """
(module
  (func (export "f") (result i32) i32.const 1)
  (memory (export "m") 1)
  (global (export "g") (mut i32) (i32.const 2))
  (table (export "t") 1 funcref)
  (func (export "h") (param i32) (result i32) local.get 0))
"""


def test_exports_mapping(instantiate: Callable[..., Instance], store: Store) -> None:
    inst = instantiate(EXPORTS_WAT)
    ex = inst.exports(store)
    assert isinstance(ex, Mapping)
    assert len(ex) == 5
    assert list(ex) == ["f", "m", "g", "t", "h"]
    assert list(ex.keys()) == ["f", "m", "g", "t", "h"]
    assert "f" in ex
    assert "nope" not in ex
    assert isinstance(ex["f"], Func)
    assert isinstance(ex["m"], Memory)
    assert isinstance(ex["g"], Global)
    assert isinstance(ex["t"], Table)
    assert ex["f"](store) == 1
    assert ex["h"](store, 5) == 5
    assert ex["g"].value(store) == 2


def test_exports_type_name(instantiate: Callable[..., Instance], store: Store) -> None:
    from wasmtime._instance import InstanceExports

    assert isinstance(instantiate(EXPORTS_WAT).exports(store), InstanceExports)


def test_exports_missing_key(instantiate: Callable[..., Instance], store: Store) -> None:
    ex = instantiate(EXPORTS_WAT).exports(store)
    with pytest.raises(KeyError):
        ex["nope"]
    assert ex.get("nope") is None
    sentinel = object()
    assert ex.get("nope", sentinel) is sentinel
    assert isinstance(ex.get("f"), Func)


def test_exports_integer_key_is_keyerror(
    instantiate: Callable[..., Instance], store: Store
) -> None:
    ex = instantiate(EXPORTS_WAT).exports(store)
    with pytest.raises(KeyError):
        ex[0]


def test_by_index(instantiate: Callable[..., Instance], store: Store) -> None:
    ex = instantiate(EXPORTS_WAT).exports(store)
    by_index = ex.by_index
    assert isinstance(by_index, tuple)
    assert len(by_index) == 5
    assert isinstance(by_index[0], Func)
    assert isinstance(by_index[1], Memory)
    assert isinstance(by_index[2], Global)
    assert isinstance(by_index[3], Table)
    assert by_index[4](store, 9) == 9
    with pytest.raises(IndexError):
        by_index[5]


def test_values_and_by_index_same_objects(
    instantiate: Callable[..., Instance], store: Store
) -> None:
    ex = instantiate(EXPORTS_WAT).exports(store)
    assert set(ex.values()) == set(ex.by_index)
    assert ex["f"] is ex.by_index[0]
    assert ex["h"] is ex.by_index[4]
    assert [k for k, _ in ex.items()] == ["f", "m", "g", "t", "h"]


def test_exports_cached(instantiate: Callable[..., Instance], store: Store) -> None:
    inst = instantiate(EXPORTS_WAT)
    assert inst.exports(store) is inst.exports(store)


def test_no_exports(instantiate: Callable[..., Instance], store: Store) -> None:
    ex = instantiate("(module)").exports(store)
    assert len(ex) == 0
    assert list(ex) == []
    assert ex.by_index == ()


def test_import_count_mismatch(store: Store) -> None:
    module = Module(store.engine, '(module (import "" "f" (func)))')
    with pytest.raises(WasmtimeError) as exc:
        Instance(store, module, [])
    assert str(exc.value) == "expected 1 imports, found 0"
    f = Func(store, FuncType([], []), lambda: None)
    with pytest.raises(WasmtimeError) as exc:
        Instance(store, module, [f, f])
    assert str(exc.value) == "expected 1 imports, found 2"


def test_import_type_mismatch(store: Store) -> None:
    module = Module(store.engine, '(module (import "" "f" (func (param i32))))')
    wrong_sig = Func(store, FuncType([], []), lambda: None)
    with pytest.raises(WasmtimeError):
        Instance(store, module, [wrong_sig])
    memory = Memory(store, MemoryType(Limits(1, None)))
    with pytest.raises(WasmtimeError):
        Instance(store, module, [memory])


def test_import_not_an_extern(store: Store) -> None:
    module = Module(store.engine, '(module (import "" "f" (func)))')
    with pytest.raises(
        TypeError, match="^expected a Func, Global, Memory, SharedMemory, Tag, or Table$"
    ):
        Instance(store, module, [lambda: None])


def test_all_import_kinds(store: Store) -> None:
    f = Func(store, FuncType([ValType.i32()], [ValType.i32()]), lambda x: x * 3)
    g = Global(store, GlobalType(ValType.i32(), False), 4)
    m = Memory(store, MemoryType(Limits(1, None)))
    t = Table(store, TableType(ValType.funcref(), Limits(1, None)), f)
    m.write(store, b"\x05", 0)
    module = Module(
        store.engine,
        """
        (module
          (type $t (func (param i32) (result i32)))
          (import "" "f" (func $f (type $t)))
          (import "" "g" (global $g i32))
          (import "" "m" (memory 1))
          (import "" "t" (table 1 funcref))
          (func (export "run") (result i32)
            (call $f (global.get $g))
            (i32.load8_u (i32.const 0))
            i32.add
            (call_indirect (type $t) (i32.const 1) (i32.const 0))
            i32.add))
        """,
    )
    inst = Instance(store, module, [f, g, m, t])
    assert inst.exports(store)["run"](store) == 12 + 5 + 3


def test_start_function_trap(store: Store) -> None:
    module = Module(store.engine, "(module (func $s unreachable) (start $s))")
    with pytest.raises(Trap) as info:
        Instance(store, module, [])
    assert info.value.trap_code == TrapCode.UNREACHABLE


def test_start_function_runs(store: Store) -> None:
    calls: list[int] = []
    f = Func(store, FuncType([ValType.i32()], []), calls.append)
    module = Module(
        store.engine,
        '(module (import "" "f" (func $f (param i32))) (func $s (call $f (i32.const 17))) (start $s))',
    )
    Instance(store, module, [f])
    assert calls == [17]


def test_constructor_type_errors(store: Store) -> None:
    with pytest.raises(AttributeError):
        Instance(store, 1, [])  # type: ignore[arg-type]


def test_exports_wrong_store(store: Store) -> None:
    module = Module(store.engine, EXPORTS_WAT)
    inst = Instance(store, module, [])
    other = Store(store.engine)
    with pytest.raises(WasmtimeError, match="wrong store"):
        inst.exports(other)
    assert inst.exports(store)["f"](store) == 1


def test_instances_are_independent(store: Store) -> None:
    module = Module(store.engine, EXPORTS_WAT)
    a = Instance(store, module, []).exports(store)
    b = Instance(store, module, []).exports(store)
    a["g"].set_value(store, 100)
    assert b["g"].value(store) == 2
    a["m"].write(store, b"A", 0)
    assert b["m"].read(store, 0, 1) == bytearray(b"\x00")


def test_exported_handles_survive_instance_gc(store: Store) -> None:
    module = Module(store.engine, EXPORTS_WAT)
    f = Instance(store, module, []).exports(store)["f"]
    del module
    gc.collect()
    assert f(store) == 1


def test_instance_after_store_closed(store: Store) -> None:
    module = Module(store.engine, EXPORTS_WAT)
    inst = Instance(store, module, [])
    store.close()
    with pytest.raises(ValueError, match="already closed"):
        inst.exports(store)
    with pytest.raises(ValueError, match="already closed"):
        Instance(store, module, [])
