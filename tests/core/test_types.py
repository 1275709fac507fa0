"""ValType, FuncType, GlobalType, TableType, MemoryType, Limits, ImportType, ExportType."""

from __future__ import annotations

import pytest

from wasmtime import (
    Engine,
    ExportType,
    FuncType,
    GlobalType,
    ImportType,
    Limits,
    MemoryType,
    Module,
    TableType,
    ValType,
    WasmtimeError,
)

# --------------------------------------------------------------------------------------------
# ValType
# --------------------------------------------------------------------------------------------

VALTYPES = [
    (ValType.i32, "i32"),
    (ValType.i64, "i64"),
    (ValType.f32, "f32"),
    (ValType.f64, "f64"),
    (ValType.externref, "anyref"),
    (ValType.funcref, "funcref"),
]


@pytest.mark.parametrize("ctor,text", VALTYPES)
def test_valtype_str_and_repr(ctor, text: str) -> None:  # type: ignore[no-untyped-def]
    ty = ctor()
    assert isinstance(ty, ValType)
    assert str(ty) == text
    assert repr(ty) == text


def test_valtype_cannot_construct_directly() -> None:
    with pytest.raises(WasmtimeError) as exc:
        ValType()
    assert str(exc.value) == "cannot construct directly"


def test_valtype_equality() -> None:
    ctors = [c for c, _ in VALTYPES]
    for i, a in enumerate(ctors):
        for j, b in enumerate(ctors):
            assert (a() == b()) is (i == j)
            assert (a() != b()) is (i != j)


def test_valtype_compare_with_other_types() -> None:
    assert (ValType.i32() == "i32") is False
    assert (ValType.i32() == 0) is False
    assert (ValType.i32() == None) is False
    assert ValType.i32() != "i32"


def test_valtype_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(ValType.i32())


# --------------------------------------------------------------------------------------------
# FuncType
# --------------------------------------------------------------------------------------------


def test_functype_params_results() -> None:
    ty = FuncType(
        [ValType.i32(), ValType.f64(), ValType.externref()], [ValType.i64(), ValType.funcref()]
    )
    assert ty.params == [ValType.i32(), ValType.f64(), ValType.externref()]
    assert ty.results == [ValType.i64(), ValType.funcref()]
    assert isinstance(ty.params, list)
    assert isinstance(ty.results, list)
    assert [str(p) for p in ty.params] == ["i32", "f64", "anyref"]


def test_functype_empty() -> None:
    ty = FuncType([], [])
    assert ty.params == []
    assert ty.results == []


def test_functype_params_outlive_functype() -> None:
    ty = FuncType([ValType.i32()], [ValType.f32()])
    params = ty.params
    results = ty.results
    del ty
    assert str(params[0]) == "i32"
    assert str(results[0]) == "f32"


@pytest.mark.parametrize(
    "params,results",
    [([1], []), ([], ["i32"]), ([ValType.i32(), None], []), ([], [ValType.i32(), object()])],
)
def test_functype_rejects_non_valtype(params: list, results: list) -> None:
    with pytest.raises(TypeError, match="^expected ValType$"):
        FuncType(params, results)


# --------------------------------------------------------------------------------------------
# GlobalType
# --------------------------------------------------------------------------------------------


def test_globaltype() -> None:
    ty = GlobalType(ValType.f32(), True)
    assert ty.content == ValType.f32()
    assert ty.mutable is True
    ty = GlobalType(ValType.externref(), False)
    assert ty.content == ValType.externref()
    assert ty.mutable is False


@pytest.mark.parametrize(
    "flag,expected", [(1, True), (0, False), ("yes", True), ("", False), (None, False)]
)
def test_globaltype_mutable_truthiness(flag: object, expected: bool) -> None:
    assert GlobalType(ValType.i64(), flag).mutable is expected  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------


def test_limits_attributes() -> None:
    lim = Limits(1, 10)
    assert lim.min == 1
    assert lim.max == 10
    lim = Limits(0, None)
    assert lim.min == 0
    assert lim.max is None


def test_limits_equality() -> None:
    assert Limits(1, 2) == Limits(1, 2)
    assert Limits(1, None) == Limits(1, None)
    assert Limits(1, 2) != Limits(1, 3)
    assert Limits(1, 2) != Limits(0, 2)
    assert Limits(1, 2) != Limits(1, None)


def test_limits_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Limits(1, 2))


# --------------------------------------------------------------------------------------------
# TableType
# --------------------------------------------------------------------------------------------


