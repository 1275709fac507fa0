"""Misuse of the core API (issue 8, item 1): every case ends in a Python exception, none crashes.

Each case below is a small function that misuses one public object: with another store, after
its store's ``close()``, after its store is garbage-collected, after its own ``close()``,
inside and after a host callback, from another thread while a call runs in its store; host
functions that raise, return the wrong thing, close their own store or re-enter; bad inputs.
Its expectation is the exception (class and message) or the value it must produce.

Cases run in child interpreters (see ``conftest.py``), so a segfault or an abort fails the case
instead of killing pytest: by default one child per group (the name's first part), and with
``-m slow`` one child per case. Cases that show a native bug are marked with the bug; they run
alone, as strict xfails, until the native side is fixed. The registry, the expectations, the
helpers the three misuse modules share and their tests are in ``_cases.py``.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from _cases import (
    CALLER_GONE,
    CLOSED,
    IN_USE,
    WRONG_STORE,
    BaseBoom,
    Boom,
    Case,
    Cases,
    closed,
    define_tests,
    engine,
    in_thread,
    outcome,
    raise_,
    raises,
    returns,
    same_error_out,
)

from wasmtime import (
    Caller,
    Config,
    Engine,
    Func,
    FuncType,
    Global,
    GlobalType,
    Instance,
    InstancePre,
    Limits,
    Linker,
    Memory,
    MemoryBuffer,
    MemoryType,
    Module,
    SharedMemory,
    Store,
    StoreContext,
    Table,
    TableType,
    Tag,
    TagType,
    Trap,
    TrapCode,
    Val,
    ValType,
    WasiConfig,
    WasmException,
    WasmtimeError,
    wat2wasm,
)

CASES = Cases()
case = CASES.register

# --------------------------------------------------------------------------------------------
# A small world: a store with an instance of WORLD
# --------------------------------------------------------------------------------------------

I32 = ValType.i32()
I32_TO_I32 = FuncType([I32], [I32])

WORLD = """
(module
  (import "" "h" (func $h (param i32) (result i32)))
  (func (export "f") (param i32) (result i32) local.get 0 call $h)
  (func (export "id") (param i32) (result i32) local.get 0)
  (func (export "ref") (param externref) (result externref) local.get 0)
  (memory (export "m") 1 10)
  (global (export "g") (mut i32) (i32.const 4))
  (global (export "gref") (mut externref) (ref.null extern))
  (table (export "t") 2 10 funcref)
  (tag (export "e") (param i32)))
"""


@cache
def module(wat: str = WORLD) -> Module:
    return Module(engine(), wat)


@dataclass
class World:
    """A store and an instance of `WORLD` in it, its import `h` calling ``host``."""

    store: Store
    host: Func
    instance: Instance
    ex: Any

    @property
    def f(self) -> Func:  # calls the host function
        return self.ex["f"]  # type: ignore[no-any-return]

    @property
    def id(self) -> Func:
        return self.ex["id"]  # type: ignore[no-any-return]

    @property
    def m(self) -> Memory:
        return self.ex["m"]  # type: ignore[no-any-return]

    @property
    def g(self) -> Global:
        return self.ex["g"]  # type: ignore[no-any-return]

    @property
    def t(self) -> Table:
        return self.ex["t"]  # type: ignore[no-any-return]

    @property
    def e(self) -> Tag:
        return self.ex["e"]  # type: ignore[no-any-return]


def world(
    host: Callable[..., Any] = lambda x: x + 1,
    access_caller: bool = False,
    store: Store | None = None,
) -> World:
    store = store or Store(engine())
    h = Func(store, I32_TO_I32, host, access_caller)
    instance = Instance(store, module(), [h])
    return World(store, h, instance, instance.exports(store))


def other_store() -> Store:
    return Store(engine())


def on_store(use: Callable[[Store], object]) -> Callable[[], object]:
    return lambda: use(other_store())


def on_world(use: Callable[[World], object], host: Any = lambda x: x + 1) -> Callable[[], object]:
    return lambda: use(world(host))


# --------------------------------------------------------------------------------------------
# Used with another store (same engine, or another engine)
# --------------------------------------------------------------------------------------------

OTHER_STORE: dict[str, Callable[[World, Store], object]] = {
    "func.call": lambda w, s: w.f(s, 1),
    "func.type": lambda w, s: w.f.type(s),
    "host_func.call": lambda w, s: w.host(s, 1),
    "memory.read": lambda w, s: w.m.read(s, 0, 4),
    "memory.write": lambda w, s: w.m.write(s, b"x", 0),
    "memory.grow": lambda w, s: w.m.grow(s, 1),
    "memory.size": lambda w, s: w.m.size(s),
    "memory.data_len": lambda w, s: w.m.data_len(s),
    "memory.type": lambda w, s: w.m.type(s),
    "memory.buffer": lambda w, s: w.m.buffer(s),
    "memory.data_ptr": lambda w, s: w.m.data_ptr(s),
    "memory.get_buffer_ptr": lambda w, s: w.m.get_buffer_ptr(s),
    "global.value": lambda w, s: w.g.value(s),
    "global.set_value": lambda w, s: w.g.set_value(s, 1),
    "global.type": lambda w, s: w.g.type(s),
    "table.size": lambda w, s: w.t.size(s),
    "table.get": lambda w, s: w.t.get(s, 0),
    "table.set": lambda w, s: w.t.set(s, 0, None),
    "table.grow": lambda w, s: w.t.grow(s, 1, None),
    "tag.type": lambda w, s: w.e.type(s),
    "tag.eq": lambda w, s: w.e.eq(s, w.e),
    "instance.new_with_foreign_import": lambda w, s: Instance(s, module(), [w.host]),
    "linker.define": lambda w, s: Linker(engine()).define(s, "", "h", w.host),
    "linker.define_instance": lambda w, s: Linker(engine()).define_instance(s, "x", w.instance),
}

for _what, _use in OTHER_STORE.items():
    case(f"other_store.{_what}", WRONG_STORE)(lambda use=_use: use(world(), other_store()))


@case("other_store.table.set_func_of_another_store", WRONG_STORE)
def _() -> object:
    w = world()
    return w.t.set(w.store, 0, world().host)


@case("other_store.global.new_funcref_of_another_store", WRONG_STORE)
def _() -> object:
    w = world()
    return Global(w.store, GlobalType(ValType.funcref(), True), world().host)


@case("other_store.caller.as_store_for_a_foreign_handle", WRONG_STORE)
def _() -> object:
    foreign = world()
    w = world(lambda caller, x: foreign.id(caller, x), access_caller=True)
    return w.f(w.store, 1)


@case("other_store.linker.get_item_of_another_store", WRONG_STORE)
def _() -> object:
    w = world()
    linker = Linker(engine())
    linker.define(w.store, "", "h", w.host)
    return linker.get(other_store(), "", "h")


@case(
    "other_store.linker.instantiate_with_item_of_another_store",
    raises(WasmtimeError, "^cross-`Store` instantiation is not currently supported$"),
)
def _() -> object:
    w = world()
    linker = Linker(engine())
    linker.define(w.store, "", "h", w.host)
    return linker.instantiate(other_store(), module())


@case("other_store.instance.exports", WRONG_STORE)
def _() -> object:
    return world().instance.exports(other_store())


@case("other_store.engine.func_call", WRONG_STORE)
def _() -> object:
    return world().f(Store(Engine()), 1)


@case("other_store.engine.instance", raises(WasmtimeError, "cross-`Engine`"))
def _() -> object:
    return Instance(Store(Engine()), module(), [])


@case("other_store.engine.linker", raises(WasmtimeError, "cross-`Engine`"))
def _() -> object:
    return Linker(Engine()).instantiate(other_store(), module("(module)"))


@case("other_store.engine.instance_pre", raises(WasmtimeError, "cross-`Engine`"))
def _() -> object:
    return Linker(engine()).instantiate_pre(module("(module)")).instantiate(Store(Engine()))


@case("other_store.engine.tag", WRONG_STORE)
def _() -> object:
    return world().e.type(Store(Engine()))


@case("other_store.engine.shared_memory", raises(WasmtimeError, "another engine"))
def _() -> object:
    config = Config()
    config.shared_memory = True
    shm = SharedMemory(Engine(config), MemoryType(Limits(1, 1), shared=True))
    return Instance(other_store(), module('(module (import "" "m" (memory 1 1 shared)))'), [shm])


# --------------------------------------------------------------------------------------------
# After the store's close()
# --------------------------------------------------------------------------------------------


def closed_world() -> World:
    w = world()
    w.store.close()
    return w


CLOSED_STORE: dict[str, Callable[[World], object]] = {
    "func.call": lambda w: w.f(w.store, 1),
    "func.type": lambda w: w.f.type(w.store),
    "host_func.call": lambda w: w.host(w.store, 1),
    "memory.read": lambda w: w.m.read(w.store),
    "memory.write": lambda w: w.m.write(w.store, b"x"),
    "memory.grow": lambda w: w.m.grow(w.store, 1),
    "memory.size": lambda w: w.m.size(w.store),
    "memory.buffer": lambda w: w.m.buffer(w.store),
    "memory.data_ptr": lambda w: w.m.data_ptr(w.store),
    "memory.get_buffer_ptr": lambda w: w.m.get_buffer_ptr(w.store),
    "global.value": lambda w: w.g.value(w.store),
    "global.set_value": lambda w: w.g.set_value(w.store, 3),
    "table.get": lambda w: w.t.get(w.store, 0),
    "table.set": lambda w: w.t.set(w.store, 0, None),
    "table.grow": lambda w: w.t.grow(w.store, 1, None),
    "tag.type": lambda w: w.e.type(w.store),
    "new.instance": lambda w: Instance(w.store, module(), [w.host]),
    "new.func": lambda w: Func(w.store, I32_TO_I32, lambda x: x),
    "new.memory": lambda w: Memory(w.store, MemoryType(Limits(1))),
    "new.global": lambda w: Global(w.store, GlobalType(I32, True), 1),
    "new.table": lambda w: Table(w.store, TableType(ValType.funcref(), Limits(1)), None),
    "new.tag": lambda w: Tag(w.store, TagType(FuncType([], []))),
    "linker.instantiate": lambda w: Linker(engine()).instantiate(w.store, module("(module)")),
    "linker.define": lambda w: Linker(engine()).define(w.store, "a", "b", w.host),
    "linker.define_module": lambda w: Linker(engine()).define_module(
        w.store, "a", module("(module)")
    ),
    "linker.define_defaults": lambda w: Linker(engine()).define_unknown_imports_as_default_values(
        w.store, module()
    ),
    "instance_pre.instantiate": lambda w: (
        Linker(engine()).instantiate_pre(module("(module)")).instantiate(w.store)
    ),
    "store.data": lambda w: w.store.data(),
    "store.gc": lambda w: w.store.gc(),
    "store.set_limits": lambda w: w.store.set_limits(memory_size=1 << 16),
    "store.set_epoch_deadline": lambda w: w.store.set_epoch_deadline(1),
    "store.set_wasi": lambda w: w.store.set_wasi(WasiConfig()),
}

for _what, _use in CLOSED_STORE.items():
    case(f"closed_store.{_what}", CLOSED)(lambda use=_use: use(closed_world()))


@case("closed_store.instance.exports", CLOSED)
def _() -> object:
    w = closed_world()
    return w.instance.exports(w.store)


@case("closed_store.store.close_again", returns(None))
def _() -> object:
    return closed_world().store.close()


@case("closed_store.store.engine_still_usable", returns("Module"))
def _() -> object:
    return type(Module(closed_world().store.engine, "(module)")).__name__


@case("closed_store.buffer.existing_view_stays_valid", returns((b"abc", 9, 65536)))
def _() -> object:
    w = world()
    view = memoryview(w.m.buffer(w.store))
    view[0:3] = b"abc"
    w.store.close()
    view[3] = 9  # the store is retired, not freed, while a view is exported
    return (bytes(view[0:3]), view[3], len(view))


@case("closed_store.buffer.new_view_refused", CLOSED)
def _() -> object:
    w = world()
    buffer = w.m.buffer(w.store)
    w.store.close()
    return memoryview(buffer)


# --------------------------------------------------------------------------------------------
# After `del store; gc.collect()`
# --------------------------------------------------------------------------------------------


def gone_world() -> tuple[World, weakref.ref[Store]]:
    """A world whose store has been collected; its handles remain."""
    w = world()
    ref = weakref.ref(w.store)
    w.store = None  # type: ignore[assignment]
    gc.collect()
    return w, ref


def with_fresh_stores(use: Callable[[World, Store], object], count: int = 40) -> object:
    """``use`` of a collected store's handles with many new stores (some may reuse the
    collected store's memory): the set of outcomes, which must be one exception for all."""
    w = gone_world()[0]
    seen = set()
    for _ in range(count):
        store = Store(engine())
        seen.add(str(outcome(lambda store=store: use(w, store))))
    return sorted(seen)


