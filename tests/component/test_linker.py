"""Component `Linker` and `LinkerInstance` (spec §3.2): locking, definitions, instantiation."""

from __future__ import annotations

from typing import Any

import pytest

from wasmtime import Engine, Managed, Module, Store, WasmtimeError
from wasmtime.component import Component, Instance, Linker, LinkerInstance

# Imports `f: func()` and exports `run`, which calls it.
CALLS_IMPORT = """
    (component
        (import "f" (func $f))
        (core func $f_lowered (canon lower (func $f)))
        (core module $m
            (import "" "f" (func $f))
            (func (export "run") (call $f)))
        (core instance $i (instantiate $m (with "" (instance (export "f" (func $f_lowered))))))
        (func (export "run") (canon lift (core func $i "run")))
    )
"""

# Imports `f: func()` from the instance `a:b/c`, nested one level.
IMPORTS_FROM_INSTANCE = """
    (component
        (import "a:b/c" (instance $inst (export "f" (func))))
        (alias export $inst "f" (func $f))
        (core func $f_lowered (canon lower (func $f)))
        (core module $m
            (import "" "f" (func $f))
            (func (export "run") (call $f)))
        (core instance $i (instantiate $m (with "" (instance (export "f" (func $f_lowered))))))
        (func (export "run") (canon lift (core func $i "run")))
    )
"""


def run(store: Store, instance: Any) -> Any:
    func = instance.get_func(store, "run")
    assert func is not None
    return func(store)


def test_smoke(engine: Engine) -> None:
    linker = Linker(engine)
    assert isinstance(linker, Managed)
    assert linker.engine is engine or isinstance(linker.engine, Engine)
    linker.allow_shadowing = True
    linker.allow_shadowing = False
    assert linker.locked is False


def test_linker_instance_cannot_be_constructed() -> None:
    with pytest.raises(WasmtimeError):
        LinkerInstance()


def test_instance_cannot_be_constructed() -> None:
    with pytest.raises(WasmtimeError):
        Instance()


