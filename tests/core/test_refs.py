"""Reference values through wasm: externref identity and lifetime, funcref tables and values."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from wasmtime import (
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Limits,
    Module,
    Store,
    Table,
    TableType,
    Trap,
    TrapCode,
    Val,
    ValType,
)

EXTERNREF_WAT = """
(module
  (import "" "host" (func $host (param externref) (result externref)))
  (global $g (export "g") (mut externref) (ref.null extern))
  (global $hidden (mut externref) (ref.null extern))
  (table $t (export "t") 4 externref)
  (table $hidden_t 2 externref)
  (func (export "id") (param externref) (result externref) local.get 0)
  (func (export "swap") (param externref externref) (result externref externref)
    local.get 1 local.get 0)
  (func (export "via_host") (param externref) (result externref) local.get 0 call $host)
  (func (export "is_null") (param externref) (result i32) local.get 0 ref.is_null)
  (func (export "null") (result externref) ref.null extern)
  (func (export "set_g") (param externref) local.get 0 global.set $g)
  (func (export "get_g") (result externref) global.get $g)
  (func (export "hide") (param externref) local.get 0 global.set $hidden)
  (func (export "hide_in_table") (param externref) i32.const 1 local.get 0 table.set $hidden_t)
  (func (export "tset") (param i32 externref) local.get 0 local.get 1 table.set $t)
  (func (export "tget") (param i32) (result externref) local.get 0 table.get $t)
  (func (export "tgrow") (param externref i32) (result i32) local.get 0 local.get 1 table.grow $t)
  (func (export "tsize") (result i32) table.size $t))
"""

FUNCREF_WAT = """
(module
  (type $ret_i32 (func (result i32)))
  (table $tab (export "tab") 3 funcref)
  (global $fg (export "fg") (mut funcref) (ref.null func))
  (func $seven (result i32) i32.const 7)
  (elem declare func $seven)
  (func (export "ref_seven") (result funcref) ref.func $seven)
  (func (export "null_func") (result funcref) ref.null func)
  (func (export "is_null") (param funcref) (result i32) local.get 0 ref.is_null)
  (func (export "id") (param funcref) (result funcref) local.get 0)
  (func (export "set") (param i32 funcref) local.get 0 local.get 1 table.set $tab)
  (func (export "get") (param i32) (result funcref) local.get 0 table.get $tab)
  (func (export "call") (param i32) (result i32) local.get 0 call_indirect $tab (type $ret_i32))
  (func (export "call_global") (result i32)
    i32.const 0 global.get $fg table.set $tab
    i32.const 0 call_indirect $tab (type $ret_i32)))