@case("gone_store.store_is_collected", returns(True))
def _() -> object:
    return gone_world()[1]() is None


GONE_STORE: dict[str, Callable[[World, Store], object]] = {
    "func.call": lambda w, s: w.f(s, 1),
    "host_func.call": lambda w, s: w.host(s, 1),
    "memory.read": lambda w, s: w.m.read(s, 0, 1),
    "memory.buffer": lambda w, s: w.m.buffer(s),
    "global.value": lambda w, s: w.g.value(s),
    "table.size": lambda w, s: w.t.size(s),
    "tag.type": lambda w, s: w.e.type(s),
    "instance.new_with_its_import": lambda w, s: Instance(s, module(), [w.host]),
}

for _what, _use in GONE_STORE.items():
    case(f"gone_store.{_what}", returns(["WasmtimeError"]))(lambda use=_use: with_fresh_stores(use))


@case("gone_store.caller_kept_from_a_callback", CALLER_GONE)
def _() -> object:
    kept: list[Caller] = []
    w = world(lambda caller, x: kept.append(caller) or x, access_caller=True)
    w.f(w.store, 1)
    other = world()
    del w
    gc.collect()
    return other.id(kept[0], 1)


@case("gone_store.buffer_keeps_its_store_alive", returns((False, 7, b"\x07")))
def _() -> object:
    w = world()
    buffer = w.m.buffer(w.store)
    memoryview(buffer)[0] = 7
    ref = weakref.ref(w.store)
    del w
    gc.collect()
    return (ref() is None, memoryview(buffer)[0], bytes(memoryview(buffer)[0:1]))


@case("gone_store.store_freed_once_its_buffer_goes", returns(True))
def _() -> object:
    w = world()
    buffer = w.m.buffer(w.store)
    ref = weakref.ref(w.store)
    del w, buffer
    gc.collect()
    return ref() is None


# --------------------------------------------------------------------------------------------
# After the object's own close()
# --------------------------------------------------------------------------------------------


def shared_engine() -> Engine:
    config = Config()
    config.shared_memory = True
    return Engine(config)


SHARED_IMPORT = '(module (import "" "m" (memory 1 2 shared)))'


@case("own_close.module.instantiate", CLOSED)
def _() -> object:
    return Instance(other_store(), closed(Module(engine(), "(module)")), [])


@case("own_close.module.serialize", CLOSED)
def _() -> object:
    return closed(Module(engine(), "(module)")).serialize()


@case("own_close.module.exports", CLOSED)
def _() -> object:
    return closed(Module(engine(), "(module)")).exports


@case("own_close.module.linker_instantiate", CLOSED)
def _() -> object:
    return Linker(engine()).instantiate(other_store(), closed(Module(engine(), "(module)")))


@case("own_close.module.twice", returns(None))
def _() -> object:
    return closed(Module(engine(), "(module)")).close()


@case("own_close.module.instances_keep_working", returns(2))
def _() -> object:
    m = Module(engine(), WORLD)
    store = other_store()
    ex = Instance(store, m, [Func(store, I32_TO_I32, lambda x: x * 2)]).exports(store)
    m.close()
    gc.collect()
    return ex["f"](store, 1)


@case("own_close.linker.instantiate", CLOSED)
def _() -> object:
    return closed(Linker(engine())).instantiate(other_store(), module("(module)"))


@case("own_close.linker.define_func", CLOSED)
def _() -> object:
    return closed(Linker(engine())).define_func("a", "b", FuncType([], []), lambda: None)


@case("own_close.linker.instance_pre_keeps_working", returns(5))
def _() -> object:
    linker = Linker(engine())
    linker.define_func("", "h", I32_TO_I32, lambda x: x + 4)
    pre = linker.instantiate_pre(module())
    linker.close()
    gc.collect()
    store = other_store()
    return pre.instantiate(store).exports(store)["f"](store, 1)


@case("own_close.instance_pre.instantiate", CLOSED)
def _() -> object:
    return closed(Linker(engine()).instantiate_pre(module("(module)"))).instantiate(other_store())


@case("own_close.instance_pre.module", CLOSED)
def _() -> object:
    return closed(Linker(engine()).instantiate_pre(module("(module)"))).module


@case("own_close.engine.store", CLOSED)
def _() -> object:
    return Store(closed(Engine()))


@case("own_close.engine.module", CLOSED)
def _() -> object:
    return Module(closed(Engine()), "(module)")


@case("own_close.engine.increment_epoch", CLOSED)
def _() -> object:
    return closed(Engine()).increment_epoch()


@case("own_close.engine.its_stores_keep_working", returns(7))
def _() -> object:
    e = Engine()
    store = Store(e)
    m = Module(e, '(module (func (export "x") (result i32) i32.const 7))')
    e.close()
    gc.collect()
    return Instance(store, m, []).exports(store)["x"](store)


@case("own_close.config.engine", CLOSED)
def _() -> object:
    return Engine(closed(Config()))


@case("own_close.config.consumed_by_an_engine", CLOSED)
def _() -> object:
    config = Config()
    Engine(config)
    return Engine(config)


