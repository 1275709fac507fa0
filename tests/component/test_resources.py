"""Resources (spec §3.6), WASIp2 and wasi-http linking.

* `ResourceType`: host types, reflection, `LinkerInstance.add_resource`.
* `ResourceHost`: a plain value (`rep`, `type`, `owned`) that becomes a store entry when passed
  in or turned into a `ResourceAny`.
* `ResourceAny`: a handle in a store. It is used up when ownership moves (an `own` argument,
  `to_host`, `drop`); any later use raises `ValueError`. A failed argument conversion gives it
  back. A `borrow` lent to a host function ends when that function returns.
* Resources a component defines itself (its own `rep` and destructor), host resources, and both
  inside other types (option, list, record).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from wasmtime import Engine, Store, WasmtimeError
from wasmtime.component import (
    BorrowType,
    Component,
    Func,
    Instance,
    Linker,
    OwnType,
    Record,
    ResourceAny,
    ResourceHost,
    ResourceType,
)

HOST_TYPE = 7

# Imports the resource type `t` and host functions that make and inspect `t`s; exports
# `make` (a new resource from the host), `inspect` (its rep, seen through a borrow),
# `consume` (takes ownership and drops it, which runs the host destructor) and `consume2`
# (drops `x` like `consume`, and returns `n`).
RESOURCES = """
    (component
        (import "t" (type $t (sub resource)))
        (import "make" (func $make (param "rep" u32) (result (own $t))))
        (import "rep-of" (func $rep_of (param "x" (borrow $t)) (result u32)))
        (core func $make_lowered (canon lower (func $make)))
        (core func $rep_of_lowered (canon lower (func $rep_of)))
        (core func $drop (canon resource.drop $t))
        (core module $m
            (import "" "make" (func $make (param i32) (result i32)))
            (import "" "rep-of" (func $rep_of (param i32) (result i32)))
            (import "" "drop" (func $drop (param i32)))
            (func (export "make") (param i32) (result i32) (call $make (local.get 0)))
            (func (export "inspect") (param $handle i32) (result i32)
                (local $rep i32)
                (local.set $rep (call $rep_of (local.get $handle)))
                ;; A borrow received from the caller must be dropped before returning.
                (call $drop (local.get $handle))
                (local.get $rep))
            (func (export "consume") (param i32) (call $drop (local.get 0)))
            (func (export "consume2") (param i32 i32) (result i32)
                (call $drop (local.get 0))
                (local.get 1)))
        (core instance $i (instantiate $m
            (with "" (instance
                (export "make" (func $make_lowered))
                (export "rep-of" (func $rep_of_lowered))
                (export "drop" (func $drop))))))
        (func (export "make") (param "rep" u32) (result (own $t))
            (canon lift (core func $i "make")))
        (func (export "inspect") (param "x" (borrow $t)) (result u32)
            (canon lift (core func $i "inspect")))
        (func (export "consume") (param "x" (own $t))
            (canon lift (core func $i "consume")))
        (func (export "consume2") (param "x" (own $t)) (param "n" u32) (result u32)
            (canon lift (core func $i "consume2")))
    )
