"""Type reflection (spec §3.4): component, module, instance and function types, value types."""

from __future__ import annotations

from typing import Any

import pytest

from wasmtime import (
    Config,
    Engine,
    ExportType,
    FuncType as CoreFuncType,
    GlobalType,
    ImportType,
    Managed,
    WasmtimeError,
)
from wasmtime.component import (
    F32,
    F64,
    S8,
    S16,
    S32,
    S64,
    U8,
    U16,
    U32,
    U64,
    Bool,
    BorrowType,
    Char,
    Component,
    ComponentInstanceType,
    ComponentType,
    EnumType,
    ErrorContext,
    FlagsType,
    FuncType,
    FutureType,
    ListType,
    ModuleType,
    OptionType,
    OwnType,
    Record,
    RecordType,
    ResultType,
    StreamType,
    String,
    TupleType,
    ValType,
    Variant,
    VariantType,
    _types,
)


def result_type(engine: Engine, wit: str) -> Any:
    """The result type of an imported function returning `wit` (which must be anonymous-safe)."""
    c = Component(engine, f'(component (import "f" (func (result {wit}))))')
    fty = c.type.imports(engine)["f"]
    assert isinstance(fty, FuncType)
    return fty.result


def named_type(engine: Engine, definition: str) -> Any:
    """The type `definition` (a record, variant, ...), imported under a name and returned."""
    c = Component(
        engine,
        f"""(component
            (type $d {definition})
            (import "t" (type $t (eq $d)))
            (import "f" (func (result $t))))""",
    )
    fty = c.type.imports(engine)["f"]
    assert isinstance(fty, FuncType)
    return fty.result


def test_component_type(engine: Engine) -> None:
    ty = Component(engine, "(component)").type
    assert isinstance(ty, ComponentType)
    assert isinstance(ty, Managed)
    assert ty.imports(engine) == {}
    assert ty.exports(engine) == {}

    ty = Component(
        engine,
        """(component
            (import "a" (core module $a))
            (import "b" (func))
            (export "g" (core module $a)))""",
    ).type
    imports = ty.imports(engine)
    assert list(imports) == ["a", "b"]
    assert isinstance(imports["a"], ModuleType)
    assert isinstance(imports["b"], FuncType)
    exports = ty.exports(engine)
    assert list(exports) == ["g"]
    assert isinstance(exports["g"], ModuleType)


def test_module_type(engine: Engine) -> None:
    c = Component(
        engine,
        """(component
            (import "m" (core module
                (import "b" "c" (func (param i32)))
                (export "d" (global i32)))))""",
    )
    mty = c.type.imports(engine)["m"]
    assert isinstance(mty, ModuleType)
    assert isinstance(mty, Managed)
    imports = mty.imports(engine)
    assert len(imports) == 1
    assert isinstance(imports[0], ImportType)
    assert (imports[0].module, imports[0].name) == ("b", "c")
    assert isinstance(imports[0].type, CoreFuncType)
    exports = mty.exports(engine)
    assert len(exports) == 1
    assert isinstance(exports[0], ExportType)
    assert exports[0].name == "d"
    assert isinstance(exports[0].type, GlobalType)


def test_instance_type(engine: Engine) -> None:
    ty = Component(
        engine,
        """(component
            (import "a" (instance
                (export "f" (func))
                (export "m" (core module))))
            (import "b" (instance)))""",
    ).type
    a = ty.imports(engine)["a"]
    b = ty.imports(engine)["b"]
    assert isinstance(a, ComponentInstanceType)
    assert isinstance(b, ComponentInstanceType)
    exports = a.exports(engine)
    assert list(exports) == ["f", "m"]
    assert isinstance(exports["f"], FuncType)
    assert isinstance(exports["m"], ModuleType)
    assert b.exports(engine) == {}


def test_func_type(engine: Engine) -> None:
    ty = Component(
        engine,
        """(component
            (import "a" (func))
            (import "b" (func (param "x" u32)))
            (import "c" (func (result string)))
            (import "d" (func (param "first" u8) (param "second-one" s64) (result f64))))""",
    ).type
    funcs = ty.imports(engine)
    assert funcs["a"].params == []
    assert funcs["a"].result is None
    assert funcs["b"].params == [("x", U32())]
    assert funcs["b"].result is None
    assert funcs["c"].params == []
    assert funcs["c"].result == String()
    assert funcs["d"].params == [("first", U8()), ("second-one", S64())]
    assert funcs["d"].result == F64()


@pytest.mark.parametrize(
    "cls", [ComponentType, ModuleType, ComponentInstanceType, FuncType, ListType, RecordType]
)
def test_types_cannot_be_constructed(cls: Any) -> None:
    with pytest.raises(WasmtimeError):
        cls()