@case("own_close.config.set_after_consumed", CLOSED)
def _() -> object:
    config = Config()
    Engine(config)
    config.consume_fuel = True
    return config


@case("own_close.wasi_config.set_wasi", CLOSED)
def _() -> object:
    return other_store().set_wasi(closed(WasiConfig()))


@case("own_close.wasi_config.consumed_by_a_store", CLOSED)
def _() -> object:
    wasi = WasiConfig()
    other_store().set_wasi(wasi)
    return other_store().set_wasi(wasi)


@case("own_close.wasi_config.argv_after_consumed", CLOSED)
def _() -> object:
    wasi = WasiConfig()
    other_store().set_wasi(wasi)
    wasi.argv = ["a"]
    return wasi


@case("own_close.shared_memory.grow", CLOSED)
def _() -> object:
    shm = SharedMemory(shared_engine(), MemoryType(Limits(1, 2), shared=True))
    return closed(shm).grow(1)


@case("own_close.shared_memory.import", CLOSED)
def _() -> object:
    e = shared_engine()
    shm = closed(SharedMemory(e, MemoryType(Limits(1, 2), shared=True)))
    return Instance(Store(e), Module(e, SHARED_IMPORT), [shm])


@case("own_close.shared_memory.instances_keep_it", returns(99))
def _() -> object:
    e = shared_engine()
    shm = SharedMemory(e, MemoryType(Limits(1, 2), shared=True))
    store = Store(e)
    wat = SHARED_IMPORT.replace(
        "shared)))",
        'shared)) (func (export "r") (result i32) i32.const 0 i32.load)'
        ' (func (export "w") (param i32) i32.const 0 local.get 0 i32.store))',
    )
    ex = Instance(store, Module(e, wat), [shm]).exports(store)
    shm.close()
    gc.collect()
    ex["w"](store, 99)
    return ex["r"](store)


@case("own_close.store.context_manager_then_use", CLOSED)
def _() -> object:
    with Store(engine()) as store:
        pass
    return Func(store, FuncType([], []), lambda: None)


@case("own_close.func_type", CLOSED)
def _() -> object:
    return Func(other_store(), closed(FuncType([], [])), lambda: None)


@case("own_close.memory_type", CLOSED)
def _() -> object:
    return Memory(other_store(), closed(MemoryType(Limits(1))))


@case("own_close.val_type", CLOSED)
def _() -> object:
    return FuncType([closed(ValType.i32())], [])


@case("own_close.global_type", CLOSED)
def _() -> object:
    return Global(other_store(), closed(GlobalType(I32, True)), 1)


@case("own_close.table_type", CLOSED)
def _() -> object:
    return Table(other_store(), closed(TableType(ValType.funcref(), Limits(1))), None)


@case("own_close.tag_type", CLOSED)
def _() -> object:
    return Tag(other_store(), closed(TagType(FuncType([], []))))


@case("own_close.trap.message", CLOSED)
def _() -> object:
    return closed(Trap("x")).message


@case("own_close.wasmtime_error.message", CLOSED)
def _() -> object:
    return closed(WasmtimeError("x")).message


# --------------------------------------------------------------------------------------------
# Caller: after its callback, nested, from another thread
# --------------------------------------------------------------------------------------------


def kept_caller() -> tuple[World, Caller]:
    kept: list[Caller] = []
    w = world(lambda caller, x: kept.append(caller) or x, access_caller=True)
    w.f(w.store, 1)
    return w, kept[0]


@case("caller.after.get", returns(None))
def _() -> object:
    return kept_caller()[1].get("m")


@case("caller.after.getitem", raises(KeyError, "failed to find export m"))
def _() -> object:
    return kept_caller()[1]["m"]


@case("caller.after.as_store_call", CALLER_GONE)
def _() -> object:
    w, caller = kept_caller()
    return w.id(caller, 1)


@case("caller.after.as_store_memory", CALLER_GONE)
def _() -> object:
    w, caller = kept_caller()
    return w.m.read(caller, 0, 1)


@case("caller.after.as_store_instance", CALLER_GONE)
def _() -> object:
    w, caller = kept_caller()
    return Instance(caller, module(), [w.host])


@case("caller.after.as_store_linker", CALLER_GONE)
def _() -> object:
    return Linker(engine()).instantiate(kept_caller()[1], module("(module)"))


@case("caller.after.func_new_wants_a_store", raises(TypeError, "expected a Store"))
def _() -> object:
    return Func(kept_caller()[1], FuncType([], []), lambda: None)  # type: ignore[arg-type]


@case("caller.after.store_closed", returns(None))
def _() -> object:
    w, caller = kept_caller()
    w.store.close()
    return caller.get("m")


@case(
    "caller.during.outer_caller_in_a_nested_callback",
    raises(WasmtimeError, "not the innermost running callback"),
)
def _() -> object:
    store = other_store()
    outer: list[Caller] = []
    inner = world(lambda caller, x: outer[0].get("m") and 0, True, store)

    def host(caller: Caller, x: int) -> int:
        outer.append(caller)
        return int(inner.f(store, x))  # type: ignore[arg-type]

    w = world(host, True, store)
    return w.f(store, 1)


@case("caller.during.outer_caller_as_store_in_a_nested_callback", returns(5))
def _() -> object:
    # As a store, any live Caller of the store resolves to the innermost callback: allowed.
    store = other_store()
    outer: list[Caller] = []
    ident: list[Func] = []
    inner = world(lambda caller, x: ident[0](outer[0], x), True, store)

    def host(caller: Caller, x: int) -> int:
        outer.append(caller)
        return int(inner.f(store, x))  # type: ignore[arg-type]

    w = world(host, True, store)
    ident.append(w.id)
    return w.f(store, 5)


@case("caller.during.get_from_another_thread", raises(WasmtimeError, "innermost"))
def _() -> object:
    errors: list[BaseException] = []

    def host(caller: Caller, x: int) -> int:
        try:
            in_thread(lambda: caller.get("m"))
        except BaseException as e:  # noqa: BLE001 (recorded)
            errors.append(e)
        return x

    w = world(host, True)
    w.f(w.store, 1)
    raise errors[0]


@case("caller.during.as_store_from_another_thread", IN_USE)
def _() -> object:
    errors: list[BaseException] = []
    ident: list[Func] = []

    def host(caller: Caller, x: int) -> int:
        try:
            in_thread(lambda: ident[0](caller, 3))
        except BaseException as e:  # noqa: BLE001 (recorded)
            errors.append(e)
        return x

    w = world(host, True)
    ident.append(w.id)
    w.f(w.store, 1)
    raise errors[0]


@case("caller.cannot_be_constructed", raises(TypeError, "cannot create"))
def _() -> object:
    return Caller()  # type: ignore[call-arg]


@case("caller.store_context_cannot_be_constructed", raises(TypeError, "cannot create"))
def _() -> object:
    return StoreContext()  # type: ignore[call-arg]


# --------------------------------------------------------------------------------------------
# From another thread while a call runs in the store
# --------------------------------------------------------------------------------------------


@dataclass
class Busy:
    """A world whose ``f`` is running on a worker thread, parked in its host function."""

    w: World
    caller: Caller
    linker: Linker
    pre: InstancePre
    view: memoryview


@contextmanager
def busy_world() -> Iterator[Busy]:
    entered = threading.Event()
    release = threading.Event()
    callers: list[Caller] = []

    def host(caller: Caller, x: int) -> int:
        callers.append(caller)
        entered.set()
        release.wait(30)
        return x * 2

    w = world(host, access_caller=True)
    linker = Linker(engine())
    linker.define(w.store, "", "h", w.host)
    pre = linker.instantiate_pre(module())
    view = memoryview(w.m.buffer(w.store))
    view[0] = 42
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(outcome(lambda: w.f(w.store, 21))))
    worker.start()
    try:
        assert entered.wait(10), "the worker never entered its host function"
        yield Busy(w, callers[0], linker, pre, view)
    finally:
        release.set()
        worker.join(10)
        # The worker's call was not disturbed, and the store is usable again.
        if results != [42] or w.id(w.store, 5) != 5:
            raise AssertionError(f"the busy store was disturbed: worker got {results}")


