"""`InstanceExports`: the exports of an instance, by name and by index."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["InstanceExports"]


class InstanceExports(Mapping[str, Any]):
    """A read-only mapping from export name to extern, in export order.

    `exports["name"]` looks up by name; `exports.by_index[i]` by position. Both hold the same
    objects.
    """

    def __init__(self, names: list[str], values: list[Any]) -> None:
        self._by_name = dict(zip(names, values, strict=True))
        self._by_index = tuple(values)

    def __getitem__(self, name: str) -> Any:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    @property
    def by_index(self) -> tuple[Any, ...]:
        """The exports in order, for positional access."""
        return self._by_index

    def __repr__(self) -> str:
        return f"InstanceExports({list(self._by_name)})"
