#!/usr/bin/env python3
"""Benchmark wasmbridge ("ours") against the ctypes-based wasmtime-py ("ref").

Both packages import as ``wasmtime``, so each side runs in its own subprocess:

* ours: the interpreter running this script (``sys.executable``), which must
  have wasmbridge installed (a release build);
* ref:  ``bench/.refvenv/bin/python``, a virtualenv created on first use with
  the packages listed in ``REF_REQUIREMENTS``.

The parent process starts ``bench.py --worker ours|ref``; the worker runs the
same workload code against whichever ``wasmtime`` it imports and writes its
results as JSON to a file the parent names; the parent prints the table.

To add a reference package, append it to ``REF_REQUIREMENTS`` (the venv is
topped up automatically when the list changes). To add a workload, write a
function decorated with ``@workload(...)`` that returns a list of ``Case``.

Usage:
    python bench/bench.py                 # everything
    python bench/bench.py --only call     # one workload (see --list)
    python bench/bench.py --no-ref        # skip the reference side
    python bench/bench.py --json out.json # also save the results
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REF_VENV = BENCH_DIR / ".refvenv"
REF_STAMP = REF_VENV / ".bench-requirements.json"

# Packages installed into the reference venv.
# numpy is unpinned on purpose: it only serves the zero-copy/numpy rows.
REF_REQUIREMENTS: list[str] = [
    "wasmtime==48.0.0",
    "extism==1.1.1",
    "numpy",
]

# Real Extism plugins (outside the project: never committed); the extism rows skip without them.
EXTISM_FIXTURES = BENCH_DIR.parent.parent / "shared" / "fixtures" / "extism"

SIDES = ("ours", "ref")

# One timing: {"min_ns", "median_ns", "number", "repeat", ...}.
Result = dict[str, Any]

# A release build of ours makes a trivial call in well under this.
DEBUG_CALL_THRESHOLD_NS = 1000.0

# Defaults for timeit: `repeat` samples, each sized to take about `sample_s`.
DEFAULT_REPEAT = 25
DEFAULT_SAMPLE_S = 0.02


# --------------------------------------------------------------------------
# Targets (printed next to each row; they apply to "ours")
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """``max_ns``: ours' min must be <= this. ``vs_ref``: ours' min <= ref's min.

    ``stat`` names the statistic compared instead of the min: ``"p99_ns"`` or ``"max_ns"``, for
    the latency rows (whose promises are about the worst cases).
    """

    max_ns: float | None = None
    vs_ref: bool = False
    stat: str = "min_ns"

    def describe(self) -> str:
        label = "" if self.stat == "min_ns" else self.stat.removesuffix("_ns") + " "
        if self.max_ns is not None:
            return f"{label}<= {fmt_time(self.max_ns)}"
        if self.vs_ref:
            return f"{label}<= ref"
        return ""

    def verdict(self, ours: Result | None, ref: Result | None) -> str:
        if ours is None or self.stat not in ours:
            return ""
        if self.max_ns is not None:
            return "ok" if ours[self.stat] <= self.max_ns else "MISS"
        if self.vs_ref:
            if ref is None or self.stat not in ref:
                return "?"
            return "ok" if ours[self.stat] <= ref[self.stat] else "MISS"
        return ""


# --------------------------------------------------------------------------
# Workload registry
# --------------------------------------------------------------------------


@dataclass
class Case:
    """One table row: a timeit statement evaluated in ``env``.

    ``stmt`` is either one string for both sides or a dict keyed by side.
    ``check`` is a JSON-able value computed once before timing; the parent
    warns if ours and ref disagree on it (catches broken workloads).

    ``setup`` is code run before *every* execution of ``stmt``, untimed (for
    statements that need fresh state each time, e.g. a new engine); each
    sample is then one execution. ``skip`` is a reason this side cannot run
    the row at all (e.g. the API is missing); the row shows ``n/a (skip)``.

    ``sampler`` replaces timeit for what a statement cannot time (latencies of
    signals, traps and timeouts): ``sampler(count)`` returns ``count``
    durations in ns, one per sample, and ``stmt`` only describes the
    measurement. Such rows also report the p99 and the max.
    """

    row: str
    stmt: str | dict[str, str]
    env: dict[str, Any]
    unit: str = "ns"  # "ns", "us" or "ms" for display
    target: Target | None = None
    check: Any = None
    gc: bool = False  # keep the GC on while timing (allocation-heavy cases)
    repeat: int | None = None
    sample_s: float | None = None
    setup: str | None = None
    skip: str | None = None
    sampler: Callable[[int], list[float]] | None = None

    def stmt_for(self, side: str) -> str:
        return self.stmt[side] if isinstance(self.stmt, dict) else self.stmt


@dataclass
class Ctx:
    side: str
    wt: Any  # the imported `wasmtime` package (ours or the reference)
    np: Any  # numpy module or None

    def instantiate(
        self, wat: str, imports: Callable[[Any], list[Any]] | None = None
    ) -> tuple[Any, Any, Any]:
        """Compile ``wat`` and instantiate it in a fresh store.

        Returns (store, instance, exports). ``imports(store)`` builds the list.
        """
        wt = self.wt
        engine = wt.Engine()
        store = wt.Store(engine)
        module = wt.Module(engine, wat)
        inst = wt.Instance(store, module, imports(store) if imports else [])
        return store, inst, inst.exports(store)


WorkloadFn = Callable[[Ctx], list[Case]]


@dataclass
class Workload:
    name: str
    func: WorkloadFn
    requires: tuple[str, ...]
    rows: tuple[str, ...]  # declared up front so the parent can print them
    targets: dict[str, Target] = field(default_factory=dict)


WORKLOADS: dict[str, Workload] = {}


def workload(
    name: str,
    rows: tuple[str, ...],
    requires: tuple[str, ...] = ("wasmtime",),
    targets: dict[str, Target] | None = None,
) -> Callable[[WorkloadFn], WorkloadFn]:
    """Register a workload. ``requires`` are modules that must import on a side."""

    def deco(func: WorkloadFn) -> WorkloadFn:
        WORKLOADS[name] = Workload(name, func, requires, rows, dict(targets or {}))
        return func

    return deco


# --------------------------------------------------------------------------
# Workloads (identical WAT on both sides)
# --------------------------------------------------------------------------

CALL_WAT = """
(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add))
"""

HOST_WAT = """
(module
  (import "host" "inc" (func $inc (param i32) (result i32)))
  (func (export "callh") (param i32) (result i32)
    local.get 0
    call $inc))
