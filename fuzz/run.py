#!/usr/bin/env python3
"""The long fuzzing run: mutated and random wasm against Module.validate, Module, Component and
extism.Plugin, in a pool of worker processes so that a crash is caught and attributed.

    python fuzz/run.py --corpus DIR [--corpus DIR ...] [--inputs 200000] [--workers 2]
                       [--seed 0] [--out DIR] [--json REPORT]

Seeds are the ``*.wasm`` and ``*.wat`` files of the corpus folders (write the suite's corpus
with ``python tests/reliability/test_fuzz.py --write-corpus DIR``; add the Extism fixtures
folder for real plugins). Input ``i`` is a pure function of ``--seed`` and ``i`` (see
``make_case``), so any finding is reproduced with ``--replay I``.

This file is the single home of the mutators (``apply_op``), the LEB128 helpers and the oracles
(``check_module``, ``exercise``, ``check_component``, ``check_plugin``):
tests/reliability/test_fuzz.py loads it by path and runs its short hypothesis runs through them.
Every input is checked so:

* ``Module.validate`` and ``Module`` agree on binary input and raise only ``WasmtimeError``; text
  input (not starting with NUL) is never valid to ``validate`` and compiles only when
  ``wat2wasm`` of it validates;
* a module that compiles is introspected, instantiated with default imports under fuel and store
  limits, and its exports are called: only ``WasmtimeError`` or ``Trap`` may come out;
* ``Component`` (components always, other input 1 time in 16) raises only ``WasmtimeError``;
* ``extism.Plugin`` (1 input in 8, seeds up to 64 KiB) raises only ``extism.Error``, and so do the
  calls of its exports.

Workers run inputs ``k, k + W, k + 2W, ...`` and announce each index before running it. A worker
that dies (signal or exit status) is recorded as a crash of the input it announced, the input is
saved to ``--out``, and a new worker continues after it; a worker silent for ``--hang-seconds``
is killed and recorded as a hang. The exit status is 0 only when there is no finding.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

HEADER = b"\0asm\x01\0\0\0"
COMPONENT_LAYER = b"\x0d\0\x01\0"
SMALL_SEED = 64 * 1024  # seeds up to this size also go to extism.Plugin; bigger ones are rarer
SNAPSHOT_EVERY = 500

# ---------------------------------------------------------------------------------------------
# Mutations. Each is a pure function of the input and an op (name, a, b, chunk), so that a
# failing example is reproduced from its seed name and op list. Byte ops may keep the section
# framing (``FRAMED``), so that what is inside a section gets parsed. The hypothesis strategies
# of tests/reliability/test_fuzz.py draw ops for these same functions.
# ---------------------------------------------------------------------------------------------

INTERESTING = (0x00, 0x01, 0x02, 0x0B, 0x40, 0x41, 0x60, 0x6F, 0x70, 0x7F, 0x80, 0xFE, 0xFF)
BYTE_OPS = ("flip", "set", "insert", "delete", "dup", "truncate")
SECTION_OPS = ("leb_size", "leb_count", "swap", "drop_section", "dup_section")
OPS = BYTE_OPS + SECTION_OPS
U32 = 0xFFFF_FFFF
FRAMED = 1 << 31  # in ``b`` of insert/delete/dup: edit inside one section, fix its size

Op = tuple[str, int, int, bytes]


def read_leb(data: bytes, pos: int) -> tuple[int, int] | None:
    """An unsigned LEB128 of at most 5 bytes at ``pos``: (value, position after it)."""
    value = 0
    for k in range(5):
        if pos + k >= len(data):
            return None
        byte = data[pos + k]
        value |= (byte & 0x7F) << (7 * k)
        if byte < 0x80:
            return value, pos + k + 1
    return None


def encode_leb(value: int, width: int = 0) -> bytes:
    """Unsigned LEB128 of ``value``, padded with continuation bytes to ``width`` bytes."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value or len(out) + 1 < width:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


@dataclass(frozen=True)
class Section:
    start: int  # the id byte
    body: int  # the payload
    end: int