BUSY: dict[str, Callable[[Busy], object]] = {
    "func.call": lambda b: b.w.id(b.w.store, 1),
    "host_func.call": lambda b: b.w.host(b.w.store, 1),
    "new.func": lambda b: Func(b.w.store, FuncType([], []), lambda: None),
    "memory.read": lambda b: b.w.m.read(b.w.store, 0, 1),
    "memory.write": lambda b: b.w.m.write(b.w.store, b"x"),
    "memory.grow": lambda b: b.w.m.grow(b.w.store, 1),
    "memory.size": lambda b: b.w.m.size(b.w.store),
    "memory.buffer": lambda b: b.w.m.buffer(b.w.store),
    "memory.data_ptr": lambda b: b.w.m.data_ptr(b.w.store),
    "new.memory": lambda b: Memory(b.w.store, MemoryType(Limits(1))),
    "global.value": lambda b: b.w.g.value(b.w.store),
    "global.set_value": lambda b: b.w.g.set_value(b.w.store, 1),
    "new.global": lambda b: Global(b.w.store, GlobalType(I32, False), 1),
    "table.get": lambda b: b.w.t.get(b.w.store, 0),
    "table.set": lambda b: b.w.t.set(b.w.store, 0, None),
    "table.grow": lambda b: b.w.t.grow(b.w.store, 1, None),
    "new.table": lambda b: Table(b.w.store, TableType(ValType.funcref(), Limits(1)), None),
    "tag.type": lambda b: b.w.e.type(b.w.store),
    "new.tag": lambda b: Tag(b.w.store, TagType(FuncType([], []))),
    "new.instance": lambda b: Instance(b.w.store, module(), [b.w.host]),
    "module.instantiate_in_it": lambda b: Instance(b.w.store, module("(module)"), []),
    "linker.instantiate": lambda b: b.linker.instantiate(b.w.store, module()),
    "linker.get": lambda b: b.linker.get(b.w.store, "", "h"),
    "linker.define": lambda b: Linker(engine()).define(b.w.store, "", "h", b.w.host),
    "linker.define_module": lambda b: Linker(engine()).define_module(
        b.w.store, "x", module("(module)")
    ),
    "instance_pre.instantiate": lambda b: b.pre.instantiate(b.w.store),
    "caller.as_store": lambda b: b.w.id(b.caller, 1),
    "store.gc": lambda b: b.w.store.gc(),
    "store.data": lambda b: b.w.store.data(),
    "store.set_epoch_deadline": lambda b: b.w.store.set_epoch_deadline(1),
    "store.get_fuel": lambda b: b.w.store.get_fuel(),
    "wasi_config.set_wasi": lambda b: b.w.store.set_wasi(WasiConfig()),
}

for _what, _use in BUSY.items():

    def _busy_case(use: Callable[[Busy], object] = _use) -> object:
        with busy_world() as b:
            return in_thread(lambda: use(b))

    case(f"busy.{_what}", IN_USE)(_busy_case)


@case("busy.store.close", raises(WasmtimeError, "^cannot close a store while wasm is running"))
def _() -> object:
    with busy_world() as b:
        return in_thread(b.w.store.close)


@case("busy.store.set_limits", raises(WasmtimeError, "^cannot change limits while wasm runs"))
def _() -> object:
    with busy_world() as b:
        return in_thread(lambda: b.w.store.set_limits(memory_size=1 << 20))


@case("busy.caller.get", raises(WasmtimeError, "innermost"))
def _() -> object:
    with busy_world() as b:
        return in_thread(lambda: b.caller.get("m"))


@case("busy.shared_memory.import_into_it", IN_USE)
def _() -> object:
    e = shared_engine()
    store = Store(e)
    entered, release = threading.Event(), threading.Event()

    def parked() -> None:
        entered.set()
        release.wait(30)

    park = Func(store, FuncType([], []), parked)
    wat = '(module (import "" "p" (func $p)) (func (export "run") call $p))'
    run = Instance(store, Module(e, wat), [park]).exports(store)["run"]
    shm = SharedMemory(e, MemoryType(Limits(1, 2), shared=True))
    worker = threading.Thread(target=lambda: run(store))
    worker.start()
    try:
        assert entered.wait(10)
        return in_thread(lambda: Instance(store, Module(e, SHARED_IMPORT), [shm]))
    finally:
        release.set()
        worker.join(10)


@case("busy.memory_buffer.existing_view_readable", returns(42))
def _() -> object:
    with busy_world() as b:
        return in_thread(lambda: b.view[0])


@case("busy.engine.other_store_runs", returns((7, "Module")))
def _() -> object:
    # The engine is shared: other stores and compilation are not affected by the busy one.
    with busy_world():
        other = world(lambda x: x + 6)
        return in_thread(
            lambda: (other.f(other.store, 1), type(Module(engine(), "(module)")).__name__)
        )


@case("busy.spinning_wasm.call", IN_USE)
def _() -> object:
    config = Config()
    config.epoch_interruption = True
    e = Engine(config)
    store = Store(e)
    wat = """(module (memory (export "m") 1)
      (func (export "spin") (i32.store8 (i32.const 0) (i32.const 1)) (loop br 0))
      (func (export "one") (result i32) i32.const 1))"""
    ex = Instance(store, Module(e, wat), []).exports(store)
    view = memoryview(ex["m"].buffer(store))
    store.set_epoch_deadline(1)
    worker = threading.Thread(target=lambda: outcome(lambda: ex["spin"](store)))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while view[0] != 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert view[0] == 1, "the worker never entered wasm"
        return in_thread(lambda: ex["one"](store))
    finally:
        while worker.is_alive():
            e.increment_epoch()
            worker.join(0.01)


# --------------------------------------------------------------------------------------------
# Host functions that raise
# --------------------------------------------------------------------------------------------


RAISED: dict[str, Callable[[], BaseException]] = {
    "exception": lambda: Boom("boom"),
    "keyboard_interrupt": lambda: KeyboardInterrupt("ki"),
    "system_exit": lambda: SystemExit(3),
    "generator_exit": lambda: GeneratorExit(),
    "base_exception_subclass": lambda: BaseBoom("base"),
    "trap": lambda: Trap("custom trap"),
    "wasmtime_error": lambda: WasmtimeError("custom error"),
    "recursion_error": lambda: RecursionError("deep"),
    "memory_error": lambda: MemoryError("oom"),
}


for _what, _make in RAISED.items():

    def _raise_case(make: Callable[[], BaseException] = _make) -> object:
        error = make()
        w = world(lambda x: raise_(error))
        got = same_error_out(error, lambda: w.f(w.store, 1))
        return (got, w.id(w.store, 3))  # the store works afterwards

    case(f"host_raise.{_what}", returns(((True, type(_make()).__name__), 3)))(_raise_case)


@case("host_raise.through_nested_calls", returns(((True, "Boom"), 9)))
def _() -> object:
    error = Boom("deep")
    funcs: list[Func] = []
    store = other_store()

    def host(x: int) -> int:
        if x <= 0:
            raise error
        return int(funcs[0](store, x - 1)) + 1  # type: ignore[call-overload]

    w = world(host, store=store)
    funcs.append(w.f)
    return (same_error_out(error, lambda: w.f(store, 20)), w.id(store, 9))


@case("host_raise.linker_define_func", returns(((True, "Boom"), 4)))
def _() -> object:
    error = Boom("linked")
    linker = Linker(engine())
    linker.define_func("", "h", I32_TO_I32, lambda x: raise_(error))
    store = other_store()
    ex = linker.instantiate(store, module()).exports(store)
    return (same_error_out(error, lambda: ex["f"](store, 1)), ex["id"](store, 4))


@case("host_raise.from_start_function", returns((True, "Boom")))
def _() -> object:
    error = Boom("start")
    store = other_store()
    wat = '(module (import "" "h" (func $h)) (start $h))'
    host = Func(store, FuncType([], []), lambda: raise_(error))
    return same_error_out(error, lambda: Instance(store, module(wat), [host]))


@case("host_raise.while_caller_is_used", returns(((True, "Boom"), None)))
def _() -> object:
    error = Boom("caller")
    kept: list[Caller] = []

    def host(caller: Caller, x: int) -> int:
        kept.append(caller)
        caller["m"].write(caller, b"q", 0)
        raise error

    w = world(host, access_caller=True)
    return (same_error_out(error, lambda: w.f(w.store, 1)), kept[0].get("m"))


# --------------------------------------------------------------------------------------------
# Host functions that return the wrong thing
# --------------------------------------------------------------------------------------------

CANNOT_CONVERT = raises(TypeError, "^don't know how to convert .* to i32$")

WRONG_RESULTS: dict[str, tuple[object, tuple[str, ...]]] = {
    "str": ("x", CANNOT_CONVERT),
    "none": (None, CANNOT_CONVERT),
    "float": (1.5, CANNOT_CONVERT),
    "list": ([1, 2], CANNOT_CONVERT),
    "tuple_of_one": ((1,), CANNOT_CONVERT),
    "bytes": (b"ab", CANNOT_CONVERT),
    "object": (object(), CANNOT_CONVERT),
    "func": (len, CANNOT_CONVERT),
    "val_of_another_type": (Val.i64(1), raises(TypeError)),
    # Integers wrap to the result type, as everywhere in the API (and in wasmtime-py).
    "huge_int": (2**100 + 7, returns(7)),
    "huge_negative_int": (-(2**100) - 1, returns(-1)),
    "u32_max": (2**32 - 1, returns(-1)),
    "enormous_int": (2**100_000 + 5, returns(5)),
    "bool": (True, returns(1)),
}

for _what, (_value, _expect) in WRONG_RESULTS.items():

    def _wrong_result_case(value: object = _value) -> object:
        w = world(lambda x: value)
        return w.f(w.store, 1)

    case(f"host_return.i32.{_what}", _expect)(_wrong_result_case)


