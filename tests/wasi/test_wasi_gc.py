"""WASI output callables are visible to the garbage collector, before and after `set_wasi`."""

from __future__ import annotations

import gc
import weakref

from wasmtime import Linker, Module, Store, WasiConfig


class Holder:
    store: Store
    config: WasiConfig


def test_cycle_through_store_output_callback_is_collected() -> None:
    # holder -> store -> WASI context -> callback -> holder
    def make() -> weakref.ref[Holder]:
        holder = Holder()
        holder.store = Store()
        config = WasiConfig()
        config.stdout_custom = lambda data, holder=holder: None
        config.stderr_custom = lambda data, holder=holder: None
        holder.store.set_wasi(config)
        return weakref.ref(holder)

    ref = make()
    gc.collect()
    assert ref() is None


def test_cycle_through_unused_config_callback_is_collected() -> None:
    # holder -> config -> callback -> holder, never given to a store
    def make() -> weakref.ref[Holder]:
        holder = Holder()
        holder.config = WasiConfig()
        holder.config.stdout_custom = lambda data, holder=holder: None
        return weakref.ref(holder)

    ref = make()
    gc.collect()
    assert ref() is None


HELLO_WAT = r"""
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""


def test_callback_kept_alive_by_store_alone() -> None:
    # Only the store refers to the callable: a collection must not clear it.
    chunks: list[bytes] = []
    store = Store()
    config = WasiConfig()
    config.stdout_custom = lambda data: chunks.append(data)
    store.set_wasi(config)
    del config
    gc.collect()
    linker = Linker(store.engine)
    linker.define_wasi()
    instance = linker.instantiate(store, Module(store.engine, HELLO_WAT))
    instance.exports(store)["_start"](store)
    assert b"".join(chunks) == b"hi\n"