def sections(data: bytes) -> list[Section]:
    """The sections of a module or component, as far as they parse."""
    found: list[Section] = []
    if len(data) < 8 or data[:4] != b"\0asm":
        return found
    pos = 8
    while pos < len(data):
        leb = read_leb(data, pos + 1)
        if leb is None or leb[1] + leb[0] > len(data):
            break
        found.append(Section(pos, leb[1], leb[1] + leb[0]))
        pos = leb[1] + leb[0]
    return found


def tweak(value: int, mode: int, delta: int) -> tuple[int, int]:
    """A LEB128 edit: (new value, encoded width) for modes longer/shorter/over-long/huge."""
    if mode == 0:
        return min(value + delta, U32), 0
    if mode == 1:
        return max(value - delta, 0), 0
    if mode == 2:
        return value, 5  # the same value over 5 bytes: still valid wasm
    return U32, 0


def apply_op(data: bytes, op: Op) -> bytes:
    name, a, b, chunk = op
    n = len(data)
    secs = sections(data) if name in SECTION_OPS or b & FRAMED else []
    if name in SECTION_OPS and not secs:
        name = "flip"
    if n == 0:
        return chunk
    # Positions count from byte 8, so that small numbers do not just break the header.
    pos = (a + 8) % n
    if name in ("insert", "delete", "dup") and b & FRAMED:
        for sec in secs:
            if sec.body <= pos < sec.end:
                edit = (name, pos - sec.body - 8, b & ~FRAMED, chunk)
                payload = apply_op(data[sec.body : sec.end], edit)
                return data[: sec.start + 1] + encode_leb(len(payload)) + payload + data[sec.end :]
    if name == "flip":
        return data[:pos] + bytes([data[pos] ^ (1 << (b % 8))]) + data[pos + 1 :]
    if name == "set":
        return data[:pos] + bytes([INTERESTING[b % len(INTERESTING)]]) + data[pos + 1 :]
    if name == "insert":
        pos = (a + 8) % (n + 1)
        return data[:pos] + chunk + data[pos:]
    if name == "delete":
        return data[:pos] + data[pos + b % 16 + 1 :]
    if name == "dup":
        piece = data[pos : pos + b % 64 + 1]
        dest = (b >> 6) % (n + 1)
        return data[:dest] + piece + data[dest:]
    if name == "truncate":
        return data[:pos]
    sec = secs[a % len(secs)]
    if name == "leb_size":
        size, width = tweak(sec.end - sec.body, b % 4, (b >> 2) % 8 + 1)
        return data[: sec.start + 1] + encode_leb(size, width) + data[sec.body :]
    if name == "leb_count":
        leb = read_leb(data, sec.body) if sec.body < sec.end else None
        if leb is None:
            return apply_op(data, ("flip", a, b, chunk))
        count, width = tweak(leb[0], b % 4, (b >> 2) % 4 + 1)
        payload = encode_leb(count, width) + data[leb[1] : sec.end]
        # The section size follows the payload, so that the count is what changed.
        rebuilt = data[sec.start : sec.start + 1] + encode_leb(len(payload)) + payload
        return data[: sec.start] + rebuilt + data[sec.end :]
    pieces = [data[s.start : s.end] for s in secs]
    head, tail = data[: secs[0].start], data[secs[-1].end :]
    i = a % len(pieces)
    if name == "swap":
        j = b % len(pieces)
        pieces[i], pieces[j] = pieces[j], pieces[i]
    elif name == "drop_section":
        del pieces[i]
    else:  # dup_section
        pieces.insert(i, pieces[i])
    return head + b"".join(pieces) + tail


def strip_custom(data: bytes) -> bytes:
    """``data`` without its custom sections (names, DWARF): mutations of a big plugin then land
    in what gets validated and compiled."""
    secs = sections(data)
    if not secs or secs[-1].end != len(data):
        return data
    return data[:8] + b"".join(data[s.start : s.end] for s in secs if data[s.start] != 0)


# ---------------------------------------------------------------------------------------------
# Seeds and cases
# ---------------------------------------------------------------------------------------------


@dataclass
class Seeds:
    names: list[str] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)
    binary: list[int] = field(default_factory=list)  # indexes of binary seeds
    text: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)  # of the binary seeds