def host_of(ty: FuncType, fn: Callable[..., Any]) -> Callable[[], object]:
    def call() -> object:
        store = other_store()
        return Func(store, ty, fn)(store)

    return call


I64, F32, F64 = ValType.i64(), ValType.f32(), ValType.f64()

case(
    "host_return.value_for_no_result",
    raises(WasmtimeError, "callback produced results when it shouldn't"),
)(host_of(FuncType([], []), lambda: 5))
case("host_return.one_value_for_two", raises(TypeError))(
    host_of(FuncType([], [I32, I32]), lambda: 5)
)
case("host_return.three_values_for_two", raises(WasmtimeError, "wrong number of results"))(
    host_of(FuncType([], [I32, I32]), lambda: (1, 2, 3))
)
case("host_return.none_for_two", raises(TypeError))(host_of(FuncType([], [I32, I32]), lambda: None))
case("host_return.generator_for_two", raises(TypeError))(
    host_of(FuncType([], [I32, I32]), lambda: (x for x in (1, 2)))
)
case("host_return.str_for_two", raises(TypeError))(host_of(FuncType([], [I32, I32]), lambda: "ab"))
case("host_return.i64_wraps", returns(3))(host_of(FuncType([], [I64]), lambda: 2**64 + 3))
case("host_return.f32_overflowing_int", raises(TypeError))(
    host_of(FuncType([], [F32]), lambda: 10**400)
)
case("host_return.f64_str", raises(TypeError, "to f64"))(
    host_of(FuncType([], [F64]), lambda: "1.0")
)
case("host_return.funcref_not_a_func", raises(TypeError, "funcref"))(
    host_of(FuncType([], [ValType.funcref()]), lambda: 5)
)
case("host_return.callable_takes_no_arguments", raises(TypeError, "positional argument"))(
    on_world(lambda w: w.f(w.store, 1), host=lambda: 1)
)
case("host_return.not_callable", raises(TypeError, "not callable"))(
    on_world(lambda w: w.f(w.store, 1), host=5)
)


@case("host_return.not_callable_via_linker", raises(TypeError, "not callable"))
def _() -> object:
    linker = Linker(engine())
    linker.define_func("", "h", I32_TO_I32, 5)  # type: ignore[arg-type]
    store = other_store()
    return linker.instantiate(store, module()).exports(store)["f"](store, 1)


@case("host_return.raising_index", raises(TypeError))
def _() -> object:
    class Sneaky:
        def __index__(self) -> int:
            raise Boom("index")

    w = world(lambda x: Sneaky())
    return w.f(w.store, 1)


# --------------------------------------------------------------------------------------------
# Host functions that close their store, drop their own objects, re-enter, block
# --------------------------------------------------------------------------------------------

CANNOT_CLOSE = raises(WasmtimeError, "^cannot close a store while wasm is running in it$")


@case("host_store.close_inside_is_refused_and_the_call_goes_on", returns((2, ["WasmtimeError"])))
def _() -> object:
    seen: list[object] = []
    store = other_store()
    w = world(lambda x: seen.append(outcome(store.close)) or x + 1, store=store)
    return (w.f(store, 1), seen)


@case("host_store.close_inside_raises_out_of_the_call", CANNOT_CLOSE)
def _() -> object:
    store = other_store()

    def host(x: int) -> int:
        store.close()
        return x

    return world(host, store=store).f(store, 1)


@case("host_store.close_inside_then_store_usable", returns(6))
def _() -> object:
    store = other_store()
    w = world(lambda x: store.close(), store=store)
    outcome(lambda: w.f(store, 1))
    return w.id(store, 6)


@case("host_store.exit_context_inside", CANNOT_CLOSE)
def _() -> object:
    store = other_store()
    return world(lambda x: store.__exit__(None, None, None), store=store).f(store, 1)


@case("host_store.close_inside_via_caller_callback", CANNOT_CLOSE)
def _() -> object:
    store = other_store()
    return world(lambda caller, x: store.close(), True, store).f(store, 1)


@case("host_store.close_in_start_function", CANNOT_CLOSE)
def _() -> object:
    store = other_store()
    wat = '(module (import "" "h" (func $h)) (start $h))'
    return Instance(store, module(wat), [Func(store, FuncType([], []), store.close)])


@case("host_store.drop_every_reference_inside", returns((2, True)))
def _() -> object:
    holder: dict[str, Any] = {}

    def host(x: int) -> int:
        holder.clear()  # the store, instance and exports: only the running call keeps them
        gc.collect()
        return x + 1

    def setup() -> tuple[Func, weakref.ref[Store]]:
        w = world(host)
        holder.update(w=w)
        return w.f, weakref.ref(w.store)

    f, ref = setup()
    store = ref()
    assert store is not None
    value = f(store, 1)
    del store
    gc.collect()
    return (value, ref() is None)


@case("host_store.set_limits_inside", raises(WasmtimeError, "cannot change limits"))
def _() -> object:
    store = other_store()
    return world(lambda x: store.set_limits(memory_size=1 << 16), store=store).f(store, 1)


@case("host_store.set_fuel_inside_unconfigured", raises(WasmtimeError, "fuel is not configured"))
def _() -> object:
    store = other_store()
    return world(lambda x: store.set_fuel(5), store=store).f(store, 1)


@case("host_store.create_and_call_inside", returns((8, 10, [104])))
def _() -> object:
    store = other_store()
    made: list[Func] = []
    nested_results: list[object] = []

    def host(x: int) -> object:
        f = Func(store, I32_TO_I32, lambda y: y * 2)
        made.append(f)
        nested = world(lambda y: y + 100, store=store)
        nested_results.append(nested.f(store, x))
        return f(store, x)

    w = world(host, store=store)
    return (w.f(store, 4), made[0](store, 5), nested_results)


@case("host_store.grow_memory_inside", returns((1, 2)))
def _() -> object:
    store = other_store()
    holder: list[World] = []
    w = world(lambda x: holder[0].m.grow(store, 1), store=store)
    holder.append(w)
    return (w.f(store, 1), w.m.size(store))


@case("host_store.close_linker_module_engine_inside", returns(5))
def _() -> object:
    e = Engine()
    linker = Linker(e)
    objects: list[Any] = []

    def host() -> None:
        for obj in objects:
            obj.close()
        gc.collect()

    linker.define_func("", "h", FuncType([], []), host)
    wat = (
        '(module (import "" "h" (func $h)) (start $h) (func (export "x") (result i32) i32.const 5))'
    )
    m = Module(e, wat)
    pre = linker.instantiate_pre(m)
    objects.extend([linker, m, pre, e])
    store = Store(e)
    instance = pre.instantiate(store)
    return instance.exports(store)["x"](store)


@case("host_store.reenter_same_instance", returns(50))
def _() -> object:
    store = other_store()
    funcs: list[Func] = []

    def host(x: int) -> int:
        return 0 if x <= 0 else int(funcs[0](store, x - 1)) + 1  # type: ignore[call-overload]

    funcs.append(world(host, store=store).f)
    return funcs[0](store, 50)


@case("host_store.reenter_via_caller", returns(20))
def _() -> object:
    funcs: list[Func] = []

    def host(caller: Caller, x: int) -> int:
        return 0 if x <= 0 else int(funcs[0](caller, x - 1)) + 1  # type: ignore[call-overload]

    w = world(host, access_caller=True)
    funcs.append(w.f)
    return w.f(w.store, 20)


@case("host_store.reenter_too_deep_is_a_stack_overflow_trap", returns((True, 3)))
def _() -> object:
    store = other_store()
    funcs: list[Func] = []

    def host(x: int) -> int:
        return 0 if x <= 0 else int(funcs[0](store, x - 1)) + 1  # type: ignore[call-overload]

    funcs.append(world(host, store=store).f)
    try:
        funcs[0](store, 5000)
    except Trap as trap:
        return (trap.trap_code == TrapCode.STACK_OVERFLOW, funcs[0](store, 3))
    return "no trap"


@case("host_store.waits_on_a_lock_held_briefly_by_another_thread", returns(21))
def _() -> object:
    lock = threading.Lock()
    lock.acquire()
    threading.Timer(0.05, lock.release).start()

    def host(x: int) -> int:
        with lock:
            return x * 3

    w = world(host)
    return w.f(w.store, 7)


@case("host_store.thread_started_inside_uses_the_store", returns((1, ["WasmtimeError"])))
def _() -> object:
    store = other_store()
    seen: list[object] = []
    ident: list[Func] = []

    def host(x: int) -> int:
        seen.append(outcome(lambda: in_thread(lambda: ident[0](store, 3))))
        return x

    w = world(host, store=store)
    ident.append(w.id)
    return (w.f(store, 1), seen)


@case("host_store.thread_started_inside_uses_another_store", returns(42))
def _() -> object:
    other = world(lambda x: x * 2)

    def host(x: int) -> int:
        return int(in_thread(lambda: other.f(other.store, x)))  # type: ignore[call-overload]

    w = world(host)
    return w.f(w.store, 21)


