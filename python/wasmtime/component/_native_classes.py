"""The native classes of `wasmtime.component`, looked up in `wasmtime._native`.

The native module holds the core and the component classes side by side, so the component
classes whose Python names clash with core ones (`Linker`, `Instance`, `Func`, `FuncType`) are
registered there with a `Component` prefix (`ComponentLinker`, ...). Each class is found by
its public name, trying the prefixed name first, and only accepted if its `__module__` is
`wasmtime.component`, so a core class can never stand in for a component one.

A class the native module does not provide (yet) is replaced by a placeholder that raises
`WasmtimeError("... not supported yet")` when used, so `import wasmtime.component` always works.
"""

from __future__ import annotations

from typing import Any, NoReturn

from .. import _native
from .._error import WasmtimeError

__all__ = ["native_class", "is_placeholder"]

_MODULE = "wasmtime.component"


class _PlaceholderMeta(type):
    """Makes class-level use of a placeholder (`ResourceType.host(1)`) raise the same error."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def unsupported(*args: Any, **kwargs: Any) -> NoReturn:
            raise _unsupported(cls.__name__)

        return unsupported


def _unsupported(name: str) -> WasmtimeError:
    return WasmtimeError(f"`wasmtime.component.{name}` is not supported yet")


def _placeholder(name: str) -> type:
    def __new__(cls: type, *args: Any, **kwargs: Any) -> NoReturn:
        raise _unsupported(cls.__name__)

    doc = f"Not supported yet by this build: any use raises `WasmtimeError`. ({name})"
    namespace = {"__new__": __new__, "__doc__": doc, "__module__": _MODULE, "_placeholder": True}
    return _PlaceholderMeta(name, (), namespace)


def native_class(name: str) -> Any:
    """The native class published as `wasmtime.component.<name>`, or a placeholder."""
    for candidate in ("Component" + name, name):
        cls = getattr(_native, candidate, None)
        if isinstance(cls, type) and cls.__module__ == _MODULE:
            return cls
    return _placeholder(name)


def is_placeholder(cls: Any) -> bool:
    """Whether `cls` is a placeholder for a class the native module lacks."""
    return isinstance(cls, _PlaceholderMeta)
