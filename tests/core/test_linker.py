"""Linker: definitions, shadowing, host functions shared by stores, modules, unknown imports,
instantiation errors, misuse across engines and stores, lifecycle and garbage collection."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from wasmtime import (
    Caller,
    Config,
    Engine,
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    Limits,
    Linker,
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

I32 = ValType.i32

NOT_AN_EXTERN = "^expected a Func, Global, Memory, SharedMemory, Tag, or Table$"

# Imports a nullary i32 function "h" "f" and re-exports a caller of it.
CALL_F_WAT = """
(module
  (import "h" "f" (func $f (result i32)))
  (func (export "call") (result i32) call $f))
"""

# A command: every call of an exported function gets a fresh instance.
COUNTER_COMMAND_WAT = """
(module
  (global $g (mut i32) (i32.const 0))
  (func (export "_start"))
  (func (export "inc") (result i32)
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    global.get $g))
"""


class Sentinel:
    """A weak-referenceable object put into closures to detect leaks."""


def returning(value: int, keep: object) -> Callable[[], int]:
    """A host callback returning ``value`` whose closure holds ``keep``."""

    def callback() -> int:
        assert keep is not None
        return value

    return callback


# --------------------------------------------------------------------------------------------
# Construction, attributes, lifecycle
# --------------------------------------------------------------------------------------------


def test_engine_attribute(engine: Engine) -> None:
    linker = Linker(engine)
    assert linker.engine is engine


@pytest.mark.parametrize("bad", [2, None, "engine"])
def test_requires_engine(bad: Any) -> None:
    with pytest.raises(AttributeError):
        Linker(bad)


def test_allow_shadowing_is_write_only(engine: Engine) -> None:
    linker = Linker(engine)
    linker.allow_shadowing = True
    linker.allow_shadowing = False
    with pytest.raises(AttributeError):
        linker.allow_shadowing  # noqa: B018


def test_context_manager_closes(engine: Engine, store: Store) -> None:
    with Linker(engine) as linker:
        assert isinstance(linker, Linker)
        linker.define_func("h", "f", FuncType([], [I32()]), lambda: 3)
        inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
    assert inst.exports(store)["call"](store) == 3
    with pytest.raises(ValueError, match="^already closed$"):
        linker.instantiate(store, Module(engine, CALL_F_WAT))


def test_closed_linker_raises_value_error(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.close()
    linker.close()  # idempotent
    module = Module(engine, CALL_F_WAT)
    f = Func(store, FuncType([], [I32()]), lambda: 1)
    calls: list[Callable[[], Any]] = [
        lambda: linker.define(store, "h", "f", f),
        lambda: linker.define_func("h", "f", FuncType([], [I32()]), lambda: 1),
        lambda: linker.define_module(store, "m", Module(engine, "(module)")),
        lambda: linker.define_unknown_imports_as_traps(module),
        lambda: linker.define_unknown_imports_as_default_values(store, module),
        lambda: linker.get(store, "h", "f"),
        lambda: linker.get_default(store, "m"),
        lambda: linker.instantiate(store, module),
        lambda: linker.instantiate_pre(module),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="^already closed$"):
            call()
    with pytest.raises(ValueError, match="^already closed$"):
        linker.allow_shadowing = True


# --------------------------------------------------------------------------------------------
# define / get
# --------------------------------------------------------------------------------------------


def test_define_and_get_func(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define(store, "h", "f", Func(store, FuncType([], [I32()]), lambda: 42))
    got = linker.get(store, "h", "f")
    assert isinstance(got, Func)
    assert got(store) == 42
    inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
    assert inst.exports(store)["call"](store) == 42


def test_define_every_store_extern_kind(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    g = Global(store, GlobalType(I32(), True), 5)
    t = Table(store, TableType(ValType.funcref(), Limits(2, None)), None)
    m = Memory(store, MemoryType(Limits(1, None)))
    f = Func(store, FuncType([], [I32()]), lambda: 42)
    linker.define(store, "m", "g", g)
    linker.define(store, "m", "t", t)
    linker.define(store, "m", "mem", m)
    linker.define(store, "m", "f", f)
    assert isinstance(linker.get(store, "m", "g"), Global)
    assert isinstance(linker.get(store, "m", "t"), Table)
    assert isinstance(linker.get(store, "m", "mem"), Memory)
    assert linker.get(store, "m", "g").value(store) == 5
    module = Module(
        engine,
        """
        (module
          (import "m" "g" (global $g (mut i32)))
          (import "m" "t" (table 2 funcref))
          (import "m" "mem" (memory 1))
          (import "m" "f" (func $f (result i32)))
          (func (export "run") (result i32)
            (global.set $g (i32.const 9))
            (i32.store8 (i32.const 3) (call $f))
            (table.size 0)))
        """,
    )
    inst = linker.instantiate(store, module)
    assert inst.exports(store)["run"](store) == 2
    # The instance imported the very same definitions, not copies.
    assert g.value(store) == 9
    assert m.read(store, 3, 4) == bytearray(b"\x2a")


def test_define_shared_memory_is_shared_between_stores() -> None:
    from wasmtime import SharedMemory

    config = Config()
    config.shared_memory = True
    engine = Engine(config)
    store1, store2 = Store(engine), Store(engine)
    shared = SharedMemory(engine, MemoryType(Limits(1, 2), shared=True))
    linker = Linker(engine)
    linker.define(store1, "env", "mem", shared)
    assert isinstance(linker.get(store1, "env", "mem"), SharedMemory)
    module = Module(
        engine,
        """
        (module
          (import "env" "mem" (memory 1 2 shared))
          (func (export "load") (result i32) (i32.load8_u (i32.const 5)))
          (func (export "store") (param i32) (i32.store8 (i32.const 5) (local.get 0))))
        """,
    )
    inst1 = linker.instantiate(store1, module)
    inst2 = linker.instantiate(store2, module)
    inst1.exports(store1)["store"](store1, 77)
    assert inst2.exports(store2)["load"](store2) == 77


def test_define_tag() -> None:
    from wasmtime import Tag, TagType

    config = Config()
    config.wasm_exceptions = True
    engine = Engine(config)
    store = Store(engine)
    tag = Tag(store, TagType(FuncType([I32()], [])))
    linker = Linker(engine)
    linker.define(store, "env", "tag", tag)
    got = linker.get(store, "env", "tag")
    assert isinstance(got, Tag)
    assert got.eq(store, tag)
    module = Module(
        engine,
        """
        (module
          (import "env" "tag" (tag $t (param i32)))
          (func (export "throw") (throw $t (i32.const 1))))
        """,
    )
    inst = linker.instantiate(store, module)
    with pytest.raises(Trap, match="thrown Wasm exception"):
        inst.exports(store)["throw"](store)


@pytest.mark.parametrize("bad", [3, None, "f", lambda: None, FuncType([], [])])
def test_define_rejects_non_extern(engine: Engine, store: Store, bad: Any) -> None:
    linker = Linker(engine)
    with pytest.raises(TypeError, match=NOT_AN_EXTERN):
        linker.define(store, "h", "f", bad)


def test_define_non_str_module_name(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    f = Func(store, FuncType([], []), lambda: None)
    with pytest.raises(AttributeError):
        linker.define(store, 2, "", f)  # type: ignore[arg-type]


def test_define_twice_without_shadowing(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    f = Func(store, FuncType([], [I32()]), lambda: 1)
    linker.define(store, "a", "b", f)
    with pytest.raises(WasmtimeError, match="import of `a::b` defined twice"):
        linker.define(store, "a", "b", f)
    # Another name in the same module, or the same name in another module, is fine.
    linker.define(store, "a", "c", f)
    linker.define(store, "x", "b", f)
    assert linker.get(store, "a", "b")(store) == 1


def test_shadowing_later_definition_wins(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define(store, "h", "f", Func(store, FuncType([], [I32()]), lambda: 1))
    linker.allow_shadowing = True
    linker.define(store, "h", "f", Func(store, FuncType([], [I32()]), lambda: 2))
    assert linker.get(store, "h", "f")(store) == 2
    inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
    assert inst.exports(store)["call"](store) == 2
    # A definition of another kind may shadow too.
    linker.define(store, "h", "f", Global(store, GlobalType(I32(), False), 7))
    assert isinstance(linker.get(store, "h", "f"), Global)
    linker.allow_shadowing = False
    with pytest.raises(WasmtimeError, match="defined twice"):
        linker.define(store, "h", "f", Func(store, FuncType([], [I32()]), lambda: 3))


def test_get_missing_item(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_func("h", "f", FuncType([], []), lambda: None)
    with pytest.raises(WasmtimeError, match="^item not defined in linker$"):
        linker.get(store, "h", "nope")
    with pytest.raises(WasmtimeError, match="^item not defined in linker$"):
        linker.get(store, "nope", "f")


# --------------------------------------------------------------------------------------------
# define_func
# --------------------------------------------------------------------------------------------


def test_define_func_usable_from_many_stores(engine: Engine) -> None:
    linker = Linker(engine)
    calls: list[tuple[int, int]] = []

    def add(a: int, b: int) -> int:
        calls.append((a, b))
        return a + b

    linker.define_func("host", "add", FuncType([I32(), I32()], [I32()]), add)
    module = Module(
        engine,
        """
        (module
          (import "host" "add" (func $add (param i32 i32) (result i32)))
          (func (export "run") (param i32) (result i32)
            (call $add (local.get 0) (i32.const 10))))
        """,
    )
    stores = [Store(engine) for _ in range(3)]
    instances = [linker.instantiate(s, module) for s in stores]
    results = [
        inst.exports(s)["run"](s, i * 100)
        for i, (s, inst) in enumerate(zip(stores, instances, strict=True))
    ]
    assert results == [10, 110, 210]
    assert calls == [(0, 10), (100, 10), (200, 10)]
    # get() also hands out a callable Func in any store of the engine.
    for i, s in enumerate(stores):
        assert linker.get(s, "host", "add")(s, i, 1) == i + 1


def test_define_func_access_caller_reads_each_stores_memory(engine: Engine) -> None:
    linker = Linker(engine)

    def total(caller: Caller, ptr: int, length: int) -> int:
        memory = caller["memory"]
        assert isinstance(memory, Memory)
        return sum(memory.read(caller, ptr, ptr + length))

    linker.define_func(
        "host", "total", FuncType([I32(), I32()], [I32()]), total, access_caller=True
    )
    module = Module(
        engine,
        """
        (module
          (import "host" "total" (func $total (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "run") (result i32) (call $total (i32.const 1) (i32.const 3))))
        """,
    )
    results = []
    for i in range(3):
        s = Store(engine)
        ex = linker.instantiate(s, module).exports(s)
        ex["memory"].write(s, bytes([i, i + 1, i + 2, i + 3, i + 4]), 0)
        results.append(ex["run"](s))
    # Bytes 1..3 of each store's own memory.
    assert results == [1 + 2 + 3, 2 + 3 + 4, 3 + 4 + 5]


def test_define_func_caller_invalid_after_return(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    saved: list[Caller] = []

    def keep(caller: Caller) -> int:
        saved.append(caller)
        return 4

    linker.define_func("h", "f", FuncType([], [I32()]), keep, access_caller=True)
    inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
    assert inst.exports(store)["call"](store) == 4
    assert len(saved) == 1
    assert saved[0].get("call") is None


@pytest.mark.parametrize("bad", [None, 3, ValType.i32(), [I32()]])
def test_define_func_requires_functype(engine: Engine, bad: Any) -> None:
    linker = Linker(engine)
    with pytest.raises(TypeError, match="^expected a FuncType$"):
        linker.define_func("h", "f", bad, lambda: None)


def test_define_func_twice_without_shadowing(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    ty = FuncType([], [I32()])
    linker.define_func("h", "f", ty, lambda: 1)
    with pytest.raises(WasmtimeError, match="import of `h::f` defined twice"):
        linker.define_func("h", "f", ty, lambda: 2)
    linker.allow_shadowing = True
    linker.define_func("h", "f", ty, lambda: 3)
    inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
    assert inst.exports(store)["call"](store) == 3


def test_define_func_exception_propagates_as_same_object(engine: Engine, store: Store) -> None:
    class Boom(Exception):
        pass

    err = Boom("boom")

    def raiser() -> int:
        raise err

    linker = Linker(engine)
    linker.define_func("h", "f", FuncType([], [I32()]), raiser)
    inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
    with pytest.raises(Boom) as info:
        inst.exports(store)["call"](store)
    assert info.value is err
    # The function still works as an import afterwards (and in another store).
    other = Store(engine)
    inst2 = linker.instantiate(other, Module(engine, CALL_F_WAT))
    with pytest.raises(Boom) as info2:
        inst2.exports(other)["call"](other)
    assert info2.value is err


def test_define_func_bad_result_type(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_func("h", "f", FuncType([], [I32()]), lambda: "x")
    inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
    with pytest.raises(TypeError, match="don't know how to convert"):
        inst.exports(store)["call"](store)


# --------------------------------------------------------------------------------------------
# define_instance
# --------------------------------------------------------------------------------------------

PROVIDER_WAT = """
(module
  (func (export "f") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (memory (export "mem") 1)
  (data (i32.const 0) "\\07")
  (global (export "g") i32 (i32.const 40)))
"""

CONSUMER_WAT = """
(module
  (import "a" "f" (func $f (param i32) (result i32)))
  (import "a" "mem" (memory 1))
  (import "a" "g" (global $g i32))
  (func (export "run") (result i32)
    (call $f (i32.load8_u (i32.const 0)))
    global.get $g
    i32.add))
"""


def test_define_instance_links_two_modules(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    provider = Instance(store, Module(engine, PROVIDER_WAT), [])
    linker.define_instance(store, "a", provider)
    consumer = linker.instantiate(store, Module(engine, CONSUMER_WAT))
    assert consumer.exports(store)["run"](store) == 7 * 2 + 40
    assert isinstance(linker.get(store, "a", "mem"), Memory)
    assert linker.get(store, "a", "g").value(store) == 40
    assert linker.get(store, "a", "f")(store, 21) == 42


def test_define_instance_from_linker_instance(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    provider = linker.instantiate(store, Module(engine, PROVIDER_WAT))
    linker.define_instance(store, "a", provider)
    consumer = linker.instantiate(store, Module(engine, CONSUMER_WAT))
    assert consumer.exports(store)["run"](store) == 54


@pytest.mark.parametrize("bad", [3, None, "a"])
def test_define_instance_requires_instance(engine: Engine, store: Store, bad: Any) -> None:
    linker = Linker(engine)
    with pytest.raises(TypeError, match="^expected an `Instance`$"):
        linker.define_instance(store, "a", bad)


def test_define_instance_rejects_module(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    with pytest.raises(TypeError, match="^expected an `Instance`$"):
        linker.define_instance(store, "a", Module(engine, PROVIDER_WAT))  # type: ignore[arg-type]


def test_define_instance_twice(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    provider = Instance(store, Module(engine, PROVIDER_WAT), [])
    linker.define_instance(store, "a", provider)
    with pytest.raises(WasmtimeError, match="import of `a::f` defined twice"):
        linker.define_instance(store, "a", provider)


# --------------------------------------------------------------------------------------------
# define_module, get_default
# --------------------------------------------------------------------------------------------


def test_define_module_reactor_runs_initialize(engine: Engine, store: Store) -> None:
    reactor = Module(
        engine,
        """
        (module
          (global $g (export "g") (mut i32) (i32.const 0))
          (func (export "_initialize") (global.set $g (i32.const 5)))
          (func (export "get") (result i32) global.get $g))
        """,
    )
    linker = Linker(engine)
    linker.define_module(store, "r", reactor)
    assert linker.get(store, "r", "g").value(store) == 5
    assert linker.get(store, "r", "get")(store) == 5


def test_define_module_reactor_imports_come_from_linker(engine: Engine, store: Store) -> None:
    logged: list[int] = []
    linker = Linker(engine)
    linker.define_func("h", "log", FuncType([I32()], []), logged.append)
    reactor = Module(
        engine,
        """
        (module
          (import "h" "log" (func $log (param i32)))
          (func (export "_initialize") (call $log (i32.const 7))))
        """,
    )
    linker.define_module(store, "r", reactor)
    assert logged == [7]


def test_define_module_instance_is_linkable(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_module(store, "a", Module(engine, PROVIDER_WAT))
    consumer = linker.instantiate(store, Module(engine, CONSUMER_WAT))
    assert consumer.exports(store)["run"](store) == 54


def test_define_module_command_fresh_instance_per_call(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_module(store, "c", Module(engine, COUNTER_COMMAND_WAT))
    inc = linker.get(store, "c", "inc")
    assert [inc(store), inc(store), inc(store)] == [1, 1, 1]
    assert linker.get(store, "c", "inc")(store) == 1
    # Imported by another module, every call still sees a fresh command instance.
    user = Module(
        engine,
        """
        (module
          (import "c" "inc" (func $inc (result i32)))
          (func (export "twice") (result i32) (i32.add (call $inc) (call $inc))))
        """,
    )
    inst = linker.instantiate(store, user)
    assert inst.exports(store)["twice"](store) == 2


def test_get_default_runs_command_start(engine: Engine, store: Store) -> None:
    logged: list[int] = []
    linker = Linker(engine)
    linker.define_func("h", "log", FuncType([I32()], []), logged.append)
    command = Module(
        engine,
        """
        (module
          (import "h" "log" (func $log (param i32)))
          (func (export "_start") (call $log (i32.const 11))))
        """,
    )
    linker.define_module(store, "c", command)
    assert logged == []  # a command is not run when it is defined
    start = linker.get_default(store, "c")
    assert isinstance(start, Func)
    assert start(store) is None
    assert start(store) is None
    assert logged == [11, 11]


def test_get_default_prefers_empty_name_export(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_module(
        store, "d", Module(engine, '(module (func (export "") (result i32) i32.const 9))')
    )
    assert linker.get_default(store, "d")(store) == 9


def test_get_default_of_undefined_module_is_noop(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    noop = linker.get_default(store, "nothing-here")
    assert isinstance(noop, Func)
    assert noop(store) is None
    ty = noop.type(store)
    assert ty.params == []
    assert ty.results == []


@pytest.mark.parametrize("bad", [3, None, "(module)"])
def test_define_module_requires_module(engine: Engine, store: Store, bad: Any) -> None:
    linker = Linker(engine)
    with pytest.raises(TypeError, match="^expected a `Module`$"):
        linker.define_module(store, "m", bad)


def test_define_module_unresolved_import(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    module = Module(engine, '(module (import "zz" "f" (func)) (func (export "_start")))')
    with pytest.raises(WasmtimeError, match="unknown import: `zz::f` has not been defined"):
        linker.define_module(store, "x", module)


def test_define_module_twice(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    module = Module(engine, '(module (func (export "f")))')
    linker.define_module(store, "m", module)
    with pytest.raises(WasmtimeError, match="import of `m::f` defined twice"):
        linker.define_module(store, "m", module)


# --------------------------------------------------------------------------------------------
# Unknown imports
# --------------------------------------------------------------------------------------------

UNKNOWN_FUNCS_WAT = """
(module
  (import "u" "f" (func $f (result i32)))
  (import "u" "g" (func $g (param i64) (result i64 f32)))
  (func (export "call_f") (result i32) call $f)
  (func (export "call_g") (result i64 f32) (call $g (i64.const 3))))
"""


def test_unknown_imports_as_traps(engine: Engine, store: Store) -> None:
    module = Module(engine, UNKNOWN_FUNCS_WAT)
    linker = Linker(engine)
    linker.define_unknown_imports_as_traps(module)
    assert isinstance(linker.get(store, "u", "f"), Func)
    ex = linker.instantiate(store, module).exports(store)
    # wasmtime reports these as errors, not as wasm traps.
    with pytest.raises(WasmtimeError, match="unknown import: `u::f` has not been defined"):
        ex["call_f"](store)
    with pytest.raises(WasmtimeError, match="unknown import: `u::g` has not been defined"):
        ex["call_g"](store)


def test_unknown_imports_as_traps_keeps_existing_definitions(engine: Engine, store: Store) -> None:
    module = Module(engine, UNKNOWN_FUNCS_WAT)
    linker = Linker(engine)
    linker.define_func("u", "f", FuncType([], [I32()]), lambda: 6)
    linker.define_unknown_imports_as_traps(module)
    ex = linker.instantiate(store, module).exports(store)
    assert ex["call_f"](store) == 6
    with pytest.raises(WasmtimeError, match="`u::g`"):
        ex["call_g"](store)


def test_unknown_imports_as_traps_only_covers_functions(engine: Engine, store: Store) -> None:
    module = Module(engine, '(module (import "u" "m" (memory 1)))')
    linker = Linker(engine)
    linker.define_unknown_imports_as_traps(module)
    with pytest.raises(WasmtimeError, match="unknown import: `u::m` has not been defined"):
        linker.instantiate(store, module)


def test_unknown_imports_as_default_values(engine: Engine, store: Store) -> None:
    module = Module(
        engine,
        """
        (module
          (import "u" "f" (func $f (result i32)))
          (import "u" "g" (func $g (param i64) (result i64 f32)))
          (import "u" "m" (memory 1))
          (import "u" "gl" (global $gl i32))
          (func (export "call_f") (result i32) call $f)
          (func (export "call_g") (result i64 f32) (call $g (i64.const 3)))
          (func (export "gl") (result i32) global.get $gl))
        """,
    )
    linker = Linker(engine)
    linker.define_unknown_imports_as_default_values(store, module)
    assert isinstance(linker.get(store, "u", "m"), Memory)
    ex = linker.instantiate(store, module).exports(store)
    assert ex["call_f"](store) == 0
    assert ex["call_g"](store) == [0, 0.0]
    assert ex["gl"](store) == 0


def test_unknown_imports_require_module(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    with pytest.raises(TypeError, match="^expected a `Module`$"):
        linker.define_unknown_imports_as_traps(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^expected a `Module`$"):
        linker.define_unknown_imports_as_default_values(store, None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# instantiate
# --------------------------------------------------------------------------------------------


def test_instantiate_unknown_import(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    module = Module(engine, '(module (import "m" "f" (func (param i32))))')
    with pytest.raises(WasmtimeError, match="^unknown import: `m::f` has not been defined$"):
        linker.instantiate(store, module)


def test_instantiate_incompatible_func_type(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_func("a", "b", FuncType([], [I32()]), lambda: 1)
    module = Module(engine, '(module (import "a" "b" (func (param i32))))')
    with pytest.raises(WasmtimeError) as info:
        linker.instantiate(store, module)
    text = str(info.value)
    assert text.startswith("incompatible import type for `a::b`")
    assert "types incompatible" in text


def test_instantiate_incompatible_kind(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_func("a", "b", FuncType([], []), lambda: None)
    module = Module(engine, '(module (import "a" "b" (memory 1)))')
    with pytest.raises(WasmtimeError, match="expected memory, but found function"):
        linker.instantiate(store, module)


def test_instantiate_start_trap(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    module = Module(engine, "(module (func $s unreachable) (start $s))")
    with pytest.raises(Trap) as info:
        linker.instantiate(store, module)
    assert info.value.trap_code == TrapCode.UNREACHABLE
    assert "wasm `unreachable` instruction executed" in str(info.value)


def test_instantiate_start_host_exception_is_reraised(engine: Engine, store: Store) -> None:
    err = KeyError("from start")

    def raiser() -> None:
        raise err

    linker = Linker(engine)
    linker.define_func("h", "f", FuncType([], []), raiser)
    module = Module(engine, '(module (import "h" "f" (func $f)) (start $f))')
    with pytest.raises(KeyError) as info:
        linker.instantiate(store, module)
    assert info.value is err


def test_instantiate_non_module(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    with pytest.raises(AttributeError):
        linker.instantiate(store, 3)  # type: ignore[arg-type]


def test_instantiate_with_caller_as_store(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_func("m", "f", FuncType([], [I32()]), lambda: 42)
    inner = Module(engine, '(module (func (export "x") (result i32) i32.const 4))')
    seen: list[int] = []

    def cb(caller: Caller) -> None:
        inst = linker.instantiate(caller, inner)
        seen.append(inst.exports(caller)["x"](caller))
        seen.append(linker.get(caller, "m", "f")(caller))

    linker.define_func("h", "cb", FuncType([], []), cb, access_caller=True)
    linker.instantiate(store, Module(engine, '(module (import "h" "cb" (func $c)) (start $c))'))
    assert seen == [4, 42]


@pytest.mark.timeout(60)
def test_reentrant_linker_use_from_start_function(engine: Engine, store: Store) -> None:
    # The start function calls a host function that uses the same linker while
    # `linker.instantiate` is still running. It must not deadlock or crash; succeeding is
    # allowed (the reference does), a clean Python exception is tolerated.
    linker = Linker(engine)
    inner = Module(engine, '(module (global (export "g") i32 (i32.const 3)))')
    seen: list[int] = []
    errors: list[Exception] = []

    def cb() -> None:
        try:
            linker.define_func("late", "f", FuncType([], [I32()]), lambda: 8)
            inst = linker.instantiate(store, inner)
            seen.append(inst.exports(store)["g"].value(store))
            seen.append(linker.get(store, "late", "f")(store))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    linker.define_func("h", "cb", FuncType([], []), cb)
    linker.instantiate(store, Module(engine, '(module (import "h" "cb" (func $cb)) (start $cb))'))
    if errors:
        assert isinstance(errors[0], WasmtimeError | RuntimeError | ValueError), errors
    else:
        assert seen == [3, 8]
    # The linker is still usable afterwards.
    linker.allow_shadowing = True
    linker.define_func("late", "f", FuncType([], [I32()]), lambda: 9)
    assert linker.get(store, "late", "f")(store) == 9


# --------------------------------------------------------------------------------------------
# Misuse across engines and stores: must raise, never crash
# --------------------------------------------------------------------------------------------


def test_module_from_other_engine(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_func("h", "f", FuncType([], [I32()]), lambda: 1)
    # Every import is defined: only the engine is wrong.
    foreign = Module(Engine(), CALL_F_WAT)
    with pytest.raises(WasmtimeError, match="cross-`Engine`"):
        linker.instantiate(store, foreign)
    with pytest.raises(WasmtimeError, match="cross-`Engine`"):
        linker.instantiate_pre(foreign)
    with pytest.raises(WasmtimeError):
        linker.define_module(store, "m", foreign)
    # Unknown-import helpers would build definitions of the foreign engine's types.
    unknown = Module(Engine(), '(module (import "u" "f" (func (result i32))))')
    with pytest.raises(WasmtimeError):
        linker.define_unknown_imports_as_traps(unknown)
    with pytest.raises(WasmtimeError):
        linker.define_unknown_imports_as_default_values(store, unknown)
    # The linker is unharmed.
    inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
    assert inst.exports(store)["call"](store) == 1


def test_store_of_other_engine(engine: Engine) -> None:
    linker = Linker(engine)
    linker.define_func("h", "f", FuncType([], [I32()]), lambda: 1)
    other_engine = Engine()
    foreign_store = Store(other_engine)
    with pytest.raises(WasmtimeError):
        linker.instantiate(foreign_store, Module(engine, CALL_F_WAT))
    with pytest.raises(WasmtimeError):
        linker.get(foreign_store, "h", "f")
    foreign_func = Func(foreign_store, FuncType([], []), lambda: None)
    with pytest.raises(WasmtimeError):
        linker.define(foreign_store, "h", "g", foreign_func)
    with pytest.raises(WasmtimeError):
        linker.define_module(foreign_store, "m", Module(engine, "(module)"))
    # The linker is unharmed.
    s = Store(engine)
    assert linker.instantiate(s, Module(engine, CALL_F_WAT)).exports(s)["call"](s) == 1


def test_define_item_of_another_store(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    other = Store(engine)
    f = Func(other, FuncType([], []), lambda: None)
    with pytest.raises(WasmtimeError):
        linker.define(store, "h", "f", f)
    inst = Instance(other, Module(engine, PROVIDER_WAT), [])
    with pytest.raises(WasmtimeError):
        linker.define_instance(store, "a", inst)


def test_store_bound_item_used_from_another_store(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define(store, "h", "f", Func(store, FuncType([], [I32()]), lambda: 1))
    other = Store(engine)
    with pytest.raises(WasmtimeError):
        linker.get(other, "h", "f")
    with pytest.raises(WasmtimeError):
        linker.instantiate(other, Module(engine, CALL_F_WAT))
    # Still fine in its own store.
    assert linker.instantiate(store, Module(engine, CALL_F_WAT)).exports(store)["call"](store) == 1


def test_closed_store(engine: Engine) -> None:
    linker = Linker(engine)
    linker.define_func("h", "f", FuncType([], [I32()]), lambda: 1)
    store = Store(engine)
    store.close()
    with pytest.raises(ValueError, match="^already closed$"):
        linker.instantiate(store, Module(engine, CALL_F_WAT))
    with pytest.raises(ValueError, match="^already closed$"):
        linker.get(store, "h", "f")


# --------------------------------------------------------------------------------------------
# Lifetimes and garbage collection
# --------------------------------------------------------------------------------------------


def test_instance_outlives_closed_linker(engine: Engine, store: Store) -> None:
    linker = Linker(engine)
    linker.define_func("h", "f", FuncType([], [I32()]), lambda: 5)
    inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
    linker.close()
    del linker
    gc.collect()
    assert inst.exports(store)["call"](store) == 5


def test_cycle_through_define_func_callable_is_collected() -> None:
    def make() -> weakref.ref[Sentinel]:
        linker = Linker(Engine())
        sentinel = Sentinel()

        def callback() -> None:
            # linker -> callback -> closure -> linker
            assert linker is not None and sentinel is not None

        linker.define_func("h", "f", FuncType([], []), callback)
        return weakref.ref(sentinel)

    ref = make()
    gc.collect()
    assert ref() is None


def test_store_keeps_linker_callable_until_dropped() -> None:
    engine = Engine()
    linker = Linker(engine)
    sentinel = Sentinel()
    ref = weakref.ref(sentinel)
    linker.define_func("h", "f", FuncType([], [I32()]), returning(5, sentinel))
    del sentinel
    store = Store(engine)
    inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
    del linker
    gc.collect()
    # The store still holds the function it instantiated.
    assert ref() is not None
    assert inst.exports(store)["call"](store) == 5
    del store, inst
    gc.collect()
    assert ref() is None


def test_cycle_through_store_and_linker_is_collected() -> None:
    def make() -> weakref.ref[Sentinel]:
        engine = Engine()
        linker = Linker(engine)
        store = Store(engine)
        sentinel = Sentinel()

        def callback() -> int:
            # Both the store and the linker are reachable from the callable they own.
            assert store is not None and linker is not None and sentinel is not None
            return 1

        linker.define_func("h", "f", FuncType([], [I32()]), callback)
        inst = linker.instantiate(store, Module(engine, CALL_F_WAT))
        assert inst.exports(store)["call"](store) == 1
        return weakref.ref(sentinel)

    ref = make()
    gc.collect()
    assert ref() is None


def test_linker_close_releases_callable() -> None:
    linker = Linker(Engine())
    sentinel = Sentinel()
    ref = weakref.ref(sentinel)
    linker.define_func("h", "f", FuncType([], [I32()]), returning(1, sentinel))
    del sentinel
    gc.collect()
    assert ref() is not None
    linker.close()
    gc.collect()
    assert ref() is None


def test_define_accepts_keywords(engine: Engine, store: Store) -> None:
    # wasmtime-py's parameter names work as keywords.
    linker = Linker(engine)
    func = Func(store, FuncType([], [ValType.i32()]), lambda: 5)
    linker.define(store, module="m", name="x", item=func)
    got = linker.get(store, "m", "x")
    assert isinstance(got, Func)
    assert got(store) == 5
