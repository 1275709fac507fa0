"""Fixtures for the component tests: components written in the component text format.

`forwarder(wit_type, flat)` builds the component most value tests use. It imports the type
`t` (bound to `wit_type`: imports may only name imported types), imports a host function
`host: func(x: t) -> t` and exports `call: func(x: t) -> t`, whose core code hands its
arguments straight to `host` and returns what `host` returned. A call therefore converts the
value Python -> component (lifting into the guest), component -> Python (into the host
function), and back the same two ways. `flat` is the core wasm flattening of `t` (the
canonical ABI's parameter types, e.g. `["i32", "i32"]` for a string); when it has more than
one value, the result travels through a return area in linear memory.

The memory and `cabi_realloc` come from a small core module with a bump allocator (`LIBC`);
components written in other test files use it through the `libc_component` fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import wasmtime
from wasmtime.component import Component, Linker

# A bump allocator: never frees, grows the memory when it runs out. Addresses below 1024 are
# left for return areas.
LIBC = """
    (core module $libc
        (memory (export "memory") 1)
        (global $next (mut i32) (i32.const 1024))
        (func (export "cabi_realloc")
            (param $old i32) (param $old_size i32) (param $align i32) (param $size i32)
            (result i32)
            (local $ptr i32)
            (local.set $ptr
                (i32.and
                    (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                    (i32.sub (i32.const 0) (local.get $align))))
            (global.set $next (i32.add (local.get $ptr) (local.get $size)))
            (block $done
                (loop $grow
                    (br_if $done
                        (i32.le_u (global.get $next)
                                  (i32.mul (memory.size) (i32.const 65536))))
                    (drop (memory.grow (i32.const 1)))
                    (br $grow)))
            (local.get $ptr))
    )
    (core instance $libc (instantiate $libc))
    (alias core export $libc "memory" (core memory $memory))
    (alias core export $libc "cabi_realloc" (core func $realloc))
"""

# Where `call` asks `host` to write a result that does not fit in one core value.
RETURN_AREA = 16


def forwarder(wit_type: str, flat: list[str]) -> str:
    params = " ".join(flat)
    args = " ".join(f"(local.get {i})" for i in range(len(flat)))
    if len(flat) == 1:
        host_sig = f"(param {params}) (result {params})"
        call_sig = host_sig
        body = f"(call $host {args})"
    else:
        host_sig = f"(param {params} i32)"
        call_sig = f"(param {params}) (result i32)"
        body = f"(call $host {args} (i32.const {RETURN_AREA})) (i32.const {RETURN_AREA})"
    return f"""
    (component
        (type $t' {wit_type})
        (import "t" (type $t (eq $t')))
        (import "host" (func $host (param "x" $t) (result $t)))
        {LIBC}
        (core func $host_lowered (canon lower (func $host)
            (memory $memory) (realloc $realloc)))
        (core module $impl
            (import "" "host" (func $host {host_sig}))
            (func (export "call") {call_sig} {body})
        )
        (core instance $impl (instantiate $impl
            (with "" (instance (export "host" (func $host_lowered))))))
        (func (export "call") (param "x" $t) (result $t)
            (canon lift (core func $impl "call") (memory $memory) (realloc $realloc)))
    )
    """


class Roundtrip:
    """A `forwarder` component, instantiated with an identity host function that records what
    it receives (`seen`). `__call__` calls `call` with one value."""

    def __init__(self, store: wasmtime.Store, wit_type: str, flat: list[str]) -> None:
        engine = store.engine
        self.store = store
        self.seen: list[Any] = []
        self.host_result: Callable[[Any], Any] = lambda x: x
        component = Component(engine, forwarder(wit_type, flat))
        linker = Linker(engine)
        with linker.root() as root:
            root.add_func("host", self._host)
        instance = linker.instantiate(store, component)
        func = instance.get_func(store, "call")
        assert func is not None
        self.func = func

    def _host(self, _ctx: Any, x: Any) -> Any:
        self.seen.append(x)
        return self.host_result(x)

    def __call__(self, value: Any) -> Any:
        return self.func(self.store, value)


@pytest.fixture
def roundtrip(store: wasmtime.Store) -> Callable[[str, list[str]], Roundtrip]:
    """``roundtrip(wit_type, flat)``: a new `Roundtrip` for that type, in the test's store."""

    def make(wit_type: str, flat: list[str]) -> Roundtrip:
        return Roundtrip(store, wit_type, flat)

    return make


@pytest.fixture
def component(engine: wasmtime.Engine) -> Callable[[str], Any]:
    """``component(wat)``: compile component text with the test's engine."""

    def make(wat: str) -> Any:
        return Component(engine, wat)

    return make


@pytest.fixture
def libc_component(engine: wasmtime.Engine) -> Callable[[str], Any]:
    """``libc_component(wat)``: compile component text in which the marker ``{LIBC}`` stands
    for `LIBC` (the core instance ``$libc``, ``$memory`` and ``$realloc``)."""

    def make(wat: str) -> Any:
        assert "{LIBC}" in wat
        return Component(engine, wat.replace("{LIBC}", LIBC))

    return make
