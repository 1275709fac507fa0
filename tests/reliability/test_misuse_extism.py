"""Misuse of the ``extism`` SDK (issue 8, item 1): a Python exception each time, no crash.

A ``Plugin`` used after ``close``/``del`` (also from another thread, a host function or a
``parse`` callback), calls of missing functions and with bad arguments, host functions that
raise (the same exception object comes out), return the wrong things or touch Extism memory out
of bounds, a ``CurrentPlugin`` kept past its call or used from another thread, plugins that
re-enter themselves (directly or through another plugin, on one thread or two), many threads on
one plugin, bad sources and manifests.

The mechanics are those of ``test_misuse.py`` (shared through ``_cases.py``): cases are registered
in ``CASES`` and run in child interpreters by conftest's ``case_runner`` (one child per group by
default, one per case with ``-m slow``); cases that show a native bug are strict xfails.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from _cases import BaseBoom, Boom, Cases, define_tests, in_thread, outcome, raise_, raises, returns

import extism
from extism import CompiledPlugin, CurrentPlugin, Error, Function, Memory, Plugin, Val, ValType

CASES = Cases()
case = CASES.register

CLOSED = raises(TypeError, "^plugin is closed$")
REENTRANT = raises(Error, "^cannot make reentrant calls into plugin$")
OUTSIDE = raises(Error, "^CurrentPlugin used outside of its host function call$")
OUT_OF_BOUNDS = raises(Error, "^memory access out of bounds")

# --------------------------------------------------------------------------------------------
# A guest: `echo` (output = input) and `call_host` (output = h(input), h an import)
# --------------------------------------------------------------------------------------------

GUEST = """
(module
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/user" "h" (func $h (param i64) (result i64)))
  (memory 1)
  (func (export "echo") (result i32)
    (call $output_set (call $input_offset) (call $input_length))
    (i32.const 0))
  (func (export "call_host") (result i32)
    (local $out i64)
    (local.set $out (call $h (call $input_offset)))
    (call $output_set (local.get $out) (call $length (local.get $out)))
    (i32.const 0))
  (func (export "trap") (result i32) unreachable)
  (func (export "with_params") (param i32) (result i32) (local.get 0))
  (global (export "not_a_function") i32 (i32.const 0)))
