"""Shared fixtures for the wasmbridge test suite.

Test folders carry no ``__init__.py`` and pytest runs with
``--import-mode=importlib``, so helpers are exposed as fixtures rather than
importable functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

import wasmtime


@pytest.fixture
def engine() -> wasmtime.Engine:
    return wasmtime.Engine()


@pytest.fixture
def store(engine: wasmtime.Engine) -> wasmtime.Store:
    return wasmtime.Store(engine)


@pytest.fixture
def instantiate(store: wasmtime.Store) -> Callable[..., wasmtime.Instance]:
    """Compile ``wat`` with the store's engine and instantiate it in ``store``."""

    def _instantiate(wat: str, imports: Sequence[Any] = ()) -> wasmtime.Instance:
        module = wasmtime.Module(store.engine, wat)
        return wasmtime.Instance(store, module, list(imports))

    return _instantiate


@pytest.fixture
def exports(
    store: wasmtime.Store, instantiate: Callable[..., wasmtime.Instance]
) -> Callable[..., Any]:
    """Instantiate ``wat`` in ``store`` and return its exports mapping."""

    def _exports(wat: str, imports: Sequence[Any] = ()) -> Any:
        return instantiate(wat, imports).exports(store)

    return _exports
