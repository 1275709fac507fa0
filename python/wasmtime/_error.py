"""The exceptions of the wasmtime API.

They are plain Python classes (subclassable, picklable); the native module only raises them.
`Trap` is deliberately not a `WasmtimeError`, as in wasmtime-py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._native import Frame, Tag
    from ._trap_code import TrapCode

__all__ = ["WasmtimeError", "ExitTrap", "Trap", "WasmException"]


class _Closable:
    _closed: bool = False

    def close(self) -> None:
        """Marks the object closed; later use raises `ValueError('already closed')`."""
        self._closed = True

    def _check(self) -> None:
        if self._closed:
            raise ValueError("already closed")

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WasmtimeError(Exception, _Closable):
    """An error from wasmtime: compilation, linking, limits, misuse, and so on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self._message = message

    @property
    def message(self) -> str:
        """The error's text."""
        self._check()
        return self._message

    def __str__(self) -> str:
        return self._message


class ExitTrap(WasmtimeError):
    """A WASI program called `proc_exit(code)`."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class Trap(Exception, _Closable):
    """A wasm trap: its text (with the wasm backtrace), code and frames."""

    _frames: list[Frame]
    _code: int | None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self._message = message
        self._frames = []
        self._code = None

    @property
    def message(self) -> str:
        """The trap's text, including the wasm backtrace."""
        self._check()
        return self._message

    @property
    def frames(self) -> list[Frame]:
        """The wasm frames of the backtrace, innermost first (empty for traps made in Python)."""
        self._check()
        return list(self._frames)

    @property
    def trap_code(self) -> TrapCode | None:
        """Why wasm trapped, or `None` for traps that are not wasm traps."""
        self._check()
        if self._code is None:
            return None
        from ._trap_code import TrapCode

        try:
            return TrapCode(self._code)
        except ValueError:
            return None

    def __str__(self) -> str:
        return self._message


class WasmException(Trap):
    """A wasm exception (the exceptions proposal): its tag and its payload values.

    Raised when wasm throws an exception that nothing catches; its `trap_code` is then
    `TrapCode.UNCAUGHT_EXCEPTION`. A host function may raise one to throw into the wasm that
    called it, where `try_table` can catch it; so may one that lets a nested call's
    `WasmException` pass. The tag must belong to the store the function runs in, and `values`
    must match its type's parameters. An extension: wasmtime-py has no such class.
    """

    def __init__(self, tag: Tag, values: Iterable[Any] = (), message: str | None = None) -> None:
        values = list(values)
        super().__init__(
            message if message is not None else f"wasm exception with values {values!r}"
        )
        self.tag = tag
        self.values = values

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.tag, self.values, self._message))