"""

MEM_PAGES = 16  # 16 * 64 KiB = 1 MiB
MEM_WAT = f"""
(module
  (memory (export "mem") {MEM_PAGES}))
"""
READ_SIZE = 1 << 20

SMALL_WAT = """
(module
  (memory (export "mem") 1)
  (func (export "get") (param i32) (result i32)
    local.get 0
    i32.load))
"""

# One memory page, one global, a couple of functions: a typical small module
# for the per-instance cost rows.
PRE_WAT = """
(module
  (memory (export "mem") 1)
  (global $g (export "g") (mut i32) (i32.const 42))
  (func (export "get") (param i32) (result i32)
    local.get 0
    i32.load)
  (func (export "bump") (result i32)
    (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (global.get $g)))
"""

# Limits of the pool for the pooling-allocator row (Wasmtime's defaults, spelled out).
POOLING = {"total_core_instances": 1000, "total_memories": 1000, "total_tables": 1000}

COMPUTE_N = 10_000_000
# Loops $n times doing dependent i32 arithmetic (no memory traffic), so the
# time is dominated by the loop body plus whatever per-iteration checks
# (e.g. epoch interruption) the engine compiled into the loop back-edge.
COMPUTE_WAT = """
(module
  (func (export "spin") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (local.set $acc (i32.const 1))
    (block $done
      (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
      (loop $top
        (local.set $acc
          (i32.xor
            (i32.add (i32.mul (local.get $acc) (i32.const 1103515245))
                     (local.get $i))
            (i32.shr_u (local.get $acc) (i32.const 7))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $top (i32.lt_s (local.get $i) (local.get $n)))))
    (local.get $acc)))
"""


# A ~1.8 MB binary module shaped like the (compiles in ~40 ms): BIG_FUNCS functions of
# straight-line i32 arithmetic (BIG_STEPS multiply/shift/xor steps each) plus BIG_DATA bytes of
# data segment, for the compile/deserialize/cache rows. (3000 functions and no data also make
# 1.8 MB, but compile in ~320 ms and deserialize in ~1.2 ms: code dominates.)
BIG_FUNCS = 300
BIG_STEPS = 23
BIG_DATA = 1_600_000


def big_wat() -> str:
    funcs = []
    for i in range(BIG_FUNCS):
        steps = "".join(
            f"(local.set $t (i32.add (i32.mul (local.get $t) "
            f"(i32.const {(i * 2654435761 + j * 40503) % 2**31})) (local.get $b)))"
            f"(local.set $t (i32.xor (local.get $t) "
            f"(i32.shr_u (local.get $t) (i32.const {(i + j) % 31 + 1}))))"
            for j in range(BIG_STEPS)
        )
        funcs.append(
            f"  (func $f{i} (param $a i32) (param $b i32) (result i32) (local $t i32)\n"
            f"    (local.set $t (local.get $a)) {steps}\n"
            f"    (global.set $g (i32.add (global.get $g) (local.get $t)))\n"
            f"    (local.get $t))"
        )
    data = "".join(f"\\{b:02x}" for b in _random_bytes(BIG_DATA))
    pages = BIG_DATA // 65536 + 1
    return "\n".join(
        [
            "(module",
            "  (global $g (mut i32) (i32.const 7))",
            f"  (memory {pages})",
            f'  (data (i32.const 0) "{data}")',
            *funcs,
            '  (func (export "run") (param i32) (result i32)',
            f"    (call $f{BIG_FUNCS - 1} (local.get 0) (i32.const 3)))",
            ")",
        ]
    )


def _random_bytes(n: int) -> bytes:
    import random

    return random.Random(0x5EED).randbytes(n)


@workload(
    "call",
    rows=("call add(store, 1, 2)",),
    targets={"call add(store, 1, 2)": Target(max_ns=150)},
)
def wl_call(ctx: Ctx) -> list[Case]:
    store, _, exports = ctx.instantiate(CALL_WAT)
    add = exports["add"]
    return [
        Case(
            "call add(store, 1, 2)",
            "add(store, 1, 2)",
            {"add": add, "store": store},
            check=add(store, 1, 2),
        )
    ]


@workload(
    "host",
    rows=("host roundtrip callh(store, 1)",),
    targets={"host roundtrip callh(store, 1)": Target(max_ns=350)},
)
def wl_host(ctx: Ctx) -> list[Case]:
    wt = ctx.wt

    def imports(store: Any) -> list[Any]:
        ty = wt.FuncType([wt.ValType.i32()], [wt.ValType.i32()])
        return [wt.Func(store, ty, lambda x: x + 1)]

    store, _, exports = ctx.instantiate(HOST_WAT, imports)
    callh = exports["callh"]
    return [
        Case(
            "host roundtrip callh(store, 1)",
            "callh(store, 1)",
            {"callh": callh, "store": store},
            check=callh(store, 1),
        )
    ]


# A component exporting `add: func(a: u32, b: u32) -> u32` and `echo: func(s: string) ->
# string` (the string goes through a bump allocator), called with Python values.
COMPONENT_WAT = """
(component
  (core module $m
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (if (i32.gt_u (i32.add (global.get $next) (local.get 3)) (i32.const 60000))
        (then (global.set $next (i32.const 1024))))
      (local.set $p (global.get $next))
      (global.set $next (i32.add (global.get $next) (i32.and (i32.add (local.get 3) (i32.const 7)) (i32.const -8))))
      (local.get $p))
    (func (export "add") (param i32 i32) (result i32)
      (i32.add (local.get 0) (local.get 1)))
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0)))
  (core instance $i (instantiate $m))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "add")))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $i "echo") (memory (core memory $i "memory"))
      (realloc (core func $i "realloc"))))
)
"""


@workload(
    "component",
    rows=("component add(store, 1, 2)", "component echo(store, 'hello')"),
)
def wl_component(ctx: Ctx) -> list[Case]:
    import importlib

    wt = ctx.wt
    cm = importlib.import_module("wasmtime.component")  # the reference does not import it
    engine = wt.Engine()
    store = wt.Store(engine)
    component = cm.Component(engine, COMPONENT_WAT)
    instance = cm.Linker(engine).instantiate(store, component)
    add = instance.get_func(store, "add")
    echo = instance.get_func(store, "echo")
    return [
        Case(
            "component add(store, 1, 2)",
            "add(store, 1, 2)",
            {"add": add, "store": store},
            check=add(store, 1, 2),
        ),
        Case(
            "component echo(store, 'hello')",
            "echo(store, 'hello')",
            {"echo": echo, "store": store},
            check=echo(store, "hello"),
        ),
    ]


@workload(
    "read",
    rows=("memory read 1 MiB",),
    targets={"memory read 1 MiB": Target(vs_ref=True)},
)
def wl_read(ctx: Ctx) -> list[Case]:
    store, _, exports = ctx.instantiate(MEM_WAT)
    mem = exports["mem"]
    data = _random_bytes(READ_SIZE)
    mem.write(store, data, 0)
    got = mem.read(store, 0, READ_SIZE)
    if bytes(got) != data:
        raise AssertionError("mem.read did not return what mem.write stored")
    import hashlib

    return [
        Case(
            "memory read 1 MiB",
            f"mem.read(store, 0, {READ_SIZE})",
            {"mem": mem, "store": store},
            unit="us",
            check=[mem.data_len(store), hashlib.sha256(bytes(got)).hexdigest()[:16]],
        )
    ]


VIEW_STMT = {
    "ours": "memoryview(mem.buffer(store))",
    "ref": "mem.get_buffer_ptr(store)",
}
NUMPY_VIEW_STMT = {
    "ours": "np.frombuffer(mem.buffer(store), dtype=np.uint8)",
    "ref": "np.frombuffer(mem.get_buffer_ptr(store), dtype=np.uint8)",
}


@workload(
    "view",
    rows=("zero-copy view", "zero-copy view (numpy)"),
    targets={"zero-copy view": Target(max_ns=200)},
)
def wl_view(ctx: Ctx) -> list[Case]:
    store, _, exports = ctx.instantiate(MEM_WAT)
    mem = exports["mem"]
    data = _random_bytes(READ_SIZE)
    mem.write(store, data, 0)
    env = {"mem": mem, "store": store, "np": ctx.np}

    view = eval(VIEW_STMT[ctx.side], env)
    mv = memoryview(view)
    if bytes(mv[:64]) != data[:64] or len(mv.cast("B")) < READ_SIZE:
        raise AssertionError("zero-copy view does not show the written bytes")
    cases = [
        Case(
            "zero-copy view",
            VIEW_STMT,
            env,
            check=[len(mv.cast("B")), bytes(mv[:8]).hex()],
        )
    ]
    del mv, view

    if ctx.np is not None:
        arr = eval(NUMPY_VIEW_STMT[ctx.side], env)
        if arr.nbytes < READ_SIZE or bytes(arr[:64]) != data[:64]:
            raise AssertionError("numpy view does not show the written bytes")
        cases.append(
            Case(
                "zero-copy view (numpy)",
                NUMPY_VIEW_STMT,
                env,
                check=[int(arr.nbytes), int(arr[:4096].sum())],
            )
        )
        del arr
    return cases


@workload("instantiate", rows=("instantiate small",))
def wl_instantiate(ctx: Ctx) -> list[Case]:
    Engine, Instance, Module, Store = ctx.wt.Engine, ctx.wt.Instance, ctx.wt.Module, ctx.wt.Store
    engine = Engine()
    module = Module(engine, SMALL_WAT)
    store = Store(engine)
    inst = Instance(store, module, [])
    n = inst.exports(store)["get"](store, 0)
    return [
        Case(
            "instantiate small",
            "Instance(Store(engine), module, [])",
            {"Instance": Instance, "Store": Store, "engine": engine, "module": module},
            unit="us",
            gc=True,
            check=n,
        )
    ]


PRE_ROWS = (
    "store + InstancePre.instantiate (small)",
    "store + InstancePre.instantiate (small, pooling)",
    "store + Linker.instantiate (small)",
)


@workload(
    "instance_pre",
    rows=PRE_ROWS,
    targets={PRE_ROWS[1]: Target(max_ns=3000)},
)
def wl_instance_pre(ctx: Ctx) -> list[Case]:
    wt = ctx.wt

    def prepare(engine: Any) -> dict[str, Any]:
        """A module, a linker and an InstancePre on ``engine``: the timing env."""
        module = wt.Module(engine, PRE_WAT)
        linker = wt.Linker(engine)
        pre = linker.instantiate_pre(module)
        return {"Store": wt.Store, "engine": engine, "module": module, "linker": linker, "pre": pre}

    def bump(instance: Any, store: Any) -> Any:
        return instance.exports(store)["bump"](store)

    env = prepare(wt.Engine())
    store = wt.Store(env["engine"])
    check = bump(env["pre"].instantiate(store), store)
    cases = [
        Case(PRE_ROWS[0], "pre.instantiate(Store(engine))", env, unit="us", gc=True, check=check)
    ]

    # Config.pooling_allocator is our extension; the reference has no such property (and
    # assigning one to its plain Python Config would silently do nothing).
    if hasattr(wt.Config, "pooling_allocator"):
        config = wt.Config()
        config.pooling_allocator = POOLING
        pooled = prepare(wt.Engine(config))
        store = wt.Store(pooled["engine"])
        cases.append(
            Case(
                PRE_ROWS[1],
                "pre.instantiate(Store(engine))",
                pooled,
                unit="us",
                gc=True,
                check=bump(pooled["pre"].instantiate(store), store),
            )
        )
        del store
    else:
        cases.append(Case(PRE_ROWS[1], "", {}, skip="no Config.pooling_allocator"))

    store = wt.Store(env["engine"])
    cases.append(
        Case(
            PRE_ROWS[2],
            "linker.instantiate(Store(engine), module)",
            env,
            unit="us",
            gc=True,
            check=bump(env["linker"].instantiate(store, env["module"]), store),
        )
    )
    return cases


@workload("compute", rows=(f"compute loop N={COMPUTE_N:_}",))
def wl_compute(ctx: Ctx) -> list[Case]:
    store, _, exports = ctx.instantiate(COMPUTE_WAT)
    spin = exports["spin"]
    return [
        Case(
            f"compute loop N={COMPUTE_N:_}",
            f"spin(store, {COMPUTE_N})",
            {"spin": spin, "store": store},
            unit="us",
            check=spin(store, COMPUTE_N),
            repeat=7,
            sample_s=0.05,
        )
    ]


BIG_ROWS = (
    "compile 1.8 MB module",
    "Module.deserialize 1.8 MB",
    "Config.cache hit 1.8 MB",
)


@workload(
    "deserialize",
    rows=BIG_ROWS,
    targets={BIG_ROWS[1]: Target(max_ns=500_000), BIG_ROWS[2]: Target(max_ns=3_000_000)},
)
def wl_deserialize(ctx: Ctx) -> list[Case]:
    wt = ctx.wt
    wasm = bytes(wt.wat2wasm(big_wat()))
    engine = wt.Engine()
    module = wt.Module(engine, wasm)
    serialized = module.serialize()

    def run(engine: Any, module: Any) -> Any:
        store = wt.Store(engine)
        return wt.Instance(store, module, []).exports(store)["run"](store, 5)

    check = [len(wasm), run(engine, module)]
    env: dict[str, Any] = {"Module": wt.Module, "engine": engine, "wasm": wasm}
    cases = [Case(BIG_ROWS[0], "Module(engine, wasm)", env, unit="us", check=check, repeat=3)]

    restored = wt.Module.deserialize(engine, serialized)
    cases.append(
        Case(
            BIG_ROWS[1],
            "Module.deserialize(engine, serialized)",
            {"Module": wt.Module, "engine": engine, "serialized": serialized},
            unit="us",
            check=[len(wasm), run(engine, restored)],
        )
    )

    # The compilation cache: fill it once, then time Module() on fresh engines that share the
    # cache configuration (the engine is made in the untimed per-sample setup).
    tmp = tempfile.TemporaryDirectory(prefix="wasmbridge-bench-cache-")
    cache_dir = Path(tmp.name) / "cache"
    toml = Path(tmp.name) / "cache.toml"
    toml.write_text(f"[cache]\ndirectory = {str(cache_dir)!r}\n")

    def cached_engine() -> Any:
        config = wt.Config()
        config.cache = str(toml)
        return wt.Engine(config)

    first = cached_engine()
    filled = wt.Module(first, wasm)
    if not cache_dir.is_dir() or not any(p.is_file() for p in cache_dir.rglob("*")):
        raise AssertionError(f"compiling with Config.cache left nothing in {cache_dir}")
    second = cached_engine()
    hit = wt.Module(second, wasm)
    if run(first, filled) != run(second, hit):
        raise AssertionError("the cached module computes something else")
    cases.append(
        Case(
            BIG_ROWS[2],
            "m = Module(engine, wasm)",
            {"Module": wt.Module, "wasm": wasm, "cached_engine": cached_engine, "tmp": tmp},
            unit="us",
            check=[len(wasm), run(second, hit)],
            setup="engine = cached_engine()",
            repeat=15,
        )
    )
    return cases


EXTISM_ROWS = (
    "extism count_vowels('this is a test')",
    "extism Plugin(compiled_plugin)",
    "extism http_request GET, loopback",
)


@workload(
    "extism",
    rows=EXTISM_ROWS,
    requires=("wasmtime", "extism"),
    targets={EXTISM_ROWS[0]: Target(max_ns=2000), EXTISM_ROWS[1]: Target(max_ns=100_000)},
)
def wl_extism(ctx: Ctx) -> list[Case]:
    """The Extism SDK: a small Rust-PDK call, and a plugin from a compiled one."""
    import extism
    from extism.extism import CompiledPlugin

    path = EXTISM_FIXTURES / "python-sdk__code.wasm"
    if not path.exists():
        return [Case(row, "", {}, skip=f"no fixture {path.name}") for row in EXTISM_ROWS]
    compiled = CompiledPlugin(path.read_bytes(), functions=[])
    plugin = extism.Plugin(compiled)
    check = json.loads(plugin.call("count_vowels", "this is a test"))["count"]
    return [
        Case(
            EXTISM_ROWS[0],
            'plugin.call("count_vowels", b"this is a test")',
            {"plugin": plugin},
            check=check,
        ),
        Case(
            EXTISM_ROWS[1],
            "extism.Plugin(compiled)",
            {"extism": extism, "compiled": compiled},
            unit="us",
            gc=True,
        ),
        http_case(extism),
    ]


def http_case(extism: Any) -> Case:
    """A Rust-PDK plugin's GET of 5 bytes from a keep-alive server on 127.0.0.1 (the server's
    own Python code is most of the time, and the same for both implementations)."""
    import http.server
    import threading

    path = EXTISM_FIXTURES / "extism__http.wasm"
    if not path.exists():
        return Case(EXTISM_ROWS[2], "", {}, skip=f"no fixture {path.name}")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # One write per response, as real servers do: a second small write waits for the
        # client's delayed ACK (~40 ms) on a reused connection.
        wbufsize = 1 << 16

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    manifest = {"wasm": [{"path": str(path)}], "allowed_hosts": ["127.0.0.1"]}
    plugin = extism.Plugin(manifest, functions=[])
    request = json.dumps({"url": url})
    return Case(
        EXTISM_ROWS[2],
        'plugin.call("http_request", request)',
        {"plugin": plugin, "request": request, "server": server},
        unit="us",
        check=plugin.call("http_request", request).decode(),
    )


EXTISM_TIMEOUT_MS = 25
LATENCY_ROWS = (
    "Ctrl-C -> KeyboardInterrupt (no timeout set)",
    "epoch deadline -> trap (increment_epoch from a thread)",
    "fuel exhausted -> trap",
    f"extism timeout_ms={EXTISM_TIMEOUT_MS} overshoot",
    "asyncio cancel -> CancelledError (Func.call_async)",
    "asyncio cancel -> CancelledError (Plugin.call_async)",
)

# A wasm loop that never ends, and one that runs $n iterations (fuel proportional to $n).
LATENCY_WAT = """
(module
  (func (export "spin") (loop br 0))
  (func (export "count") (param $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))
  (func (export "one") (result i32) i32.const 1))
