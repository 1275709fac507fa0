"""`Managed`: the base of objects that own native resources (`close()`, `with`).

The native classes cannot inherit from a Python class; they are registered as virtual
subclasses, so `isinstance(store, Managed)` holds as in wasmtime-py.
"""

from abc import ABC

__all__ = ["Managed"]


class Managed(ABC):
    """An object that owns a native resource, freed by `close()` or at the end of a `with`."""
