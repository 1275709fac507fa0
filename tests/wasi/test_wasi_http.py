"""`Store.set_wasi_http`: the store side of wasi-http (its components come with `wasmtime.component`)."""

from __future__ import annotations

import pytest

from wasmtime import Store, WasiConfig, WasmtimeError


def test_needs_wasi_first() -> None:
    store = Store()
    with pytest.raises(WasmtimeError, match="set_wasi first"):
        store.set_wasi_http()


def test_after_set_wasi() -> None:
    store = Store()
    store.set_wasi(WasiConfig())
    assert store.set_wasi_http() is None
    # Enabling it again is allowed and keeps the store usable.
    store.set_wasi_http()
    store.gc()


def test_closed_store() -> None:
    store = Store()
    store.close()
    with pytest.raises(ValueError, match="already closed"):
        store.set_wasi_http()