"""

I64 = ValType.I64
HostBody = Callable[[CurrentPlugin, list[Val], list[Val]], Any]


def echo(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
    """The host function `h` that hands its input block back."""
    results[0].value = params[0].value


def host(body: HostBody = echo) -> Function:
    return Function("h", [I64], [I64], body)


def plugin(body: HostBody = echo, **kwargs: Any) -> Plugin:
    return Plugin(GUEST, functions=[host(body)], **kwargs)


def closed(p: Plugin) -> Plugin:
    p.__del__()
    return p


# --------------------------------------------------------------------------------------------
# A plugin after close / del
# --------------------------------------------------------------------------------------------


@case("ext_closed.call_after_with", CLOSED)
def _() -> object:
    with plugin() as p:
        p.call("echo", b"a")
    return p.call("echo", b"a")


@case("ext_closed.function_exists", CLOSED)
def _() -> object:
    return closed(plugin()).function_exists("echo")


@case("ext_closed.id", CLOSED)
def _() -> object:
    return closed(plugin()).id


@case("ext_closed.cancel_handle", CLOSED)
def _() -> object:
    return closed(plugin()).cancel_handle()


@case("ext_closed.close_twice", returns((-1, None)))
def _() -> object:
    p = closed(closed(plugin()))
    return (p.plugin, p.compiled_plugin)


@case("ext_closed.cancel_handle_outlives_its_plugin", returns(True))
def _() -> object:
    p = plugin()
    handle = p.cancel_handle()
    del p
    gc.collect()
    return handle.cancel()


@case("ext_closed.bound_method_keeps_its_plugin", returns(b"still"))
def _() -> object:
    call = plugin().call
    gc.collect()
    return call("echo", b"still")


@case("ext_closed.compiled_plugin_closed", raises(TypeError, "^compiled plugin is closed$"))
def _() -> object:
    compiled = CompiledPlugin(GUEST, functions=[host()])
    compiled.__del__()
    return Plugin(compiled)


@case("ext_closed.compiled_plugin_closed_after_making_a_plugin", returns(b"q"))
def _() -> object:
    compiled = CompiledPlugin(GUEST, functions=[host()])
    p = Plugin(compiled)
    compiled.__del__()
    del compiled
    gc.collect()
    return p.call("call_host", b"q")


@case("ext_closed.from_another_thread_during_a_call", returns(("closed", [b"x"], "TypeError")))
def _() -> object:
    entered, release = threading.Event(), threading.Event()

    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        entered.set()
        release.wait(20)
        echo(current, params, results)

    p = plugin(body)
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(outcome(lambda: p.call("call_host", "x"))))
    worker.start()
    assert entered.wait(10)
    # close() lets the running call finish (today it waits for it): release that call soon.
    threading.Timer(0.2, release.set).start()
    closing = outcome(lambda: p.__del__() or "closed")
    worker.join(10)
    return (closing, out, outcome(lambda: p.call("echo", b"y")))


@case("ext_closed.inside_its_own_host_function", returns((b"x", ["Error"], b"y")))
def _() -> object:
    holder: list[Plugin] = []
    seen: list[object] = []

    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        seen.append(outcome(holder[0].__del__))  # refused while its call runs
        echo(current, params, results)

    p = plugin(body)
    holder.append(p)
    return (p.call("call_host", b"x"), seen, p.call("echo", b"y"))


@case("ext_closed.inside_parse", returns((b"z", -1, "TypeError")))
def _() -> object:
    p = plugin()

    def parse(output: bytes) -> bytes:
        p.__del__()
        return output

    return (p.call("echo", b"z", parse=parse), p.plugin, outcome(lambda: p.call("echo", b"z")))


@case("ext_closed.compiled_plugin_deleted_by_a_host_function", returns((b"k", b"j")))
def _() -> object:
    holder: dict[str, CompiledPlugin] = {}

    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        holder.pop("compiled").__del__()
        gc.collect()
        echo(current, params, results)

    compiled = CompiledPlugin(GUEST, functions=[host(body)])
    holder["compiled"] = compiled
    p = Plugin(compiled)
    del compiled
    return (p.call("call_host", b"k"), p.call("echo", b"j"))


# --------------------------------------------------------------------------------------------
# Calls: missing functions, bad arguments, traps
# --------------------------------------------------------------------------------------------

NOT_FOUND = raises(Error, "^Function not found: ")

CALLS: dict[str, tuple[Callable[[Plugin], object], tuple[str, ...]]] = {
    "missing_function": (
        lambda p: p.call("nope", b""),
        raises(Error, "^Function not found: nope$"),
    ),
    "export_that_is_not_a_function": (lambda p: p.call("not_a_function", b""), NOT_FOUND),
    "export_with_parameters": (
        lambda p: p.call("with_params", b""),
        raises(Error, "expected 1 arguments, got 0"),
    ),
    "name_with_a_nul": (lambda p: p.call("ec\x00ho", b""), NOT_FOUND),
    "name_none": (lambda p: p.call(None, b""), raises(TypeError, "function name must be str")),  # type: ignore[arg-type]
    "name_int": (lambda p: p.call(5, b""), raises(TypeError, "function name must be str")),  # type: ignore[arg-type]
    "input_none": (lambda p: p.call("echo", None), raises(TypeError, "plugin input")),  # type: ignore[arg-type]
    "input_int": (lambda p: p.call("echo", 5), raises(TypeError, "plugin input")),  # type: ignore[arg-type]
    "input_list": (lambda p: p.call("echo", [1, 2]), raises(TypeError, "plugin input")),  # type: ignore[arg-type]
    "parse_not_callable": (
        lambda p: p.call("echo", b"x", parse=5),  # type: ignore[arg-type]
        raises(TypeError, "not callable"),
    ),
    "trap": (lambda p: p.call("trap", b""), raises(Error, "unreachable")),
    "16_mib_input": (lambda p: len(p.call("echo", b"x" * (16 << 20))), returns(16 << 20)),
    "function_exists_of_a_non_function": (
        lambda p: p.function_exists("not_a_function"),
        returns(False),
    ),
}

for _what, (_use, _expect) in CALLS.items():
    case(f"ext_call.{_what}", _expect)(lambda use=_use: use(plugin()))


@case("ext_call.usable_after_failures", returns(b"ok"))
def _() -> object:
    p = plugin()
    for name in ("nope", "trap", "with_params", "not_a_function"):
        assert isinstance(outcome(lambda name=name: p.call(name, b"")), str)
    return p.call("echo", b"ok")


@case("ext_call.parse_raises_the_same_object", returns(True))
def _() -> object:
    error = ValueError("parse")
    try:
        plugin().call("echo", b"x", parse=lambda out: raise_(error))
    except ValueError as e:
        return e is error
    return "no exception"


# --------------------------------------------------------------------------------------------
# Host functions that raise
# --------------------------------------------------------------------------------------------


RAISED: dict[str, Callable[[], BaseException]] = {
    "exception": lambda: Boom("boom"),
    "keyboard_interrupt": lambda: KeyboardInterrupt("ki"),
    "system_exit": lambda: SystemExit(4),
    "base_exception_subclass": lambda: BaseBoom("base"),
    "extism_error": lambda: Error("own error"),
    "memory_error": lambda: MemoryError("oom"),
}

for _what, _make in RAISED.items():

    def _raise_case(make: Callable[[], BaseException] = _make) -> object:
        error = make()
        p = plugin(lambda current, params, results: raise_(error))
        try:
            p.call("call_host", b"x")
        except BaseException as e:  # noqa: BLE001 (compared)
            return (e is error, type(e).__name__, p.call("echo", b"after"))
        return "no exception"

    case(f"ext_host_raise.{_what}", returns((True, type(_make()).__name__, b"after")))(_raise_case)


@case("ext_host_raise.inferred_host_fn", returns(True))
def _() -> object:
    error = Boom("inferred")

    def h(text: str) -> str:
        raise error

    try:
        Plugin(GUEST, functions=[extism.host_fn(name="h")(h)]).call("call_host", b"x")
    except Boom as e:
        return e is error
    return "no exception"


# --------------------------------------------------------------------------------------------
# Host functions that return the wrong things, or touch Extism memory out of bounds
# --------------------------------------------------------------------------------------------


def set_result(value: object) -> HostBody:
    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        results[0].value = value

    return body


RESULTS: dict[str, tuple[HostBody, tuple[str, ...]]] = {
    "value_str": (set_result("str"), raises(Error, "result 0 holds 'str', not a number")),
    "value_none": (set_result(None), raises(Error, "result 0 holds None, not a number")),
    "value_over_i64": (set_result(2**100), raises(OverflowError, "does not fit in i64")),
    "value_not_a_handle": (set_result(123_456_789), returns(b"")),
    "replaced_by_an_int": (
        lambda c, p, r: r.__setitem__(0, 5),
        raises(Error, "result 0 must be a Val, not int"),
    ),
    "replaced_by_a_val_of_another_type": (
        lambda c, p, r: r.__setitem__(0, Val(ValType.F64, 1.0)),
        raises(Error, "result 0 has type F64, but the function declares I64"),
    ),
    "one_result_too_many": (
        lambda c, p, r: r.append(Val(I64, 1)),
        raises(Error, "declares 1 results but left 2"),
    ),
    "results_cleared": (lambda c, p, r: r.clear(), raises(Error, "declares 1 results but left 0")),
    "return_value_is_ignored": (lambda c, p, r: (echo(c, p, r), 42)[1], returns(b"x")),
}

for _what, (_body, _expect) in RESULTS.items():
    case(f"ext_host_result.{_what}", _expect)(
        lambda body=_body: plugin(body).call("call_host", b"x")
    )


@case("ext_host_result.inferred_returns_the_wrong_type", raises(Exception))
def _() -> object:
    def h(text: str) -> str:
        return 5  # type: ignore[return-value]

    return Plugin(GUEST, functions=[extism.host_fn(name="h")(h)]).call("call_host", b"x")


@case("ext_host_result.inferred_returns_none", raises(Exception))
def _() -> object:
    def h(text: str) -> str:
        return None  # type: ignore[return-value]

    return Plugin(GUEST, functions=[extism.host_fn(name="h")(h)]).call("call_host", b"x")


@case("ext_host_result.signature_mismatch", raises(Error, "incompatible import type"))
def _() -> object:
    return Plugin(GUEST, functions=[Function("h", [I64, I64], [I64], echo)])


@case("ext_host_result.host_function_missing", raises(Error, "unknown import"))
def _() -> object:
    return Plugin(GUEST, functions=[])


def inside(op: Callable[[CurrentPlugin], object]) -> object:
    """What ``op(current_plugin)`` does inside a host function (value or exception class and
    message), and that the call still completes."""
    seen: list[object] = []

    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        try:
            seen.append(repr(op(current)))
        except Exception as e:  # noqa: BLE001 (recorded)
            seen.append(f"{type(e).__name__}: {e}")
        echo(current, params, results)

    output = plugin(body).call("call_host", b"x")
    assert output == b"x", output
    return seen[0]


MEMORY_OPS: dict[str, tuple[Callable[[CurrentPlugin], object], str]] = {
    "read_far": (
        lambda c: c.pointer.read(2**62, 10),
        "Error: memory access out of bounds: offset 4611686018427387904, length 10",
    ),
    "write_far": (
        lambda c: c.pointer.write(2**62, b"x"),
        "Error: memory access out of bounds: offset 4611686018427387904, length 1",
    ),
    "read_2_to_40_bytes": (
        lambda c: c.pointer.read(0, 2**40),
        "Error: memory access out of bounds: offset 0, length 1099511627776",
    ),
    "read_negative_offset": (
        lambda c: c.pointer.read(-1, 1),
        "OverflowError: can't convert negative int to unsigned",
    ),
    "alloc_negative": (
        lambda c: c.alloc(-1),
        "OverflowError: can't convert negative int to unsigned",
    ),
    "alloc_2_to_62_is_refused": (lambda c: c.alloc(2**62).offset, "0"),
    "alloc_over_u64": (lambda c: c.alloc(2**64), "OverflowError: int too big to convert"),
    "free_unknown_offsets": (lambda c: (c.free(2**63), c.free(123_456)), "(None, None)"),
    "view_at_offset_0": (
        lambda c: c.memory(Memory(0, 5)),
        "Error: cannot access Extism memory at offset 0 (no block was allocated)",
    ),
    "view_far": (
        lambda c: bytes(c.memory(Memory(2**40, 5))),
        "Error: memory access out of bounds: offset 1099511627776, length 5",
    ),
    "view_index_past_its_end": (
        lambda c: c.memory(c.alloc(4))[10],
        "IndexError: memory index out of range",
    ),
    "view_slice_assignment_too_long": (
        lambda c: c.memory(c.alloc(4)).__setitem__(slice(0, 10), b"x" * 10),
        "ValueError: cannot assign 10 bytes to a memory slice of 4 bytes",
    ),
    "input_bytes_of_an_unknown_offset": (lambda c: c.input_bytes(999_999), "b''"),
    "length_of_an_unknown_offset": (lambda c: c.pointer.length(2**63), "0"),
}

for _what, (_op, _seen) in MEMORY_OPS.items():
    case(f"ext_host_memory.{_what}", returns(_seen))(lambda op=_op: inside(op))


# --------------------------------------------------------------------------------------------
# CurrentPlugin after its call, from another thread
# --------------------------------------------------------------------------------------------


def kept_current_plugin() -> tuple[Plugin, CurrentPlugin, Val]:
    kept: list[tuple[CurrentPlugin, Val]] = []

    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        kept.append((current, params[0]))
        echo(current, params, results)

    p = plugin(body)
    p.call("call_host", b"abc")
    return p, kept[0][0], kept[0][1]


AFTER: dict[str, Callable[[CurrentPlugin, Val], object]] = {
    "alloc": lambda c, v: c.alloc(4),
    "free": lambda c, v: c.free(v),
    "memory_at_offset": lambda c, v: c.memory_at_offset(v),
    "input_bytes": lambda c, v: c.input_bytes(v),
    "input_string": lambda c, v: c.input_string(v),
    "host_context": lambda c, v: c.host_context(),
    "return_bytes": lambda c, v: c.return_bytes(Val(I64, 0), b"late"),
    "memory_view": lambda c, v: bytes(c.memory(Memory(int(v.value), 3))),
}

for _what, _use in AFTER.items():

    def _after_case(use: Callable[[CurrentPlugin, Val], object] = _use) -> object:
        _p, current, value = kept_current_plugin()
        return use(current, value)

    case(f"ext_current_plugin.after_its_call.{_what}", OUTSIDE)(_after_case)


@case("ext_current_plugin.view_kept_past_its_call", OUTSIDE)
def _() -> object:
    views: list[Any] = []

    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        views.append(current.memory(current.memory_at_offset(params[0])))
        echo(current, params, results)

    plugin(body).call("call_host", b"abc")
    return bytes(views[0])


@case("ext_current_plugin.after_its_plugin_closed", OUTSIDE)
def _() -> object:
    p, current, value = kept_current_plugin()
    p.__del__()
    gc.collect()
    return current.input_bytes(value)


@case("ext_current_plugin.from_another_thread_during_the_call", OUTSIDE)
def _() -> object:
    errors: list[BaseException] = []

    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        try:
            in_thread(lambda: current.alloc(4))
        except BaseException as e:  # noqa: BLE001 (recorded)
            errors.append(e)
        echo(current, params, results)

    assert plugin(body).call("call_host", b"x") == b"x"
    raise errors[0]


@case("ext_current_plugin.cannot_be_made_from_python", raises(Exception))
def _() -> object:
    current = CurrentPlugin(None)  # type: ignore[arg-type]
    return current.alloc(4)


# --------------------------------------------------------------------------------------------
# Re-entrance: a plugin calling itself, directly or through another plugin
# --------------------------------------------------------------------------------------------


@case("ext_reenter.itself_from_its_host_function", returns((b"x", ["Error"], b"after")))
def _() -> object:
    holder: list[Plugin] = []
    seen: list[object] = []

    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        seen.append(outcome(lambda: holder[0].call("echo", b"in")))
        echo(current, params, results)

    p = plugin(body)
    holder.append(p)
    return (p.call("call_host", b"x"), seen, p.call("echo", b"after"))


@case("ext_reenter.itself_error_raised_out_of_the_call", REENTRANT)
def _() -> object:
    holder: list[Plugin] = []
    p = plugin(lambda current, params, results: holder[0].call("echo", b"in"))
    holder.append(p)
    return p.call("call_host", b"x")


@case("ext_reenter.through_another_plugin", returns((b"x", ["Error", b"fromA"])))
def _() -> object:
    plugins: dict[str, Plugin] = {}
    seen: list[object] = []

    def body_a(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        seen.append(plugins["B"].call("call_host", b"fromA"))
        echo(current, params, results)

    def body_b(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        seen.append(outcome(lambda: plugins["A"].call("echo", b"fromB")))
        echo(current, params, results)

    plugins["A"], plugins["B"] = plugin(body_a), plugin(body_b)
    return (plugins["A"].call("call_host", b"x"), seen)


@case("ext_reenter.another_plugin_of_the_same_compiled_plugin", returns((b"x", [b"in"])))
def _() -> object:
    others: list[Plugin] = []
    seen: list[object] = []

    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        seen.append(others[0].call("echo", b"in"))
        echo(current, params, results)

    compiled = CompiledPlugin(GUEST, functions=[host(body)])
    first = Plugin(compiled)
    others.append(Plugin(compiled))
    return (first.call("call_host", b"x"), seen)


@case(
    "ext_reenter.two_plugins_calling_each_other_from_two_threads",
    returns(([False, False], True)),
)
def _() -> object:
    plugins: dict[str, Plugin] = {}
    barrier = threading.Barrier(2, timeout=10)

    def calling(other: str) -> HostBody:
        def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
            barrier.wait()  # both calls are inside their host functions
            outcome(lambda: plugins[other].call("echo", b"x"))
            echo(current, params, results)

        return body

    manifest = {"wasm": [{"data": GUEST.encode()}], "timeout_ms": 500}
    plugins["A"] = Plugin(manifest, functions=[host(calling("B"))])
    plugins["B"] = Plugin(manifest, functions=[host(calling("A"))])
    outs: list[object] = []
    threads = [
        threading.Thread(
            target=lambda n=n: outs.append(outcome(lambda: plugins[n].call("call_host", n))),
            daemon=True,
        )
        for n in "AB"
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 3
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    alive = [t.is_alive() for t in threads]
    for p in plugins.values():
        p.cancel_handle().cancel()
    # Each outer call ends: with its output, or with an extism.Error (e.g. a refused wait).
    return (alive, len(outs) == 2 and all(o in (b"A", b"B", "Error") for o in outs))


# --------------------------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------------------------


@case("ext_threads.many_threads_one_plugin", returns(([], [False] * 8)))
def _() -> object:
    p = plugin()
    wrong: list[object] = []

    def work(n: int) -> None:
        for i in range(150):
            data = f"{n}-{i}-".encode() * (n + 1)
            out = p.call("call_host" if i % 2 else "echo", data)
            if out != data:
                wrong.append((n, i, out[:20]))

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return (wrong, [t.is_alive() for t in threads])


@contextmanager
def busy_plugin() -> Iterator[Plugin]:
    """A plugin whose `call_host` runs on a worker thread, parked in its host function."""
    entered, release = threading.Event(), threading.Event()

    def body(current: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        entered.set()
        release.wait(20)
        echo(current, params, results)

    p = plugin(body)
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(outcome(lambda: p.call("call_host", "w"))))
    worker.start()
    try:
        assert entered.wait(10)
        yield p
    finally:
        release.set()
        worker.join(10)
        if out != [b"w"]:
            raise AssertionError(f"the busy plugin's call was disturbed: {out}")


@case("ext_threads.second_call_waits_for_the_first", returns(b"second"))
def _() -> object:
    with busy_plugin() as p:
        waiting: list[object] = []
        second = threading.Thread(target=lambda: waiting.append(p.call("echo", b"second")))
        second.start()
        second.join(0.2)
        assert second.is_alive() and not waiting, "the second call did not wait"
    second.join(10)
    return waiting[0]


@case("ext_threads.calls_survive_a_cancel_storm", returns(True))
def _() -> object:
    p = plugin()
    handle = p.cancel_handle()
    stop = threading.Event()

    def cancel() -> None:
        while not stop.is_set():
            handle.cancel()

    canceller = threading.Thread(target=cancel, daemon=True)
    canceller.start()
    seen = set()
    for _ in range(300):
        seen.add(str(outcome(lambda: p.call("echo", b"e") == b"e")))
    stop.set()
    canceller.join(10)
    # A cancel that lands during a call stops it ("timeout" -> Error); none other may happen.
    return seen <= {"True", "Error"} and p.call("echo", b"e") == b"e"


# --------------------------------------------------------------------------------------------
# Bad sources, manifests and options
# --------------------------------------------------------------------------------------------

CANNOT_COMPILE = raises(Error, "^Unable to compile Extism plugin: ")
WAT_DATA = {"data": GUEST.encode()}

BAD: dict[str, tuple[Callable[[], object], tuple[str, ...]]] = {
    "source_garbage": (lambda: Plugin(b"\x00asm garbage", functions=[]), CANNOT_COMPILE),
    "source_empty": (lambda: Plugin(b"", functions=[]), raises(Error)),
    "source_none": (lambda: Plugin(None, functions=[]), raises(TypeError, "expected a manifest")),  # type: ignore[arg-type]
    "source_int": (lambda: Plugin(5, functions=[]), raises(TypeError, "expected a manifest")),  # type: ignore[arg-type]
    "manifest_missing_file": (
        lambda: Plugin({"wasm": [{"path": "/nonexistent/x.wasm"}]}, functions=[]),
        raises(Error, "Unable to load Wasm file"),
    ),
    "manifest_without_wasm": (
        lambda: Plugin({"wasm": []}, functions=[]),
        raises(Error, "No wasm files"),
    ),
    "manifest_of_the_wrong_shape": (lambda: Plugin({"wasm": "nope"}, functions=[]), CANNOT_COMPILE),
    "manifest_negative_timeout": (
        lambda: Plugin({"wasm": [WAT_DATA], "timeout_ms": -5}, functions=[host()]),
        CANNOT_COMPILE,
    ),
    "manifest_enormous_timeout": (
        lambda: Plugin({"wasm": [WAT_DATA], "timeout_ms": 2**70}, functions=[host()]),
        CANNOT_COMPILE,
    ),
    "manifest_enormous_max_pages": (
        lambda: Plugin({"wasm": [WAT_DATA], "memory": {"max_pages": 2**40}}, functions=[host()]),
        CANNOT_COMPILE,
    ),
    "functions_not_functions": (
        lambda: Plugin(GUEST, functions=[5]),  # type: ignore[list-item]
        raises(TypeError, "extism.Function"),
    ),
    "negative_fuel_limit": (
        lambda: Plugin(GUEST, functions=[host()], fuel_limit=-1),
        raises(OverflowError),
    ),
    "config_that_is_not_a_dict_is_ignored": (
        lambda: Plugin(GUEST, functions=[host()], config=5).call("echo", b"c"),
        returns(b"c"),
    ),
    "host_function_of_an_unsupported_type": (
        lambda: Plugin(GUEST, functions=[Function("h", [ValType.V128], [I64], echo)]),
        raises(TypeError, "host functions take and return I32, I64, F32 and F64 only"),
    ),
}

for _what, (_fn, _expect) in BAD.items():
    case(f"ext_bad.{_what}", _expect)(_fn)


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


# test_extism_misuse_group[<group>], test_extism_misuse_case_alone[<case>] (slow) and, while a case
# has a bug, test_extism_misuse_known_native_bug[<case>] (see _cases.define_tests).
define_tests(globals(), "extism_misuse")