def load_seeds(folders: Iterable[str], keep_custom: bool = False) -> Seeds:
    seeds = Seeds()
    for folder in folders:
        for path in sorted(Path(folder).iterdir()):
            if path.suffix not in (".wasm", ".wat") or not path.is_file():
                continue
            data = path.read_bytes()
            if path.suffix == ".wasm" and len(data) > SMALL_SEED and not keep_custom:
                data = strip_custom(data)
            index = len(seeds.names)
            seeds.names.append(path.name)
            seeds.data.append(data)
            if path.suffix == ".wat":
                seeds.text.append(index)
            else:
                seeds.binary.append(index)
                # Big seeds compile slowly: pick them less often, in proportion to their size.
                seeds.weights.append(min(1.0, SMALL_SEED / max(len(data), 1)))
    if not seeds.binary:
        sys.exit("no .wasm seeds in the corpus folders")
    return seeds


def make_case(seeds: Seeds, seed: int, index: int) -> tuple[bytes, dict[str, Any]]:
    """Input ``index`` of the run: (bytes, description)."""
    rng = random.Random(f"{seed}:{index}")
    roll = rng.random()
    if roll < 0.06:
        data = rng.randbytes(rng.randrange(0, 129))
        return data, {"kind": "raw"}
    if roll < 0.10:
        data = HEADER + rng.randbytes(rng.randrange(0, 129))
        return data, {"kind": "header"}
    if roll < 0.18:
        which = rng.choice(seeds.text) if seeds.text else rng.choice(seeds.binary)
        allowed = BYTE_OPS
    else:
        which = rng.choices(seeds.binary, weights=seeds.weights)[0]
        allowed = OPS
    count = rng.choice((1, 1, 1, 1, 2, 2, 3, 4, 6, 8))
    ops: list[Op] = []
    for _ in range(count):
        b = rng.randrange(U32 + 1)
        ops.append(
            (rng.choice(allowed), rng.randrange(U32 + 1), b, rng.randbytes(rng.randint(1, 8)))
        )
    data = seeds.data[which]
    for op in ops:
        data = apply_op(data, op)
    desc = {
        "kind": "mutant",
        "seed": seeds.names[which],
        "ops": [[name, a, b, chunk.hex()] for name, a, b, chunk in ops],
    }
    return data, desc


# ---------------------------------------------------------------------------------------------
# Oracles, shared with tests/reliability/test_fuzz.py. wasmtime and extism are imported where
# they are used, so that the parent process (which only runs workers) never loads them.
# ---------------------------------------------------------------------------------------------

FUEL = 50_000
MAX_CALLS = 8
# Arguments for the parameter types that have a Python value ("anyref" is how this API, like
# wasmtime-py, names externref).
ZERO_ARGS: dict[str, Any] = {
    "i32": 0,
    "i64": 0,
    "f32": 0.0,
    "f64": 0.0,
    "anyref": None,
    "funcref": None,
}
# Every proposal that can be turned off: the restricted engine compares feature checks too.
RESTRICTED = (
    "wasm_gc",
    "wasm_function_references",
    "wasm_exceptions",
    "wasm_simd",
    "wasm_relaxed_simd",
    "wasm_threads",
    "wasm_tail_call",
    "wasm_memory64",
    "wasm_multi_memory",
    "wasm_reference_types",
)


class Disagreement(AssertionError):
    """An oracle does not hold (an ``AssertionError``, so that pytest reports it as one)."""


def run_errors() -> tuple[type[BaseException], ...]:
    """What running wasm may raise. wasmtime-py calls a trap ``Trap`` and every other failure
    ``WasmtimeError`` (``WasmException``, an uncaught wasm exception, is a ``Trap``; ``ExitTrap``
    a ``WasmtimeError``)."""
    import wasmtime

    return (wasmtime.WasmtimeError, wasmtime.Trap)


def fuel_engine(restricted: bool = False) -> Any:
    """The default configuration with fuel; ``restricted`` also turns off ``RESTRICTED``, so
    that feature checks in validation and compilation are compared too."""
    import wasmtime

    config = wasmtime.Config()
    config.consume_fuel = True
    for feature in RESTRICTED if restricted else ():
        setattr(config, feature, False)
    return wasmtime.Engine(config)