@pytest.mark.parametrize(
    ("wit", "expected"),
    [
        ("bool", Bool()),
        ("u8", U8()),
        ("u16", U16()),
        ("u32", U32()),
        ("u64", U64()),
        ("s8", S8()),
        ("s16", S16()),
        ("s32", S32()),
        ("s64", S64()),
        ("f32", F32()),
        ("f64", F64()),
        ("char", Char()),
        ("string", String()),
    ],
)
def test_primitives(engine: Engine, wit: str, expected: ValType) -> None:
    ty = result_type(engine, wit)
    assert ty == expected
    assert type(ty) is type(expected)
    assert repr(ty) == type(expected).__name__ + "()"


def test_primitives_equal_by_class() -> None:
    assert U8() == U8()
    assert U8() != U16()
    assert U8() != S8()
    assert String() != Char()
    assert Bool() != 1


def test_list(engine: Engine) -> None:
    ty = result_type(engine, "(list u8)")
    assert isinstance(ty, ListType)
    assert isinstance(ty, ValType)
    assert isinstance(ty, Managed)
    assert ty.element == U8()
    assert ty == result_type(engine, "(list u8)")
    assert ty != result_type(engine, "(list u16)")
    assert ty != U8()
    nested = result_type(engine, "(list (list string))")
    assert isinstance(nested.element, ListType)
    assert nested.element.element == String()


def test_equality_holds_across_engines_and_components() -> None:
    a = result_type(Engine(), "(list (tuple u8 string))")
    b = result_type(Engine(), "(list (tuple u8 string))")
    assert a == b


def test_record(engine: Engine) -> None:
    ty = named_type(engine, '(record (field "a" u8) (field "b-c" f32))')
    assert isinstance(ty, RecordType)
    assert ty.fields == [("a", U8()), ("b-c", F32())]
    assert ty == named_type(engine, '(record (field "a" u8) (field "b-c" f32))')
    assert ty != named_type(engine, '(record (field "a" u8) (field "b-c" f64))')
    assert ty != named_type(engine, '(record (field "x" u8) (field "b-c" f32))')


def test_tuple(engine: Engine) -> None:
    ty = result_type(engine, "(tuple u8 f32)")
    assert isinstance(ty, TupleType)
    assert ty.elements == [U8(), F32()]
    assert ty == result_type(engine, "(tuple u8 f32)")
    assert ty != result_type(engine, "(tuple u8 f64)")


def test_variant(engine: Engine) -> None:
    ty = named_type(engine, '(variant (case "a") (case "b" f32))')
    assert isinstance(ty, VariantType)
    assert ty.cases == [("a", None), ("b", F32())]
    assert ty == named_type(engine, '(variant (case "a") (case "b" f32))')
    assert ty != named_type(engine, '(variant (case "a") (case "b" f64))')


def test_enum(engine: Engine) -> None:
    ty = named_type(engine, '(enum "a" "b" "c")')
    assert isinstance(ty, EnumType)
    assert ty.names == ["a", "b", "c"]
    assert ty.names_count == 3
    assert ty.name(0) == "a"
    assert ty.name(2) == "c"
    assert ty.name(3) is None
    assert ty == named_type(engine, '(enum "a" "b" "c")')
    assert ty != named_type(engine, '(enum "a" "b" "d")')


def test_option(engine: Engine) -> None:
    ty = result_type(engine, "(option u32)")
    assert isinstance(ty, OptionType)
    assert ty.payload == U32()
    assert ty == result_type(engine, "(option u32)")
    assert ty != result_type(engine, "(option u64)")


def test_result(engine: Engine) -> None:
    both = result_type(engine, "(result u32 (error f32))")
    assert isinstance(both, ResultType)
    assert (both.ok, both.err) == (U32(), F32())
    assert both == result_type(engine, "(result u32 (error f32))")
    err = result_type(engine, "(result (error f32))")
    assert (err.ok, err.err) == (None, F32())
    ok = result_type(engine, "(result u32)")
    assert (ok.ok, ok.err) == (U32(), None)
    empty = result_type(engine, "(result)")
    assert (empty.ok, empty.err) == (None, None)
    assert both != ok


def test_flags(engine: Engine) -> None:
    ty = named_type(engine, '(flags "a" "b" "c")')
    assert isinstance(ty, FlagsType)
    assert ty.names == ["a", "b", "c"]
    assert ty == named_type(engine, '(flags "a" "b" "c")')
    assert ty != named_type(engine, '(flags "a" "b" "d")')