@case("host_store.wasi_output_callback_closes_its_store", returns((0, ["WasmtimeError"])))
def _() -> object:
    e = engine()
    store = Store(e)
    seen: list[object] = []
    wasi = WasiConfig()
    wasi.stdout_custom = lambda data: seen.append(outcome(store.close))
    store.set_wasi(wasi)
    linker = Linker(e)
    linker.define_wasi()
    wat = """(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1) (data (i32.const 100) "hi")
      (func (export "say") (result i32)
        (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 2))
        (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))"""
    say = linker.instantiate(store, module(wat)).exports(store)["say"]
    return (say(store), seen)


# --------------------------------------------------------------------------------------------
# Python code that runs during a store operation: finalizers of externref payloads
# --------------------------------------------------------------------------------------------


class Finalized:
    """An externref payload whose finalizer runs ``action`` and records its outcome."""

    def __init__(self, action: Callable[[], object], log: list[object]) -> None:
        self.action = action
        self.log = log

    def __del__(self) -> None:
        self.log.append(outcome(self.action))


# An externref payload's __del__ may run while wasmtime's GC holds the store (Store.gc,
# Global.set_value): the store is marked busy meanwhile, so closing it is refused.
@case("finalizer.closes_store_during_store_gc", returns(True))
def _() -> object:
    w = world()
    log: list[object] = []
    w.ex["ref"](w.store, Finalized(w.store.close, log))
    gc.collect()
    outcome(w.store.gc)
    # Refused while the collector runs, or run after it: either is sound.
    return log in ([None], ["WasmtimeError"])


@case("finalizer.closes_store_during_automatic_gc", returns(True))
def _() -> object:
    w = world()
    log: list[object] = []
    for _ in range(100_000):  # each replaces the last payload; the GC runs when the heap fills
        if log or outcome(lambda: w.ex["gref"].set_value(w.store, Finalized(w.store.close, log))):
            break
    return bool(log) and set(log) <= {None, "WasmtimeError"}


@case("finalizer.calls_into_store_during_store_gc", returns(True))
def _() -> object:
    w = world()
    log: list[object] = []
    w.ex["ref"](w.store, Finalized(lambda: w.id(w.store, 4), log))
    gc.collect()
    w.store.gc()
    return log in ([4], ["WasmtimeError"])


@case("finalizer.calls_into_store_during_a_call", returns((True, 1)))
def _() -> object:
    w = world()
    log: list[object] = []
    for _ in range(20_000):
        w.ex["ref"](w.store, Finalized(lambda: w.id(w.store, 4), log))
    return (set(log) <= {4, "WasmtimeError"}, w.id(w.store, 1))


@case("finalizer.store_close_runs_finalizers_after_closing", returns(["ValueError"]))
def _() -> object:
    w = world()
    log: list[object] = []
    w.t.set(w.store, 0, None)
    w.ex["gref"].set_value(w.store, Finalized(lambda: w.id(w.store, 4), log))
    w.store.close()
    gc.collect()
    return log


@case("finalizer.store_data_closes_its_store", returns([None]))
def _() -> object:
    log: list[object] = []
    holder: list[Store] = []
    store = Store(engine(), data=Finalized(lambda: holder[0].close(), log))
    holder.append(store)
    store.close()
    gc.collect()
    return log


@case("finalizer.host_callable_uses_its_store_on_close", returns(["ValueError"]))
def _() -> object:
    log: list[object] = []
    store = other_store()

    class Host:
        def __call__(self, x: int) -> int:
            return x

        def __del__(self) -> None:
            log.append(outcome(lambda: Func(store, FuncType([], []), lambda: None)))

    Func(store, I32_TO_I32, Host())
    store.close()
    gc.collect()
    return log


# --------------------------------------------------------------------------------------------
# Exceptions (the exceptions proposal) used with the wrong store or values
# --------------------------------------------------------------------------------------------

CATCHER = """
(module
  (import "" "h" (func $h (param i32) (result i32)))
  (import "" "e" (tag $e (param i32)))
  (func (export "catch") (param i32) (result i32)
    (block $b (result i32) (try_table (result i32) (catch $e $b) (call $h (local.get 0)))))
  (func (export "throw") (param i32) (result i32) (throw $e (local.get 0))))
"""

TAG_TYPE = TagType(FuncType([I32], []))


def catcher(host: Callable[[Tag, int], object]) -> tuple[Store, Tag, Any]:
    store = other_store()
    tag = Tag(store, TAG_TYPE)
    h = Func(store, I32_TO_I32, lambda x: host(tag, x))
    return store, tag, Instance(store, module(CATCHER), [h, tag]).exports(store)


@case("exception.thrown_from_host_and_caught", returns(5))
def _() -> object:
    store, _tag, ex = catcher(lambda tag, x: raise_(WasmException(tag, [x + 1])))
    return ex["catch"](store, 4)


@case("exception.tag_of_another_store", raises(WasmtimeError, "tag belongs to another store"))
def _() -> object:
    foreign = Tag(other_store(), TAG_TYPE)
    store, _tag, ex = catcher(lambda tag, x: raise_(WasmException(foreign, [x])))
    return ex["catch"](store, 4)


@case("exception.tag_of_a_closed_store", raises(WasmtimeError, "tag belongs to another store"))
def _() -> object:
    dead = other_store()
    foreign = Tag(dead, TAG_TYPE)
    dead.close()
    store, _tag, ex = catcher(lambda tag, x: raise_(WasmException(foreign, [x])))
    return ex["catch"](store, 4)


@case("exception.wrong_value_count", raises(WasmtimeError, "has 2 values, its tag expects 1"))
def _() -> object:
    store, _tag, ex = catcher(lambda tag, x: raise_(WasmException(tag, [1, 2])))
    return ex["catch"](store, 4)


@case("exception.wrong_value_type", raises(TypeError, "to i32"))
def _() -> object:
    store, _tag, ex = catcher(lambda tag, x: raise_(WasmException(tag, ["x"])))
    return ex["catch"](store, 4)


@case("exception.tag_not_a_tag", raises(TypeError, "must be a Tag"))
def _() -> object:
    store, _tag, ex = catcher(lambda tag, x: raise_(WasmException(5, [1])))  # type: ignore[arg-type]
    return ex["catch"](store, 4)


@case("exception.uncaught_tag_used_with_another_store", WRONG_STORE)
def _() -> object:
    store, _tag, ex = catcher(lambda tag, x: x)
    try:
        ex["throw"](store, 9)
    except WasmException as e:
        return e.tag.type(other_store())
    return "not thrown"


@case("exception.uncaught_values_survive_store_close", returns(([9], "ValueError")))
def _() -> object:
    store, _tag, ex = catcher(lambda tag, x: x)
    try:
        ex["throw"](store, 9)
    except WasmException as e:
        error = e
        store.close()
        return (error.values, outcome(lambda: error.tag.type(store)))
    return "not thrown"


# --------------------------------------------------------------------------------------------
# Bad inputs: invalid wasm, wrong types, None, negative and enormous sizes
# --------------------------------------------------------------------------------------------

BAD_WASM = raises(WasmtimeError, "failed to parse WebAssembly module")
E = engine

BAD_MODULE: dict[str, tuple[Callable[[], object], tuple[str, ...]]] = {
    "bad_section_id": (lambda: Module(E(), b"\x00asm\x01\x00\x00\x00\xff"), BAD_WASM),
    "garbage": (lambda: Module(E(), b"\x00\x01\x02"), BAD_WASM),
    "empty_bytes": (lambda: Module(E(), b""), BAD_WASM),
    "truncated": (lambda: Module(E(), bytes(wat2wasm(WORLD))[:-3]), BAD_WASM),
    "invalid_body": (
        lambda: Module(E(), '(module (func (export "f") (result i32)))'),
        raises(WasmtimeError, "type mismatch"),
    ),
    "wat_syntax": (lambda: Module(E(), "(module"), raises(WasmtimeError, "expected `\\)`")),
    "none": (lambda: Module(E(), None), raises(TypeError, "expected wasm bytes")),
    "int": (lambda: Module(E(), 5), raises(TypeError, "expected wasm bytes")),
    "engine_none": (lambda: Module(None, "(module)"), raises(TypeError, "expected an Engine")),
    "engine_is_a_store": (lambda: Module(other_store(), "(module)"), raises(TypeError)),
    "validate_invalid": (
        lambda: Module.validate(E(), b"\x00asm\x01\x00\x00\x00\xff"),
        raises(WasmtimeError, "malformed section id"),
    ),
    "validate_text": (lambda: Module.validate(E(), "(module)"), raises(TypeError)),
    "deserialize_garbage": (
        lambda: Module.deserialize(E(), b"garbage" * 10),
        raises(WasmtimeError, "ELF"),
    ),
    "deserialize_truncated": (
        lambda: Module.deserialize(E(), Module(E(), "(module)").serialize()[:100]),
        raises(WasmtimeError),
    ),
    "from_missing_file": (
        lambda: Module.from_file(E(), "/nonexistent/x.wasm"),
        raises(WasmtimeError, "No such file"),
    ),
    "from_a_folder": (lambda: Module.from_file(E(), "."), raises(WasmtimeError)),
    "wat2wasm_syntax": (lambda: wat2wasm("(module (func"), raises(WasmtimeError)),
    "wat2wasm_none": (lambda: wat2wasm(None), raises(TypeError)),
}

