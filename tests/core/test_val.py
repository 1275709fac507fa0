"""Val: constructors, wrapping, rounding, accessors, equality, and conversion at call sites."""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from wasmtime import Func, FuncType, Store, Val, ValType, WasmtimeError


def test_i32_value_and_type() -> None:
    v = Val.i32(7)
    assert v.value == 7
    assert v.as_i32() == 7
    assert v.type == ValType.i32()


@pytest.mark.parametrize(
    "given,expected",
    [
        (2**32, 0),
        (0xFFFFFFFF, -1),
        (2**31, -(2**31)),
        (-(2**31) - 1, 2**31 - 1),
        (2**32 + 5, 5),
        (True, 1),
    ],
)
def test_i32_wraps_to_signed(given: int, expected: int) -> None:
    assert Val.i32(given).value == expected
    assert Val.i32(given).as_i32() == expected


@pytest.mark.parametrize(
    "given,expected",
    [(2**63, -(2**63)), (2**64 - 1, -1), (2**64 + 3, 3), (-(2**63), -(2**63)), (123, 123)],
)
def test_i64_wraps_to_signed(given: int, expected: int) -> None:
    assert Val.i64(given).value == expected
    assert Val.i64(given).as_i64() == expected
    assert Val.i64(given).type == ValType.i64()


@pytest.mark.parametrize("bad", [1.0, "1", None, [1]])
def test_int_constructors_reject_non_int(bad: Any) -> None:
    with pytest.raises(TypeError, match="^expected an integer$"):
        Val.i32(bad)
    with pytest.raises(TypeError, match="^expected an integer$"):
        Val.i64(bad)


def test_f32_rounds() -> None:
    v = Val.f32(0.1)
    assert v.value == 0.10000000149011612
    assert v.as_f32() == 0.10000000149011612
    assert v.type == ValType.f32()
    assert Val.f32(1.5).value == 1.5
    assert Val.f32(1e40).value == math.inf


def test_f64_exact() -> None:
    v = Val.f64(0.1)
    assert v.value == 0.1
    assert v.as_f64() == 0.1
    assert v.type == ValType.f64()
    assert math.isnan(Val.f64(math.nan).value)


@pytest.mark.parametrize("bad", [1, True, "1.0", None])
def test_float_constructors_reject_non_float(bad: Any) -> None:
    with pytest.raises(TypeError, match="^expected a float$"):
        Val.f32(bad)
    with pytest.raises(TypeError, match="^expected a float$"):
        Val.f64(bad)


def test_externref_identity() -> None:
    obj = object()
    v = Val.externref(obj)
    assert v.value is obj
    assert v.as_externref() is obj
    assert v.type == ValType.externref()
    assert Val.externref(None).value is None


def test_funcref(store: Store) -> None:
    f = Func(store, FuncType([], [ValType.i32()]), lambda: 11)
    v = Val.funcref(f)
    assert v.type == ValType.funcref()
    got = v.as_funcref()
    assert isinstance(got, Func)
    assert got(store) == 11
    assert Val.funcref(None).value is None


def test_ref_null() -> None:
    e = Val.ref_null(ValType.externref())
    assert e.value is None
    assert e.type == ValType.externref()
    f = Val.ref_null(ValType.funcref())
    assert f.value is None
    assert f.type == ValType.funcref()


@pytest.mark.parametrize(
    "ctor,name",
    [(ValType.i32, "i32"), (ValType.i64, "i64"), (ValType.f32, "f32"), (ValType.f64, "f64")],
)
def test_ref_null_non_reference(ctor: Callable[[], ValType], name: str) -> None:
    with pytest.raises(WasmtimeError) as exc:
        Val.ref_null(ctor())
    assert str(exc.value) == f"Invalid reference type for `ref_null`: {name}"


def test_as_accessors_return_none_for_other_kinds() -> None:
    v = Val.i32(1)
    assert v.as_i64() is None
    assert v.as_f32() is None
    assert v.as_f64() is None
    assert v.as_externref() is None
    assert v.as_funcref() is None
    w = Val.f64(2.0)
    assert w.as_i32() is None
    assert w.as_f32() is None
    assert Val.externref("x").as_i32() is None


