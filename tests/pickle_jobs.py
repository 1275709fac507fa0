"""Jobs for process-pool workers started with "spawn", used by the pickling tests.

A spawned worker unpickles its job by importing the job's module, so the jobs (and the host
functions they pickle by name) live in this importable module rather than in a test file. A test
puts ``tests/`` on ``sys.path`` (``monkeypatch.syspath_prepend``) before it imports this module
as ``pickle_jobs`` and creates its pool: spawn copies the parent's ``sys.path`` into the child.
This is not a test file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import extism
import wasmtime

# --------------------------------------------------------------------------------------------
# Core modules
# --------------------------------------------------------------------------------------------

# `add` and a recursive `depth` (returns its argument after recursing that deep).
MODULE_WAT = """
(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $depth (i32.sub (local.get 0) (i32.const 1))))))))
"""


def call_module(module: wasmtime.Module, name: str, *args: Any) -> tuple[int, Any]:
    """Instantiates ``module`` in a store of its own engine and calls its export ``name``.

    Returns the worker's pid with the result, so a test can tell that another process ran it;
    a trap's result is ``"trap <code name>"``.
    """
    store = wasmtime.Store(module.engine)
    func = wasmtime.Instance(store, module, []).exports(store)[name]
    try:
        return os.getpid(), func(store, *args)
    except wasmtime.Trap as trap:
        code = trap.trap_code
        return os.getpid(), f"trap {code.name if code is not None else None}"


# --------------------------------------------------------------------------------------------
# Extism plugins with host functions
# --------------------------------------------------------------------------------------------

KERNEL_LIB = (Path(__file__).parent / "extism" / "kernel_lib.wat").read_text()


@extism.host_fn(name="shout")
def shout(text: str) -> str:
    """A module-level host function: pickles by name."""
    return text.upper() + "!"


def exclaim(text: str, mark) -> str:  # `mark` unannotated: user data, not a wasm parameter
    """Made a host function in the tests with ``mark`` as user data (pickled by value)."""
    return text + mark


def scale(current: Any, params: Any, results: Any, factor: int) -> None:
    """The callable of a `Function` made in the tests (pickled by value, with its user data)."""
    results[0].value = params[0].value * factor


# `shout`: the output is `shout(input)`. `scale`: one byte, `scale(input length)`.
PLUGIN_WAT = (
    "(module"
    ' (import "extism:host/user" "shout" (func $shout (param i64) (result i64)))'
    ' (import "extism:host/user" "scale" (func $scale (param i64) (result i64)))'
    + KERNEL_LIB
    + """
  (memory (export "memory") 1)
  (func (export "shout") (result i32)
    (call $out_block (call $shout (call $input_block)))
    (i32.const 0))
  (func (export "scale") (result i32)
    (i32.store8 (i32.const 0) (i32.wrap_i64 (call $scale (call $input_length))))
    (call $out (i32.const 0) (i32.const 1))
    (i32.const 0))
)"""
)


def host_functions(factor: int) -> list[extism.Function]:
    """The host functions of PLUGIN_WAT: `shout` (by name) and `scale` by `factor` (by value)."""
    return [
        shout,
        extism.Function("scale", [extism.ValType.I64], [extism.ValType.I64], scale, factor),
    ]


def call_plugin(
    plugin: extism.Plugin | extism.CompiledPlugin, name: str, data: bytes
) -> tuple[int, bytes]:
    """Calls ``name`` of ``plugin`` (of a new `Plugin` if it is a `CompiledPlugin`).

    Returns the worker's pid with the output.
    """
    if isinstance(plugin, extism.CompiledPlugin):
        plugin = extism.Plugin(plugin)
    return os.getpid(), plugin.call(name, data)
