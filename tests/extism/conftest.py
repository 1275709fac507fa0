"""Fixtures for the Extism runtime tests: the kernel *probe*, a WAT guest that runs a program.

The probe guest imports every kernel function of ``extism:host/env`` (plus ``config_get``,
``var_get`` and ``var_set``) and interprets a program passed as the call input, so that a test
can drive the kernel ABI step by step and read back what each step returned:

    p = probe().program()
    p.reset()
    a = p.alloc(10)
    r = p.run()
    assert r[a] == 77

A program is a list of 32-byte records ``(op, a, b, c)`` (little-endian u64). The guest first
copies the whole input into its own memory, so an op may ``reset`` the kernel or free the input
block without losing the program. Every op records an i64 result (0 for functions without one;
i32 results zero-extended). An argument may be a `Ref` to an earlier result, plus a delta.
`Program.run` appends an ``emit`` op, which writes all results so far to a new kernel block and
designates it as output; `Program.call` runs the program as is and returns the raw output (use
``ret`` to end the call with a status code).

The legacy variant imports the same functions from ``env`` as ``extism_<name>`` (0.x ABI, no
``length_unsafe``).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

import extism

U64 = (1 << 64) - 1

# Kernel and host imports of the probe: name -> (params, results).
IMPORTS: dict[str, tuple[str, str]] = {
    "alloc": ("i64", "i64"),
    "free": ("i64", ""),
    "length": ("i64", "i64"),
    "length_unsafe": ("i64", "i64"),
    "load_u8": ("i64", "i32"),
    "load_u64": ("i64", "i64"),
    "store_u8": ("i64 i32", ""),
    "store_u64": ("i64 i64", ""),
    "input_offset": ("", "i64"),
    "input_length": ("", "i64"),
    "input_load_u8": ("i64", "i32"),
    "input_load_u64": ("i64", "i64"),
    "input_set": ("i64 i64", ""),
    "output_set": ("i64 i64", ""),
    "output_offset": ("", "i64"),
    "output_length": ("", "i64"),
    "error_set": ("i64", ""),
    "error_get": ("", "i64"),
    "reset": ("", ""),
    "memory_bytes": ("", "i64"),
    "config_get": ("i64", "i64"),
    "var_get": ("i64", "i64"),
    "var_set": ("i64 i64", ""),
}

# The legacy (0.x) ABI has every import above except `length_unsafe`.
LEGACY_MISSING = {"length_unsafe"}

# Op name -> WAT expression giving the op's i64 result from the locals $a, $b, $c.
# Codes are the positions in this dict; "trap" is also where unknown codes go.
OPS: dict[str, str] = {
    "trap": "(unreachable)",
    "alloc": "(call $alloc (local.get $a))",
    "free": "(call $free (local.get $a)) (i64.const 0)",
    "length": "(call $length (local.get $a))",
    "length_unsafe": "(call $length_unsafe (local.get $a))",
    "load_u8": "(i64.extend_i32_u (call $load_u8 (local.get $a)))",
    "load_u64": "(call $load_u64 (local.get $a))",
    "store_u8": "(call $store_u8 (local.get $a) (i32.wrap_i64 (local.get $b))) (i64.const 0)",
    "store_u64": "(call $store_u64 (local.get $a) (local.get $b)) (i64.const 0)",
    "input_offset": "(call $input_offset)",
    "input_length": "(call $input_length)",
    "input_load_u8": "(i64.extend_i32_u (call $input_load_u8 (local.get $a)))",
    "input_load_u64": "(call $input_load_u64 (local.get $a))",
    "input_set": "(call $input_set (local.get $a) (local.get $b)) (i64.const 0)",
    "output_set": "(call $output_set (local.get $a) (local.get $b)) (i64.const 0)",
    "output_offset": "(call $output_offset)",
    "output_length": "(call $output_length)",
    "error_set": "(call $error_set (local.get $a)) (i64.const 0)",
    "error_get": "(call $error_get)",
    "reset": "(call $reset) (i64.const 0)",
    "memory_bytes": "(call $memory_bytes)",
    "config_get": "(call $config_get (local.get $a))",
    "var_get": "(call $var_get (local.get $a))",
    "var_set": "(call $var_set (local.get $a) (local.get $b)) (i64.const 0)",
    # Guest-side helpers.
    "fill": "(call $fill (local.get $a) (local.get $b) (local.get $c)) (i64.const 0)",
    "emit": "(call $emit (local.get $k))",
    "ret": "(return (i32.wrap_i64 (local.get $a)))",
}
OP_CODES = {name: code for code, name in enumerate(OPS)}

# References to earlier results: the top 16 bits hold this tag, then the 16-bit result index,
# then a signed 32-bit delta.
REF_TAG = 0x5EF0

PROBE_BODY = """
  (memory 8)
  ;; Results at 0x1000 (8 bytes each), the program copied from the input at 0x10000.
  (func $arg (param $v i64) (result i64)
    (if (result i64) (i64.eq (i64.shr_u (local.get $v) (i64.const 48)) (i64.const 0x5EF0))
      (then
        (i64.add
          (i64.load offset=0x1000
            (i32.shl (i32.wrap_i64 (i64.and (i64.shr_u (local.get $v) (i64.const 32))
                                            (i64.const 0xffff)))
                     (i32.const 3)))
          (i64.extend_i32_s (i32.wrap_i64 (local.get $v)))))
      (else (local.get $v))))
  (func $fill (param $h i64) (param $n i64) (param $v i64) (local $i i64)
    (block $end (loop $next
      (br_if $end (i64.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $h) (local.get $i)) (i32.wrap_i64 (local.get $v)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $next))))
  ;; Copies the first $n results to a new kernel block and makes it the output.
  (func $emit (param $n i32) (result i64) (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (i32.shl (local.get $n) (i32.const 3)))))
    (block $end (loop $next
      (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
      (call $store_u64
        (i64.add (local.get $h) (i64.extend_i32_u (i32.shl (local.get $i) (i32.const 3))))
        (i64.load offset=0x1000 (i32.shl (local.get $i) (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (call $output_set (local.get $h)
      (i64.extend_i32_u (i32.shl (local.get $n) (i32.const 3))))
    (local.get $h))
  (func (export "run") (result i32)
    (local $len i64) (local $i i64) (local $pc i32) (local $end i32) (local $k i32)
    (local $op i64) (local $a i64) (local $b i64) (local $c i64) (local $r i64)
    (local.set $len (call $input_length))
    (block $copied (loop $copy
      (br_if $copied (i64.ge_u (local.get $i) (local.get $len)))
      (i64.store offset=0x10000 (i32.wrap_i64 (local.get $i))
        (call $input_load_u64 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 8)))
      (br $copy)))
    (local.set $pc (i32.const 0x10000))
    (local.set $end (i32.add (i32.const 0x10000) (i32.wrap_i64 (local.get $len))))
    (block $finished (loop $next
      (br_if $finished (i32.ge_u (local.get $pc) (local.get $end)))
      (local.set $op (i64.load (local.get $pc)))
      (local.set $a (call $arg (i64.load offset=8 (local.get $pc))))
      (local.set $b (call $arg (i64.load offset=16 (local.get $pc))))
      (local.set $c (call $arg (i64.load offset=24 (local.get $pc))))
      DISPATCH
      (i64.store offset=0x1000 (i32.shl (local.get $k) (i32.const 3)) (local.get $r))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (local.set $pc (i32.add (local.get $pc) (i32.const 32)))
      (br $next)))
    (i32.const 0))
  ;; No program: reports the input the host provided and where a first allocation lands.
  (func (export "bare") (result i32)
    (i64.store offset=0x1000 (i32.const 0) (call $input_offset))
    (i64.store offset=0x1008 (i32.const 0) (call $input_length))
    (i64.store offset=0x1010 (i32.const 0) (call $alloc (i64.const 3)))
    (drop (call $emit (i32.const 3)))
    (i32.const 0))
"""


def _dispatch(legacy: bool) -> str:
    """A br_table over OPS: each case sets $r, unknown codes trap."""
    names = list(OPS)
    lines = ["(block $done"]
    lines += [f"(block $op_{name}" for name in reversed(names)]
    labels = " ".join(f"$op_{name}" for name in names)
    lines.append(f"(br_table {labels} $op_trap (i32.wrap_i64 (local.get $op))))")
    for name in names:
        expr = "(unreachable)" if legacy and name in LEGACY_MISSING else OPS[name]
        lines.append(f"  (local.set $r {expr}) (br $done))")
    return "\n      ".join(lines)


def probe_source(legacy: bool = False) -> str:
    """The probe guest's WAT, importing the 1.x ABI or (``legacy``) the 0.x one."""
    imports = []
    for name, (params, results) in IMPORTS.items():
        if legacy and name in LEGACY_MISSING:
            continue
        module, field = ("env", f"extism_{name}") if legacy else ("extism:host/env", name)
        sig = (f" (param {params})" if params else "") + (f" (result {results})" if results else "")
        imports.append(f'  (import "{module}" "{field}" (func ${name}{sig}))')
    body = PROBE_BODY.replace("DISPATCH", _dispatch(legacy))
    return "(module\n" + "\n".join(imports) + body + ")\n"


@dataclass(frozen=True)
class Ref:
    """The result of an earlier op of a program, plus ``delta``."""

    index: int
    delta: int = 0

    def __add__(self, n: int) -> Ref:
        return Ref(self.index, self.delta + n)

    def __sub__(self, n: int) -> Ref:
        return Ref(self.index, self.delta - n)

    def encode(self) -> int:
        return (REF_TAG << 48) | (self.index << 32) | (self.delta & 0xFFFFFFFF)


class Results:
    """The values a program's ops returned, indexed by the `Ref` each op gave."""

    def __init__(self, values: Sequence[int]) -> None:
        self.values = list(values)

    def __getitem__(self, ref: Ref | int) -> int:
        return self.values[ref.index if isinstance(ref, Ref) else ref]

    def __len__(self) -> int:
        return len(self.values)


class Program:
    """Ops for the probe guest; each op method returns a `Ref` to its result.

    Op methods take the op's arguments (ints or `Ref`s): ``alloc(n)``, ``free(h)``,
    ``length(h)``, ``store_u8(p, v)``, ``output_set(h, n)``, ``config_get(key)`` ... (every name
    in OPS), plus ``fill(h, n, byte)``, ``ret(code)`` and ``trap()``.
    """

    def __init__(self, plugin: extism.Plugin) -> None:
        self.plugin = plugin
        self.ops: list[tuple[int, int | Ref, int | Ref, int | Ref]] = []

    def op(self, name: str, a: int | Ref = 0, b: int | Ref = 0, c: int | Ref = 0) -> Ref:
        self.ops.append((OP_CODES[name], a, b, c))
        return Ref(len(self.ops) - 1)

    def __getattr__(self, name: str) -> Callable[..., Ref]:
        if name not in OP_CODES:
            raise AttributeError(name)
        return lambda *args: self.op(name, *args)

    # Conveniences built from ops.

    def write(self, at: int | Ref, data: bytes) -> None:
        """Store ``data`` byte by byte at ``at``."""
        for i, byte in enumerate(data):
            self.store_u8(at + i, byte)

    def block(self, data: bytes) -> Ref:
        """A new kernel block holding ``data``; the `Ref` is the ``alloc``."""
        handle = self.alloc(len(data))
        self.write(handle, data)
        return handle

    def output(self, handle: int | Ref) -> None:
        """Make the whole block at ``handle`` the output and end the call with status 0."""
        self.output_set(handle, self.length(handle))
        self.ret(0)

    # Running.

    def encode(self) -> bytes:
        assert len(self.ops) < 7000, "the probe keeps at most 7000 results"

        def word(v: int | Ref) -> int:
            return v.encode() if isinstance(v, Ref) else v & U64

        return b"".join(struct.pack("<4Q", *(word(v) for v in op)) for op in self.ops)

    def call(self, **kwargs: Any) -> Any:
        """Run the program as is; returns the call's output."""
        return self.plugin.call("run", self.encode(), **kwargs)

    def run(self) -> Results:
        """Run the program, then emit every result; returns them."""
        count = len(self.ops)
        self.op("emit")
        out = self.call()
        assert len(out) == 8 * count
        return Results(struct.unpack(f"<{count}Q", out))


class Probe:
    """A plugin of the probe guest."""

    def __init__(self, plugin: extism.Plugin) -> None:
        self.plugin = plugin

    def program(self) -> Program:
        return Program(self.plugin)


@pytest.fixture
def probe_wat() -> Callable[..., str]:
    """``probe_wat(legacy=False)``: the probe guest's WAT text."""
    return probe_source


@pytest.fixture
def probe() -> Callable[..., Probe]:
    """``probe(manifest_extra=None, *, legacy=False, source=None, **plugin_kwargs)``.

    A `Probe` over a new plugin of the probe guest, from the manifest
    ``{"wasm": [{"data": <probe WAT>}], **manifest_extra}``, or from ``source`` (for example a
    CompiledPlugin) when given. ``functions`` defaults to ``[]``.
    """

    def make(
        manifest_extra: dict[str, Any] | None = None,
        *,
        legacy: bool = False,
        source: Any = None,
        **plugin_kwargs: Any,
    ) -> Probe:
        if source is None:
            source = {"wasm": [{"data": probe_source(legacy).encode()}], **(manifest_extra or {})}
        plugin_kwargs.setdefault("functions", [])
        return Probe(extism.Plugin(source, **plugin_kwargs))

    return make


Deadline = Callable[..., Any]


def _within_deadline(fn: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Runs `fn` on a worker thread and returns (or raises) its outcome; fails the test if it has
    not finished after `timeout` seconds (the worker is abandoned as a daemon), so that a hang or
    a deadlock in the runtime fails one test instead of stalling the run."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as e:  # noqa: BLE001 (handed back to the test thread)
            outcome["error"] = e

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        pytest.fail(f"still running after {timeout} s: the runtime did not stop it")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture
def within_deadline() -> Deadline:
    """``within_deadline(fn, timeout=60.0)``: ``fn()``, or a test failure if it hangs."""
    return _within_deadline