for _what, (_fn, _expect) in BAD_MODULE.items():
    case(f"bad_module.{_what}", _expect)(_fn)


def four_args() -> tuple[Store, Func]:
    store = other_store()
    wat = '(module (func (export "f") (param i32 i64 f32 f64) (result i32) local.get 0))'
    return store, Instance(store, module(wat), []).exports(store)["f"]


def call4(*args: object, store: object = None) -> object:
    s, f = four_args()
    return f(s if store is None else store, *args)


BAD_CALL: dict[str, tuple[Callable[[], object], tuple[str, ...]]] = {
    "too_few_arguments": (lambda: call4(1), raises(WasmtimeError, "too few parameters")),
    "too_many_arguments": (
        lambda: call4(1, 2, 3.0, 4.0, 5),
        raises(WasmtimeError, "too many parameters"),
    ),
    "str_for_i32": (lambda: call4("1", 2, 3.0, 4.0), CANNOT_CONVERT),
    "none_for_i32": (lambda: call4(None, 2, 3.0, 4.0), CANNOT_CONVERT),
    "float_for_i32": (lambda: call4(1.5, 2, 3.0, 4.0), CANNOT_CONVERT),
    "enormous_int_wraps": (lambda: call4(2**1000 + 5, 2, 3.0, 4.0), returns(5)),
    "int_too_large_for_f32": (lambda: call4(1, 2, 10**400, 4.0), raises(TypeError)),
    "store_none": (
        lambda: call4(1, 2, 3.0, 4.0, store=5),
        raises(AttributeError, "expected a Store, Caller or StoreContext"),
    ),
    "instance_store_none": (
        lambda: Instance(None, module(), []),  # type: ignore[arg-type]
        raises(AttributeError, "expected a Store"),
    ),
    "instance_module_none": (
        lambda: Instance(other_store(), None, []),  # type: ignore[arg-type]
        raises(AttributeError, "expected a Module"),
    ),
    "instance_imports_none": (
        lambda: Instance(other_store(), module(), None),  # type: ignore[arg-type]
        raises(TypeError),
    ),
    "instance_missing_import": (
        lambda: Instance(other_store(), module(), []),
        raises(WasmtimeError, "expected 1 imports, found 0"),
    ),
    "instance_import_of_wrong_kind": (
        on_store(lambda s: Instance(s, module(), [Memory(s, MemoryType(Limits(1)))])),
        raises(WasmtimeError, "incompatible import type"),
    ),
    "instance_import_not_an_extern": (
        lambda: Instance(other_store(), module(), [5]),  # type: ignore[list-item]
        raises(TypeError),
    ),
    "instance_import_of_wrong_signature": (
        on_store(lambda s: Instance(s, module(), [Func(s, FuncType([], []), lambda: None)])),
        raises(WasmtimeError, "incompatible import type"),
    ),
    "func_new_type_none": (
        lambda: Func(other_store(), None, lambda: None),  # type: ignore[arg-type]
        raises(TypeError, "expected a FuncType"),
    ),
    "func_new_store_none": (
        lambda: Func(None, FuncType([], []), lambda: None),  # type: ignore[arg-type]
        raises(TypeError, "expected a Store"),
    ),
    "func_type_bad_element": (
        lambda: FuncType([5], []),  # type: ignore[list-item]
        raises(TypeError, "expected ValType"),
    ),
    "func_type_none": (lambda: FuncType(None, []), raises(TypeError)),  # type: ignore[arg-type]
    "val_i32_of_str": (lambda: Val.i32("x"), raises(TypeError)),  # type: ignore[arg-type]
    "valtype_constructor": (lambda: ValType(), raises(WasmtimeError)),  # type: ignore[call-arg]
    "instance_pre_constructor": (lambda: InstancePre(), raises(TypeError)),  # type: ignore[call-arg]
    "memory_buffer_constructor": (lambda: MemoryBuffer(), raises(TypeError)),  # type: ignore[call-arg]
}

for _what, (_fn, _expect) in BAD_CALL.items():
    case(f"bad_call.{_what}", _expect)(_fn)


def mem(maximum: int | None = 2) -> tuple[Store, Memory]:
    store = other_store()
    return store, Memory(store, MemoryType(Limits(1, maximum)))


def on_mem(use: Callable[[Store, Memory], object], maximum: int | None = 2) -> Callable[[], object]:
    return lambda: use(*mem(maximum))


GROW_FAILED = raises(WasmtimeError, "^failed to grow memory by")

BAD_MEMORY: dict[str, tuple[Callable[[], object], tuple[str, ...]]] = {
    "grow_negative": (
        on_mem(lambda s, m: m.grow(s, -1)),
        raises(WasmtimeError, "cannot grow by negative amount"),
    ),
    "grow_2_to_40_pages": (on_mem(lambda s, m: m.grow(s, 2**40), None), GROW_FAILED),
    "grow_over_u64": (on_mem(lambda s, m: m.grow(s, 2**64)), raises(OverflowError)),
    "grow_past_maximum": (on_mem(lambda s, m: m.grow(s, 5)), GROW_FAILED),
    "grow_past_4_gib": (on_mem(lambda s, m: m.grow(s, 65536), None), GROW_FAILED),
    "grow_past_store_limit": (
        on_mem(lambda s, m: (s.set_limits(memory_size=2 << 16), m.grow(s, 2))),
        GROW_FAILED,
    ),
    "read_2_to_62_bytes_is_clamped": (
        on_mem(lambda s, m: len(m.read(s, 0, 2**62))),
        returns(65536),
    ),
    "read_far_past_the_end_is_empty": (
        on_mem(lambda s, m: len(m.read(s, 2**62, 2**62 + 5))),
        returns(0),
    ),
    "read_over_i64": (on_mem(lambda s, m: m.read(s, 0, 2**64)), raises(OverflowError)),
    "read_negative_counts_from_the_end": (
        on_mem(lambda s, m: len(m.read(s, -10, None))),
        returns(10),
    ),
    "read_float_index": (on_mem(lambda s, m: m.read(s, 0.5, 2)), raises(TypeError)),  # type: ignore[arg-type]
    "write_past_the_end": (
        on_mem(lambda s, m: m.write(s, b"abc", 65535)),
        raises(IndexError),
    ),
    "write_far_past_the_end": (
        on_mem(lambda s, m: m.write(s, b"abc", 2**62)),
        raises(IndexError),
    ),
    "write_very_negative": (on_mem(lambda s, m: m.write(s, b"abc", -(2**62))), raises(IndexError)),
    "write_over_i64": (on_mem(lambda s, m: m.write(s, b"abc", 2**64)), raises(OverflowError)),
    "write_str": (on_mem(lambda s, m: m.write(s, "abc", 0)), raises(TypeError)),  # type: ignore[arg-type]
    "write_none": (on_mem(lambda s, m: m.write(s, None, 0)), raises(TypeError)),  # type: ignore[arg-type]
    "get_buffer_ptr_negative_size": (
        on_mem(lambda s, m: m.get_buffer_ptr(s, -1, 0)),
        raises(OverflowError),
    ),
    "type_2_to_40_pages": (
        lambda: MemoryType(Limits(2**40)),
        raises(WasmtimeError, "minimum size too large"),
    ),
    "type_negative_pages": (lambda: MemoryType(Limits(-1)), raises(WasmtimeError)),
    "type_minimum_over_maximum": (
        lambda: Memory(other_store(), MemoryType(Limits(3, 2))),
        raises(WasmtimeError, "cannot be smaller than the minimum"),
    ),
    "type_bad_page_size": (
        lambda: MemoryType(Limits(1), page_size_log2=5),
        raises(WasmtimeError, "page size must be"),
    ),
    "memory64_of_2_to_40_pages": (
        lambda: Memory(other_store(), MemoryType(Limits(2**40), is_64=True)),
        raises(WasmtimeError),
    ),
    "new_over_store_limit": (
        on_store(lambda s: (s.set_limits(memory_size=1 << 16), Memory(s, MemoryType(Limits(2))))),
        raises(WasmtimeError),
    ),
    "shared_memory_not_shared": (
        lambda: SharedMemory(shared_engine(), MemoryType(Limits(1, 1))),
        raises(WasmtimeError, "shared"),
    ),
    "shared_memory_grow_past_maximum": (
        lambda: SharedMemory(shared_engine(), MemoryType(Limits(1, 2), shared=True)).grow(2**40),
        raises(WasmtimeError),
    ),
}

for _what, (_fn, _expect) in BAD_MEMORY.items():
    case(f"bad_memory.{_what}", _expect)(_fn)