@cache
def engines() -> tuple[Any, Any]:
    """(default, restricted) engines with fuel, made once per process."""
    return fuel_engine(), fuel_engine(restricted=True)


def check_module(
    engine: Any, data: bytes, validate: Callable[[Any, bytes], None] | None = None
) -> Any:
    """Compare ``Module.validate`` (or ``validate``) with ``Module``; return the module when it
    compiled, else None. Input not starting with NUL is text to the constructor and never valid
    to ``validate``; when it compiles, ``wat2wasm`` of it must validate."""
    import wasmtime

    try:
        (validate or wasmtime.Module.validate)(engine, data)
        valid, why_invalid = True, ""
    except wasmtime.WasmtimeError as exc:
        valid, why_invalid = False, str(exc)
        if not why_invalid:
            raise Disagreement("validate raised an empty WasmtimeError") from exc
    try:
        module = wasmtime.Module(engine, data)
        why_not = ""
    except wasmtime.WasmtimeError as exc:
        module, why_not = None, str(exc)
        if not why_not:
            raise Disagreement("Module raised an empty WasmtimeError") from exc
    if data[:1] not in (b"", b"\0"):
        if valid:
            raise Disagreement("validate accepted input that is not binary wasm")
        if module is not None:
            try:
                wasmtime.Module.validate(engine, bytes(wasmtime.wat2wasm(data)))
            except wasmtime.WasmtimeError as exc:
                raise Disagreement(f"WAT compiled but its binary is invalid: {exc}") from exc
        return module
    if valid != (module is not None):
        raise Disagreement(
            f"validate says {'valid' if valid else 'invalid: ' + why_invalid}, "
            f"Module says {'compiled' if module is not None else 'failed: ' + why_not}"
        )
    return module


def describe(module: Any) -> list[str]:
    """Every import and export type as text (walks the type conversions)."""
    items = [f"{i.module}::{i.name}: {i.type}" for i in module.imports]
    return items + [f"{e.name}: {e.type}" for e in module.exports]


def exercise(engine: Any, module: Any, counts: Counter[str] | None = None) -> int:
    """Instantiate ``module`` with default imports under fuel and store limits, call up to
    ``MAX_CALLS`` exported functions with zero arguments and read the other exports. Every step
    may fail only with ``run_errors()``. Returns the number of calls made."""
    import wasmtime

    errors = run_errors()
    counts = Counter() if counts is None else counts
    store = wasmtime.Store(engine)
    calls = 0
    try:
        store.set_limits(
            memory_size=16 << 20, table_elements=100_000, instances=16, tables=16, memories=16
        )
        store.set_fuel(FUEL)
        linker = wasmtime.Linker(engine)
        try:
            linker.define_unknown_imports_as_default_values(store, module)
            instance = linker.instantiate(store, module)
        except errors:
            counts["instantiate_failed"] += 1
            return calls
        counts["instantiated"] += 1
        for item in instance.exports(store).values():
            try:
                if isinstance(item, wasmtime.Func):
                    params = [str(p) for p in item.type(store).params]
                    if calls >= MAX_CALLS or not all(p in ZERO_ARGS for p in params):
                        continue
                    calls += 1
                    store.set_fuel(FUEL)
                    item(store, *[ZERO_ARGS[p] for p in params])
                    counts["calls_ok"] += 1
                elif isinstance(item, wasmtime.Memory):
                    if item.data_len(store) != item.size(store) * item.page_size(store):
                        raise Disagreement("Memory.data_len is not size * page_size")
                    item.read(store, 0, 64)
                elif isinstance(item, wasmtime.Global):
                    item.value(store)
                elif isinstance(item, wasmtime.Table) and item.size(store):
                    item.get(store, 0)
            except errors:
                pass
    finally:
        store.close()
    return calls