"""

# Defines and exports its own resource type `r` (rep: an i32), whose destructor reports the
# rep to the imported host function `dropped`. Exports:
# * `new: func(v: u32) -> own<r>`: a new `r` with rep `v`;
# * `get: func(x: borrow<r>) -> u32`: its rep (a component receives a borrow of its own type
#   as the rep itself);
# * `take: func(x: own<r>) -> u32`: its rep, after dropping it (which runs the destructor);
# * `slot: func(x: own<r>) -> u32`: the index of the handle it received, after dropping it.
DEFINED = """
    (component
        (import "dropped" (func $dropped (param "v" u32)))
        (core func $dropped_lowered (canon lower (func $dropped)))
        (core module $dtor
            (import "" "dropped" (func $dropped (param i32)))
            (func (export "dtor") (param i32) (call $dropped (local.get 0))))
        (core instance $dtor (instantiate $dtor
            (with "" (instance (export "dropped" (func $dropped_lowered))))))
        (alias core export $dtor "dtor" (core func $dtor_core))
        (type $r (resource (rep i32) (dtor (core func $dtor_core))))
        (core func $new (canon resource.new $r))
        (core func $rep (canon resource.rep $r))
        (core func $drop (canon resource.drop $r))
        (core module $m
            (import "" "new" (func $new (param i32) (result i32)))
            (import "" "rep" (func $rep (param i32) (result i32)))
            (import "" "drop" (func $drop (param i32)))
            (func (export "new") (param i32) (result i32) (call $new (local.get 0)))
            (func (export "get") (param i32) (result i32) (local.get 0))
            (func (export "take") (param $handle i32) (result i32)
                (local $rep i32)
                (local.set $rep (call $rep (local.get $handle)))
                (call $drop (local.get $handle))
                (local.get $rep))
            (func (export "slot") (param $handle i32) (result i32)
                (call $drop (local.get $handle))
                (local.get $handle)))
        (core instance $i (instantiate $m
            (with "" (instance
                (export "new" (func $new))
                (export "rep" (func $rep))
                (export "drop" (func $drop))))))
        (export $r' "r" (type $r))
        (func (export "new") (param "v" u32) (result (own $r'))
            (canon lift (core func $i "new")))
        (func (export "get") (param "x" (borrow $r')) (result u32)
            (canon lift (core func $i "get")))
        (func (export "take") (param "x" (own $r')) (result u32)
            (canon lift (core func $i "take")))
        (func (export "slot") (param "x" (own $r')) (result u32)
            (canon lift (core func $i "slot")))
    )
"""

# Imports the resource type `t`; exports identity functions for resources inside other types:
# `opt: func(x: option<own<t>>) -> option<own<t>>`, `many: func(x: list<own<t>>) ->
# list<own<t>>` and `keep: func(x: holder) -> holder` with `record holder { r: own<t>,
# n: u32 }`. Results of two flat values go back through a return area at address 16.
CONTAINERS = """
    (component
        (import "t" (type $t (sub resource)))
        {LIBC}
        (type $holder' (record (field "r" (own $t)) (field "n" u32)))
        (export $holder "holder" (type $holder'))
        (core module $m
            (import "libc" "memory" (memory 1))
            (func (export "opt") (param i32 i32) (result i32)
                (i32.store8 (i32.const 16) (local.get 0))
                (i32.store (i32.const 20) (local.get 1))
                (i32.const 16))
            (func (export "two") (param i32 i32) (result i32)
                (i32.store (i32.const 16) (local.get 0))
                (i32.store (i32.const 20) (local.get 1))
                (i32.const 16)))
        (core instance $i (instantiate $m
            (with "libc" (instance (export "memory" (memory $memory))))))
        (func (export "opt") (param "x" (option (own $t))) (result (option (own $t)))
            (canon lift (core func $i "opt") (memory $memory)))
        (func (export "many") (param "x" (list (own $t))) (result (list (own $t)))
            (canon lift (core func $i "two") (memory $memory) (realloc $realloc)))
        (func (export "keep") (param "x" $holder) (result $holder)
            (canon lift (core func $i "two") (memory $memory)))
    )
"""


def get_func(instance: Instance, store: Store, name: str) -> Func:
    func = instance.get_func(store, name)
    assert func is not None
    return func


def host_attrs(host: ResourceHost) -> tuple[int, int, bool]:
    return (host.rep, host.type, host.owned)


# --- ResourceType -----------------------------------------------------------------------------


def test_resource_type_cannot_be_constructed() -> None:
    with pytest.raises(WasmtimeError):
        ResourceType()


def test_host_resource_types() -> None:
    assert ResourceType.host(1) == ResourceType.host(1)
    assert ResourceType.host(1) != ResourceType.host(2)
    assert ResourceType.host(1) != 1
    assert ResourceType.host(1) != "hello"


def test_resource_type_reflection(engine: Engine) -> None:
    c = Component(
        engine,
        """(component
            (import "a" (type $a (sub resource)))
            (export "a" (type $a))
            (type $b (resource (rep i32)))
            (export "b" (type $b)))""",
    )
    imported = c.type.imports(engine)["a"]
    reexported = c.type.exports(engine)["a"]
    defined = c.type.exports(engine)["b"]
    for ty in (imported, reexported, defined):
        assert isinstance(ty, ResourceType)
    assert imported == reexported
    assert imported != defined
    assert imported != ResourceType.host(1)


def test_add_resource_satisfies_the_import(engine: Engine, store: Store) -> None:
    component = Component(engine, '(component (import "t" (type $t (sub resource))))')
    linker = Linker(engine)
    with pytest.raises(WasmtimeError):
        linker.instantiate(store, component)
    with linker.root() as root:
        root.add_resource("t", ResourceType.host(HOST_TYPE), lambda ctx, rep: None)
        with pytest.raises(WasmtimeError):
            root.add_resource("t", ResourceType.host(HOST_TYPE), lambda ctx, rep: None)
    linker.instantiate(store, component)


# --- host resources ---------------------------------------------------------------------------


class Resources:
    """`RESOURCES`, instantiated with host functions that record what they see.

    `rep_of` is the host's `rep-of`; by default it turns the borrow it is lent into its
    `ResourceHost` (with the outer store, while the component runs) and returns the rep."""

    def __init__(
        self, engine: Engine, store: Store, rep_of: Callable[[Any, Any], int] | None = None
    ) -> None:
        self.store = store
        self.dropped: list[int] = []
        self.borrowed: list[Any] = []
        self.rep_of = rep_of or self._rep_of
        linker = Linker(engine)
        with linker.root() as root:
            root.add_resource("t", ResourceType.host(HOST_TYPE), self._dtor)
            root.add_func("make", lambda ctx, rep: ResourceHost.own(rep, HOST_TYPE))
            root.add_func("rep-of", self._record_rep_of)
        self.linker = linker
        self.component = Component(engine, RESOURCES)
        instance = linker.instantiate(store, self.component)
        self.make = get_func(instance, store, "make")
        self.inspect = get_func(instance, store, "inspect")
        self.consume = get_func(instance, store, "consume")
        self.consume2 = get_func(instance, store, "consume2")

    def _dtor(self, ctx: Any, rep: int) -> None:
        self.dropped.append(rep)

    def _record_rep_of(self, ctx: Any, handle: Any) -> int:
        self.borrowed.append(handle)
        return self.rep_of(ctx, handle)

    def _rep_of(self, ctx: Any, handle: Any) -> int:
        assert isinstance(handle, ResourceAny)
        assert handle.owned is False
        assert handle.type == ResourceType.host(HOST_TYPE)
        host = handle.to_host(self.store)  # the outer store, while the component runs
        assert host_attrs(host) == (host.rep, HOST_TYPE, False)
        return int(host.rep)


@pytest.fixture
def resources(engine: Engine, store: Store) -> Resources:
    return Resources(engine, store)


def test_resource_values_cannot_be_constructed() -> None:
    with pytest.raises(WasmtimeError):
        ResourceAny()
    with pytest.raises(WasmtimeError):
        ResourceHost()


def test_host_resource(store: Store) -> None:
    own = ResourceHost.own(5, HOST_TYPE)
    assert host_attrs(own) == (5, HOST_TYPE, True)
    assert isinstance(own.type, int)
    assert repr(own) == "ResourceHost(rep=5, type=7, owned=True)"
    borrow = ResourceHost.borrow(6, HOST_TYPE)
    assert host_attrs(borrow) == (6, HOST_TYPE, False)
    assert repr(borrow) == "ResourceHost(rep=6, type=7, owned=False)"
    any_ = own.to_any(store)
    assert isinstance(any_, ResourceAny)
    assert any_.type == ResourceType.host(HOST_TYPE)
    assert any_.type != ResourceType.host(HOST_TYPE + 1)
    assert any_.owned is True
    assert repr(any_) == "ResourceAny(owned=True)"
    back = any_.to_host(store)
    assert host_attrs(back) == (5, HOST_TYPE, True)
    # `to_host` used the handle up; the `ResourceHost` is a plain value and can enter again.
    assert repr(any_) == "ResourceAny(owned=True, used up)"
    with pytest.raises(ValueError, match="used up"):
        any_.to_host(store)
    with pytest.raises(ValueError):
        any_.drop(store)
    assert any_.owned is True
    assert host_attrs(own.to_any(store).to_host(store)) == (5, HOST_TYPE, True)


def test_host_resource_limits() -> None:
    assert host_attrs(ResourceHost.own(2**32 - 1, 2**32 - 1)) == (2**32 - 1, 2**32 - 1, True)
    for bad in (-1, 2**32):
        with pytest.raises(OverflowError):
            ResourceHost.own(bad, HOST_TYPE)
        with pytest.raises(OverflowError):
            ResourceHost.borrow(1, bad)


def test_own_result_and_borrow_param(resources: Resources) -> None:
    store = resources.store
    r = resources.make(store, 5)
    assert isinstance(r, ResourceAny)
    assert r.owned is True
    assert r.type == ResourceType.host(HOST_TYPE)
    assert resources.inspect(store, r) == 5
    assert resources.inspect(store, r) == 5  # a borrow leaves it usable
    assert resources.dropped == []
    assert host_attrs(r.to_host(store)) == (5, HOST_TYPE, True)
    assert resources.dropped == []  # the host owns it now: no destructor ran


def test_own_param_is_consumed_and_dropped(resources: Resources) -> None:
    store = resources.store
    r = resources.make(store, 8)
    assert resources.consume(store, r) is None
    assert resources.dropped == [8]
    with pytest.raises(ValueError):
        resources.inspect(store, r)
    with pytest.raises(ValueError):
        resources.consume(store, r)
    with pytest.raises(ValueError):
        r.drop(store)
    assert resources.dropped == [8]


def test_host_resources_as_arguments(resources: Resources) -> None:
    store = resources.store
    own = ResourceHost.own(11, HOST_TYPE)
    assert resources.inspect(store, own) == 11
    assert resources.inspect(store, own) == 11  # a plain value: it can be passed again
    assert resources.dropped == []  # the temporary entry went without a destructor
    resources.consume(store, ResourceHost.own(12, HOST_TYPE))
    assert resources.dropped == [12]  # the guest dropped its own: the host destructor ran
    assert resources.consume2(store, ResourceHost.own(13, HOST_TYPE), 4) == 4
    assert resources.dropped == [12, 13]


def test_drop_runs_the_destructor(resources: Resources) -> None:
    store = resources.store
    r = resources.make(store, 3)
    r.drop(store)
    assert resources.dropped == [3]
    assert repr(r) == "ResourceAny(owned=True, used up)"
    with pytest.raises(ValueError, match="already used up"):
        r.drop(store)
    with pytest.raises(ValueError):
        r.to_host(store)
    with pytest.raises(ValueError):
        resources.inspect(store, r)
    assert resources.dropped == [3]


def test_host_resource_of_the_wrong_type(resources: Resources) -> None:
    store = resources.store
    with pytest.raises(WasmtimeError, match="mismatched resource types"):
        resources.inspect(store, ResourceHost.own(1, HOST_TYPE + 1))
    with pytest.raises(WasmtimeError, match="mismatched resource types"):
        resources.consume(store, ResourceHost.own(2, HOST_TYPE + 1))
    assert resources.dropped == []


def test_non_resource_arguments(resources: Resources) -> None:
    store = resources.store
    for bad in (1, None, "r", ResourceType.host(HOST_TYPE)):
        with pytest.raises(TypeError):
            resources.inspect(store, bad)
        with pytest.raises(TypeError):
            resources.consume(store, bad)


def test_destructor_exception_propagates(engine: Engine, store: Store) -> None:
    error = RuntimeError("dtor failed")

    def dtor(ctx: Any, rep: int) -> None:
        raise error

    linker = Linker(engine)
    with linker.root() as root:
        root.add_resource("t", ResourceType.host(HOST_TYPE), dtor)
        root.add_func("make", lambda ctx, rep: ResourceHost.own(rep, HOST_TYPE))
        root.add_func("rep-of", lambda ctx, handle: 0)
    instance = linker.instantiate(store, Component(engine, RESOURCES))
    with pytest.raises(RuntimeError) as info:
        get_func(instance, store, "consume")(store, ResourceHost.own(1, HOST_TYPE))
    assert info.value is error


# --- own arguments: moved into the call, or given back when the call never starts -------------


def test_failed_conversion_gives_the_handle_back(resources: Resources) -> None:
    store = resources.store
    r = resources.make(store, 5)
    # `x` converts (its handle is taken), then `n` fails: the call never starts.
    with pytest.raises(TypeError):
        resources.consume2(store, r, "not a u32")
    assert repr(r) == "ResourceAny(owned=True)"
    assert resources.dropped == []
    assert resources.inspect(store, r) == 5
    # Wrong argument count: nothing is converted, nothing is taken.
    with pytest.raises(TypeError):
        resources.consume2(store, r)
    assert resources.consume2(store, r, 3) == 3
    assert resources.dropped == [5]
    with pytest.raises(ValueError):
        resources.inspect(store, r)


def test_a_handle_is_moved_once_per_call(resources: Resources) -> None:
    store = resources.store
    r = resources.make(store, 6)
    consume_twice = Component(
        store.engine,
        """(component
            (import "t" (type $t (sub resource)))
            (core func $drop (canon resource.drop $t))
            (core module $m
                (import "" "drop" (func $drop (param i32)))
                (func (export "two") (param i32 i32)
                    (call $drop (local.get 0)) (call $drop (local.get 1))))
            (core instance $i (instantiate $m
                (with "" (instance (export "drop" (func $drop))))))
            (func (export "two") (param "a" (own $t)) (param "b" (own $t))
                (canon lift (core func $i "two"))))""",
    )
    two = get_func(resources.linker.instantiate(store, consume_twice), store, "two")
    # The second use of `r` finds it taken by the first: ValueError, and `r` is given back.
    with pytest.raises(ValueError):
        two(store, r, r)
    assert resources.inspect(store, r) == 6
    two(store, r, ResourceHost.own(9, HOST_TYPE))
    assert sorted(resources.dropped) == [6, 9]


# --- borrows lent to host functions -----------------------------------------------------------


def test_borrow_ignored_by_the_host_function_ends_with_it(engine: Engine, store: Store) -> None:
    resources = Resources(engine, store, rep_of=lambda ctx, handle: 42)
    r = resources.make(store, 5)
    # wasmtime fails a call whose host function leaves a borrow behind; it is dropped for it.
    assert resources.inspect(store, r) == 42
    assert resources.inspect(store, r) == 42
    kept = resources.borrowed[0]
    assert isinstance(kept, ResourceAny)
    assert kept.owned is False
    assert kept.type == ResourceType.host(HOST_TYPE)
    assert repr(kept) == "ResourceAny(owned=False, used up)"
    with pytest.raises(ValueError):
        kept.to_host(store)
    with pytest.raises(ValueError):
        kept.drop(store)
    with pytest.raises(ValueError):
        resources.inspect(store, kept)
    # Ending the borrow ran no destructor and left the owner whole.
    assert resources.dropped == []
    assert host_attrs(r.to_host(store)) == (5, HOST_TYPE, True)


def test_borrow_dropped_by_the_host_function(engine: Engine, store: Store) -> None:
    def rep_of(ctx: Any, handle: ResourceAny) -> int:
        handle.drop(ctx)
        with pytest.raises(ValueError):
            handle.to_host(ctx)
        return 17

    resources = Resources(engine, store, rep_of=rep_of)
    r = resources.make(store, 5)
    assert resources.inspect(store, r) == 17
    assert resources.dropped == []  # dropping a borrow runs no destructor
    resources.consume(store, r)
    assert resources.dropped == [5]


def test_borrow_ends_when_the_host_function_raises(engine: Engine, store: Store) -> None:
    error = KeyError("rep-of failed")

    def rep_of(ctx: Any, handle: ResourceAny) -> int:
        raise error

    resources = Resources(engine, store, rep_of=rep_of)
    r = resources.make(store, 5)
    with pytest.raises(KeyError) as info:
        resources.inspect(store, r)
    assert info.value is error
    with pytest.raises(ValueError):
        resources.borrowed[0].to_host(store)
    assert resources.dropped == []


def test_borrowed_host_resource_to_any_in_a_host_function(engine: Engine, store: Store) -> None:
    made: list[ResourceAny] = []

    def rep_of(ctx: Any, handle: ResourceAny) -> int:
        lent = ResourceHost.borrow(9, HOST_TYPE).to_any(ctx)
        made.append(lent)
        assert lent.owned is False
        assert lent.type == ResourceType.host(HOST_TYPE)
        host = lent.to_host(ctx)  # ends the borrow
        assert host_attrs(host) == (9, HOST_TYPE, False)
        return host.rep + int(handle.to_host(ctx).rep)

    resources = Resources(engine, store, rep_of=rep_of)
    assert resources.inspect(store, ResourceHost.own(1, HOST_TYPE)) == 10
    with pytest.raises(ValueError):
        made[0].drop(store)
    assert resources.dropped == []


# --- errors -----------------------------------------------------------------------------------


def test_resource_any_with_the_wrong_store(engine: Engine, resources: Resources) -> None:
    store = resources.store
    r = resources.make(store, 5)
    other = Store(engine)
    with pytest.raises(WasmtimeError, match="object used with the wrong store"):
        r.drop(other)
    with pytest.raises(WasmtimeError, match="object used with the wrong store"):
        r.to_host(other)
    instance = resources.linker.instantiate(other, resources.component)
    for name in ("inspect", "consume"):
        with pytest.raises(WasmtimeError, match="object used with the wrong store"):
            get_func(instance, other, name)(other, r)
    # Still whole in its own store.
    assert resources.inspect(store, r) == 5
    resources.consume(store, r)
    assert resources.dropped == [5]


def test_borrowed_host_resource_where_own_is_expected(resources: Resources) -> None:
    store = resources.store
    with pytest.raises(WasmtimeError, match="cannot lower a `borrow` resource into an `own`"):
        resources.consume(store, ResourceHost.borrow(3, HOST_TYPE))
    with pytest.raises(WasmtimeError, match="cannot lower a `borrow` resource into an `own`"):
        resources.consume2(store, ResourceHost.borrow(3, HOST_TYPE), 1)
    assert resources.dropped == []


def test_borrowed_host_resource_to_any_outside_a_call(store: Store) -> None:
    with pytest.raises(
        WasmtimeError,
        match="can only become a ResourceAny inside a host function called by a component",
    ):
        ResourceHost.borrow(3, HOST_TYPE).to_any(store)


def test_borrowed_host_resource_as_a_borrow_argument(resources: Resources) -> None:
    store = resources.store
    assert resources.inspect(store, ResourceHost.borrow(13, HOST_TYPE)) == 13
    assert resources.inspect(store, ResourceHost.borrow(0, HOST_TYPE)) == 0
    assert resources.dropped == []


# --- a resource the component defines ---------------------------------------------------------


class Defined:
    """`DEFINED`, instantiated; `dropped` lists the reps its destructor reported."""

    def __init__(self, engine: Engine, store: Store) -> None:
        self.store = store
        self.dropped: list[int] = []
        linker = Linker(engine)
        with linker.root() as root:
            root.add_func("dropped", lambda ctx, v: self.dropped.append(v))
        self.linker = linker
        self.component = Component(engine, DEFINED)
        instance = linker.instantiate(store, self.component)
        self.new = get_func(instance, store, "new")
        self.get = get_func(instance, store, "get")
        self.take = get_func(instance, store, "take")
        self.slot = get_func(instance, store, "slot")


@pytest.fixture
def defined(engine: Engine, store: Store) -> Defined:
    return Defined(engine, store)


def test_guest_resource_type(engine: Engine, defined: Defined) -> None:
    store = defined.store
    r = defined.new(store, 42)
    assert isinstance(r, ResourceAny)
    assert r.owned is True
    new_type = defined.new.type(store).result
    assert isinstance(new_type, OwnType)
    assert r.type == new_type.ty
    params = defined.get.type(store).params
    assert [name for name, _ in params] == ["x"]
    param = params[0][1]
    assert isinstance(param, BorrowType)
    assert r.type == param.ty
    assert isinstance(defined.component.type.exports(engine)["r"], ResourceType)
    for n in (0, 1, HOST_TYPE):
        assert r.type != ResourceType.host(n)
    # Each instance has its own type: a handle of one is refused by another.
    other = Defined(engine, store)
    s = other.new(store, 1)
    assert s.type != r.type
    with pytest.raises(WasmtimeError, match="mismatched resource types"):
        other.get(store, r)
    assert defined.get(store, r) == 42


def test_guest_resource_borrow_and_to_host(defined: Defined) -> None:
    store = defined.store
    r = defined.new(store, 42)
    assert defined.get(store, r) == 42
    assert defined.get(store, r) == 42
    # Not a host resource: the handle stays with its owner, still usable.
    with pytest.raises(WasmtimeError):
        r.to_host(store)
    assert repr(r) == "ResourceAny(owned=True)"
    assert defined.get(store, r) == 42
    assert defined.dropped == []


def test_guest_resource_drop_runs_the_guest_destructor(defined: Defined) -> None:
    store = defined.store
    r = defined.new(store, 42)
    r.drop(store)
    assert defined.dropped == [42]
    with pytest.raises(ValueError):
        defined.get(store, r)
    with pytest.raises(ValueError):
        r.drop(store)
    with pytest.raises(ValueError):
        r.to_host(store)
    assert defined.dropped == [42]


def test_guest_resource_own_argument_is_used_up(defined: Defined) -> None:
    store = defined.store
    r = defined.new(store, 5)
    s = defined.new(store, 6)
    assert defined.take(store, r) == 5
    assert defined.dropped == [5]  # the guest dropped it: its destructor ran, once
    with pytest.raises(ValueError):
        defined.take(store, r)
    with pytest.raises(ValueError):
        defined.get(store, r)
    with pytest.raises(ValueError):
        r.drop(store)
    assert defined.get(store, s) == 6  # the other one is untouched
    assert defined.dropped == [5]


def test_guest_resource_and_host_values(defined: Defined) -> None:
    store = defined.store
    for value in (ResourceHost.own(1, HOST_TYPE), ResourceHost.borrow(1, HOST_TYPE)):
        with pytest.raises(WasmtimeError):
            defined.get(store, value)
    with pytest.raises(WasmtimeError):
        defined.take(store, ResourceHost.own(1, HOST_TYPE))
    assert defined.dropped == []


# --- resources inside other types -------------------------------------------------------------


class Containers:
    def __init__(self, store: Store, compile: Callable[[str], Any]) -> None:
        self.store = store
        self.dropped: list[int] = []
        linker = Linker(store.engine)
        with linker.root() as root:
            root.add_resource("t", ResourceType.host(HOST_TYPE), self._dtor)
        instance = linker.instantiate(store, compile(CONTAINERS))
        self.opt = get_func(instance, store, "opt")
        self.many = get_func(instance, store, "many")
        self.keep = get_func(instance, store, "keep")

    def _dtor(self, ctx: Any, rep: int) -> None:
        self.dropped.append(rep)


@pytest.fixture
def containers(store: Store, libc_component: Callable[[str], Any]) -> Containers:
    return Containers(store, libc_component)


def test_option_of_own(containers: Containers) -> None:
    store = containers.store
    assert containers.opt(store, None) is None
    r = containers.opt(store, ResourceHost.own(3, HOST_TYPE))
    assert isinstance(r, ResourceAny)  # untagged: the resource itself
    assert r.owned is True
    assert r.type == ResourceType.host(HOST_TYPE)
    again = containers.opt(store, r)
    assert isinstance(again, ResourceAny)
    with pytest.raises(ValueError):
        r.to_host(store)  # moved into the call
    assert host_attrs(again.to_host(store)) == (3, HOST_TYPE, True)
    with pytest.raises(WasmtimeError, match="cannot lower a `borrow` resource into an `own`"):
        containers.opt(store, ResourceHost.borrow(3, HOST_TYPE))
    with pytest.raises(ValueError, match="value not valid for this variant"):
        containers.opt(store, 3)  # neither None nor a resource (wasmtime-py's error)


def test_list_of_own(containers: Containers) -> None:
    store = containers.store
    assert containers.many(store, []) == []
    out = containers.many(store, [ResourceHost.own(i, HOST_TYPE) for i in range(5)])
    assert isinstance(out, list)
    assert all(isinstance(x, ResourceAny) and x.owned for x in out)
    assert [x.to_host(store).rep for x in out] == [0, 1, 2, 3, 4]
    handles = [ResourceHost.own(i, HOST_TYPE).to_any(store) for i in (7, 8)]
    # The third element fails: the first two are given back.
    with pytest.raises(TypeError):
        containers.many(store, [*handles, "not a resource"])
    assert [repr(h) for h in handles] == ["ResourceAny(owned=True)"] * 2
    out = containers.many(store, handles)
    assert all(repr(h) == "ResourceAny(owned=True, used up)" for h in handles)
    # Back from the guest, they carry the destructor of the type it imported.
    for x in out:
        x.drop(store)
    assert containers.dropped == [7, 8]


def test_record_with_an_own_field(containers: Containers) -> None:
    store = containers.store
    out = containers.keep(store, Record(r=ResourceHost.own(8, HOST_TYPE), n=9))
    assert isinstance(out, Record)
    assert out.n == 9
    assert isinstance(out.r, ResourceAny)
    r = out.r
    back = containers.keep(store, SimpleNamespace(r=r, n=10))
    assert back.n == 10
    with pytest.raises(ValueError):
        r.drop(store)
    assert host_attrs(back.r.to_host(store)) == (8, HOST_TYPE, True)
    # A field that fails to convert gives the moved handle back.
    r = ResourceHost.own(4, HOST_TYPE).to_any(store)
    with pytest.raises(TypeError):
        containers.keep(store, SimpleNamespace(r=r, n="ten"))
    assert host_attrs(r.to_host(store)) == (4, HOST_TYPE, True)


# --- many resources ---------------------------------------------------------------------------


def test_many_resources(engine: Engine, store: Store) -> None:
    n = 10_000
    defined = Defined(engine, store)
    resources = Resources(engine, store)
    start = time.perf_counter()
    for i in range(n):
        defined.new(store, i).drop(store)
    # Handles moved back into the guest reuse its table slots rather than growing it.
    slots = {defined.slot(store, defined.new(store, i)) for i in range(n)}
    for i in range(n):
        resources.consume(store, resources.make(store, i))
        assert resources.inspect(store, ResourceHost.borrow(i, HOST_TYPE)) == i
    elapsed = time.perf_counter() - start
    assert defined.dropped == list(range(n)) * 2
    assert len(slots) == 1
    assert resources.dropped == list(range(n))
    assert elapsed < 5, elapsed


# --- WASI -------------------------------------------------------------------------------------


def test_add_wasip2(engine: Engine) -> None:
    linker = Linker(engine)
    linker.add_wasip2()
    with linker.root(), pytest.raises(WasmtimeError):
        linker.add_wasip2()
    with pytest.raises(WasmtimeError):
        linker.add_wasip2()  # duplicate definitions without shadowing
    linker.allow_shadowing = True
    linker.add_wasip2()


def test_add_wasi_http(engine: Engine) -> None:
    linker = Linker(engine)
    linker.add_wasip2()
    linker.add_wasi_http()
    with pytest.raises(WasmtimeError):
        linker.add_wasi_http()
    linker.allow_shadowing = True
    linker.add_wasi_http()