def table() -> tuple[Store, Table]:
    store = other_store()
    return store, Table(store, TableType(ValType.funcref(), Limits(1, 5)), None)


def on_table(use: Callable[[Store, Table], object]) -> Callable[[], object]:
    return lambda: use(*table())


def on_global(use: Callable[[Store, Global], object], mutable: bool = True) -> Callable[[], object]:
    def run() -> object:
        store = other_store()
        return use(store, Global(store, GlobalType(I32, mutable), 0))

    return run


def on_config(use: Callable[[Config], object]) -> Callable[[], object]:
    return lambda: use(Config())


def define_twice(linker: Linker, w: World) -> object:
    linker.define(w.store, "a", "b", w.host)
    return linker.define(w.store, "a", "b", w.host)


BAD_OTHER: dict[str, tuple[Callable[[], object], tuple[str, ...]]] = {
    "table.grow_negative": (on_table(lambda s, t: t.grow(s, -1, None)), raises(OverflowError)),
    "table.grow_2_to_40": (
        on_table(lambda s, t: t.grow(s, 2**40, None)),
        raises(WasmtimeError, "failed to grow table"),
    ),
    "table.get_2_to_40_is_none": (on_table(lambda s, t: t.get(s, 2**40)), returns(None)),
    "table.get_negative": (on_table(lambda s, t: t.get(s, -1)), raises(OverflowError)),
    "table.set_out_of_bounds": (
        on_table(lambda s, t: t.set(s, 100, None)),
        raises(WasmtimeError, "out of bounds"),
    ),
    "table.set_not_a_func": (on_table(lambda s, t: t.set(s, 0, 5)), raises(TypeError, "funcref")),
    "table.new_with_wrong_init": (
        lambda: Table(other_store(), TableType(ValType.funcref(), Limits(1)), 5),
        raises(TypeError, "funcref"),
    ),
    "table.type_of_i32": (lambda: TableType(I32, Limits(1)), raises(WasmtimeError)),
    "global.set_wrong_type": (
        on_global(lambda s, g: g.set_value(s, "x")),
        CANNOT_CONVERT,
    ),
    "global.set_enormous_int_wraps": (
        on_global(lambda s, g: (g.set_value(s, 2**100 + 3), g.value(s))[1]),
        returns(3),
    ),
    "global.set_immutable": (
        on_global(lambda s, g: g.set_value(s, 2), mutable=False),
        raises(WasmtimeError, "immutable"),
    ),
    "global.new_with_none": (
        lambda: Global(other_store(), GlobalType(I32, True), None),
        CANNOT_CONVERT,
    ),
    "global.type_of_none": (
        lambda: GlobalType(None, True),  # type: ignore[arg-type]
        raises(TypeError, "expected ValType"),
    ),
    "store.engine_not_an_engine": (
        lambda: Store(5),  # type: ignore[arg-type]
        raises(TypeError, "expected an Engine"),
    ),
    "store.set_fuel_unconfigured": (
        lambda: other_store().set_fuel(1),
        raises(WasmtimeError, "fuel is not configured"),
    ),
    "store.set_fuel_negative": (lambda: other_store().set_fuel(-1), raises(OverflowError)),
    "store.set_limits_enormous": (
        lambda: other_store().set_limits(memory_size=2**70),
        raises(OverflowError),
    ),
    "store.set_limits_str": (
        lambda: other_store().set_limits(memory_size="x"),  # type: ignore[arg-type]
        raises(TypeError),
    ),
    "store.set_epoch_deadline_negative": (
        lambda: other_store().set_epoch_deadline(-1),
        raises(OverflowError),
    ),
    "store.set_epoch_deadline_over_u64": (
        lambda: other_store().set_epoch_deadline(2**64),
        raises(OverflowError),
    ),
    "config.max_wasm_stack_negative": (
        lambda: setattr(Config(), "max_wasm_stack", -1),
        raises(OverflowError),
    ),
    "config.max_wasm_stack_zero": (
        on_config(lambda c: (setattr(c, "max_wasm_stack", 0), Engine(c))),
        raises(WasmtimeError, "cannot be zero"),
    ),
    "config.bool_option_given_an_int": (
        lambda: setattr(Config(), "consume_fuel", 1),
        raises(TypeError, "expected a bool"),
    ),
    "config.unknown_strategy": (
        lambda: setattr(Config(), "strategy", "nope"),
        raises(WasmtimeError, "unknown strategy"),
    ),
    "engine.config_not_a_config": (
        lambda: Engine(5),  # type: ignore[arg-type]
        raises(TypeError, "expected Config"),
    ),
    "linker.define_none": (
        lambda: Linker(E()).define(other_store(), "a", "b", None),  # type: ignore[arg-type]
        raises(TypeError),
    ),
    "linker.define_name_none": (
        on_world(lambda w: Linker(E()).define(w.store, None, "b", w.host)),  # type: ignore[arg-type]
        raises(AttributeError, "expected a str"),
    ),
    "linker.get_undefined": (
        lambda: Linker(E()).get(other_store(), "a", "b"),
        raises(WasmtimeError, "not defined"),
    ),
    "linker.define_twice": (
        on_world(lambda w: define_twice(Linker(E()), w)),
        raises(WasmtimeError, "defined twice"),
    ),
    "linker.missing_import": (
        lambda: Linker(E()).instantiate(other_store(), module()),
        raises(WasmtimeError, "unknown import"),
    ),
    "wasi.preopen_missing_folder": (
        lambda: WasiConfig().preopen_dir("/nonexistent/folder", "/x"),
        raises(WasmtimeError, "preopen"),
    ),
    "wasi.stdin_missing_file": (
        lambda: setattr(WasiConfig(), "stdin_file", "/nonexistent/file"),
        raises(WasmtimeError, "stdin"),
    ),
    "wasi.argv_not_str": (lambda: setattr(WasiConfig(), "argv", [1, 2]), raises(TypeError)),
    "wasi.env_pair_of_one": (lambda: setattr(WasiConfig(), "env", [("a",)]), raises(ValueError)),
    "tag.eq_not_a_tag": (
        on_store(lambda s: Tag(s, TagType(FuncType([], []))).eq(s, 5)),  # type: ignore[arg-type]
        raises(TypeError, "expected a Tag"),
    ),
}

for _what, (_fn, _expect) in BAD_OTHER.items():
    case(f"bad_other.{_what}", _expect)(_fn)


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


# test_misuse_group[<group>], test_misuse_case_alone[<case>] (slow) and, while a case
# has a bug, test_misuse_known_native_bug[<case>] (see _cases.define_tests).
define_tests(globals(), "misuse")


# Cases the harness must report as failures (run by the test below, not by the matrix).
HARNESS: dict[str, Case] = {
    "abort": Case(os.abort, returns(None)),
    "hang": Case(lambda: time.sleep(120), returns(None)),
    "wrong_value": Case(lambda: 1, returns(2)),
    "wrong_exception": Case(lambda: raise_(KeyError("k")), raises(ValueError)),
}


def test_harness_reports_crashes_hangs_and_mismatches(
    case_runner: Any, isolated: Callable[..., Any]
) -> None:
    crashed = case_runner.run(__file__, ["wrong_value", "abort"], registry="HARNESS")
    assert crashed.process.signal_name == "SIGABRT"
    assert crashed.unfinished == "abort"
    assert str(crashed.outcomes["wrong_value"]) == "returned 1"
    hung = case_runner.run(__file__, ["hang"], registry="HARNESS", timeout=2)
    assert hung.process.timed_out
    assert hung.unfinished == "hang"
    for name, message in [
        ("abort", "child stopped in case abort: killed by SIGABRT"),
        ("wrong_value", "expected to return 2, but returned 1"),
        ("wrong_exception", "expected builtins.ValueError .* but raised builtins.KeyError"),
    ]:
        with pytest.raises(AssertionError, match=message):
            case_runner.check(__file__, HARNESS, [name], registry="HARNESS")
    plain = isolated("import sys; print('hi'); sys.exit(3)")
    assert (plain.returncode, plain.stdout, plain.crashed, plain.timed_out) == (
        3,
        "hi\n",
        False,
        False,
    )


def test_misuse_matrix_covers_every_core_object() -> None:
    """A guard against cases going missing: each handle kind is misused in each dimension."""
    handles = ["func", "host_func", "memory", "global", "table", "tag", "instance", "linker"]
    dimensions = {
        "other_store": [*handles, "caller", "engine"],
        "closed_store": [*handles, "instance_pre", "store", "buffer"],
        "busy": [*handles, "instance_pre", "caller", "store", "shared_memory", "wasi_config"],
        "own_close": ["module", "linker", "instance_pre", "engine", "config", "wasi_config"],
    }
    for dimension, kinds in dimensions.items():
        for kind in kinds:
            assert any(
                n.startswith((f"{dimension}.{kind}.", f"{dimension}.new.{kind}")) for n in CASES
            ), f"no {dimension} case for {kind}"