"""

EXTISM_SPIN_WAT = """
(module
  (func (export "spin") (result i32) (loop br 0) i32.const 0)
  (func (export "noop") (result i32) i32.const 0))
"""


def _interrupted_at(call: Callable[[], Any], fire: Callable[[], None], catch: Any) -> float:
    """ns from ``fire()`` (run on a timer thread after a random 2-25 ms, so that it lands at
    any phase of periodic checks) to ``call()`` raising ``catch``."""
    import random
    import threading

    fired: list[float] = []

    def go() -> None:
        fired.append(time.perf_counter())
        fire()

    timer = threading.Timer(random.uniform(0.002, 0.025), go)
    timer.start()
    try:
        call()
    except catch:
        caught = time.perf_counter()
    else:
        raise AssertionError("the call returned instead of being interrupted")
    finally:
        timer.cancel()  # if the call failed otherwise: no stray event afterwards
        timer.join()
    return (caught - fired[0]) * 1e9


def _cancelled_at(start: Callable[[], Any], count: int) -> list[float]:
    """``count`` times: ns from ``task.cancel()`` (after a random 2-25 ms, so that it lands at
    any phase of periodic checks) to the task awaiting ``start()`` raising CancelledError. One
    event loop (and executor) for all samples."""
    import asyncio
    import random

    async def one() -> float:
        task = asyncio.ensure_future(start())
        await asyncio.sleep(random.uniform(0.002, 0.025))
        if task.done():
            raise AssertionError(f"the call ended before it was cancelled: {task.result()!r}")
        fired = time.perf_counter()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return (time.perf_counter() - fired) * 1e9
        raise AssertionError("the call returned instead of being cancelled")

    async def all_samples() -> list[float]:
        return [await one() for _ in range(count)]

    return asyncio.run(all_samples())


@workload(
    "latency",
    rows=LATENCY_ROWS,
    targets={
        LATENCY_ROWS[0]: Target(max_ns=250e6, stat="max_ns"),
        LATENCY_ROWS[3]: Target(max_ns=50e6, stat="p99_ns"),
    },
)
def wl_latency(ctx: Ctx) -> list[Case]:
    """How long interruptions take: the time from the event (a signal, an epoch bump, the fuel
    running out, the timeout expiring) to the exception in Python."""
    import signal
    import threading

    wt = ctx.wt
    cases = []

    # Ctrl-C: SIGINT to the main thread (this worker's) while it runs wasm, nothing configured.
    store, _, exports = ctx.instantiate(LATENCY_WAT)
    spin, one = exports["spin"], exports["one"]
    if ctx.side == "ref":
        cases.append(Case(LATENCY_ROWS[0], "", {}, skip="cannot stop running wasm on Ctrl-C"))
    else:
        main = threading.main_thread().ident
        assert main is not None and threading.get_ident() == main

        def ctrl_c(count: int) -> list[float]:
            previous = signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                return [
                    _interrupted_at(
                        lambda: spin(store),
                        lambda: signal.pthread_kill(main, signal.SIGINT),
                        KeyboardInterrupt,
                    )
                    for _ in range(count)
                ]
            finally:
                signal.signal(signal.SIGINT, previous)

        cases.append(
            Case(
                LATENCY_ROWS[0],
                "SIGINT (signal.pthread_kill) -> KeyboardInterrupt out of spin(store)",
                {},
                unit="ms",
                repeat=50,
                sampler=ctrl_c,
            )
        )
        ctrl_c(1)
        if one(store) != 1:
            raise AssertionError("the store is unusable after Ctrl-C")

    # Epoch deadline: another thread calls engine.increment_epoch().
    config = wt.Config()
    config.epoch_interruption = True
    engine = wt.Engine(config)
    epoch_store = wt.Store(engine)
    epoch_spin = wt.Instance(epoch_store, wt.Module(engine, LATENCY_WAT), []).exports(epoch_store)[
        "spin"
    ]

    def epoch(count: int) -> list[float]:
        samples = []
        for _ in range(count):
            epoch_store.set_epoch_deadline(1)
            samples.append(
                _interrupted_at(lambda: epoch_spin(epoch_store), engine.increment_epoch, wt.Trap)
            )
        return samples

    cases.append(
        Case(
            LATENCY_ROWS[1],
            "engine.increment_epoch() on a timer thread -> Trap out of spin(store)",
            {},
            unit="us",
            repeat=50,
            sampler=epoch,
        )
    )

    # Fuel: spin(store) with N units of fuel traps after running them; the time to the Trap
    # minus the time N units take to run (the rate measured on a long count(n)) is the time
    # from the fuel running out to the exception.
    config = wt.Config()
    config.consume_fuel = True
    fuel_store = wt.Store(wt.Engine(config))
    fuel_exports = wt.Instance(fuel_store, wt.Module(fuel_store.engine, LATENCY_WAT), []).exports(
        fuel_store
    )
    count_fn, fuel_spin = fuel_exports["count"], fuel_exports["spin"]
    plenty = 10**15
    rate = 0.0  # fuel units per second
    for _ in range(3):
        fuel_store.set_fuel(plenty)
        start = time.perf_counter()
        count_fn(fuel_store, 5_000_000)
        ran = time.perf_counter() - start
        used = plenty - fuel_store.get_fuel()
        rate = max(rate, used / ran)
    fuel_n = 10_000

    def fuel(count: int) -> list[float]:
        samples = []
        for _ in range(count):
            fuel_store.set_fuel(fuel_n)
            start = time.perf_counter()
            try:
                fuel_spin(fuel_store)
            except wt.Trap:
                trapped = time.perf_counter() - start
            else:
                raise AssertionError("spin() did not run out of fuel")
            samples.append((trapped - fuel_n / rate) * 1e9)
        return samples

    cases.append(
        Case(
            LATENCY_ROWS[2],
            f"spin(store) with fuel {fuel_n} -> Trap, minus the time {fuel_n} fuel takes to run",
            {},
            unit="us",
            check=used,
            repeat=200,
            sampler=fuel,
        )
    )

    # asyncio: a task awaiting spin.call_async(store) is cancelled; the task ends once the
    # worker thread has stopped the wasm (at its next epoch tick) and let go of the store.
    if ctx.side == "ref":
        cases.append(Case(LATENCY_ROWS[4], "", {}, skip="no Func.call_async"))
    else:
        cases.append(
            Case(
                LATENCY_ROWS[4],
                "task.cancel() -> CancelledError out of await spin.call_async(store)",
                {},
                unit="ms",
                repeat=100,
                sampler=lambda count: _cancelled_at(lambda: spin.call_async(store), count),
            )
        )
        _cancelled_at(lambda: spin.call_async(store), 1)
        if one(store) != 1:
            raise AssertionError("the store is unusable after a cancelled call_async")

    # Extism timeout_ms: how long after the deadline the call fails.
    if not _importable("extism"):
        cases.append(Case(LATENCY_ROWS[3], "", {}, skip="not installed: extism"))
        cases.append(Case(LATENCY_ROWS[5], "", {}, skip="not installed: extism"))
        return cases
    import extism

    wasm = bytes(wt.wat2wasm(EXTISM_SPIN_WAT))
    manifest = {"wasm": [{"data": wasm}], "timeout_ms": EXTISM_TIMEOUT_MS}
    plugin = extism.Plugin(manifest, functions=[])

    def overshoot(count: int) -> list[float]:
        import random

        samples = []
        for _ in range(count):
            # Back-to-back calls would start in step with any periodic check (ours ticks every
            # 5 ms, and 25 ms is five ticks); a random pause puts each start at a random phase.
            time.sleep(random.uniform(0, 0.005))
            start = time.perf_counter()
            try:
                plugin.call("spin", b"")
            except extism.Error as e:
                elapsed = time.perf_counter() - start
                if "timeout" not in str(e):
                    raise
            else:
                raise AssertionError("the call returned instead of timing out")
            samples.append(elapsed * 1e9 - EXTISM_TIMEOUT_MS * 1e6)
        return samples

    cases.append(
        Case(
            LATENCY_ROWS[3],
            f'plugin.call("spin") with timeout_ms={EXTISM_TIMEOUT_MS}: elapsed - timeout',
            {},
            unit="ms",
            check=plugin.call("noop", b"").decode(),
            repeat=100,
            sampler=overshoot,
        )
    )

    # asyncio: as for Func.call_async, on a plugin without a timeout.
    if ctx.side == "ref":
        cases.append(Case(LATENCY_ROWS[5], "", {}, skip="no Plugin.call_async"))
    else:
        endless = extism.Plugin({"wasm": [{"data": wasm}]}, functions=[])
        cases.append(
            Case(
                LATENCY_ROWS[5],
                'task.cancel() -> CancelledError out of await plugin.call_async("spin")',
                {},
                unit="ms",
                check=endless.call("noop", b"").decode(),
                repeat=100,
                sampler=lambda count: _cancelled_at(lambda: endless.call_async("spin", b""), count),
            )
        )
    return cases


# --------------------------------------------------------------------------
# Worker side
# --------------------------------------------------------------------------


def measure(
    stmt: str,
    env: dict[str, Any],
    repeat: int,
    sample_s: float,
    gc: bool,
    setup: str | None = None,
) -> Result:
    """timeit.repeat with `number` calibrated so one sample takes ~sample_s.

    With ``setup``, every sample is one execution of ``stmt`` after its own
    (untimed) run of ``setup``, and ``sample_s`` is ignored.
    """
    gc_setup = "import gc; gc.enable()" if gc else "pass"
    if setup is not None:
        timer = timeit.Timer(stmt, setup=f"{gc_setup}\n{setup}", globals=env)
        timer.timeit(1)  # warm-up
        number = 1
    else:
        timer = timeit.Timer(stmt, setup=gc_setup, globals=env)
        number = 1
        while True:
            elapsed = timer.timeit(number)  # also warms up
            if elapsed >= sample_s / 4 or number >= 1 << 24:
                break
            number *= 10 if elapsed < sample_s / 100 else 2
        number = max(1, round(number * sample_s / max(elapsed, 1e-9)))
    samples = sorted(t / number * 1e9 for t in timer.repeat(repeat=repeat, number=number))
    mid = len(samples) // 2
    median = samples[mid] if len(samples) % 2 else (samples[mid - 1] + samples[mid]) / 2
    return {
        "min_ns": samples[0],
        "median_ns": median,
        "number": number,
        "repeat": repeat,
    }


def summarize(samples_ns: list[float]) -> Result:
    """min, median, p99 and max of a sampler's durations."""
    samples = sorted(samples_ns)
    mid = len(samples) // 2
    median = samples[mid] if len(samples) % 2 else (samples[mid - 1] + samples[mid]) / 2
    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
    return {
        "min_ns": samples[0],
        "median_ns": median,
        "p99_ns": p99,
        "max_ns": samples[-1],
        "number": 1,
        "repeat": len(samples),
    }