def check_component(engine: Any, data: bytes, counts: Counter[str] | None = None) -> Any:
    """``Component`` succeeds or raises ``WasmtimeError``; a component that compiles has its
    types listed and is instantiated with trapping imports, under fuel. Returns it, or None."""
    import wasmtime
    from wasmtime import component

    counts = Counter() if counts is None else counts
    try:
        comp = component.Component(engine, data)
    except wasmtime.WasmtimeError as exc:
        if not str(exc):
            raise Disagreement("Component raised an empty WasmtimeError") from exc
        counts["component_err"] += 1
        return None
    counts["component_ok"] += 1
    comp.type.imports(engine)
    comp.type.exports(engine)
    store = wasmtime.Store(engine)
    try:
        store.set_fuel(FUEL)
        linker = component.Linker(engine)
        linker.define_unknown_imports_as_traps(comp)
        linker.instantiate(store, comp)
        counts["component_instantiated"] += 1
    except run_errors():
        pass
    finally:
        store.close()
    return comp


def check_plugin(
    data: bytes,
    names: Iterable[str],
    manifest: bool,
    wasi: bool,
    counts: Counter[str] | None = None,
) -> int:
    """``extism.Plugin`` succeeds or raises ``extism.Error``, and so does each call. With
    ``manifest`` the bytes go through a manifest that sets a timeout. Returns the calls made."""
    import extism

    counts = Counter() if counts is None else counts
    source: Any = {"wasm": [{"data": data}], "timeout_ms": 2000} if manifest else data
    try:
        plugin = extism.Plugin(source, wasi=wasi, functions=[], fuel_limit=1_000_000)
    except extism.Error as exc:
        if not str(exc):
            raise Disagreement("Plugin raised an empty extism.Error") from exc
        counts["plugin_err"] += 1
        return 0
    counts["plugin_ok"] += 1
    calls = 0
    with plugin:
        for name in list(names)[:MAX_CALLS]:
            calls += 1
            counts["plugin_calls"] += 1
            try:
                out = plugin.call(name, b"fuzz input")
            except extism.Error:
                continue
            if not isinstance(out, bytes):
                raise Disagreement(f"Plugin.call returned {type(out).__name__}")
    return calls


def export_names(module: Any) -> list[str]:
    """The functions ``module`` exports, or the usual Extism entry points when it is None."""
    import wasmtime

    if module is None:
        return ["run_test", "echo", "count_vowels"]
    return [e.name for e in module.exports if isinstance(e.type, wasmtime.FuncType)]


def imports_wasi(module: Any) -> bool:
    return module is not None and any(
        i.module.startswith("wasi_snapshot_preview1") for i in module.imports
    )