def test_root_locks_the_linker(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    component = Component(engine, "(component)")
    with linker.root() as root:
        assert isinstance(root, LinkerInstance)
        assert isinstance(root, Managed)
        assert linker.locked is True
        with pytest.raises(WasmtimeError):
            linker.root()
        with pytest.raises(WasmtimeError):
            linker.instantiate(store, component)
        with pytest.raises(WasmtimeError):
            linker.define_unknown_imports_as_traps(component)
        with pytest.raises(WasmtimeError):
            linker.allow_shadowing = True
        with pytest.raises(WasmtimeError):
            linker.close()
    assert linker.locked is False
    with linker.root():
        pass
    linker.instantiate(store, component)


def test_root_close_unlocks(engine: Engine) -> None:
    linker = Linker(engine)
    root = linker.root()
    root.close()
    root.close()  # idempotent
    assert linker.locked is False
    with pytest.raises(ValueError):
        root.add_instance("x")
    linker.close()


def test_add_instance(engine: Engine) -> None:
    linker = Linker(engine)
    with linker.root() as root:
        with root.add_instance("x"):
            pass
        with root.add_instance("y"):
            pass
        # wasmtime-py 46 semantics: a name defined once cannot be re-opened.
        with pytest.raises(WasmtimeError):
            root.add_instance("x")
        with pytest.raises(WasmtimeError):
            root.add_instance("y")
        with root.add_instance("z"):
            pass
    with linker.root() as root:
        with pytest.raises(WasmtimeError):
            root.add_instance("x")
        with root.add_instance("again"):
            pass


def test_child_instance_locks_its_parent(engine: Engine) -> None:
    linker = Linker(engine)
    with linker.root() as root:
        with root.add_instance("outer") as outer:
            with pytest.raises(WasmtimeError):
                root.add_instance("y")
            with pytest.raises(WasmtimeError):
                root.add_func("g", lambda _ctx: None)
            with outer.add_instance("inner") as inner:
                with pytest.raises(WasmtimeError):
                    outer.add_instance("y")
                inner.add_func("f", lambda _ctx: None)
            outer.add_instance("y").close()
        root.add_instance("y").close()


def test_add_instance_name_used_by_a_function(engine: Engine) -> None:
    linker = Linker(engine)
    with linker.root() as root:
        root.add_func("f", lambda _ctx: None)
        with pytest.raises(WasmtimeError):
            root.add_instance("f")


def test_add_module(engine: Engine) -> None:
    linker = Linker(engine)
    with linker.root() as root:
        root.add_module("x", Module(engine, "(module)"))
        root.add_module("y", Module(engine, "(module)"))
        with pytest.raises(WasmtimeError):
            root.add_module("x", Module(engine, "(module)"))
        with root.add_instance("z"), pytest.raises(WasmtimeError):
            root.add_module("unused", Module(engine, "(module)"))


def test_imported_module(engine: Engine, store: Store) -> None:
    component = Component(
        engine,
        """(component
            (import "m" (core module $m (export "answer" (func (result i32)))))
            (core instance $i (instantiate $m))
            (func (export "run") (result u32) (canon lift (core func $i "answer"))))""",
    )
    linker = Linker(engine)
    with linker.root() as root:
        root.add_module(
            "m", Module(engine, '(module (func (export "answer") (result i32) i32.const 42))')
        )
    assert run(store, linker.instantiate(store, component)) == 42


def test_add_func_duplicate_and_shadowing(engine: Engine, store: Store) -> None:
    component = Component(engine, CALLS_IMPORT)
    calls: list[str] = []
    linker = Linker(engine)
    with linker.root() as root:
        root.add_func("f", lambda _ctx: calls.append("first"))
        with pytest.raises(WasmtimeError):
            root.add_func("f", lambda _ctx: calls.append("second"))
    run(store, linker.instantiate(store, component))
    assert calls == ["first"]

    linker.allow_shadowing = True
    with linker.root() as root:
        root.add_func("f", lambda _ctx: calls.append("third"))
    run(store, linker.instantiate(store, component))
    assert calls == ["first", "third"]


def test_host_func_in_nested_instance(engine: Engine, store: Store) -> None:
    component = Component(engine, IMPORTS_FROM_INSTANCE)
    calls: list[Any] = []
    linker = Linker(engine)
    with linker.root() as root, root.add_instance("a:b/c") as inst:
        inst.add_func("f", lambda ctx: calls.append(ctx))
    assert run(store, linker.instantiate(store, component)) is None
    assert len(calls) == 1


def test_host_func_receives_converted_params(engine: Engine, store: Store) -> None:
    component = Component(
        engine,
        """(component
            (import "add" (func $add (param "a" u32) (param "b" s64) (result f64)))
            (core func $add_lowered (canon lower (func $add)))
            (core module $m
                (import "" "add" (func $add (param i32 i64) (result f64)))
                (func (export "run") (param i32 i64) (result f64)
                    (call $add (local.get 0) (local.get 1))))
            (core instance $i (instantiate $m
                (with "" (instance (export "add" (func $add_lowered))))))
            (func (export "run") (param "a" u32) (param "b" s64) (result f64)
                (canon lift (core func $i "run"))))""",
    )
    seen: list[Any] = []

    def add(ctx: Any, a: int, b: int) -> float:
        seen.append((a, b))
        return float(a + b)

    linker = Linker(engine)
    with linker.root() as root:
        root.add_func("add", add)
    instance = linker.instantiate(store, component)
    func = instance.get_func(store, "run")
    assert func(store, 2, -5) == -3.0
    assert seen == [(2, -5)]


def test_missing_import_fails_instantiation(engine: Engine, store: Store) -> None:
    component = Component(engine, '(component (import "x" (func)))')
    with pytest.raises(WasmtimeError):
        Linker(engine).instantiate(store, component)


def test_import_of_wrong_type_fails_instantiation(engine: Engine, store: Store) -> None:
    component = Component(engine, '(component (import "x" (func)))')
    linker = Linker(engine)
    with linker.root() as root:
        root.add_module("x", Module(engine, "(module)"))
    with pytest.raises(WasmtimeError):
        linker.instantiate(store, component)


def test_define_unknown_imports_as_traps(engine: Engine, store: Store) -> None:
    component = Component(engine, CALLS_IMPORT)
    linker = Linker(engine)
    with pytest.raises(WasmtimeError):
        linker.instantiate(store, component)
    linker.define_unknown_imports_as_traps(component)
    instance = linker.instantiate(store, component)
    with pytest.raises(WasmtimeError):
        run(store, instance)


def test_instantiate_argument_types(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    with pytest.raises(TypeError):
        linker.instantiate(store, Module(engine, "(module)"))
    # As in the core API (spec §1.3), a non-store fails like a missing `_context()`.
    with pytest.raises(AttributeError):
        linker.instantiate(3, Component(engine, "(component)"))


def test_close_linker(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.close()
    linker.close()
    with pytest.raises(ValueError):
        linker.instantiate(store, Component(engine, "(component)"))
    with Linker(engine) as linker2:
        linker2.instantiate(store, Component(engine, "(component)"))