def native_info() -> dict[str, Any]:
    """Where our native module lives, and whether that path looks like a debug build."""
    import wasmtime._native as native  # only exists in ours

    path = Path(native.__file__).resolve()
    # cargo puts unoptimised builds in target/debug (or target/<triple>/debug).
    in_debug_dir = "debug" in path.parts[:-1]
    return {"native_file": str(path), "debug_path": in_debug_dir}


def probe_call_ns() -> float:
    """Min time of a trivial add(store, 1, 2) — a debug build takes microseconds."""
    import wasmtime

    ctx = Ctx("probe", wasmtime, None)
    store, _, exports = ctx.instantiate(CALL_WAT)
    res = measure(
        "add(store, 1, 2)",
        {"add": exports["add"], "store": store},
        repeat=5,
        sample_s=0.01,
        gc=False,
    )
    return float(res["min_ns"])


def package_version() -> str | None:
    from importlib import metadata

    for dist in ("wasmbridge", "wasmtime"):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return None


def run_worker(side: str, only: list[str] | None, out: Path, opts: argparse.Namespace) -> int:
    result: dict[str, Any] = {
        "side": side,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "results": {},
        "errors": {},
    }

    def save() -> None:
        out.write_text(json.dumps(result))

    try:
        import wasmtime
    except Exception as e:  # noqa: BLE001
        result["fatal"] = f"cannot import wasmtime: {type(e).__name__}: {e}"
        save()
        return 2
    result["wasmtime_file"] = wasmtime.__file__
    result["package"] = package_version()

    in_ref_venv = Path(wasmtime.__file__).resolve().is_relative_to(REF_VENV.resolve())
    if (side == "ref") != in_ref_venv:
        result["fatal"] = f"side {side!r} imported the wrong wasmtime package: {wasmtime.__file__}"
        save()
        return 2

    if side == "ours":
        try:
            result.update(native_info())
        except Exception as e:  # noqa: BLE001
            result["fatal"] = f"cannot import wasmtime._native: {type(e).__name__}: {e}"
            save()
            return 2
        if result["debug_path"] and not opts.allow_debug:
            result["fatal"] = (
                "native module is under a debug target dir; "
                "rebuild with --release (or pass --allow-debug)"
            )
            save()
            return 3
        try:
            result["probe_call_ns"] = probe_call_ns()
        except Exception as e:  # noqa: BLE001
            result["errors"]["probe"] = f"{type(e).__name__}: {e}"

    np: Any = None
    try:
        import numpy

        np = numpy
        result["numpy"] = numpy.__version__
    except ImportError:
        result["numpy"] = None

    ctx = Ctx(side, wasmtime, np)
    for name, wl in WORKLOADS.items():
        if only and name not in only:
            continue
        missing = [m for m in wl.requires if not _importable(m)]
        if missing:
            for row in wl.rows:
                result["errors"][row] = f"not installed: {', '.join(missing)}"
            continue
        try:
            cases = wl.func(ctx)
        except Exception as e:  # noqa: BLE001
            for row in wl.rows:
                result["errors"][row] = f"setup failed: {type(e).__name__}: {e}"
            continue
        for case in cases:
            if case.skip:
                result["errors"][case.row] = case.skip
                continue
            stmt = case.stmt_for(side)
            try:
                if case.sampler is not None:
                    res = summarize(case.sampler(case.repeat or opts.repeat))
                else:
                    res = measure(
                        stmt,
                        case.env,
                        repeat=case.repeat or opts.repeat,
                        sample_s=case.sample_s or opts.sample_s,
                        gc=case.gc,
                        setup=case.setup,
                    )
            except Exception as e:  # noqa: BLE001
                result["errors"][case.row] = f"{type(e).__name__}: {e}"
                continue
            res.update(stmt=stmt, unit=case.unit, check=case.check)
            result["results"][case.row] = res
            tail = f"   p99 {fmt_time(res['p99_ns'], case.unit):>10}" if "p99_ns" in res else ""
            print(
                f"  [{side}] {case.row:<34} min {fmt_time(res['min_ns'], case.unit):>10}"
                f"   median {fmt_time(res['median_ns'], case.unit):>10}{tail}",
                file=sys.stderr,
                flush=True,
            )
        del cases
        save()
    save()
    return 0