class Oracles:
    """The checks of one input of the long run, with counts of what they reached."""

    def __init__(self) -> None:
        import extism  # noqa: F401 - loaded now rather than during an input
        from wasmtime import component  # noqa: F401

        self.engines = engines()
        self.counts: Counter[str] = Counter()

    def check(self, index: int, data: bytes, desc: dict[str, Any], seeds: Seeds) -> None:
        engine = self.engines[index % 4 == 3]
        module = self.check_module(engine, data)
        if module is not None:
            describe(module)
            self.counts["calls"] += exercise(engine, module, self.counts)
        is_component = data[4:8] == COMPONENT_LAYER or data.lstrip()[:10] == b"(component"
        if is_component or index % 16 == 1:
            check_component(self.engines[0], data, self.counts)
        seed = desc.get("seed")
        small = seed is None or len(seeds.data[seeds.names.index(seed)]) <= SMALL_SEED
        if index % 8 == 0 and small:
            manifest = (index // 8) % 2 == 0
            wasi = manifest and imports_wasi(module)
            check_plugin(data, export_names(module), manifest, wasi, self.counts)

    def check_module(self, engine: Any, data: bytes) -> Any:
        text = data[:1] not in (b"", b"\0")
        if text:
            self.counts["text"] += 1
        module = check_module(engine, data)
        if text and module is not None:
            self.counts["text_compiled"] += 1
        elif not text:
            self.counts["compiled" if module is not None else "invalid"] += 1
        return module


# ---------------------------------------------------------------------------------------------
# Worker
# ---------------------------------------------------------------------------------------------


def worker(args: argparse.Namespace) -> int:
    channel = os.fdopen(args.fd, "w", buffering=1)
    seeds = load_seeds(args.corpus, args.keep_custom)
    oracles = Oracles()
    for done, index in enumerate(range(args.start, args.inputs, args.workers), 1):
        channel.write(f"S {index}\n")
        if index == args.selftest_crash:
            os.abort()
        data, desc = make_case(seeds, args.seed, index)
        try:
            oracles.check(index, data, desc, seeds)
        except Disagreement as exc:
            report = {"kind": "disagreement", "index": index, "message": str(exc)}
            channel.write("F " + json.dumps(report) + "\n")
        except Exception as exc:  # noqa: BLE001 - any other exception type is the finding
            report = {
                "kind": "unexpected-exception",
                "index": index,
                "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
                "message": str(exc)[:2000],
                "traceback": traceback.format_exc()[-4000:],
            }
            channel.write("F " + json.dumps(report) + "\n")
        if done % SNAPSHOT_EVERY == 0:
            channel.write("C " + json.dumps(snapshot(oracles)) + "\n")
    channel.write("C " + json.dumps(snapshot(oracles)) + "\n")
    channel.write("E\n")
    channel.close()
    return 0


def snapshot(oracles: Oracles) -> dict[str, int]:
    counts = dict(oracles.counts)
    counts["max_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return counts


# ---------------------------------------------------------------------------------------------
# Parent
# ---------------------------------------------------------------------------------------------


@dataclass
class Segment:
    """One worker process, running inputs ``start, start + W, ...``."""

    slot: int
    start: int
    proc: subprocess.Popen[bytes]
    log: Path
    current: int = -1
    last_seen: float = field(default_factory=time.monotonic)
    done: int = 0
    ended: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    reader: threading.Thread | None = None


def spawn(args: argparse.Namespace, slot: int, start: int, out: Path, n: int) -> Segment:
    read_fd, write_fd = os.pipe()
    log = out / f"worker-{slot}-{n}.log"
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--fd",
        str(write_fd),
        "--start",
        str(start),
        "--inputs",
        str(args.inputs),
        "--workers",
        str(args.workers),
        "--seed",
        str(args.seed),
        "--selftest-crash",
        str(args.selftest_crash),
    ]
    for folder in args.corpus:
        command += ["--corpus", folder]
    if args.keep_custom:
        command.append("--keep-custom")
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            pass_fds=(write_fd,),
        )
    os.close(write_fd)
    segment = Segment(slot, start, proc, log)

    def read() -> None:
        with os.fdopen(read_fd, "r") as channel:
            for line in channel:
                segment.last_seen = time.monotonic()
                tag, _, rest = line.rstrip("\n").partition(" ")
                if tag == "S":
                    if segment.current >= 0:
                        segment.done += 1
                    segment.current = int(rest)
                elif tag == "F":
                    segment.findings.append(json.loads(rest))
                elif tag == "C":
                    segment.counts = json.loads(rest)
                elif tag == "E":
                    if segment.current >= 0:
                        segment.done += 1
                    segment.current = -1
                    segment.ended = True

    segment.reader = threading.Thread(target=read, daemon=True)
    segment.reader.start()
    return segment


def save_input(seeds: Seeds, args: argparse.Namespace, out: Path, finding: dict[str, Any]) -> None:
    data, desc = make_case(seeds, args.seed, finding["index"])
    path = out / f"{finding['kind']}-{finding['index']}.wasm"
    path.write_bytes(data)
    finding.update(
        input=str(path),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        case=desc,
    )
    if len(data) <= 4096:
        finding["input_hex"] = data.hex()


