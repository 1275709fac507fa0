"""Extism host SDK for Python, on Wasmtime (placeholder).

The Extism API (``Plugin``, ``host_fn``, manifests and the rest) lands in a later release of
wasmbridge. This package exists so that the wheel layout is final; it exports nothing yet.
"""

__all__: list[str] = []
