"""close() and context managers on the Managed classes (spec 1.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import wasmtime
from wasmtime import (
    Config,
    Engine,
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
    ValType,
    WasmtimeError,
)

IMPORT_EXPORT_WAT = '(module (import "a" "b" (func)) (func (export "c")))'


def make_trap() -> Trap:
    store = Store()
    module = Module(store.engine, '(module (func (export "f") unreachable))')
    f = Instance(store, module, []).exports(store)["f"]
    try:
        f(store)
    except Trap as t:
        return t
    raise AssertionError("no trap")


# factory, "use" that must fail after close
MANAGED: dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]] = {
    "Config": (Config, lambda c: setattr(c, "debug_info", True)),
    "Engine": (Engine, lambda e: e.increment_epoch()),
    "Store": (Store, lambda s: s.gc()),
    "FuncType": (lambda: FuncType([ValType.i32()], []), lambda t: t.params),
    "GlobalType": (lambda: GlobalType(ValType.i32(), True), lambda t: t.content),
    "MemoryType": (lambda: MemoryType(Limits(1, None)), lambda t: t.limits),
    "TableType": (lambda: TableType(ValType.funcref(), Limits(1, None)), lambda t: t.element),
    "ValType": (ValType.i64, lambda t: str(t)),
    "ImportType": (lambda: Module(Engine(), IMPORT_EXPORT_WAT).imports[0], lambda t: t.module),
    "ExportType": (lambda: Module(Engine(), IMPORT_EXPORT_WAT).exports[0], lambda t: t.name),
    "Module": (lambda: Module(Engine(), IMPORT_EXPORT_WAT), lambda m: m.serialize()),
    "Trap": (make_trap, lambda t: t.message),
    "Frame": (lambda: make_trap().frames[0], lambda f: f.func_index),
}


@pytest.mark.parametrize("name", list(MANAGED))
def test_close_then_use_raises(name: str) -> None:
    factory, use = MANAGED[name]
    obj = factory()
    use(obj)  # works while open
    obj.close()
    with pytest.raises(ValueError, match="already closed"):
        use(obj)


@pytest.mark.parametrize("name", list(MANAGED))
def test_close_is_idempotent(name: str) -> None:
    factory, _ = MANAGED[name]
    obj = factory()
    assert obj.close() is None
    assert obj.close() is None


@pytest.mark.parametrize("name", list(MANAGED))
def test_context_manager(name: str) -> None:
    factory, use = MANAGED[name]
    obj = factory()
    with obj as entered:
        assert entered is obj
        use(obj)
    with pytest.raises(ValueError, match="already closed"):
        use(obj)


@pytest.mark.parametrize("name", list(MANAGED))
def test_context_manager_closes_on_exception(name: str) -> None:
    factory, use = MANAGED[name]
    obj = factory()
    with pytest.raises(RuntimeError, match="inside"), obj:
        raise RuntimeError("inside")
    with pytest.raises(ValueError, match="already closed"):
        use(obj)


def test_wasmtime_error_close_and_with() -> None:
    err = WasmtimeError("msg")
    with err as entered:
        assert entered is err
    err.close()
    err.close()
    with pytest.raises(WasmtimeError):
        raise err


def test_runtime_wasmtime_error_close() -> None:
    with pytest.raises(WasmtimeError) as info:
        Module(Engine(), b"\x00asm")
    err = info.value
    assert "failed to parse" in str(err)
    with err:
        pass
    err.close()


def test_managed_name_available() -> None:
    assert hasattr(wasmtime, "Managed")


def test_closed_config_cannot_build_engine() -> None:
    with Config() as config:
        config.consume_fuel = True
    with pytest.raises(ValueError):
        Engine(config)


def test_closed_engine_rejected_by_new_objects() -> None:
    engine = Engine()
    engine.close()
    with pytest.raises(ValueError, match="already closed"):
        Store(engine)
    with pytest.raises(ValueError, match="already closed"):
        Module(engine, "(module)")


def test_closing_engine_and_module_keeps_instances_working() -> None:
    engine = Engine()
    store = Store(engine)
    module = Module(engine, '(module (func (export "f") (result i32) i32.const 5))')
    inst = Instance(store, module, [])
    inst_module_copy = Module.deserialize(engine, module.serialize())
    module.close()
    engine.close()
    assert inst.exports(store)["f"](store) == 5
    assert Instance(store, inst_module_copy, []).exports(store)["f"](store) == 5


def test_closed_module_cannot_instantiate() -> None:
    store = Store()
    module = Module(store.engine, "(module)")
    module.close()
    with pytest.raises(ValueError, match="already closed"):
        Instance(store, module, [])


def test_closed_types_rejected_by_constructors() -> None:
    store = Store()
    ft = FuncType([], [])
    ft.close()
    with pytest.raises(ValueError, match="already closed"):
        Func(store, ft, lambda: None)
    gt = GlobalType(ValType.i32(), True)
    gt.close()
    with pytest.raises(ValueError, match="already closed"):
        Global(store, gt, 1)
    mt = MemoryType(Limits(1, None))
    mt.close()
    with pytest.raises(ValueError, match="already closed"):
        Memory(store, mt)
    tt = TableType(ValType.funcref(), Limits(1, None))
    tt.close()
    with pytest.raises(ValueError, match="already closed"):
        Table(store, tt, None)
    vt = ValType.i32()
    vt.close()
    with pytest.raises(ValueError, match="already closed"):
        FuncType([vt], [])


@pytest.mark.parametrize("cls", [Func, Memory, Global, Table, Instance])
def test_handles_are_not_managed(cls: type) -> None:
    assert not hasattr(cls, "close")
