"""Misuse of ``wasmtime.component`` (issue 8, item 1): a Python exception each time, no crash.

The component objects used with another store, after their store's ``close()`` or collection,
after their own ``close()`` (``Component``, ``Linker``, ``LinkerInstance``, ``ResourceAny``), with
a locked linker, from another thread while a call runs; host functions that raise, return the
wrong thing, close their store or re-enter their instance (refused for components); resources
used up, dropped twice, or used with another store; bad inputs.

The mechanics are those of ``test_misuse.py`` (shared through ``_cases.py``): cases are registered
in ``CASES`` and run in child interpreters by conftest's ``case_runner`` (one child per group by
default, one per case with ``-m slow``); cases that show a native bug are strict xfails.
"""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from _cases import (
    CALLER_GONE as CONTEXT_GONE,
    CLOSED,
    IN_USE,
    WRONG_STORE,
    BaseBoom,
    Boom,
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

from wasmtime import Engine, Module, Store, StoreContext, WasmtimeError
from wasmtime.component import (
    Component,
    ExportIndex,
    Func,
    Instance,
    Linker,
    LinkerInstance,
    Record,
    ResourceAny,
    ResourceHost,
    ResourceType,
)

CASES = Cases()
case = CASES.register

# A host function's WasmtimeError comes out of the component call wrapped (as wasmtime-py does).
WRONG_STORE_IN_CALL = raises(WasmtimeError, "Caused by: object used with the wrong store$")
LINKER_LOCKED = raises(WasmtimeError, "^cannot use linker while it's in use by other instances$")
USED_UP = raises(ValueError, "^resource handle already used up")
REENTRY = raises(WasmtimeError, "cannot enter component instance")

# --------------------------------------------------------------------------------------------
# Components
# --------------------------------------------------------------------------------------------

# Imports `f: func(x: u32) -> u32`; exports `run` (calls `f`) and `id`.
CALLS = """
(component
  (import "f" (func $f (param "x" u32) (result u32)))
  (core func $f_lowered (canon lower (func $f)))
  (core module $m
    (import "" "f" (func $f (param i32) (result i32)))
    (func (export "run") (param i32) (result i32) (call $f (local.get 0)))
    (func (export "id") (param i32) (result i32) (local.get 0)))
  (core instance $i (instantiate $m (with "" (instance (export "f" (func $f_lowered))))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $i "run")))
  (func (export "id") (param "x" u32) (result u32) (canon lift (core func $i "id"))))
"""

# Imports the resource type `t` and `make: func(rep: u32) -> own<t>`; exports `make`,
# `consume: func(x: own<t>)` (drops it) and `peek: func(x: borrow<t>) -> u32` (the handle).
RESOURCES = """
(component
  (import "t" (type $t (sub resource)))
  (import "make" (func $make (param "rep" u32) (result (own $t))))
  (core func $make_lowered (canon lower (func $make)))
  (core func $drop (canon resource.drop $t))
  (core module $m
    (import "" "make" (func $make (param i32) (result i32)))
    (import "" "drop" (func $drop (param i32)))
    (func (export "make") (param i32) (result i32) (call $make (local.get 0)))
    (func (export "consume") (param i32) (call $drop (local.get 0)))
    (func (export "peek") (param i32) (result i32) (call $drop (local.get 0)) (local.get 0)))
  (core instance $i (instantiate $m
    (with "" (instance (export "make" (func $make_lowered)) (export "drop" (func $drop))))))
  (func (export "make") (param "rep" u32) (result (own $t)) (canon lift (core func $i "make")))
  (func (export "consume") (param "x" (own $t)) (canon lift (core func $i "consume")))
  (func (export "peek") (param "x" (borrow $t)) (result u32) (canon lift (core func $i "peek"))))
"""

# Exports `sum: func(x: r) -> u32` with `record r { a: u32, b: u32 }`.
RECORDS = """
(component
  (type $r' (record (field "a" u32) (field "b" u32)))
  (export $r "r" (type $r'))
  (core module $m (func (export "sum") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
  (core instance $i (instantiate $m))
  (func (export "sum") (param "x" $r) (result u32) (canon lift (core func $i "sum"))))
"""

HOST_TYPE = 7


@cache
def component(wat: str = CALLS) -> Component:
    return Component(engine(), wat)


def store() -> Store:
    return Store(engine())


@dataclass
class Calls:
    """An instance of `CALLS` whose import `f` is ``host``."""

    store: Store
    instance: Instance
    run: Func
    id: Func


def calls(host: Callable[..., Any] = lambda ctx, x: x + 1, s: Store | None = None) -> Calls:
    s = s or store()
    linker = Linker(engine())
    with linker.root() as root:
        root.add_func("f", host)
    instance = linker.instantiate(s, component())
    run, ident = instance.get_func(s, "run"), instance.get_func(s, "id")
    assert run is not None and ident is not None
    return Calls(s, instance, run, ident)


@dataclass
class Resources:
    store: Store
    make: Func
    consume: Func
    peek: Func
    dropped: list[int]


def resources(
    s: Store | None = None, dtor: Callable[[StoreContext, int], None] | None = None
) -> Resources:
    s = s or store()
    dropped: list[int] = []
    linker = Linker(engine())
    with linker.root() as root:
        root.add_resource(
            "t", ResourceType.host(HOST_TYPE), dtor or (lambda ctx, rep: dropped.append(rep))
        )
        root.add_func("make", lambda ctx, rep: ResourceHost.own(rep, HOST_TYPE))
    instance = linker.instantiate(s, component(RESOURCES))
    funcs = [instance.get_func(s, name) for name in ("make", "consume", "peek")]
    assert all(f is not None for f in funcs)
    return Resources(s, *funcs, dropped)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Another store, a closed store, a collected store
# --------------------------------------------------------------------------------------------

FOREIGN: dict[str, Callable[[Calls, Store], object]] = {
    "instance.get_func": lambda c, s: c.instance.get_func(s, "run"),
    "instance.get_export_index": lambda c, s: c.instance.get_export_index(s, "run"),
    "func.call": lambda c, s: c.run(s, 1),
    "func.type": lambda c, s: c.run.type(s),
    "func.post_return": lambda c, s: c.run.post_return(s),
}

for _what, _use in FOREIGN.items():
    case(f"comp_other_store.{_what}", WRONG_STORE)(lambda use=_use: use(calls(), store()))


@case("comp_other_store.context_of_another_store", WRONG_STORE_IN_CALL)
def _() -> object:
    foreign = calls()
    c = calls(lambda ctx, x: foreign.id(ctx, x))
    return c.run(c.store, 1)


@case("comp_other_store.engine.instantiate", raises(WasmtimeError, "cross-`Engine`"))
def _() -> object:
    return Linker(Engine()).instantiate(Store(Engine()), component("(component)"))


@case("comp_other_store.engine.linker_and_store", raises(WasmtimeError, "cross-`Engine`"))
def _() -> object:
    return Linker(engine()).instantiate(Store(Engine()), component("(component)"))


@case("comp_other_store.engine.component", raises(WasmtimeError, "cross-`Engine`"))
def _() -> object:
    return Linker(engine()).instantiate(store(), Component(Engine(), "(component)"))


@case("comp_other_store.func_call_from_a_host_function_of_another_store", WRONG_STORE_IN_CALL)
def _() -> object:
    foreign = calls()
    c = calls(lambda ctx, x: foreign.id(foreign.store, x) + foreign.id(ctx, x))
    return c.run(c.store, 1)


def closed_calls() -> Calls:
    c = calls()
    c.store.close()
    return c


CLOSED_STORE: dict[str, Callable[[Calls], object]] = {
    "func.call": lambda c: c.run(c.store, 1),
    "func.type": lambda c: c.run.type(c.store),
    "instance.get_func": lambda c: c.instance.get_func(c.store, "run"),
    "instance.get_export_index": lambda c: c.instance.get_export_index(c.store, "run"),
    "linker.instantiate": lambda c: Linker(engine()).instantiate(c.store, component("(component)")),
    "resource_host.to_any": lambda c: ResourceHost.own(1, HOST_TYPE).to_any(c.store),
}

for _what, _use in CLOSED_STORE.items():
    case(f"comp_closed_store.{_what}", CLOSED)(lambda use=_use: use(closed_calls()))


def with_fresh_stores(use: Callable[[Store], object], count: int = 30) -> object:
    seen = set()
    for _ in range(count):
        s = store()
        seen.add(str(outcome(lambda s=s: use(s))))
    return sorted(seen)


@case("comp_gone_store.func.call", returns(["WasmtimeError"]))
def _() -> object:
    c = calls()
    run, ref = c.run, weakref.ref(c.store)
    del c
    gc.collect()
    assert ref() is None
    return with_fresh_stores(lambda s: run(s, 1))


@case("comp_gone_store.instance.get_func", returns(["WasmtimeError"]))
def _() -> object:
    c = calls()
    instance = c.instance
    del c
    gc.collect()
    return with_fresh_stores(lambda s: instance.get_func(s, "run"))


@case("comp_gone_store.resource.to_host", returns(["WasmtimeError"]))
def _() -> object:
    r = resources()
    handle = r.make(r.store, 3)
    del r
    gc.collect()
    return with_fresh_stores(lambda s: handle.to_host(s))  # type: ignore[union-attr]


@case("comp_gone_store.store_context_kept_from_a_callback", CONTEXT_GONE)
def _() -> object:
    kept: list[StoreContext] = []
    c = calls(lambda ctx, x: kept.append(ctx) or x)
    c.run(c.store, 1)
    other = calls()
    del c
    gc.collect()
    return other.id(kept[0], 1)


# --------------------------------------------------------------------------------------------
# Own close(), locked linkers
# --------------------------------------------------------------------------------------------


@case("comp_close.component.instantiate", CLOSED)
def _() -> object:
    return Linker(engine()).instantiate(store(), closed(Component(engine(), "(component)")))


@case("comp_close.component.serialize", CLOSED)
def _() -> object:
    return closed(Component(engine(), "(component)")).serialize()


@case("comp_close.component.type", CLOSED)
def _() -> object:
    return closed(Component(engine(), "(component)")).type


@case("comp_close.component.get_export_index", CLOSED)
def _() -> object:
    return closed(Component(engine(), CALLS)).get_export_index("run")


@case("comp_close.component.instances_keep_working", returns(15))
def _() -> object:
    s = store()
    comp = Component(engine(), CALLS)
    linker = Linker(engine())
    with linker.root() as root:
        root.add_func("f", lambda ctx, x: x * 3)
    instance = linker.instantiate(s, comp)
    comp.close()
    linker.close()
    gc.collect()
    return instance.get_func(s, "run")(s, 5)  # type: ignore[misc]


@case("comp_close.linker.root", CLOSED)
def _() -> object:
    return closed(Linker(engine())).root()


@case("comp_close.linker.instantiate", CLOSED)
def _() -> object:
    return closed(Linker(engine())).instantiate(store(), component("(component)"))


@case("comp_close.linker.define_unknown_imports_as_traps", CLOSED)
def _() -> object:
    return closed(Linker(engine())).define_unknown_imports_as_traps(component())


@case("comp_close.linker.add_wasip2", CLOSED)
def _() -> object:
    return closed(Linker(engine())).add_wasip2()


@case("comp_close.linker_instance.add_func", CLOSED)
def _() -> object:
    return closed(Linker(engine()).root()).add_func("x", lambda ctx: None)


@case("comp_close.linker_instance.add_instance", CLOSED)
def _() -> object:
    return closed(Linker(engine()).root()).add_instance("x")


@case("comp_close.linker_instance.add_module", CLOSED)
def _() -> object:
    return closed(Linker(engine()).root()).add_module("m", Module(engine(), "(module)"))


@case("comp_close.linker_instance.add_resource", CLOSED)
def _() -> object:
    return closed(Linker(engine()).root()).add_resource(
        "t", ResourceType.host(1), lambda ctx, rep: None
    )


@case(
    "comp_close.linker_instance.child_of_a_closed_parent",
    raises(WasmtimeError, "^cannot use linker instance while it's in use by other instances$"),
)
def _() -> object:
    root = Linker(engine()).root()
    child = root.add_instance("a")
    root.close()
    return child.add_func("x", lambda ctx: None)


@case("comp_close.linker.locked.instantiate", LINKER_LOCKED)
def _() -> object:
    linker = Linker(engine())
    _root = linker.root()
    return linker.instantiate(store(), component("(component)"))


@case("comp_close.linker.locked.root_twice", LINKER_LOCKED)
def _() -> object:
    linker = Linker(engine())
    _root = linker.root()
    return linker.root()


@case("comp_close.linker.locked.close", LINKER_LOCKED)
def _() -> object:
    linker = Linker(engine())
    _root = linker.root()
    return linker.close()


@case("comp_close.linker.locked.add_wasip2", LINKER_LOCKED)
def _() -> object:
    linker = Linker(engine())
    _root = linker.root()
    return linker.add_wasip2()


@case("comp_close.linker.unlocked_after_root_closes", returns("Instance"))
def _() -> object:
    linker = Linker(engine())
    linker.root().close()
    return type(linker.instantiate(store(), component("(component)"))).__name__


# A closed ResourceAny is a used-up handle (wasmtime-py's close lets go of the handle too).
USED_UP = raises(ValueError, "^resource handle already used up")


@case("comp_close.resource_any.to_host", USED_UP)
def _() -> object:
    r = resources()
    handle = r.make(r.store, 3)
    return closed(handle).to_host(r.store)


@case("comp_close.resource_any.as_an_argument", USED_UP)
def _() -> object:
    r = resources()
    handle = r.make(r.store, 3)
    return r.consume(r.store, closed(handle))


@case("comp_close.export_index.get_func", CLOSED)
def _() -> object:
    c = calls()
    index = c.instance.get_export_index(c.store, "run")
    return c.instance.get_func(c.store, closed(index))


# --------------------------------------------------------------------------------------------
# Host functions that raise, return the wrong thing, close their store, re-enter
# --------------------------------------------------------------------------------------------


RAISED: dict[str, Callable[[], BaseException]] = {
    "exception": lambda: Boom("boom"),
    "keyboard_interrupt": lambda: KeyboardInterrupt("ki"),
    "system_exit": lambda: SystemExit(3),
    "base_exception_subclass": lambda: BaseBoom("base"),
    "memory_error": lambda: MemoryError("oom"),
}


def after_a_trap(s: Store) -> object:
    """What a store can still do after a component trapped in it: with wasmtime 48, no
    component instance of the store may be entered again (a new one neither); core wasm runs."""
    from wasmtime import Instance as CoreInstance

    core = Module(engine(), '(module (func (export "x") (result i32) i32.const 4))')
    return (
        outcome(lambda: calls(s=s).id(s, 3)),
        CoreInstance(s, core, []).exports(s)["x"](s),
    )


AFTER_A_TRAP = ("WasmtimeError", 4)


for _what, _make in RAISED.items():

    def _raise_case(make: Callable[[], BaseException] = _make) -> object:
        error = make()
        c = calls(lambda ctx, x: raise_(error))
        return (same_error_out(error, lambda: c.run(c.store, 1)), after_a_trap(c.store))

    case(f"comp_host.raise.{_what}", returns(((True, type(_make()).__name__), AFTER_A_TRAP)))(
        _raise_case
    )


@case("comp_host.raise.wasmtime_error_comes_out_wrapped", raises(WasmtimeError, "host says no"))
def _() -> object:
    c = calls(lambda ctx, x: raise_(WasmtimeError("host says no")))
    return c.run(c.store, 1)


@case("comp_host.raise.from_a_resource_destructor", returns((True, "Boom")))
def _() -> object:
    error = Boom("dtor")
    r = resources(dtor=lambda ctx, rep: raise_(error))
    handle = r.make(r.store, 1)
    return same_error_out(error, lambda: handle.drop(r.store))  # type: ignore[union-attr]


U32_EXPECTED = raises(TypeError, "^expected int for an u32 value")

WRONG_RESULTS: dict[str, tuple[object, tuple[str, ...]]] = {
    "str": ("no", U32_EXPECTED),
    "none": (None, U32_EXPECTED),
    "tuple": ((1, 2), U32_EXPECTED),
    "float": (1.5, U32_EXPECTED),
    "record": (Record(), U32_EXPECTED),
    # Integers wrap to the result type (as the reference does for u8 300 -> 44).
    "huge_int": (2**100 + 7, returns(7)),
    "negative_int": (-1, returns(2**32 - 1)),
}

for _what, (_value, _expect) in WRONG_RESULTS.items():

    def _wrong_result_case(value: object = _value) -> object:
        c = calls(lambda ctx, x: value)
        return c.run(c.store, 1)

    case(f"comp_host.return.{_what}", _expect)(_wrong_result_case)


@case("comp_host.return.resource_of_the_wrong_type", raises(WasmtimeError, "mismatched"))
def _() -> object:
    s = store()
    linker = Linker(engine())
    with linker.root() as root:
        root.add_resource("t", ResourceType.host(HOST_TYPE), lambda ctx, rep: None)
        root.add_func("make", lambda ctx, rep: ResourceHost.own(rep, HOST_TYPE + 1))
    make = linker.instantiate(s, component(RESOURCES)).get_func(s, "make")
    return make(s, 1)  # type: ignore[misc]


@case("comp_host.callable_takes_no_arguments", raises(TypeError, "positional argument"))
def _() -> object:
    c = calls(lambda: 1)
    return c.run(c.store, 1)


@case("comp_host.not_callable", raises(TypeError, "expected a callable"))
def _() -> object:
    return calls(5)  # type: ignore[arg-type]


CANNOT_CLOSE = raises(WasmtimeError, "cannot close a store while wasm is running in it")


@case("comp_host.store_close_inside_raises", CANNOT_CLOSE)
def _() -> object:
    s = store()
    c = calls(lambda ctx, x: s.close(), s)
    return c.run(s, 1)


@case("comp_host.store_close_inside_is_refused_the_call_goes_on", returns((4, ["WasmtimeError"])))
def _() -> object:
    s = store()
    seen: list[object] = []
    c = calls(lambda ctx, x: seen.append(outcome(s.close)) or x, s)
    return (c.run(s, 4), seen)


@case("comp_host.store_close_in_a_resource_destructor", CANNOT_CLOSE)
def _() -> object:
    s = store()
    r = resources(s, dtor=lambda ctx, rep: s.close())
    handle = r.make(s, 1)
    return handle.drop(s)  # type: ignore[union-attr]


@case("comp_host.drop_every_reference_inside", returns((2, True)))
def _() -> object:
    holder: dict[str, Any] = {}

    def host(ctx: StoreContext, x: int) -> int:
        holder.clear()
        gc.collect()
        return x + 1

    def setup() -> tuple[Func, weakref.ref[Store]]:
        c = calls(host)
        holder.update(c=c)
        return c.run, weakref.ref(c.store)

    run, ref = setup()
    s = ref()
    assert s is not None
    value = run(s, 1)
    del s
    gc.collect()
    return (value, ref() is None)


@case("comp_host.reenter_the_same_instance", REENTRY)
def _() -> object:
    s = store()
    funcs: list[Func] = []
    c = calls(lambda ctx, x: funcs[0](s, 0) if x else 0, s)
    funcs.append(c.run)
    return c.run(s, 1)


@case("comp_host.reenter_through_its_context", REENTRY)
def _() -> object:
    funcs: list[Func] = []
    c = calls(lambda ctx, x: funcs[0](ctx, x))
    funcs.append(c.id)
    return c.run(c.store, 3)


@case("comp_host.refused_reentry_is_a_trap", returns(("WasmtimeError", AFTER_A_TRAP)))
def _() -> object:
    s = store()
    funcs: list[Func] = []
    c = calls(lambda ctx, x: funcs[0](s, 0) if x else 0, s)
    funcs.append(c.run)
    return (outcome(lambda: c.run(s, 1)), after_a_trap(s))


@case("comp_host.calls_another_instance_of_its_store", returns(1005))
def _() -> object:
    s = store()
    other = calls(s=s)
    c = calls(lambda ctx, x: other.id(s, x + 1000), s)
    return c.run(s, 5)


@case("comp_host.record_argument_attribute_closes_the_store", CLOSED)
def _() -> object:
    s = store()
    total = Linker(engine()).instantiate(s, component(RECORDS)).get_func(s, "sum")

    class Sneaky:
        b = 2

        @property
        def a(self) -> int:
            s.close()
            return 1

    return total(s, Sneaky())  # type: ignore[misc]


@case("comp_host.record_argument_attribute_calls_the_store", returns(4))
def _() -> object:
    s = store()
    total = Linker(engine()).instantiate(s, component(RECORDS)).get_func(s, "sum")
    assert total is not None

    class Plain:
        a, b = 1, 1

    class Sneaky:
        b = 2

        @property
        def a(self) -> int:
            return int(total(s, Plain()))  # type: ignore[call-overload]

    return total(s, Sneaky())


# --------------------------------------------------------------------------------------------
# StoreContext after its callback; threads while a call runs
# --------------------------------------------------------------------------------------------


def kept_context() -> tuple[Calls, StoreContext]:
    kept: list[StoreContext] = []
    c = calls(lambda ctx, x: kept.append(ctx) or x)
    c.run(c.store, 1)
    return c, kept[0]


@case("comp_context.after.call", CONTEXT_GONE)
def _() -> object:
    c, ctx = kept_context()
    return calls(s=c.store).id(ctx, 1)


@case("comp_context.after.instantiate", CONTEXT_GONE)
def _() -> object:
    return Linker(engine()).instantiate(kept_context()[1], component("(component)"))


@case("comp_context.after.core_module", CONTEXT_GONE)
def _() -> object:
    from wasmtime import Instance as CoreInstance

    return CoreInstance(kept_context()[1], Module(engine(), "(module)"), [])


@case("comp_context.after.resource_to_any", CONTEXT_GONE)
def _() -> object:
    return ResourceHost.own(1, HOST_TYPE).to_any(kept_context()[1])


@case("comp_context.after_a_destructor", CONTEXT_GONE)
def _() -> object:
    kept: list[StoreContext] = []
    r = resources(dtor=lambda ctx, rep: kept.append(ctx))
    handle = r.make(r.store, 1)
    handle.drop(r.store)  # type: ignore[union-attr]
    return calls(s=r.store).id(kept[0], 1)


@case("comp_context.cannot_be_constructed", raises(TypeError, "cannot create"))
def _() -> object:
    return StoreContext()  # type: ignore[call-arg]


@case("comp_context.from_another_thread_during_the_call", IN_USE)
def _() -> object:
    errors: list[BaseException] = []
    funcs: list[Func] = []

    def host(ctx: StoreContext, x: int) -> int:
        try:
            in_thread(lambda: funcs[0](ctx, 3))
        except BaseException as e:  # noqa: BLE001 (recorded)
            errors.append(e)
        return x

    c = calls(host)
    funcs.append(c.id)
    c.run(c.store, 1)
    raise errors[0]


@contextmanager
def busy_calls() -> Iterator[Calls]:
    """A `Calls` whose ``run`` is running on a worker thread, parked in its host function."""
    entered, release = threading.Event(), threading.Event()

    def host(ctx: StoreContext, x: int) -> int:
        entered.set()
        release.wait(30)
        return x * 2

    c = calls(host)
    results: list[object] = []
    worker = threading.Thread(target=lambda: results.append(outcome(lambda: c.run(c.store, 8))))
    worker.start()
    try:
        assert entered.wait(10), "the worker never entered its host function"
        yield c
    finally:
        release.set()
        worker.join(10)
        if results != [16] or calls(s=c.store).id(c.store, 5) != 5:
            raise AssertionError(f"the busy store was disturbed: worker got {results}")


BUSY: dict[str, Callable[[Calls], object]] = {
    "func.call": lambda c: c.id(c.store, 1),
    "func.type": lambda c: c.id.type(c.store),
    "instance.get_func": lambda c: c.instance.get_func(c.store, "id"),
    "linker.instantiate": lambda c: Linker(engine()).instantiate(c.store, component("(component)")),
    "resource_host.to_any": lambda c: ResourceHost.own(1, HOST_TYPE).to_any(c.store),
    "store.gc": lambda c: c.store.gc(),
}

for _what, _use in BUSY.items():

    def _busy_case(use: Callable[[Calls], object] = _use) -> object:
        with busy_calls() as c:
            return in_thread(lambda: use(c))

    case(f"comp_busy.{_what}", IN_USE)(_busy_case)


@case("comp_busy.store.close", CANNOT_CLOSE)
def _() -> object:
    with busy_calls() as c:
        return in_thread(c.store.close)


@case("comp_busy.other_store_runs", returns(7))
def _() -> object:
    with busy_calls():
        other = calls(lambda ctx, x: x + 6)
        return in_thread(lambda: other.run(other.store, 1))


# --------------------------------------------------------------------------------------------
# Resources: used up, dropped twice, another store, a closed store
# --------------------------------------------------------------------------------------------


def made() -> tuple[Resources, ResourceAny]:
    r = resources()
    handle = r.make(r.store, 3)
    assert isinstance(handle, ResourceAny)
    return r, handle


@case("comp_resource.used_up.to_host", USED_UP)
def _() -> object:
    r, handle = made()
    r.consume(r.store, handle)
    return handle.to_host(r.store)


@case("comp_resource.used_up.passed_again", USED_UP)
def _() -> object:
    r, handle = made()
    r.consume(r.store, handle)
    return r.consume(r.store, handle)


@case("comp_resource.used_up.borrowed", USED_UP)
def _() -> object:
    r, handle = made()
    r.consume(r.store, handle)
    return r.peek(r.store, handle)


@case("comp_resource.used_up.by_to_host", USED_UP)
def _() -> object:
    r, handle = made()
    handle.to_host(r.store)
    return handle.drop(r.store)


@case("comp_resource.dropped_twice", returns(([3], "ValueError")))
def _() -> object:
    r, handle = made()
    handle.drop(r.store)
    return (r.dropped, outcome(lambda: handle.drop(r.store)))


@case("comp_resource.borrowed_handle_after_its_call", USED_UP)
def _() -> object:
    s = store()
    kept: list[ResourceAny] = []
    linker = Linker(engine())
    wat = """(component
      (import "t" (type $t (sub resource)))
      (import "look" (func $look (param "x" (borrow $t))))
      (core func $look_lowered (canon lower (func $look)))
      (core func $drop (canon resource.drop $t))
      (core module $m
        (import "" "look" (func $look (param i32)))
        (import "" "drop" (func $drop (param i32)))
        (func (export "run") (param i32) (call $look (local.get 0)) (call $drop (local.get 0))))
      (core instance $i (instantiate $m (with "" (instance
        (export "look" (func $look_lowered)) (export "drop" (func $drop))))))
      (func (export "run") (param "x" (borrow $t)) (canon lift (core func $i "run"))))"""
    with linker.root() as root:
        root.add_resource("t", ResourceType.host(HOST_TYPE), lambda ctx, rep: None)
        root.add_func("look", lambda ctx, handle: kept.append(handle))
    run = linker.instantiate(s, Component(engine(), wat)).get_func(s, "run")
    run(s, ResourceHost.own(5, HOST_TYPE))  # type: ignore[misc]
    return kept[0].to_host(s)


@case("comp_resource.other_store.to_host", WRONG_STORE)
def _() -> object:
    _r, handle = made()
    return handle.to_host(store())


@case("comp_resource.other_store.drop", WRONG_STORE)
def _() -> object:
    _r, handle = made()
    return handle.drop(store())


@case("comp_resource.other_store.as_an_argument", WRONG_STORE)
def _() -> object:
    _r, handle = made()
    other = resources()
    return other.consume(other.store, handle)


@case(
    "comp_resource.other_store.refusal_leaves_it_usable",
    returns("ResourceHost(rep=3, type=7, owned=True)"),
)
def _() -> object:
    r, handle = made()
    other = resources()
    outcome(lambda: other.consume(other.store, handle))
    return repr(handle.to_host(r.store))


@case("comp_resource.closed_store.to_host", CLOSED)
def _() -> object:
    r, handle = made()
    r.store.close()
    return handle.to_host(r.store)


@case("comp_resource.closed_store.drop", CLOSED)
def _() -> object:
    r, handle = made()
    r.store.close()
    return handle.drop(r.store)


@case("comp_resource.host_value_of_the_wrong_type", raises(WasmtimeError, "mismatched resource"))
def _() -> object:
    r = resources()
    return r.consume(r.store, ResourceHost.own(1, HOST_TYPE + 1))


@case("comp_resource.borrow_where_own_is_expected", raises(WasmtimeError))
def _() -> object:
    r = resources()
    return r.consume(r.store, ResourceHost.borrow(1, HOST_TYPE))


@case("comp_resource.not_a_resource", raises(TypeError))
def _() -> object:
    r = resources()
    return r.consume(r.store, 5)


@case("comp_resource.host_value_limits", raises(OverflowError))
def _() -> object:
    return ResourceHost.own(2**32, HOST_TYPE)


@case("comp_resource.cannot_be_constructed", raises(WasmtimeError))
def _() -> object:
    return ResourceAny()  # type: ignore[call-arg]


# --------------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------------


def on_calls(use: Callable[[Calls], object]) -> Callable[[], object]:
    return lambda: use(calls())


def sum_of(record: object) -> Callable[[], object]:
    def run() -> object:
        s = store()
        total = Linker(engine()).instantiate(s, component(RECORDS)).get_func(s, "sum")
        return total(s, record)  # type: ignore[misc]

    return run


def add_func_twice() -> object:
    root = Linker(engine()).root()
    root.add_func("f", lambda ctx: None)
    return root.add_func("f", lambda ctx: None)


BAD: dict[str, tuple[Callable[[], object], tuple[str, ...]]] = {
    "component.garbage": (
        lambda: Component(engine(), b"\x00asm\x0d\x00\x01\x00\xff"),
        raises(WasmtimeError),
    ),
    "component.core_module_bytes": (
        lambda: Component(engine(), b"\x00asm\x01\x00\x00\x00"),
        raises(WasmtimeError),
    ),
    "component.empty": (lambda: Component(engine(), b""), raises(WasmtimeError)),
    "component.bad_text": (lambda: Component(engine(), "(component"), raises(WasmtimeError)),
    "component.none": (lambda: Component(engine(), None), raises(TypeError)),  # type: ignore[arg-type]
    "component.engine_none": (
        lambda: Component(None, "(component)"),  # type: ignore[arg-type]
        raises(TypeError),
    ),
    "component.deserialize_garbage": (
        lambda: Component.deserialize(engine(), b"garbage" * 10),
        raises(WasmtimeError),
    ),
    "component.from_missing_file": (
        lambda: Component.from_file(engine(), "/nonexistent/c.wasm"),
        raises(WasmtimeError),
    ),
    "linker.instantiate_store_none": (
        lambda: Linker(engine()).instantiate(None, component("(component)")),  # type: ignore[arg-type]
        raises(AttributeError),
    ),
    "linker.instantiate_component_none": (
        lambda: Linker(engine()).instantiate(store(), None),  # type: ignore[arg-type]
        raises(TypeError),
    ),
    "linker.missing_import": (
        lambda: Linker(engine()).instantiate(store(), component()),
        raises(WasmtimeError),
    ),
    "linker.add_func_twice": (
        add_func_twice,
        raises(WasmtimeError),
    ),
    "linker_instance.cannot_be_constructed": (
        lambda: LinkerInstance(),  # type: ignore[call-arg]
        raises(WasmtimeError),
    ),
    "instance.cannot_be_constructed": (lambda: Instance(), raises(WasmtimeError)),  # type: ignore[call-arg]
    "func.cannot_be_constructed": (lambda: Func(), raises(WasmtimeError)),  # type: ignore[call-arg]
    "export_index.cannot_be_constructed": (lambda: ExportIndex(), raises(WasmtimeError)),  # type: ignore[call-arg]
    "resource_type.cannot_be_constructed": (
        lambda: ResourceType(),  # type: ignore[call-arg]
        raises(WasmtimeError),
    ),
    "func.too_few_arguments": (on_calls(lambda c: c.id(c.store)), raises(TypeError)),
    "func.too_many_arguments": (on_calls(lambda c: c.id(c.store, 1, 2)), raises(TypeError)),
    "func.str_for_u32": (on_calls(lambda c: c.id(c.store, "1")), U32_EXPECTED),
    "func.none_for_u32": (on_calls(lambda c: c.id(c.store, None)), U32_EXPECTED),
    "func.enormous_int_wraps": (on_calls(lambda c: c.id(c.store, 2**1000 + 9)), returns(9)),
    "func.store_none": (lambda: calls().id(None, 1), raises(AttributeError)),  # type: ignore[arg-type]
    "func.record_missing_a_field": (
        sum_of(object()),
        raises(AttributeError),
    ),
    "instance.get_func_unknown_name": (
        on_calls(lambda c: c.instance.get_func(c.store, "nope")),
        returns(None),
    ),
    "instance.get_func_of_a_non_function": (
        on_calls(lambda c: c.instance.get_func(c.store, 5)),  # type: ignore[arg-type]
        raises(TypeError),
    ),
}

for _what, (_fn, _expect) in BAD.items():
    case(f"comp_bad.{_what}", _expect)(_fn)


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


# test_component_misuse_group[<group>], test_component_misuse_case_alone[<case>] (slow) and, while a case
# has a bug, test_component_misuse_known_native_bug[<case>] (see _cases.define_tests).
define_tests(globals(), "component_misuse")
