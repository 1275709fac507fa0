"""Trap, TrapCode, Frame, WasmtimeError, ExitTrap."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import pytest

import wasmtime
from wasmtime import (
    ExitTrap,
    Frame,
    Func,
    FuncType,
    Module,
    Store,
    Trap,
    TrapCode,
    WasmtimeError,
)

TRAP_CODES = [
    "STACK_OVERFLOW",
    "MEMORY_OUT_OF_BOUNDS",
    "HEAP_MISALIGNED",
    "TABLE_OUT_OF_BOUNDS",
    "INDIRECT_CALL_TO_NULL",
    "BAD_SIGNATURE",
    "INTEGER_OVERFLOW",
    "INTEGER_DIVISION_BY_ZERO",
    "BAD_CONVERSION_TO_INTEGER",
    "UNREACHABLE",
    "INTERRUPT",
    "OUT_OF_FUEL",
    "ATOMIC_WAIT_NON_SHARED_MEMORY",
    "NULL_REFERENCE",
    "ARRAY_OUT_OF_BOUNDS",
    "ALLOCATION_TOO_LARGE",
    "CAST_FAILURE",
    "CANNOT_ENTER_COMPONENT",
    "NO_ASYNC_RESULT",
    "UNHANDLED_TAG",
    "CONTINUATION_ALREADY_CONSUMED",
    "DISABLED_OPCODE",
    "ASYNC_DEADLOCK",
    "CANNOT_LEAVE_COMPONENT",
    "CANNOT_BLOCK_SYNC_TASK",
    "INVALID_CHAR",
    "DEBUG_ASSERT_STRING_ENCODING_FINISHED",
    "DEBUG_ASSERT_EQUAL_CODE_UNITS",
    "DEBUG_ASSERT_POINTER_ALIGNED",
    "DEBUG_ASSERT_UPPER_BITS_UNSET",
    "STRING_OUT_OF_BOUNDS",
    "LIST_OUT_OF_BOUNDS",
    "INVALID_DISCRIMINANT",
    "UNALIGNED_POINTER",
    "TASK_CANCEL_NOT_CANCELLED",
    "TASK_CANCEL_OR_RETURN_TWICE",
    "SUBTASK_CANCEL_AFTER_TERMINAL",
    "TASK_RETURN_INVALID",
    "WAITABLE_SET_DROP_HAS_WAITERS",
    "SUBTASK_DROP_NOT_RESOLVED",
    "THREAD_NEW_INDIRECT_INVALID_TYPE",
    "THREAD_NEW_INDIRECT_UNINITIALIZED",
    "BACKPRESSURE_OVERFLOW",
    "UNSUPPORTED_CALLBACK_CODE",
    "CANNOT_RESUME_THREAD",
    "CONCURRENT_FUTURE_STREAM_OP",
    "REFERENCE_COUNT_OVERFLOW",
    "STREAM_OP_TOO_BIG",
    "WAITABLE_SYNC_AND_ASYNC",
    "UNCAUGHT_EXCEPTION",
]

BACKTRACE_WAT = """
(module $module
  (func (export "init") call $foo)
  (func $foo call $bar)
  (func $bar unreachable))
"""

# wasmbridge always compiles epoch checks in (so Ctrl-C and cancellation can stop wasm). With
# them, Cranelift attributes a trap on a function's very first instruction to the function's
# start: `bar` reports offset 0x2c (func_offset 0) where wasmtime-py without epochs reports 0x2d
# (func_offset 1). wasmtime-py with `epoch_interruption = True` reports 0x2c too.
BACKTRACE_TEXT = (
    "error while executing at wasm backtrace:\n"
    "    0:     0x2c - module!bar\n"
    "    1:     0x28 - module!foo\n"
    "    2:     0x23 - module!<wasm function 0>\n"
    "\n"
    "Caused by:\n"
    "    wasm trap: wasm `unreachable` instruction executed\n"
)


def unreachable_trap(exports: Callable[..., Any], store: Store) -> Trap:
    init = exports(BACKTRACE_WAT)["init"]
    with pytest.raises(Trap) as info:
        init(store)
    return info.value


# --------------------------------------------------------------------------------------------
# TrapCode
# --------------------------------------------------------------------------------------------


def test_trapcode_is_enum_with_all_members() -> None:
    assert issubclass(TrapCode, enum.Enum)
    assert [m.name for m in TrapCode] == TRAP_CODES
    assert len(TrapCode) == 50


@pytest.mark.parametrize("value,name", list(enumerate(TRAP_CODES)))
def test_trapcode_values(value: int, name: str) -> None:
    assert TrapCode[name].value == value
    assert TrapCode(value) is TrapCode[name]


def test_trapcode_unknown_value() -> None:
    with pytest.raises(ValueError):
        TrapCode(50)


# --------------------------------------------------------------------------------------------
# Trap created in Python
# --------------------------------------------------------------------------------------------


def test_user_trap() -> None:
    trap = Trap("my message")
    assert isinstance(trap, Exception)
    assert not isinstance(trap, WasmtimeError)
    assert trap.message == "my message"
    assert str(trap) == "my message"
    assert trap.frames == []
    assert trap.trap_code is None


def test_user_trap_can_be_raised() -> None:
    with pytest.raises(Trap, match="^raised$"):
        raise Trap("raised")


def test_host_raised_trap_keeps_message(store: Store) -> None:
    def host() -> None:
        raise Trap("from host")

    f = Func(store, FuncType([], []), host)
    with pytest.raises(Trap) as info:
        f(store)
    assert info.value.message == "from host"
    assert info.value.trap_code is None


# --------------------------------------------------------------------------------------------
# Traps from wasm
# --------------------------------------------------------------------------------------------


def test_unreachable_trap_text(exports: Callable[..., Any], store: Store) -> None:
    trap = unreachable_trap(exports, store)
    assert str(trap) == BACKTRACE_TEXT
    assert trap.message == BACKTRACE_TEXT
    assert trap.trap_code == TrapCode.UNREACHABLE


def test_unreachable_trap_frames(exports: Callable[..., Any], store: Store) -> None:
    trap = unreachable_trap(exports, store)
    frames = trap.frames
    assert len(frames) == 3
    assert all(isinstance(f, Frame) for f in frames)
    assert [f.func_index for f in frames] == [2, 1, 0]
    assert [f.func_name for f in frames] == ["bar", "foo", None]
    assert [f.module_name for f in frames] == ["module", "module", "module"]
    assert [f.module_offset for f in frames] == [0x2C, 0x28, 0x23]
    assert [f.func_offset for f in frames] == [0, 1, 1]


def test_frames_without_names(exports: Callable[..., Any], store: Store) -> None:
    ex = exports('(module (func (export "f") unreachable))')
    with pytest.raises(Trap) as info:
        ex["f"](store)
    (frame,) = info.value.frames
    assert frame.func_index == 0
    assert frame.func_name is None
    assert frame.module_name is None


TRAPS_WAT = """
(module
  (memory 1)
  (table 1 funcref)
  (type $v (func))
  (func (export "div0") (result i32) i32.const 1 i32.const 0 i32.div_s)
  (func (export "overflow") (result i32) i32.const 0x80000000 i32.const -1 i32.div_s)
  (func (export "oob") (result i32) i32.const 65536 i32.load)
  (func (export "conv") (result i32) f32.const nan i32.trunc_f32_s)
  (func (export "null") i32.const 0 call_indirect (type $v))
  (func (export "table_oob") i32.const 5 call_indirect (type $v))
  (func (export "unreachable") unreachable))