def test_tabletype_funcref() -> None:
    ty = TableType(ValType.funcref(), Limits(1, 2))
    assert ty.element == ValType.funcref()
    assert ty.limits == Limits(1, 2)


def test_tabletype_externref_unbounded() -> None:
    ty = TableType(ValType.externref(), Limits(3, None))
    assert ty.element == ValType.externref()
    assert ty.limits.min == 3
    assert ty.limits.max is None


def test_tabletype_max_u32_reads_back_as_none() -> None:
    ty = TableType(ValType.funcref(), Limits(0, 0xFFFFFFFF))
    assert ty.limits == Limits(0, None)


def test_tabletype_requires_limits() -> None:
    with pytest.raises(TypeError, match="^expected Limits$"):
        TableType(ValType.funcref(), (1, 2))  # type: ignore[arg-type]


@pytest.mark.parametrize("ctor", [ValType.i32, ValType.i64, ValType.f32, ValType.f64])
def test_tabletype_non_reference_element(ctor) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(WasmtimeError) as exc:
        TableType(ctor(), Limits(1, None))
    assert str(exc.value) == "failed to allocate TableType"


# --------------------------------------------------------------------------------------------
# MemoryType
# --------------------------------------------------------------------------------------------


def test_memorytype_defaults() -> None:
    ty = MemoryType(Limits(1, None))
    assert ty.limits == Limits(1, None)
    assert ty.is_64 is False
    assert ty.is_shared is False
    assert ty.page_size == 65536
    assert ty.page_size_log2 == 16


def test_memorytype_with_max() -> None:
    ty = MemoryType(Limits(2, 7))
    assert ty.limits.min == 2
    assert ty.limits.max == 7


def test_memorytype_64() -> None:
    ty = MemoryType(Limits(2**32, 2**40), is_64=True)
    assert ty.is_64 is True
    assert ty.limits == Limits(2**32, 2**40)


def test_memorytype_shared() -> None:
    ty = MemoryType(Limits(1, 4), shared=True)
    assert ty.is_shared is True
    assert ty.limits == Limits(1, 4)


def test_memorytype_shared_requires_max() -> None:
    with pytest.raises(WasmtimeError, match="shared memories must have a maximum size"):
        MemoryType(Limits(1, None), shared=True)


def test_memorytype_custom_page_size() -> None:
    ty = MemoryType(Limits(10, None), page_size_log2=0)
    assert ty.page_size_log2 == 0
    assert ty.page_size == 1


def test_memorytype_minimum_too_large() -> None:
    with pytest.raises(WasmtimeError) as exc:
        MemoryType(Limits(2**32, None))
    assert str(exc.value) == "minimum size too large"
    with pytest.raises(WasmtimeError) as exc:
        MemoryType(Limits(2**64, None), is_64=True)
    assert str(exc.value) == "minimum size too large"


def test_memorytype_maximum_too_large() -> None:
    with pytest.raises(WasmtimeError) as exc:
        MemoryType(Limits(0, 2**32))
    assert str(exc.value) == "maximum size too large"
    with pytest.raises(WasmtimeError) as exc:
        MemoryType(Limits(0, 2**64), is_64=True)
    assert str(exc.value) == "maximum size too large"


def test_memorytype_bounds_just_below_limit() -> None:
    ty = MemoryType(Limits(0, 2**16))
    assert ty.limits.max == 2**16


def test_memorytype_requires_limits() -> None:
    with pytest.raises(TypeError):
        MemoryType(1)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# ImportType / ExportType
# --------------------------------------------------------------------------------------------


def test_importtype_and_exporttype(engine: Engine) -> None:
    module = Module(
        engine,
        """
        (module
          (import "a" "b" (func (param f64)))
          (func (export "c") (result externref) ref.null extern))
        """,
    )
    (imp,) = module.imports
    assert isinstance(imp, ImportType)
    assert imp.module == "a"
    assert imp.name == "b"
    assert isinstance(imp.type, FuncType)
    assert imp.type.params == [ValType.f64()]
    assert imp.type.results == []
    (exp,) = module.exports
    assert isinstance(exp, ExportType)
    assert exp.name == "c"
    assert isinstance(exp.type, FuncType)
    assert exp.type.results == [ValType.externref()]


def test_importtype_unicode_names(engine: Engine) -> None:
    module = Module(engine, '(module (import "módulo" "名前" (memory 1)))')
    (imp,) = module.imports
    assert imp.module == "módulo"
    assert imp.name == "名前"
    assert isinstance(imp.type, MemoryType)