def parent(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = load_seeds(args.corpus, args.keep_custom)
    begin = time.monotonic()
    findings: list[dict[str, Any]] = []
    totals: Counter[str] = Counter()
    done = restarts = max_rss = 0
    spawned = Counter[int]()
    live = [spawn(args, k, k, out, 0) for k in range(min(args.workers, args.inputs))]
    last_progress = begin
    while live:
        time.sleep(0.2)
        for segment in list(live):
            code = segment.proc.poll()
            hung = code is None and time.monotonic() - segment.last_seen > args.hang_seconds
            if code is None and not hung:
                continue
            if hung:
                segment.proc.kill()
                code = segment.proc.wait()
            assert segment.reader is not None
            segment.reader.join(10)
            live.remove(segment)
            done += segment.done
            totals.update({k: v for k, v in segment.counts.items() if k != "max_rss_kib"})
            max_rss = max(max_rss, segment.counts.get("max_rss_kib", 0))
            findings.extend(segment.findings)
            if segment.ended and code == 0 and not hung:
                continue
            # A crash or hang: blame the announced input, then continue after it.
            index = segment.current
            log = segment.log.read_bytes().decode(errors="replace")
            finding = {
                "kind": "hang" if hung else "crash",
                "index": index,
                "returncode": code,
                "log_tail": log[-3000:],
            }
            if index >= 0:
                save_input(seeds, args, out, finding)
                next_start = index + args.workers
            else:
                # Died before its first input, or after its last: nothing to blame but the worker.
                next_start = args.inputs
            findings.append(finding)
            print(f"[fuzz] {finding['kind']} at input {index} (status {code})", file=sys.stderr)
            if next_start < args.inputs:
                restarts += 1
                spawned[segment.slot] += 1
                live.append(spawn(args, segment.slot, next_start, out, spawned[segment.slot]))
        now = time.monotonic()
        if now - last_progress >= args.progress_seconds:
            last_progress = now
            running = done + sum(s.done for s in live)
            rate = running / (now - begin)
            print(f"[fuzz] {running}/{args.inputs} inputs, {rate:.0f}/s", file=sys.stderr)
    for finding in findings:
        if finding["kind"] in ("disagreement", "unexpected-exception") and "input" not in finding:
            save_input(seeds, args, out, finding)
    elapsed = time.monotonic() - begin
    totals["done"] = done
    report = {
        "inputs": args.inputs,
        "workers": args.workers,
        "seed": args.seed,
        "seeds": len(seeds.names),
        "elapsed_s": round(elapsed, 1),
        "inputs_per_s": round(done / elapsed, 1) if elapsed else 0.0,
        "restarts": restarts,
        "max_worker_rss_mib": round(max_rss / 1024, 1),
        "crashes": sum(f["kind"] == "crash" for f in findings),
        "hangs": sum(f["kind"] == "hang" for f in findings),
        "disagreements": sum(f["kind"] == "disagreement" for f in findings),
        "unexpected_exceptions": sum(f["kind"] == "unexpected-exception" for f in findings),
        "counts": dict(sorted(totals.items())),
        "findings": sorted(findings, key=lambda f: f["index"]),
    }
    text = json.dumps(report, indent=1)
    if args.json:
        Path(args.json).write_text(text)
    summary = {k: v for k, v in report.items() if k != "findings"}
    print(json.dumps(summary, indent=1))
    for finding in report["findings"]:
        brief = {k: v for k, v in finding.items() if k not in ("log_tail", "traceback")}
        print("FINDING", json.dumps(brief))
    return 1 if findings else 0


def replay(args: argparse.Namespace) -> int:
    """Run one input in this process, printing what it is (for a finding's repro)."""
    seeds = load_seeds(args.corpus, args.keep_custom)
    data, desc = make_case(seeds, args.seed, args.replay)
    print(json.dumps(desc), len(data), "bytes", file=sys.stderr)
    if args.save:
        Path(args.save).write_bytes(data)
    Oracles().check(args.replay, data, desc, seeds)
    print("ok", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", action="append", required=True, help="a seed folder")
    parser.add_argument("--inputs", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="fuzz-findings", help="where inputs of findings go")
    parser.add_argument("--json", help="write the report here")
    parser.add_argument("--hang-seconds", type=float, default=180.0)
    parser.add_argument("--progress-seconds", type=float, default=30.0)
    parser.add_argument(
        "--keep-custom", action="store_true", help="keep big seeds' custom sections"
    )
    parser.add_argument("--replay", type=int, help="run input I here and now")
    parser.add_argument("--save", help="with --replay: write the input to this file")
    parser.add_argument("--selftest-crash", type=int, default=-1, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.replay is not None:
        return replay(args)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