"""


@pytest.mark.parametrize(
    "name,code",
    [
        ("div0", TrapCode.INTEGER_DIVISION_BY_ZERO),
        ("overflow", TrapCode.INTEGER_OVERFLOW),
        ("oob", TrapCode.MEMORY_OUT_OF_BOUNDS),
        ("conv", TrapCode.BAD_CONVERSION_TO_INTEGER),
        ("null", TrapCode.INDIRECT_CALL_TO_NULL),
        ("table_oob", TrapCode.TABLE_OUT_OF_BOUNDS),
        ("unreachable", TrapCode.UNREACHABLE),
    ],
)
def test_trap_codes_from_wasm(
    exports: Callable[..., Any], store: Store, name: str, code: TrapCode
) -> None:
    with pytest.raises(Trap) as info:
        exports(TRAPS_WAT)[name](store)
    assert info.value.trap_code is code
    assert "wasm trap" in info.value.message


def test_trap_through_host_function(store: Store, instantiate: Callable[..., Any]) -> None:
    # A trap raised in wasm below a host function surfaces as a Trap to the outermost caller.
    inner = instantiate('(module (func (export "boom") unreachable))').exports(store)["boom"]
    host = Func(store, FuncType([], []), lambda: inner(store))
    outer = instantiate('(module (import "" "h" (func $h)) (func (export "run") call $h))', [host])
    with pytest.raises(Trap) as info:
        outer.exports(store)["run"](store)
    assert info.value.trap_code == TrapCode.UNREACHABLE


# --------------------------------------------------------------------------------------------
# WasmtimeError / ExitTrap
# --------------------------------------------------------------------------------------------


def test_wasmtime_error() -> None:
    err = WasmtimeError("some message")
    assert isinstance(err, Exception)
    assert str(err) == "some message"
    with pytest.raises(WasmtimeError, match="^some message$"):
        raise err


def test_exit_trap_is_wasmtime_error() -> None:
    assert issubclass(ExitTrap, WasmtimeError)
    assert not issubclass(Trap, WasmtimeError)
    assert not issubclass(WasmtimeError, Trap)


def test_wasmtime_error_from_runtime_has_message(engine: Any) -> None:
    with pytest.raises(WasmtimeError) as info:
        Module(engine, b"\x00asm\x02\x00\x00\x00")
    assert "failed to parse WebAssembly module" in str(info.value)
    assert "Caused by:" in str(info.value)


PROC_EXIT_WAT = """
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") i32.const 3 call $exit))
"""


def test_exit_trap_from_wasi(store: Store) -> None:
    # Linker and WASI are other classes' territory; they are only the means to get a real exit.
    if not hasattr(wasmtime.Linker, "define_wasi"):
        pytest.skip("Linker.define_wasi lands with the WASI issue")
    linker = wasmtime.Linker(store.engine)
    linker.define_wasi()
    store.set_wasi(wasmtime.WasiConfig())
    inst = linker.instantiate(store, Module(store.engine, PROC_EXIT_WAT))
    with pytest.raises(ExitTrap) as info:
        inst.exports(store)["_start"](store)
    err = info.value
    assert isinstance(err, WasmtimeError)
    assert err.code == 3
    assert "Exited with i32 exit status 3" in str(err)


def test_trap_message_param_is_required() -> None:
    with pytest.raises(TypeError):
        Trap()  # type: ignore[call-arg]