"""


class Payload:
    """A weak-referenceable object to hand to wasm as an externref."""

    def __init__(self, tag: int = 0) -> None:
        self.tag = tag
        self.other: Any = None


def externref_exports(store: Store, host: Any = None) -> tuple[Instance, Any]:
    func = Func(
        store,
        FuncType([ValType.externref()], [ValType.externref()]),
        host if host is not None else (lambda x: x),
    )
    instance = Instance(store, Module(store.engine, EXTERNREF_WAT), [func])
    return instance, instance.exports(store)


def collect(store: Store) -> None:
    store.gc()
    gc.collect()


# --------------------------------------------------------------------------------------------
# externref identity
# --------------------------------------------------------------------------------------------


def test_identity_through_params_and_results(store: Store) -> None:
    _, ex = externref_exports(store)
    for obj in [Payload(), object(), "text", 12, 1.5, [1, 2], {"k": 1}, Payload, print]:
        assert ex["id"](store, obj) is obj
    a, b = Payload(1), Payload(2)
    first, second = ex["swap"](store, a, b)
    assert first is b
    assert second is a


def test_falsy_objects_are_not_null(store: Store) -> None:
    _, ex = externref_exports(store)
    for obj in [0, "", False, [], 0.0]:
        assert ex["is_null"](store, obj) == 0
        assert ex["id"](store, obj) is obj
    assert ex["is_null"](store, None) == 1


def test_none_is_null(store: Store) -> None:
    _, ex = externref_exports(store)
    assert ex["null"](store) is None
    assert ex["id"](store, None) is None
    assert ex["is_null"](store, Val.externref(None)) == 1
    assert ex["is_null"](store, Val.ref_null(ValType.externref())) == 1


def test_val_externref_argument(store: Store) -> None:
    _, ex = externref_exports(store)
    obj = Payload()
    assert ex["id"](store, Val.externref(obj)) is obj
    assert ex["is_null"](store, Val.externref(obj)) == 0


def test_identity_through_host_function(store: Store) -> None:
    seen: list[Any] = []
    reply = Payload(2)

    def host(x: Any) -> Any:
        seen.append(x)
        return reply

    _, ex = externref_exports(store, host)
    obj = Payload(1)
    assert ex["via_host"](store, obj) is reply
    assert len(seen) == 1
    assert seen[0] is obj
    assert ex["via_host"](store, None) is reply
    assert seen[1] is None


def test_identity_through_wasm_global(store: Store) -> None:
    _, ex = externref_exports(store)
    obj = Payload()
    ex["set_g"](store, obj)
    assert ex["get_g"](store) is obj
    assert ex["g"].value(store) is obj
    other = Payload()
    ex["g"].set_value(store, other)
    assert ex["get_g"](store) is other
    ex["set_g"](store, None)
    assert ex["get_g"](store) is None
    assert ex["g"].value(store) == None


def test_identity_through_host_global(store: Store) -> None:
    obj = Payload()
    g = Global(store, GlobalType(ValType.externref(), True), obj)
    module = Module(
        store.engine,
        """
        (module
          (import "" "g" (global $g (mut externref)))
          (func (export "get") (result externref) global.get $g)
          (func (export "set") (param externref) local.get 0 global.set $g))
        """,
    )
    ex = Instance(store, module, [g]).exports(store)
    assert ex["get"](store) is obj
    new = Payload()
    ex["set"](store, new)
    assert g.value(store) is new


def test_identity_through_wasm_table(store: Store) -> None:
    _, ex = externref_exports(store)
    table = ex["t"]
    obj = Payload()
    ex["tset"](store, 2, obj)
    assert ex["tget"](store, 2) is obj
    assert table.get(store, 2) is obj
    other = Payload()
    table.set(store, 3, other)
    assert ex["tget"](store, 3) is other
    assert ex["tget"](store, 0) is None


def test_externref_table_grow_with_init(store: Store) -> None:
    _, ex = externref_exports(store)
    init = Payload()
    assert ex["tgrow"](store, init, 3) == 4
    assert ex["tsize"](store) == 7
    assert all(ex["tget"](store, i) is init for i in range(4, 7))
    py_init = Payload()
    assert ex["t"].grow(store, 2, py_init) == 7
    assert ex["tsize"](store) == 9
    assert ex["tget"](store, 7) is py_init
    assert ex["tget"](store, 8) is py_init
    assert ex["tget"](store, 6) is init


def test_host_table_seen_by_wasm(store: Store) -> None:
    obj = Payload()
    table = Table(store, TableType(ValType.externref(), Limits(2, None)), obj)
    module = Module(
        store.engine,
        """
        (module
          (import "" "t" (table 2 externref))
          (func (export "get") (param i32) (result externref) local.get 0 table.get 0))
        """,
    )
    get = Instance(store, module, [table]).exports(store)["get"]
    assert get(store, 0) is obj
    assert get(store, 1) is obj


# --------------------------------------------------------------------------------------------
# externref lifetime
# --------------------------------------------------------------------------------------------


def test_released_after_call_and_gc(store: Store) -> None:
    _, ex = externref_exports(store)
    obj = Payload()
    ref = weakref.ref(obj)
    assert ex["id"](store, obj) is obj
    del obj
    collect(store)
    assert ref() is None


def test_kept_while_wasm_global_holds_it(store: Store) -> None:
    _, ex = externref_exports(store)
    obj = Payload()
    ref = weakref.ref(obj)
    ex["set_g"](store, obj)
    del obj
    collect(store)
    assert ref() is not None
    assert ex["get_g"](store) is ref()
    # wasm drops it: the next gc releases it.
    ex["set_g"](store, None)
    collect(store)
    assert ref() is None


def test_kept_while_hidden_in_wasm(store: Store) -> None:
    # Held by a global and a table that are not exported.
    _, ex = externref_exports(store)
    a, b = Payload(), Payload()
    ref_a, ref_b = weakref.ref(a), weakref.ref(b)
    ex["hide"](store, a)
    ex["hide_in_table"](store, b)
    del a, b
    collect(store)
    assert ref_a() is not None
    assert ref_b() is not None
    ex["hide"](store, None)
    ex["hide_in_table"](store, None)
    collect(store)
    assert ref_a() is None
    assert ref_b() is None


def test_released_when_table_slot_overwritten(store: Store) -> None:
    _, ex = externref_exports(store)
    obj = Payload()
    ref = weakref.ref(obj)
    ex["t"].set(store, 1, obj)
    del obj
    collect(store)
    assert ref() is not None
    ex["tset"](store, 1, "replacement")
    collect(store)
    assert ref() is None
    assert ex["tget"](store, 1) == "replacement"


def test_released_when_store_dies() -> None:
    store = Store()
    instance, ex = externref_exports(store)
    in_global, in_table, in_hidden = Payload(), Payload(), Payload()
    refs = [weakref.ref(o) for o in (in_global, in_table, in_hidden)]
    ex["set_g"](store, in_global)
    ex["tset"](store, 0, in_table)
    ex["hide"](store, in_hidden)
    del in_global, in_table, in_hidden
    gc.collect()
    assert all(r() is not None for r in refs)
    del store, instance, ex
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


def test_released_when_store_closed() -> None:
    store = Store()
    obj = Payload()
    ref = weakref.ref(obj)
    Global(store, GlobalType(ValType.externref(), False), obj)
    Table(store, TableType(ValType.externref(), Limits(1, None)), obj)
    del obj
    gc.collect()
    assert ref() is not None
    store.close()
    gc.collect()
    assert ref() is None


def test_cycle_through_global_is_collected() -> None:
    # object -> store -> global -> externref -> object: only the cycle GC can free it.
    def make() -> weakref.ref[Payload]:
        store = Store()
        obj = Payload()
        obj.other = store
        Global(store, GlobalType(ValType.externref(), True), obj)
        return weakref.ref(obj)

    ref = make()
    assert ref() is not None
    gc.collect()
    assert ref() is None


def test_cycle_through_wasm_table_is_collected() -> None:
    # The externref sits in a non-exported wasm table; the object holds the store.
    def make() -> tuple[weakref.ref[Payload], weakref.ref[Store]]:
        store = Store()
        _, ex = externref_exports(store)
        obj = Payload()
        obj.other = store
        ex["hide_in_table"](store, obj)
        return weakref.ref(obj), weakref.ref(store)

    ref, store_ref = make()
    assert ref() is not None
    gc.collect()
    assert ref() is None
    assert store_ref() is None


def test_cycle_through_table_init_is_collected() -> None:
    def make() -> weakref.ref[Payload]:
        store = Store()
        obj = Payload()
        obj.other = store
        Table(store, TableType(ValType.externref(), Limits(3, None)), obj)
        return weakref.ref(obj)

    ref = make()
    gc.collect()
    assert ref() is None


def test_many_externrefs_all_released(store: Store) -> None:
    _, ex = externref_exports(store)
    ident = ex["id"]
    refs = []
    for i in range(10_000):
        obj = Payload(i)
        refs.append(weakref.ref(obj))
        assert ident(store, obj) is obj
    del obj
    collect(store)
    assert sum(r() is not None for r in refs) == 0


def test_many_externrefs_in_table_released(store: Store) -> None:
    table = Table(store, TableType(ValType.externref(), Limits(0, None)), None)
    objs = [Payload(i) for i in range(2_000)]
    refs = [weakref.ref(o) for o in objs]
    table.grow(store, len(objs), None)
    for i, o in enumerate(objs):
        table.set(store, i, o)
    assert table.get(store, 1234) is objs[1234]
    del objs, o
    collect(store)
    assert all(r() is not None for r in refs)
    for i in range(len(refs)):
        table.set(store, i, None)
    collect(store)
    assert sum(r() is not None for r in refs) == 0


# --------------------------------------------------------------------------------------------
# funcref
# --------------------------------------------------------------------------------------------


def const_func(store: Store, value: int) -> Func:
    return Func(store, FuncType([], [ValType.i32()]), lambda: value)


def test_funcref_from_wasm(exports: Any, store: Store) -> None:
    ex = exports(FUNCREF_WAT)
    f = ex["ref_seven"](store)
    assert isinstance(f, Func)
    assert f(store) == 7
    assert f.type(store).results == [ValType.i32()]
    assert ex["null_func"](store) is None


def test_funcref_table_set_get_call(exports: Any, store: Store) -> None:
    ex = exports(FUNCREF_WAT)
    ex["set"](store, 0, const_func(store, 11))
    ex["set"](store, 1, ex["ref_seven"](store))
    assert ex["call"](store, 0) == 11
    assert ex["call"](store, 1) == 7
    got = ex["get"](store, 0)
    assert isinstance(got, Func)
    assert got(store) == 11
    assert ex["tab"].get(store, 1)(store) == 7
    assert ex["get"](store, 2) is None
    with pytest.raises(Trap) as info:
        ex["call"](store, 2)
    assert info.value.trap_code == TrapCode.INDIRECT_CALL_TO_NULL


def test_funcref_host_table_set_seen_by_wasm(exports: Any, store: Store) -> None:
    ex = exports(FUNCREF_WAT)
    ex["tab"].set(store, 2, const_func(store, 23))
    assert ex["call"](store, 2) == 23
    assert ex["is_null"](store, ex["get"](store, 2)) == 0


def test_val_funcref_argument(exports: Any, store: Store) -> None:
    ex = exports(FUNCREF_WAT)
    f = const_func(store, 5)
    ex["set"](store, 0, Val.funcref(f))
    assert ex["call"](store, 0) == 5
    out = ex["id"](store, Val.funcref(f))
    assert isinstance(out, Func)
    assert out(store) == 5
    assert ex["is_null"](store, Val.funcref(f)) == 0


def test_null_funcref_arguments(exports: Any, store: Store) -> None:
    ex = exports(FUNCREF_WAT)
    ex["set"](store, 0, const_func(store, 1))
    ex["set"](store, 0, Val.ref_null(ValType.funcref()))
    assert ex["get"](store, 0) is None
    with pytest.raises(Trap) as info:
        ex["call"](store, 0)
    assert info.value.trap_code == TrapCode.INDIRECT_CALL_TO_NULL
    assert ex["is_null"](store, None) == 1
    assert ex["is_null"](store, Val.funcref(None)) == 1
    assert ex["id"](store, Val.ref_null(ValType.funcref())) is None


def test_null_externref_val_for_funcref_is_type_error(exports: Any, store: Store) -> None:
    ex = exports(FUNCREF_WAT)
    with pytest.raises(TypeError, match="^wrong type of `Val` provided$"):
        ex["is_null"](store, Val.ref_null(ValType.externref()))
    with pytest.raises(TypeError):
        ex["is_null"](store, object())


def test_funcref_global(exports: Any, store: Store) -> None:
    ex = exports(FUNCREF_WAT)
    assert ex["fg"].value(store) == None
    ex["fg"].set_value(store, const_func(store, 31))
    assert ex["call_global"](store) == 31
    ex["fg"].set_value(store, ex["ref_seven"](store))
    assert ex["call_global"](store) == 7


def test_funcref_into_other_instance(store: Store) -> None:
    # A funcref taken out of one instance and called through another instance's table.
    first = Instance(store, Module(store.engine, FUNCREF_WAT), []).exports(store)
    second = Instance(store, Module(store.engine, FUNCREF_WAT), []).exports(store)
    second["set"](store, 1, first["ref_seven"](store))
    assert second["call"](store, 1) == 7


def test_funcref_table_grow_with_func(store: Store) -> None:
    table = Table(store, TableType(ValType.funcref(), Limits(1, None)), None)
    assert table.grow(store, 2, const_func(store, 4)) == 1
    module = Module(
        store.engine,
        """
        (module
          (type $t (func (result i32)))
          (import "" "t" (table 1 funcref))
          (func (export "call") (param i32) (result i32) local.get 0 call_indirect (type $t)))
        """,
    )
    call = Instance(store, module, [table]).exports(store)["call"]
    assert call(store, 1) == 4
    assert call(store, 2) == 4
    with pytest.raises(Trap) as info:
        call(store, 0)
    assert info.value.trap_code == TrapCode.INDIRECT_CALL_TO_NULL


def test_host_func_in_table_released_with_store() -> None:
    # A host function stored only in a funcref table keeps its callable until the store dies.
    class Callback:
        def __call__(self) -> int:
            return 3

    store = Store()
    cb = Callback()
    ref = weakref.ref(cb)
    table = Table(store, TableType(ValType.funcref(), Limits(1, None)), None)
    table.set(store, 0, Func(store, FuncType([], [ValType.i32()]), cb))
    del cb
    gc.collect()
    assert ref() is not None
    assert table.get(store, 0)(store) == 3
    del store, table
    gc.collect()
    assert ref() is None