def _importable(mod: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(mod) is not None
    except (ImportError, ValueError):
        return False


# --------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------


def fmt_time(ns: float, unit: str | None = None) -> str:
    if unit is None:
        unit = "ns" if ns < 10_000 else "us"
    if unit == "ms":
        return f"{ns / 1e6:.2f} ms"
    if unit == "ns":
        return f"{ns:,.0f} ns" if ns >= 100 else f"{ns:.1f} ns"
    us = ns / 1000
    if us >= 1000:
        return f"{us:,.0f} us"
    return f"{us:.1f} us" if us >= 10 else f"{us:.2f} us"


def ref_python() -> Path:
    return REF_VENV / "bin" / "python"


def ensure_ref_venv(base_python: str) -> None:
    """Create bench/.refvenv once; (re)install when REF_REQUIREMENTS changes."""
    wanted = sorted(REF_REQUIREMENTS)
    if ref_python().exists() and REF_STAMP.exists():
        try:
            if json.loads(REF_STAMP.read_text()) == wanted:
                return
        except ValueError:
            pass
    if not ref_python().exists():
        print(f"creating reference venv {REF_VENV} ...", file=sys.stderr, flush=True)
        subprocess.run([base_python, "-m", "venv", str(REF_VENV)], check=True)
    print(
        f"installing into reference venv: {' '.join(wanted)}",
        file=sys.stderr,
        flush=True,
    )
    subprocess.run(
        [
            str(ref_python()),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            *wanted,
        ],
        check=True,
    )
    REF_STAMP.write_text(json.dumps(wanted))


def _base_python() -> str:
    """The interpreter to build the ref venv from: same Python as ours, outside any venv."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return base if Path(base).exists() else sys.executable


def run_side(side: str, python: str, opts: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wasmbridge-bench-") as tmp:
        out = Path(tmp) / f"{side}.json"
        cmd = [
            python,
            str(Path(__file__).resolve()),
            "--worker",
            side,
            "--result-file",
            str(out),
            "--repeat",
            str(opts.repeat),
            "--sample-ms",
            str(opts.sample_s * 1000),
        ]
        if opts.only:
            cmd += ["--only", *opts.only]
        if opts.allow_debug:
            cmd.append("--allow-debug")
        env = dict(os.environ)
        env["PYTHONNOUSERSITE"] = "1"
        if side == "ref":
            # Never let our package leak into the reference interpreter.
            env.pop("PYTHONPATH", None)
            env.pop("PYTHONHOME", None)
            env.pop("VIRTUAL_ENV", None)
        sys.stdout.flush()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, check=False, env=env, cwd=str(BENCH_DIR), stdout=sys.stderr)
        elapsed = time.perf_counter() - t0
        try:
            data: dict[str, Any] = json.loads(out.read_text())
        except (OSError, ValueError):
            data = {
                "side": side,
                "fatal": f"worker exited with {proc.returncode} and no results",
                "results": {},
                "errors": {},
            }
        data["returncode"] = proc.returncode
        data["elapsed_s"] = round(elapsed, 2)
        return data


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def print_table(rows: list[dict[str, Any]], have_ours: bool, have_ref: bool) -> None:
    headers = ["workload"]
    if have_ours:
        headers.append("ours min / median")
    if have_ref:
        headers.append("reference min / median")
    if have_ours and have_ref:
        headers.append("speedup")
    headers += ["target", "met"]
    table = []
    for r in rows:
        o, f = r.get("ours"), r.get("ref")
        unit = (o or f or {}).get("unit")

        def cell(res: Result | None, err: str | None, unit: str | None = unit) -> str:
            if res:
                text = f"{fmt_time(res['min_ns'], unit)} / {fmt_time(res['median_ns'], unit)}"
                if "p99_ns" in res:
                    text += (
                        f" (p99 {fmt_time(res['p99_ns'], unit)},"
                        f" max {fmt_time(res['max_ns'], unit)})"
                    )
                return text
            return f"n/a ({err})" if err else "-"

        line = [r["row"]]
        if have_ours:
            line.append(cell(o, r.get("ours_err")))
        if have_ref:
            line.append(cell(f, r.get("ref_err")))
        if have_ours and have_ref:
            # Latency rows (with a p99) compare medians; a latency can be ~0 or below.
            key = "median_ns" if o and "p99_ns" in o else "min_ns"
            ratio = o and f and o[key] > 0 and f[key] > 0
            line.append(f"{f[key] / o[key]:.2f}x" if ratio else "-")
        target = r.get("target")
        line += [
            target.describe() if target else "",
            target.verdict(o, f) if target else "",
        ]
        table.append(line)
    widths = [
        max(len(h), *(len(line[i]) for line in table)) if table else len(h)
        for i, h in enumerate(headers)
    ]
    fmt = " | ".join(f"{{:<{w}}}" for w in widths)
    print(fmt.format(*headers).rstrip())
    print("-+-".join("-" * w for w in widths))
    for line in table:
        print(fmt.format(*line).rstrip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=list(WORKLOADS),
        help=f"run only these workloads: {', '.join(WORKLOADS)}",
    )
    ap.add_argument("--no-ref", action="store_true", help="skip the reference package")
    ap.add_argument("--no-ours", action="store_true", help="skip our package (reference only)")
    ap.add_argument("--json", metavar="PATH", type=Path, help="also save results as JSON")
    ap.add_argument("--list", action="store_true", help="list workloads and exit")
    ap.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help="timeit repeat (default %(default)s)",
    )
    ap.add_argument(
        "--sample-ms",
        type=float,
        default=DEFAULT_SAMPLE_S * 1000,
        help="target duration of one timeit sample (default %(default)s)",
    )
    ap.add_argument(
        "--allow-debug",
        action="store_true",
        help="benchmark even if our native module looks like a debug build",
    )
    ap.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    opts.sample_s = opts.sample_ms / 1000

    if opts.worker:
        return run_worker(opts.worker, opts.only, opts.result_file, opts)

    if opts.list:
        for wl in WORKLOADS.values():
            print(f"{wl.name:<12} {', '.join(wl.rows)}")
        return 0

    print(f"python   {sys.version.split()[0]} ({sys.executable})")
    print(f"cpu      {cpu_model()} ({os.cpu_count()} logical CPUs)")
    t_start = time.perf_counter()
    sides: dict[str, dict[str, Any]] = {}
    status = 0

    if not opts.no_ours:
        ours = run_side("ours", sys.executable, opts)
        sides["ours"] = ours
        if ours.get("native_file"):
            print(f"native   {ours['native_file']}")
        if ours.get("package"):
            print(f"ours     {ours['package']} ({ours.get('wasmtime_file')})")
        if ours.get("returncode") == 3:
            print(f"\nERROR: refusing to benchmark: {ours['fatal']}", file=sys.stderr)
            return 1
        if "fatal" in ours:
            print(
                f"\nERROR (ours): {ours['fatal']}\n  (is wasmbridge installed in {sys.executable}? "
                "`maturin develop --release`, or run with --no-ours)",
                file=sys.stderr,
            )
            status = 1
        probe = ours.get("probe_call_ns")
        if probe is not None:
            print(f"probe    add(store, 1, 2) min {fmt_time(probe)}")
            if probe > DEBUG_CALL_THRESHOLD_NS:
                bar = "!" * 78
                print(
                    f"\n{bar}\n!! WARNING: a trivial call takes {fmt_time(probe)} (> 1 us): this looks like a\n"
                    f"!! DEBUG build of wasmtime._native (or a badly overloaded machine).\n"
                    f"!! Rebuild with `maturin develop --release` before trusting these numbers.\n{bar}\n"
                )

    if not opts.no_ref:
        try:
            ensure_ref_venv(_base_python())
        except (subprocess.CalledProcessError, OSError) as e:
            print(
                f"\nERROR: cannot set up the reference venv ({e}); use --no-ref to skip it",
                file=sys.stderr,
            )
            return 1
        ref = run_side("ref", str(ref_python()), opts)
        sides["ref"] = ref
        if ref.get("package"):
            print(f"ref      {ref['package']} ({ref.get('wasmtime_file')})")
        if "fatal" in ref:
            print(f"\nERROR (ref): {ref['fatal']}", file=sys.stderr)
            status = 1

    for side, data in sides.items():
        if "fatal" in data:
            continue
        print(
            f"{side:<8} numpy {data.get('numpy') or 'not installed'}; "
            f"python {data.get('python', '?')}; worker took {data.get('elapsed_s', '?')} s"
        )

    rows = []
    for wl in WORKLOADS.values():
        if opts.only and wl.name not in opts.only:
            continue
        for row in wl.rows:
            entry: dict[str, Any] = {
                "workload": wl.name,
                "row": row,
                "target": wl.targets.get(row),
            }
            for side, data in sides.items():
                entry[side] = data.get("results", {}).get(row)
                err = data.get("errors", {}).get(row) or ("fatal" in data and "worker failed")
                if entry[side] is None and err:
                    entry[f"{side}_err"] = err
            rows.append(entry)

    print()
    print_table(rows, have_ours="ours" in sides, have_ref="ref" in sides)

    mismatches = []
    for r in rows:
        o, f = r.get("ours"), r.get("ref")
        if o and f and o.get("check") != f.get("check"):
            mismatches.append(f"{r['row']}: ours={o.get('check')!r} ref={f.get('check')!r}")
    if mismatches:
        print("\nWARNING: ours and ref disagree on workload results:\n  " + "\n  ".join(mismatches))
    errors = [
        (side, row, msg) for side, d in sides.items() for row, msg in d.get("errors", {}).items()
    ]
    if errors:
        print("\nerrors:")
        for side, row, msg in errors:
            print(f"  [{side}] {row}: {msg}")
    print(f"\ntotal {time.perf_counter() - t_start:.1f} s")

    if opts.json:
        payload = {
            "python": sys.version.split()[0],
            "cpu": cpu_model(),
            "sides": sides,
            "rows": [
                {k: (v.describe() if isinstance(v, Target) else v) for k, v in r.items()}
                for r in rows
            ],
        }
        opts.json.parent.mkdir(parents=True, exist_ok=True)
        opts.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"saved {opts.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