def test_equality() -> None:
    assert Val.i32(3) == Val.i32(3)
    assert Val.i32(3) != Val.i32(4)
    assert Val.i32(3) != Val.i64(3)
    assert Val.i32(3) == 3
    assert Val.i32(3) != 4
    assert Val.f64(0.5) == 0.5
    assert Val.f32(0.1) != 0.1
    obj = object()
    assert Val.externref(obj) == Val.externref(obj)


def test_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Val.i32(1))


# --------------------------------------------------------------------------------------------
# Conversion of arguments and results at a call
# --------------------------------------------------------------------------------------------


def identity(store: Store, ty: ValType) -> Func:
    return Func(store, FuncType([ty], [ty]), lambda x: x)


def test_call_wraps_i32_and_i64(store: Store) -> None:
    f32 = identity(store, ValType.i32())
    assert f32(store, 2**32 + 5) == 5
    assert f32(store, 0xFFFFFFFF) == -1
    assert f32(store, True) == 1
    f64 = identity(store, ValType.i64())
    assert f64(store, 2**63) == -(2**63)
    assert f64(store, -1) == -1


def test_call_rounds_f32(store: Store) -> None:
    f = identity(store, ValType.f32())
    assert f(store, 0.1) == 0.10000000149011612
    g = identity(store, ValType.f64())
    assert g(store, 0.1) == 0.1


def test_call_int_for_float_is_type_error(store: Store) -> None:
    with pytest.raises(TypeError):
        identity(store, ValType.f32())(store, 1)
    with pytest.raises(TypeError):
        identity(store, ValType.f64())(store, 1)


def test_call_bad_value_message(store: Store) -> None:
    with pytest.raises(TypeError) as exc:
        identity(store, ValType.i32())(store, "x")
    assert str(exc.value).startswith("don't know how to convert 'x' to")


def test_call_accepts_val_of_right_type(store: Store) -> None:
    assert identity(store, ValType.i32())(store, Val.i32(9)) == 9
    assert identity(store, ValType.f32())(store, Val.f32(2.5)) == 2.5


def test_call_rejects_val_of_wrong_type(store: Store) -> None:
    with pytest.raises(TypeError, match="^wrong type of `Val` provided$"):
        identity(store, ValType.i32())(store, Val.i64(9))
    with pytest.raises(TypeError, match="^wrong type of `Val` provided$"):
        identity(store, ValType.f64())(store, Val.f32(1.0))


def test_call_externref_accepts_anything(store: Store) -> None:
    f = identity(store, ValType.externref())
    for obj in [object(), 0, "", None, [1, 2], Val]:
        assert f(store, obj) is obj


def test_call_funcref(store: Store) -> None:
    f = identity(store, ValType.funcref())
    g = Func(store, FuncType([], [ValType.i64()]), lambda: 2**40)
    out = f(store, g)
    assert isinstance(out, Func)
    assert out(store) == 2**40
    assert f(store, None) is None
    with pytest.raises(TypeError):
        f(store, 5)


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------


def wrap(value: int, bits: int) -> int:
    half = 1 << (bits - 1)
    return ((value + half) % (1 << bits)) - half


@given(st.integers(-(2**80), 2**80))
@settings(max_examples=200, deadline=None)
def test_integer_wrapping_property(value: int) -> None:
    assert Val.i32(value).value == wrap(value, 32)
    assert Val.i64(value).value == wrap(value, 64)


@given(st.floats(min_value=-3.4e38, max_value=3.4e38, allow_nan=False))
@settings(max_examples=200, deadline=None)
def test_f32_rounding_property(value: float) -> None:
    expected = struct.unpack("<f", struct.pack("<f", value))[0]
    assert Val.f32(value).value == expected
    assert Val.f64(value).value == value


@functools.cache
def _identities() -> tuple[Store, Func, Func, Func]:
    store = Store()
    return (
        store,
        identity(store, ValType.i32()),
        identity(store, ValType.i64()),
        identity(store, ValType.f32()),
    )


@given(
    st.integers(-(2**70), 2**70), st.floats(min_value=-3.4e38, max_value=3.4e38, allow_nan=False)
)
@settings(max_examples=200, deadline=None)
def test_call_conversion_property(value: int, fvalue: float) -> None:
    store, i32, i64, f32 = _identities()
    assert i32(store, value) == wrap(value, 32)
    assert i64(store, value) == wrap(value, 64)
    assert f32(store, fvalue) == struct.unpack("<f", struct.pack("<f", fvalue))[0]