def test_own_and_borrow(engine: Engine) -> None:
    c = Component(
        engine,
        """(component
            (import "r" (type $r (sub resource)))
            (import "f" (func (param "x" (borrow $r)) (result (own $r)))))""",
    )
    fty = c.type.imports(engine)["f"]
    [(name, param)] = fty.params
    assert name == "x"
    assert isinstance(param, BorrowType)
    assert isinstance(fty.result, OwnType)
    assert param.ty == fty.result.ty


def test_future_and_stream_need_concurrency_support(engine: Engine) -> None:
    # Off by default (faster synchronous calls): async types are refused at compile time.
    with pytest.raises(WasmtimeError):
        result_type(engine, "(future u32)")


@pytest.mark.parametrize("setting", ["concurrency_support", "wasm_component_model_async"])
def test_future_and_stream_are_reflected(setting: str) -> None:
    config = Config()
    setattr(config, setting, True)
    engine = Engine(config)
    fut = result_type(engine, "(future u32)")
    assert isinstance(fut, FutureType)
    assert fut.payload == U32()
    stream = result_type(engine, "(stream u8)")
    assert isinstance(stream, StreamType)
    assert stream.payload == U8()
    assert result_type(engine, "(future)").payload is None
    with pytest.raises(NotImplementedError):
        fut.add_classes(set())


def test_error_context_is_a_primitive() -> None:
    assert ErrorContext() == ErrorContext()
    assert repr(ErrorContext()) == "ErrorContext()"
    with pytest.raises(NotImplementedError):
        ErrorContext().add_classes(set())


def test_map_type_is_wrapped() -> None:
    # `map` is new in wasmtime 48; wasmtime-py has no class for it.
    config = Config()
    config.wasm_component_model_map = True
    engine = Engine(config)
    ty = result_type(engine, "(map string u32)")
    assert isinstance(ty, _types.MapType)
    assert ty == result_type(engine, "(map string u32)")
    assert ty != result_type(engine, "(map string u64)")


def test_closed_compound_type(engine: Engine) -> None:
    ty = result_type(engine, "(list u8)")
    ty.close()
    ty.close()
    with pytest.raises(ValueError):
        ty.element  # noqa: B018


def test_compound_type_repr(engine: Engine) -> None:
    assert repr(result_type(engine, "(list u8)")) == "ListType(U8())"
    assert repr(result_type(engine, "(option string)")) == "OptionType(String())"


# --- the tagged/untagged rule, as reflected by add_classes -------------------------------------


def classes(ty: ValType) -> set[type]:
    s: set[type] = set()
    ty.add_classes(s)
    return s


def test_variant_like_classes_share_add_classes() -> None:
    for cls in (VariantType, OptionType, ResultType):
        assert issubclass(cls, _types.VariantLikeType)
        assert cls.add_classes is _types.VariantLikeType.add_classes


@pytest.mark.parametrize(
    ("wit", "expected"),
    [
        ("bool", {bool}),
        ("u32", {int}),
        ("f64", {float}),
        ("char", {str}),
        ("string", {str}),
        ("(list u8)", {bytes}),
        ("(list u16)", {list}),
        ("(tuple u8)", {tuple}),
        ("(option u32)", {object, int}),
        ("(option (option u32))", {Variant}),
        ("(result u32 (error f32))", {int, float}),
        ("(result u32 (error u32))", {Variant}),
        ("(result)", {Variant}),
        ("(result u32)", {int, object}),
        ("(result string (error (list u8)))", {str, bytes}),
    ],
)
def test_add_classes(engine: Engine, wit: str, expected: set[type]) -> None:
    assert classes(result_type(engine, wit)) == expected


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ('(record (field "a" u8))', {Record}),
        ('(enum "a" "b")', {str}),
        ('(flags "a" "b")', {set}),
        ('(variant (case "a") (case "b"))', {Variant}),
        ('(variant (case "a" u32) (case "b" f32))', {int, float}),
        ('(variant (case "a") (case "b" f32))', {object, float}),
        ('(variant (case "a" u32) (case "b" u64))', {Variant}),
        ('(variant (case "a" string) (case "b" char))', {Variant}),
    ],
)
def test_add_classes_named(engine: Engine, definition: str, expected: set[type]) -> None:
    assert classes(named_type(engine, definition)) == expected


def test_native_conversion_methods_are_not_available(engine: Engine) -> None:
    for ty in (U8(), result_type(engine, "(list u8)")):
        with pytest.raises(NotImplementedError):
            ty.convert_to_c(None, 1, None)
        with pytest.raises(NotImplementedError):
            ty.convert_from_c(None)
