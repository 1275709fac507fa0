"""Component values both ways (spec §3.5), through the `roundtrip` forwarder component.

Each value goes Python -> guest (argument of `call`), guest -> Python (argument of the host
function), Python -> guest (the host's result) and guest -> Python (the result of `call`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from wasmtime import WasmtimeError
from wasmtime.component import Record, Variant

Make = Callable[[str, list[str]], Any]


def check(rt: Any, values: list[Any]) -> None:
    """Each value comes back equal, of the same class, and the host saw it equal too."""
    for value in values:
        result = rt(value)
        assert result == value
        assert type(result) is type(value)
        assert rt.seen[-1] == value


class Unrelated:
    pass


def rec(**fields: Any) -> Record:
    """A `Record` built the wasmtime-py way: no constructor arguments, then attributes."""
    r = Record()
    for name, value in fields.items():
        setattr(r, name, value)
    return r


# --- primitives -------------------------------------------------------------------------------


def test_bool(roundtrip: Make) -> None:
    rt = roundtrip("bool", ["i32"])
    check(rt, [True, False])
    for bad in (1, 0, None, "true"):
        with pytest.raises(TypeError):
            rt(bad)


@pytest.mark.parametrize(
    ("wit", "flat", "values"),
    [
        ("u8", "i32", [0, 1, 42, 255]),
        ("u16", "i32", [0, 1, 65535]),
        ("u32", "i32", [0, 1, 2**32 - 1]),
        ("u64", "i64", [0, 1, 2**64 - 1]),
        ("s8", "i32", [0, -1, 127, -128]),
        ("s16", "i32", [0, -1, 32767, -32768]),
        ("s32", "i32", [0, -1, 2**31 - 1, -(2**31)]),
        ("s64", "i64", [0, -1, 2**63 - 1, -(2**63)]),
    ],
)
def test_integers(roundtrip: Make, wit: str, flat: str, values: list[int]) -> None:
    rt = roundtrip(wit, [flat])
    check(rt, values)
    for bad in (1.0, "1", None, Unrelated()):
        with pytest.raises(TypeError):
            rt(bad)


def test_bool_is_accepted_as_an_integer(roundtrip: Make) -> None:
    rt = roundtrip("u32", ["i32"])
    assert rt(True) == 1
    assert type(rt(True)) is int


@pytest.mark.parametrize(
    ("wit", "flat", "given", "expected"),
    [
        ("u8", "i32", 300, 44),
        ("u8", "i32", -1, 255),
        ("u16", "i32", 65536 + 7, 7),
        ("s8", "i32", 200, -56),
        ("s8", "i32", 128, -128),
        ("u32", "i32", -1, 2**32 - 1),
        ("s32", "i32", 2**31, -(2**31)),
        ("u64", "i64", 2**64 + 5, 5),
        ("u64", "i64", -1, 2**64 - 1),
        ("s64", "i64", 2**63, -(2**63)),
    ],
)
def test_out_of_range_integers_wrap(
    roundtrip: Make, wit: str, flat: str, given: int, expected: int
) -> None:
    # wasmtime-py stores integers through ctypes, which truncates silently; so do we.
    rt = roundtrip(wit, [flat])
    assert rt(given) == expected
    assert rt.seen[-1] == expected


def test_host_result_out_of_range_wraps(roundtrip: Make) -> None:
    rt = roundtrip("u8", ["i32"])
    rt.host_result = lambda x: x + 256
    assert rt(3) == 3


@pytest.mark.parametrize(("wit", "flat"), [("f32", "f32"), ("f64", "f64")])
def test_floats(roundtrip: Make, wit: str, flat: str) -> None:
    rt = roundtrip(wit, [flat])
    check(rt, [0.0, 1.0, -1.5, math.inf, -math.inf])
    assert math.isnan(rt(math.nan))
    for bad in (1, True, "1.0", None):
        with pytest.raises(TypeError):
            rt(bad)


def test_f32_rounds(roundtrip: Make) -> None:
    rt = roundtrip("f32", ["f32"])
    assert rt(0.1) == 0.10000000149011612
    rt64 = roundtrip("f64", ["f64"])
    assert rt64(0.1) == 0.1


def test_char(roundtrip: Make) -> None:
    rt = roundtrip("char", ["i32"])
    check(rt, ["a", "é", "\u2603", "\U0001f600", "\0"])
    for bad in ("", "ab", 97, None, b"a"):
        with pytest.raises(TypeError):
            rt(bad)


def test_string(roundtrip: Make) -> None:
    rt = roundtrip("string", ["i32", "i32"])
    check(rt, ["", "a", "hello, world", "h\u00e9llo \u65e5\u672c \U0001f600", "nul\0inside"])
    check(rt, ["x" * 100_000])
    for bad in (b"abc", 1, None, ["a"]):
        with pytest.raises(TypeError):
            rt(bad)


# --- lists ------------------------------------------------------------------------------------


def test_list_u8_is_bytes(roundtrip: Make) -> None:
    rt = roundtrip("(list u8)", ["i32", "i32"])
    check(rt, [b"", b"a", b"\x00\xff" * 1000])
    for bad in (bytearray(b"ab"), [1, 2], memoryview(b"ab"), "ab", None):
        with pytest.raises(TypeError):
            rt(bad)


def test_list_u32(roundtrip: Make) -> None:
    rt = roundtrip("(list u32)", ["i32", "i32"])
    check(rt, [[], [1], [1, 2, 3, 2**32 - 1], list(range(10_000))])
    for bad in ((1, 2), b"ab", {1, 2}, None):
        with pytest.raises(TypeError):
            rt(bad)
    with pytest.raises(TypeError):
        rt([1, 2, "x"])


def test_list_of_strings(roundtrip: Make) -> None:
    rt = roundtrip("(list string)", ["i32", "i32"])
    check(rt, [[], ["a"], ["", "bc", "\U0001f600"]])


def test_list_of_lists(roundtrip: Make) -> None:
    rt = roundtrip("(list (list u16))", ["i32", "i32"])
    check(rt, [[], [[]], [[1, 2], [], [3]]])


# --- records and tuples -----------------------------------------------------------------------

POINT = '(record (field "x" u32) (field "ok" bool))'


@dataclass
class Point:
    x: int
    ok: bool


def test_record_from_any_object(roundtrip: Make) -> None:
    rt = roundtrip(POINT, ["i32", "i32"])
    result = rt(Point(3, True))
    assert isinstance(result, Record)
    assert result.x == 3
    assert result.ok is True
    assert isinstance(rt.seen[-1], Record)
    assert result == Point(3, True)


def test_record_from_record(roundtrip: Make) -> None:
    rt = roundtrip(POINT, ["i32", "i32"])
    value = Record()
    value.x = 7
    value.ok = False
    result = rt(value)
    assert result == value
    assert value == result
    assert vars(result) == {"x": 7, "ok": False}


def test_record_extra_attributes_are_ignored(roundtrip: Make) -> None:
    rt = roundtrip(POINT, ["i32", "i32"])
    value = Record()
    value.x = 1
    value.ok = True
    value.other = "ignored"
    assert vars(rt(value)) == {"x": 1, "ok": True}


def test_record_missing_field_raises_attribute_error(roundtrip: Make) -> None:
    rt = roundtrip(POINT, ["i32", "i32"])

    @dataclass
    class OnlyX:
        x: int

    with pytest.raises(AttributeError):
        rt(OnlyX(1))
    with pytest.raises(AttributeError):
        rt(Unrelated())


def test_record_field_of_wrong_type(roundtrip: Make) -> None:
    rt = roundtrip(POINT, ["i32", "i32"])
    with pytest.raises(TypeError):
        rt(Point(1, 1))  # type: ignore[arg-type]


def test_record_kebab_case_field_names(roundtrip: Make) -> None:
    rt = roundtrip(
        '(record (field "first-name" string) (field "tags" (list string)))',
        ["i32", "i32", "i32", "i32"],
    )
    value = Record()
    setattr(value, "first-name", "Ada")
    value.tags = ["a", "b"]
    result = rt(value)
    assert getattr(result, "first-name") == "Ada"
    assert result.tags == ["a", "b"]
    assert rt.seen[-1] == value


def test_nested_record(roundtrip: Make) -> None:
    wit = '(record (field "inner" (tuple u8 string)) (field "n" s64))'
    rt = roundtrip(wit, ["i32", "i32", "i32", "i64"])
    result = rt(rec(inner=(1, "one"), n=-5))
    assert result.inner == (1, "one")
    assert result.n == -5


def test_record_repr_and_equality() -> None:
    r = Record()
    r.a = 1
    r.b = "x"
    assert repr(r) == "Record(a=1, b='x')"
    assert rec(a=1, b="x") == r
    # wasmtime-py's equality looks at self's attributes only, so it is asymmetric.
    assert Record() == r
    assert r != Record()
    assert r != rec(a=1, b="y")


def test_record_keyword_constructor() -> None:
    # An extension: wasmtime-py's `Record()` takes no arguments.
    r = Record(a=1, b="x")
    assert vars(r) == {"a": 1, "b": "x"}


def test_tuple(roundtrip: Make) -> None:
    rt = roundtrip("(tuple u32 bool)", ["i32", "i32"])
    check(rt, [(0, False), (2**32 - 1, True)])
    for bad in ((1,), (1, True, 3), [1, True], None):
        with pytest.raises(TypeError):
            rt(bad)
    with pytest.raises(TypeError):
        rt((1, "x"))


def test_tuple_with_string(roundtrip: Make) -> None:
    rt = roundtrip("(tuple string f64)", ["i32", "i32", "f64"])
    check(rt, [("", 0.0), ("abc", 2.5)])


# --- enums and flags --------------------------------------------------------------------------


def test_enum(roundtrip: Make) -> None:
    rt = roundtrip('(enum "a" "b" "c")', ["i32"])
    check(rt, ["a", "b", "c"])
    with pytest.raises(WasmtimeError):
        rt("d")
    for bad in (0, None, b"a"):
        with pytest.raises(TypeError):
            rt(bad)


def test_flags(roundtrip: Make) -> None:
    rt = roundtrip('(flags "a" "b" "c")', ["i32"])
    check(rt, [set(), {"a"}, {"b", "c"}, {"a", "b", "c"}])
    with pytest.raises(WasmtimeError):
        rt({"d"})
    for bad in (frozenset({"a"}), ["a"], "a", None):
        with pytest.raises(TypeError):
            rt(bad)
    with pytest.raises(TypeError):
        rt({1})


def test_many_flags(roundtrip: Make) -> None:
    names = [f"f{i}" for i in range(32)]  # the component model's maximum
    rt = roundtrip("(flags " + " ".join(f'"{n}"' for n in names) + ")", ["i32"])
    check(rt, [set(), {"f0", "f31"}, set(names)])


# --- variants, options, results ---------------------------------------------------------------


def test_option_untagged(roundtrip: Make) -> None:
    rt = roundtrip("(option u32)", ["i32", "i32"])
    check(rt, [None, 0, 3])
    with pytest.raises(ValueError):
        rt("x")


def test_option_of_string(roundtrip: Make) -> None:
    rt = roundtrip("(option string)", ["i32", "i32", "i32"])
    check(rt, [None, "", "abc"])


def test_option_of_option_is_tagged(roundtrip: Make) -> None:
    rt = roundtrip("(option (option u32))", ["i32", "i32", "i32"])
    check(rt, [Variant("none"), Variant("some", None), Variant("some", 4)])
    with pytest.raises(TypeError):
        rt(4)
    with pytest.raises(ValueError):
        rt(Variant("other"))


def test_result_untagged(roundtrip: Make) -> None:
    rt = roundtrip("(result u32 (error f32))", ["i32", "i32"])
    check(rt, [3, 1.5])
    with pytest.raises(ValueError):
        rt("x")


def test_result_ok_only(roundtrip: Make) -> None:
    rt = roundtrip("(result u32)", ["i32", "i32"])
    check(rt, [3, None])
    with pytest.raises(ValueError):
        rt(1.5)


def test_result_err_only(roundtrip: Make) -> None:
    rt = roundtrip("(result (error string))", ["i32", "i32", "i32"])
    check(rt, [None, "boom"])


def test_result_same_classes_is_tagged(roundtrip: Make) -> None:
    rt = roundtrip("(result u32 (error u32))", ["i32", "i32"])
    check(rt, [Variant("ok", 1), Variant("err", 2)])
    with pytest.raises(TypeError):
        rt(1)


def test_result_without_payloads_is_tagged(roundtrip: Make) -> None:
    rt = roundtrip("(result)", ["i32"])
    check(rt, [Variant("ok"), Variant("err")])
    with pytest.raises(ValueError):
        rt(Variant("maybe"))


def test_variant_without_payloads_is_tagged(roundtrip: Make) -> None:
    rt = roundtrip('(variant (case "a") (case "b"))', ["i32"])
    check(rt, [Variant("a"), Variant("b")])
    with pytest.raises(ValueError):
        rt(Variant("c"))
    with pytest.raises(TypeError):
        rt("a")


def test_variant_untagged(roundtrip: Make) -> None:
    rt = roundtrip('(variant (case "a" u32) (case "b" f32))', ["i32", "i32"])
    check(rt, [1, 2.5])
    with pytest.raises(ValueError):
        rt("x")


def test_variant_untagged_with_empty_case(roundtrip: Make) -> None:
    rt = roundtrip('(variant (case "a") (case "b" f32))', ["i32", "f32"])
    check(rt, [None, 2.5])
    with pytest.raises(ValueError):
        rt(1)


def test_variant_tagged_with_payloads(roundtrip: Make) -> None:
    rt = roundtrip('(variant (case "a" u32) (case "b" u64))', ["i32", "i64"])
    check(rt, [Variant("a", 1), Variant("b", 2**40)])
    with pytest.raises(ValueError):
        rt(Variant("c", 1))


def test_variant_with_compound_cases(roundtrip: Make) -> None:
    wit = '(variant (case "t" (tuple u32 u32)) (case "l" (list u8)) (case "s" string))'
    rt = roundtrip(wit, ["i32", "i32", "i32"])
    check(rt, [(1, 2), b"abc", "text"])
    with pytest.raises(ValueError):
        rt([1, 2])


def test_variant_dataclass() -> None:
    assert Variant("a") == Variant("a", None)
    assert Variant("a", 1) != Variant("a", 2)
    assert repr(Variant("a", 1)) == "Variant(tag='a', payload=1)"


# --- host results -----------------------------------------------------------------------------


def test_host_result_of_wrong_type_raises(roundtrip: Make) -> None:
    rt = roundtrip("string", ["i32", "i32"])
    rt.host_result = lambda x: 42
    with pytest.raises(TypeError):
        rt("abc")


def test_host_result_converted(roundtrip: Make) -> None:
    rt = roundtrip("(list string)", ["i32", "i32"])
    rt.host_result = lambda x: [s.upper() for s in x] + ["end"]
    assert rt(["a", "b"]) == ["A", "B", "end"]
