"""Extism host SDK for Python, on wasmbridge's own runtime.

A drop-in for the Extism Python SDK (`extism` 1.1.1 on PyPI): the same public names, attributes and
behaviour, so code written for it runs unchanged. The runtime underneath is not the Extism crate
but ours, in Rust on Wasmtime 48, inside the same wheel as `wasmtime`: manifests, the kernel
(Extism memory), the host PDK functions, timeouts and cancellation live there; this package is the
Python layer on top (`extism.extism`).

Where the reference misbehaves, this package does what its documentation promises instead:

* host functions may return floats, tuples (each element encoded from its own value) and nothing
  at all (`-> None`), and explicit signatures may have F32/F64 results;
* an exception raised in a host function stops the guest and comes out of `Plugin.call`, instead
  of being printed and ignored;
* a host function calling back into its own plugin raises `Error` instead of deadlocking;
* concurrent calls on one plugin each get their own output;
* `CurrentPlugin.memory` and friends check every access against Extism memory, so a bad offset
  raises `Error` instead of corrupting the process.

`CompiledPlugin` and `CancelHandle` are exported here too (the reference keeps them in
`extism.extism` only).
"""

from . import extism as extism  # `extism.extism` holds the rest of the API
from .extism import (
    CancelHandle,
    Codec,
    CompiledPlugin,
    CurrentPlugin,
    Error,
    Function,
    Json,
    Memory,
    Pickle,
    Plugin,
    Val,
    ValType,
    extism_version,
    host_fn,
    set_log_custom,
    set_log_file,
)

__all__ = [
    "Plugin",
    "Error",
    "CurrentPlugin",
    "set_log_file",
    "set_log_custom",
    "extism_version",
    "Memory",
    "host_fn",
    "Function",
    "ValType",
    "Val",
    "Codec",
    "Json",
    "Pickle",
    "CompiledPlugin",
    "CancelHandle",
]
