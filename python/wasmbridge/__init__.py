"""wasmbridge: the ``wasmtime`` and ``extism`` Python APIs implemented in Rust.

This package holds the command-line tool (``wasmbridge`` / ``python -m wasmbridge``) and the
distribution's version. The runtime APIs live in the ``wasmtime`` and ``extism`` packages shipped
in the same wheel.
"""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("wasmbridge")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
