"""Host functions: `host_fn`, `Function`, `CurrentPlugin`, `Val` and `ValType`.

Guests are our own WAT modules. They keep Extism conventions: data crosses as handles into
Extism memory, and the export `run` builds its output with the helpers of `HELPERS`:
`$emit` appends an i64 as 8 little-endian bytes, `$emit_block` appends the bytes of a block.
Tests decode that output to see exactly what the host function handed back to wasm.

Tests that need `extism__code-functions.wasm` (the python-sdk's own host-function plugin) skip
when the shared fixtures folder is absent.
"""

from __future__ import annotations

import json
import pickle
import struct
import threading
from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest

import extism
from extism import (
    Codec,
    CurrentPlugin,
    Function,
    Json,
    Memory,
    Pickle,
    Val,
    ValType,
    host_fn,
)
from extism.extism import (
    HOST_FN_REGISTRY,
    ExplicitFunction,
    TypeInferredFunction,
    _convert_value,
    _ExtismFunctionMetadata,
)

I32, I64, F32, F64 = ValType.I32, ValType.I64, ValType.F32, ValType.F64

# `within_deadline(fn, timeout=60.0)`, from conftest: fn(), or a test failure if it hangs.
Deadline = Callable[..., Any]

CODE_FUNCTIONS = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "fixtures"
    / "extism"
    / "extism__code-functions.wasm"
)

KERNEL_IMPORTS = """
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
"""

# $begin allocates a 64 KiB output block; $emit and $emit_block append to it; $end makes it the
# output and returns 0.
HELPERS = """
  (global $buf (mut i64) (i64.const 0))
  (global $pos (mut i64) (i64.const 0))
  (func $begin
    (global.set $buf (call $alloc (i64.const 65536)))
    (global.set $pos (i64.const 0)))
  (func $emit (param $v i64)
    (call $store_u64 (i64.add (global.get $buf) (global.get $pos)) (local.get $v))
    (global.set $pos (i64.add (global.get $pos) (i64.const 8))))
  (func $emit_block (param $h i64) (local $i i64) (local $n i64)
    (local.set $n (call $length (local.get $h)))
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
        (call $store_u8
          (i64.add (global.get $buf) (i64.add (global.get $pos) (local.get $i)))
          (call $load_u8 (i64.add (local.get $h) (local.get $i))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (global.set $pos (i64.add (global.get $pos) (local.get $n))))
  (func $end (result i32)
    (call $output_set (global.get $buf) (global.get $pos))
    (i32.const 0))
"""


def guest(imports: str, body: str, local_decls: str = "") -> bytes:
    """A WAT module importing `imports` whose export `run` runs `body` between $begin and
    $end."""
    return (
        f"(module {imports} {KERNEL_IMPORTS} {HELPERS}"
        f' (func (export "run") (result i32) {local_decls} (call $begin) {body} (call $end)))'
    ).encode()


def block_guest(name: str = "f", namespace: str = "extism:host/user") -> bytes:
    """`run` passes the input's handle to `namespace::name` (i64 -> i64) and outputs the block
    whose handle it returns."""
    return guest(
        f'(import "{namespace}" "{name}" (func $f (param i64) (result i64)))',
        "(call $emit_block (call $f (call $input_offset)))",
    )


def f64_bits(x: float) -> bytes:
    return struct.pack("<d", x)


@dataclass
class Point:
    x: int
    y: int


class Gribble:
    def __init__(self, v: str) -> None:
        self.v = v

    def frobbitz(self) -> str:
        return "gromble " + self.v


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def _restore_host_fn_registry() -> Iterator[None]:
    # `host_fn` appends to the process-wide registry (the default `functions` of every plugin);
    # each test starts from, and leaves, the registry it found.
    saved = list(HOST_FN_REGISTRY)
    yield
    HOST_FN_REGISTRY[:] = saved


# -------------------------------------------------------------------------------------------------
# ValType and Val
# -------------------------------------------------------------------------------------------------


def test_valtype_i64_is_an_alias_of_ptr() -> None:
    assert ValType.I64 is ValType.PTR
    assert ValType.I64.name == "PTR"
    assert ValType.I64.value == 1
    assert repr(ValType.I64) == "<ValType.PTR: 1>"


def test_valtype_has_seven_members_in_code_order() -> None:
    members = list(ValType)
    assert len(members) == 7
    assert [(t.name, t.value) for t in members] == [
        ("I32", 0),
        ("PTR", 1),
        ("F32", 2),
        ("F64", 3),
        ("V128", 4),
        ("FUNC_REF", 5),
        ("EXTERN_REF", 6),
    ]
    assert ValType(3) is ValType.F64


def test_val_attributes_and_repr() -> None:
    v = Val(ValType.I64, 5)
    assert v.t is ValType.PTR
    assert v.value == 5
    assert repr(v) == "Val(ValType.PTR, 5)"
    assert repr(Val(ValType.F64, 2.5)) == "Val(ValType.F64, 2.5)"
    assert repr(Val(ValType.I32, -1)) == "Val(ValType.I32, -1)"
    v.value = 9
    assert repr(v) == "Val(ValType.PTR, 9)"


def test_convert_value_from_a_tagged_c_value() -> None:
    payload = namedtuple("payload", ["f64"])
    extism_val = namedtuple("extism_val", ["t", "v"])
    val = _convert_value(extism_val(t=3, v=payload(f64=3.14)))
    assert val.t is ValType.F64
    assert val.value == 3.14


# -------------------------------------------------------------------------------------------------
# Explicit signatures
# -------------------------------------------------------------------------------------------------


def test_explicit_signature_gets_current_plugin_param_vals_and_prefilled_results() -> None:
    seen: dict[str, Any] = {}

    @host_fn(name="f", signature=([I64], [I64]))
    def reverse(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        seen["plugin"] = plugin
        seen["params"] = [(p.t, p.value) for p in params]
        seen["results"] = [(r.t, r.value) for r in results]
        plugin.return_string(results[0], plugin.input_string(params[0])[::-1])

    assert isinstance(reverse, ExplicitFunction)
    plugin = extism.Plugin(block_guest(), functions=[reverse])
    assert plugin.call("run", "stressed") == b"desserts"
    assert isinstance(seen["plugin"], CurrentPlugin)
    [(param_type, handle)] = seen["params"]
    assert param_type is I64
    assert handle > 0
    assert seen["results"] == [(I64, 0)]


def test_explicit_signature_all_four_number_types_in_and_out() -> None:
    seen: list[tuple[ValType, int | float]] = []

    @host_fn(name="nums", signature=([I32, I64, F32, F64], [I32, I64, F32, F64]))
    def nums(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        seen.extend((p.t, p.value) for p in params)
        i, n, s, d = (p.value for p in params)
        results[0].value = i + 1
        results[1].value = n * 2
        results[2].value = s * 2
        results[3].value = d + 0.25

    plugin = extism.Plugin(
        guest(
            '(import "extism:host/user" "nums"'
            " (func $nums (param i32 i64 f32 f64) (result i32 i64 f32 f64)))",
            """(call $nums (i32.const -7) (i64.const -9000000000) (f32.const 1.5)
                 (f64.const 101.5))
               (local.set $d) (local.set $s) (local.set $n) (local.set $i)
               (call $emit (i64.extend_i32_s (local.get $i)))
               (call $emit (local.get $n))
               (call $emit (i64.reinterpret_f64 (f64.promote_f32 (local.get $s))))
               (call $emit (i64.reinterpret_f64 (local.get $d)))""",
            "(local $i i32) (local $n i64) (local $s f32) (local $d f64)",
        ),
        functions=[nums],
    )
    output = plugin.call("run", b"")
    assert struct.unpack("<qqdd", output) == (-6, -18_000_000_000, 3.0, 101.75)
    assert seen == [(I32, -7), (I64, -9_000_000_000), (F32, 1.5), (F64, 101.5)]
    assert all(isinstance(v, float) for t, v in seen if t in (F32, F64))


def test_explicit_result_replaced_by_a_val_of_the_declared_type() -> None:
    @host_fn(name="pi", signature=([], [F64]))
    def pi(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        results[0] = Val(ValType.F64, 3.5)

    plugin = extism.Plugin(
        guest(
            '(import "extism:host/user" "pi" (func $pi (result f64)))',
            "(call $emit (i64.reinterpret_f64 (call $pi)))",
        ),
        functions=[pi],
    )
    assert plugin.call("run", b"") == f64_bits(3.5)


def test_explicit_result_of_the_wrong_type_is_an_error() -> None:
    @host_fn(name="f", signature=([I64], [I64]))
    def wrong(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        results[0] = Val(ValType.F64, 1.0)

    plugin = extism.Plugin(block_guest(), functions=[wrong])
    with pytest.raises(extism.Error):
        plugin.call("run", b"abc")


def test_explicit_signature_mismatching_the_import_fails_to_link() -> None:
    @host_fn(name="f", signature=([I32], [I64]))
    def f(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        results[0].value = 0

    with pytest.raises(extism.Error, match="incompatible"):
        extism.Plugin(block_guest(), functions=[f])


def test_explicit_function_object_calls_the_decorated_function() -> None:
    @host_fn(signature=([I64], [I64]))
    def doubled(plugin: Any, params: list[Val], results: list[Val]) -> str:
        return "direct"

    assert doubled.name == "doubled"
    assert doubled(None, [], []) == "direct"


# -------------------------------------------------------------------------------------------------
# Inference from annotations
# -------------------------------------------------------------------------------------------------


def test_inferred_str_param_and_return() -> None:
    @host_fn(name="f")
    def shout(text: str) -> str:
        return text.upper() + "!"

    assert isinstance(shout, TypeInferredFunction)
    assert shout.args == [ValType.I64.value]
    assert shout.returns == [ValType.I64.value]
    plugin = extism.Plugin(block_guest(), functions=[shout])
    assert plugin.call("run", "héllo wörld") == "HÉLLO WÖRLD!".encode()


def test_inferred_bytes_param_and_return() -> None:
    @host_fn(name="f")
    def reverse(data: bytes) -> bytes:
        assert isinstance(data, bytes)
        return data[::-1]

    plugin = extism.Plugin(block_guest(), functions=[reverse])
    data = bytes(range(256)) + b"\0\0tail"
    assert plugin.call("run", data) == data[::-1]


def test_inferred_int_float_bool_params_are_raw_values() -> None:
    seen: list[tuple[Any, Any, Any]] = []

    @host_fn()
    def take(n: int, x: float, flag: bool):  # no return annotation: no results
        seen.append((n, x, flag))

    assert take.args == [I64.value, F64.value, I32.value]
    assert take.returns == []
    imports = '(import "extism:host/user" "take" (func $take (param i64 f64 i32)))'
    plugin = extism.Plugin(
        guest(
            imports,
            """(call $take (i64.const -5) (f64.const 2.25) (i32.const 1))
               (call $take (i64.const 9000000000) (f64.const -0.5) (i32.const 0))""",
        ),
        functions=[take],
    )
    assert plugin.call("run", b"") == b""
    assert seen == [(-5, 2.25, True), (9_000_000_000, -0.5, False)]
    assert isinstance(seen[0][1], float)


def test_inferred_int_return_is_a_handle_to_8_little_endian_bytes() -> None:
    @host_fn()
    def answer() -> int:
        return 7

    assert answer.returns == [I64.value]
    plugin = extism.Plugin(
        guest(
            '(import "extism:host/user" "answer" (func $answer (result i64)))',
            "(call $emit_block (call $answer))",
        ),
        functions=[answer],
    )
    assert plugin.call("run", b"") == (7).to_bytes(8, "little")


def test_inferred_float_return_is_an_f64_value() -> None:
    @host_fn()
    def ratio() -> float:
        return 101.5

    assert ratio.returns == [F64.value]
    plugin = extism.Plugin(
        guest(
            '(import "extism:host/user" "ratio" (func $ratio (result f64)))',
            "(call $emit (i64.reinterpret_f64 (call $ratio)))",
        ),
        functions=[ratio],
    )
    assert plugin.call("run", b"") == f64_bits(101.5)


@pytest.mark.parametrize(("value", "block"), [(True, b"\1\0\0\0"), (False, b"\0\0\0\0")])
def test_inferred_bool_return_is_an_i32_handle_to_4_bytes(value: bool, block: bytes) -> None:
    @host_fn()
    def truth() -> bool:
        return value

    assert truth.returns == [I32.value]
    plugin = extism.Plugin(
        guest(
            '(import "extism:host/user" "truth" (func $truth (result i32)))',
            "(call $emit_block (i64.extend_i32_u (call $truth)))",
        ),
        functions=[truth],
    )
    assert plugin.call("run", b"") == block


def test_inferred_json_param_and_return() -> None:
    @host_fn(name="f")
    def add(request: Annotated[dict, Json]) -> Annotated[dict, Json]:
        return {"sum": request["a"] + request["b"], "keys": sorted(request)}

    plugin = extism.Plugin(block_guest(), functions=[add])
    output = plugin.call("run", json.dumps({"b": 40, "a": 2}))
    assert json.loads(output) == {"sum": 42, "keys": ["a", "b"]}


def test_inferred_pickle_param_and_return() -> None:
    @host_fn(name="f")
    def scale(point: Annotated[Point, Pickle]) -> Annotated[Point, Pickle]:
        return Point(point.x * 10, point.y * 10)

    plugin = extism.Plugin(block_guest(), functions=[scale])
    result = plugin.call("run", pickle.dumps(Point(1, -2)), parse=pickle.loads)
    assert result == Point(10, -20)


def test_inferred_codec_param_and_return() -> None:
    @host_fn(name="f")
    def greet(
        text: Annotated[str, Codec(lambda data: data.decode("shift_jis"))],
    ) -> Annotated[str, Codec(lambda s: s.encode("utf-16-le"))]:
        return text + "!"

    plugin = extism.Plugin(block_guest(), functions=[greet])
    output = plugin.call("run", "こんにちは".encode("shift_jis"))
    assert output == "こんにちは!".encode("utf-16-le")


def test_inferred_tuple_return_expands_to_each_members_results() -> None:
    @host_fn()
    def pair(text: str) -> tuple[str, float]:
        return text * 2, 0.5

    assert pair.returns == [I64.value, F64.value]
    plugin = extism.Plugin(
        guest(
            '(import "extism:host/user" "pair" (func $pair (param i64) (result i64 f64)))',
            """(call $pair (call $input_offset))
               (local.set $d) (local.set $h)
               (call $emit_block (local.get $h))
               (call $emit (i64.reinterpret_f64 (local.get $d)))""",
            "(local $h i64) (local $d f64)",
        ),
        functions=[pair],
    )
    assert plugin.call("run", "ab") == b"abab" + f64_bits(0.5)


def test_inferred_tuple_of_int_and_json_return() -> None:
    @host_fn()
    def many() -> tuple[int, Annotated[dict, Json]]:
        return 32, {"hello": "world"}

    assert many.returns == [I64.value, I64.value]
    plugin = extism.Plugin(
        guest(
            '(import "extism:host/user" "many" (func $many (result i64 i64)))',
            """(call $many) (local.set $b) (local.set $a)
               (call $emit_block (local.get $a))
               (call $emit_block (local.get $b))""",
            "(local $a i64) (local $b i64)",
        ),
        functions=[many],
    )
    output = plugin.call("run", b"")
    assert output[:8] == (32).to_bytes(8, "little")
    assert json.loads(output[8:]) == {"hello": "world"}


def test_inferred_none_return_means_no_results() -> None:
    seen: list[str] = []

    @host_fn()
    def ping(text: str) -> None:
        seen.append(text)

    assert ping.returns == []
    plugin = extism.Plugin(
        guest(
            '(import "extism:host/user" "ping" (func $ping (param i64)))',
            "(call $ping (call $input_offset)) (call $ping (call $input_offset))",
        ),
        functions=[ping],
    )
    assert plugin.call("run", "pong") == b""
    assert seen == ["pong", "pong"]


def test_inferred_current_plugin_first_param_is_not_a_wasm_param() -> None:
    seen: list[Any] = []

    @host_fn(name="f")
    def with_plugin(plugin: CurrentPlugin, text: str) -> str:
        seen.append(plugin)
        return f"{text}:{plugin.host_context()}"

    assert with_plugin.args == [I64.value]
    plugin = extism.Plugin(block_guest(), functions=[with_plugin])
    assert plugin.call("run", "abc", host_context="ctx") == b"abc:ctx"
    assert plugin.call("run", "abc") == b"abc:None"
    assert all(isinstance(p, CurrentPlugin) for p in seen)


def test_inferred_function_without_annotations_is_a_type_error() -> None:
    def bare(x, y):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(TypeError) as exc:
        host_fn()(bare)
    assert str(exc.value) == (
        "Host function must include Python type annotations or explicitly list arguments."
    )


def test_inferred_unsupported_param_type_is_a_type_error() -> None:
    def f(items: list) -> str:  # type: ignore[type-arg]
        return ""

    with pytest.raises(TypeError) as exc:
        host_fn()(f)
    assert str(exc.value) == "Could not infer input type for argument items"


def test_inferred_unsupported_return_type_is_a_type_error() -> None:
    def f(text: str) -> list:  # type: ignore[type-arg]
        return []

    with pytest.raises(TypeError) as exc:
        host_fn()(f)
    assert str(exc.value) == "Could not infer return type"


# -------------------------------------------------------------------------------------------------
# user_data
# -------------------------------------------------------------------------------------------------


def test_explicit_user_data_bytes_is_one_extra_argument() -> None:
    seen: list[tuple[Any, ...]] = []

    @host_fn(name="f", signature=([I64], [I64]), user_data=b"tail")
    def f(plugin: CurrentPlugin, params: list[Val], results: list[Val], *user_data: Any) -> None:
        seen.append(user_data)
        plugin.return_bytes(results[0], plugin.input_bytes(params[0]) + user_data[0])

    plugin = extism.Plugin(block_guest(), functions=[f])
    assert plugin.call("run", "head-") == b"head-tail"
    assert seen == [(b"tail",)]


def test_explicit_user_data_list_items_are_separate_arguments_of_any_type() -> None:
    marker = object()
    seen: list[tuple[Any, ...]] = []

    @host_fn(name="f", signature=([I64], [I64]), user_data=[b"a", marker])
    def f(plugin: CurrentPlugin, params: list[Val], results: list[Val], *user_data: Any) -> None:
        seen.append(user_data)
        results[0].value = params[0].value

    plugin = extism.Plugin(block_guest(), functions=[f])
    assert plugin.call("run", "same") == b"same"
    assert len(seen) == 1
    assert seen[0][0] == b"a"
    assert seen[0][1] is marker


def test_inferred_user_data_follows_the_mapped_arguments() -> None:
    @host_fn(name="f", user_data=b"test")
    def f(text: str, *user_data: bytes) -> str:
        return f"{text} {user_data[0].decode()}"

    plugin = extism.Plugin(block_guest(), functions=[f])
    assert plugin.call("run", "this is a") == b"this is a test"


# -------------------------------------------------------------------------------------------------
# Function, the low-level form
# -------------------------------------------------------------------------------------------------


def test_function_reference_form_with_namespace_and_user_data() -> None:
    seen: list[tuple[Any, ...]] = []

    def impl(plugin: CurrentPlugin, params: list[Val], results: list[Val], *user_data: Any) -> None:
        seen.append(user_data)
        plugin.return_string(results[0], plugin.input_string(params[0]) + "@my:ns")

    fn = Function("my:ns", "f", [ValType.I64], [ValType.I64], impl, b"u1", b"u2")
    assert fn.namespace == "my:ns"
    assert fn.name == "f"
    assert fn.args == [1]
    assert fn.returns == [1]
    assert fn.f is impl
    assert list(fn.user_data) == [b"u1", b"u2"]
    plugin = extism.Plugin(block_guest(namespace="my:ns"), functions=[fn])
    assert plugin.call("run", "x") == b"x@my:ns"
    assert seen == [(b"u1", b"u2")]


def test_function_seed_form_without_namespace_links_under_extism_host_user() -> None:
    seen: list[tuple[Any, ...]] = []

    def impl(plugin: CurrentPlugin, params: list[Val], results: list[Val], *user_data: Any) -> None:
        seen.append(user_data)
        plugin.return_string(results[0], "seed form")

    fn = Function("f", [ValType.I64], [ValType.I64], impl, b"data")
    assert fn.namespace is None
    assert fn.name == "f"
    assert fn.args == [1]
    assert fn.returns == [1]
    assert list(fn.user_data) == [b"data"]
    plugin = extism.Plugin(block_guest(), functions=[fn])
    assert plugin.call("run", "x") == b"seed form"
    assert seen == [(b"data",)]


def test_function_with_none_namespace_is_extism_host_user() -> None:
    def impl(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        results[0].value = params[0].value

    fn = Function(None, "f", [ValType.I64], [ValType.I64], impl)
    plugin = extism.Plugin(block_guest(), functions=[fn])
    assert plugin.call("run", "echo") == b"echo"


def test_extism_function_metadata_del_releases_the_pointer() -> None:
    def f(text: str) -> str:
        return text

    metadata = _ExtismFunctionMetadata(TypeInferredFunction(None, "test_func", f, []))
    assert metadata.pointer is not None
    metadata.__del__()
    assert metadata.pointer is None


# -------------------------------------------------------------------------------------------------
# Namespaces, the registry and duplicates
# -------------------------------------------------------------------------------------------------


def test_host_fn_default_namespace_is_extism_host_user() -> None:
    @host_fn(name="f")
    def f(text: str) -> str:
        return "user:" + text

    assert f.namespace is None
    plugin = extism.Plugin(block_guest(namespace="extism:host/user"), functions=[f])
    assert plugin.call("run", "x") == b"user:x"
    # The seed document's "env" default does not apply.
    with pytest.raises(extism.Error, match="env::f"):
        extism.Plugin(block_guest(namespace="env"), functions=[f])


def test_host_fn_custom_namespace() -> None:
    @host_fn(name="hello_world", namespace="example")
    def hello(text: str) -> str:
        return "example:" + text

    @host_fn(name="hello_world")
    def default_hello(text: str) -> str:
        return "default:" + text

    with pytest.raises(extism.Error, match="example::hello_world"):
        extism.Plugin(block_guest("hello_world", "example"), functions=[default_hello])
    plugin = extism.Plugin(block_guest("hello_world", "example"), functions=[hello, default_hello])
    assert plugin.call("run", "x") == b"example:x"


def test_same_name_in_two_namespaces_are_two_functions() -> None:
    @host_fn(name="f", namespace="a")
    def in_a(text: str) -> str:
        return "A" + text

    @host_fn(name="f", namespace="b")
    def in_b(text: str) -> str:
        return "B" + text

    plugin = extism.Plugin(
        guest(
            """(import "a" "f" (func $a (param i64) (result i64)))
               (import "b" "f" (func $b (param i64) (result i64)))""",
            """(call $emit_block (call $a (call $input_offset)))
               (call $emit_block (call $b (call $input_offset)))""",
        ),
        functions=[in_a, in_b],
    )
    assert plugin.call("run", "x") == b"AxBx"


def test_host_fn_registry_is_the_default_functions() -> None:
    @host_fn(name="registry_probe")
    def probe(text: str) -> str:
        return "registry:" + text

    assert HOST_FN_REGISTRY[-1] is probe
    assert isinstance(probe, Function)
    plugin = extism.Plugin(block_guest("registry_probe"))
    assert plugin.call("run", "x") == b"registry:x"
    compiled = extism.extism.CompiledPlugin(block_guest("registry_probe"))
    assert extism.Plugin(compiled).call("run", "y") == b"registry:y"
    for empty in ([], None):
        with pytest.raises(extism.Error, match="registry_probe"):
            extism.Plugin(block_guest("registry_probe"), functions=empty)


def test_duplicate_namespace_and_name_last_wins() -> None:
    def first(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        plugin.return_string(results[0], "first")

    def second(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        plugin.return_string(results[0], "second")

    functions = [
        Function("extism:host/user", "f", [I64], [I64], first),
        Function(None, "f", [I64], [I64], second),
    ]
    assert extism.Plugin(block_guest(), functions=functions).call("run", b"") == b"second"
    functions.reverse()
    assert extism.Plugin(block_guest(), functions=functions).call("run", b"") == b"first"


def test_duplicate_registrations_last_wins_with_the_default_registry() -> None:
    @host_fn(name="dup_probe")
    def older(text: str) -> str:
        return "older"

    @host_fn(name="dup_probe")
    def newer(text: str) -> str:
        return "newer"

    assert extism.Plugin(block_guest("dup_probe")).call("run", b"x") == b"newer"


# -------------------------------------------------------------------------------------------------
# CurrentPlugin
# -------------------------------------------------------------------------------------------------


def test_current_plugin_memory_api() -> None:
    checks: dict[str, Any] = {}

    @host_fn(name="f", signature=([I64], [I64]))
    def f(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        given = plugin.memory_at_offset(params[0])
        checks["given"] = (given.offset == params[0].value, given.length, len(given))
        checks["given_by_int"] = plugin.memory_at_offset(params[0].value).length
        checks["input_bytes"] = plugin.input_bytes(params[0])
        checks["input_string"] = plugin.input_string(params[0])
        checks["view"] = bytes(plugin.memory(given))

        block = plugin.alloc(5)
        checks["alloc"] = (block.offset > 0, block.length, len(block))
        view = plugin.memory(block)
        view[:] = b"hello"
        view[1:3] = b"EL"
        checks["view_len"] = len(view)
        checks["readback"] = bytes(plugin.memory(block))
        checks["at_offset"] = plugin.memory_at_offset(block.offset).length
        plugin.free(block)
        checks["after_free"] = plugin.memory_at_offset(block.offset).length
        empty = plugin.alloc(0)
        checks["alloc0"] = (empty.offset, empty.length)
        checks["not_a_block"] = plugin.memory_at_offset(3).length
        checks["null"] = plugin.memory_at_offset(0).length

        out = plugin.alloc(3)
        plugin.memory(out)[:] = b"out"
        results[0].value = out.offset

    plugin = extism.Plugin(block_guest(), functions=[f])
    assert plugin.call("run", "input ünï") == b"out"
    assert checks == {
        "given": (True, len("input ünï".encode()), len("input ünï".encode())),
        "given_by_int": len("input ünï".encode()),
        "input_bytes": "input ünï".encode(),
        "input_string": "input ünï",
        "view": "input ünï".encode(),
        "alloc": (True, 5, 5),
        "view_len": 5,
        "readback": b"hELlo",
        "at_offset": 5,
        "after_free": 0,
        "alloc0": (0, 0),
        "not_a_block": 0,
        "null": 0,
    }


def test_current_plugin_return_bytes_and_return_string() -> None:
    @host_fn(name="bytes_out", signature=([I64], [I64]))
    def bytes_out(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        plugin.return_bytes(results[0], b"\x00\xffraw")

    @host_fn(name="str_out", signature=([I64], [I64]))
    def str_out(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        plugin.return_string(results[0], "žluť")

    @host_fn(name="empty_out", signature=([I64], [I64]))
    def empty_out(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        plugin.return_bytes(results[0], b"")
        assert results[0].value == 0

    plugin = extism.Plugin(
        guest(
            """(import "extism:host/user" "bytes_out" (func $a (param i64) (result i64)))
               (import "extism:host/user" "str_out" (func $b (param i64) (result i64)))
               (import "extism:host/user" "empty_out" (func $c (param i64) (result i64)))""",
            """(call $emit (call $c (i64.const 0)))
               (call $emit_block (call $a (i64.const 0)))
               (call $emit_block (call $b (i64.const 0)))""",
        ),
        functions=[bytes_out, str_out, empty_out],
    )
    assert plugin.call("run", b"") == bytes(8) + b"\x00\xffraw" + "žluť".encode()


def test_current_plugin_host_context_is_the_same_object() -> None:
    context = {"calls": 0}
    seen: list[Any] = []

    @host_fn(name="f", signature=([I64], [I64]))
    def f(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        ctx = plugin.host_context()
        seen.append(ctx)
        if ctx is not None:
            ctx["calls"] += 1
        results[0].value = params[0].value

    plugin = extism.Plugin(block_guest(), functions=[f])
    plugin.call("run", "a", host_context=context)
    plugin.call("run", "b")
    plugin.call("run", "c", host_context=context)
    assert seen == [context, None, context]
    assert seen[0] is context
    assert context["calls"] == 2


def test_current_plugin_memory_out_of_bounds_raises_and_the_call_goes_on() -> None:
    errors: list[BaseException] = []

    @host_fn(name="f", signature=([I64], [I64]))
    def f(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        given = plugin.memory_at_offset(params[0])
        attempts = [
            lambda: bytes(plugin.memory(Memory(1 << 40, 8))),
            lambda: bytes(plugin.memory(Memory(given.offset, 1 << 40))),
            lambda: bytes(plugin.memory(Memory((1 << 64) - 4, 8))),
            lambda: plugin.memory(Memory(1 << 40, 4)).__setitem__(slice(None), b"boom"),
        ]
        for attempt in attempts:
            try:
                attempt()
            except Exception as e:  # noqa: BLE001 (the test checks the type)
                errors.append(e)
        results[0].value = params[0].value

    plugin = extism.Plugin(block_guest(), functions=[f])
    assert plugin.call("run", "still fine") == b"still fine"
    assert len(errors) == 4
    assert all(isinstance(e, extism.Error) for e in errors), errors
    assert plugin.call("run", "again") == b"again"


def test_current_plugin_used_after_its_call_raises() -> None:
    kept: dict[str, Any] = {}

    @host_fn(name="f", signature=([I64], [I64]))
    def f(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        kept["plugin"] = plugin
        kept["param"] = params[0]
        kept["view"] = plugin.memory(plugin.memory_at_offset(params[0]))
        results[0].value = params[0].value

    plugin = extism.Plugin(block_guest(), functions=[f])
    assert plugin.call("run", "abc") == b"abc"
    stale: CurrentPlugin = kept["plugin"]
    param: Val = kept["param"]
    attempts: list[Callable[[], Any]] = [
        lambda: stale.alloc(4),
        lambda: stale.free(Memory(param.value, 3)),
        lambda: stale.memory_at_offset(param),
        lambda: stale.input_bytes(param),
        lambda: stale.input_string(param),
        lambda: stale.host_context(),
        lambda: stale.return_bytes(Val(I64, 0), b"late"),
        lambda: bytes(stale.memory(Memory(param.value, 3))),
        lambda: bytes(kept["view"]),
    ]
    for attempt in attempts:
        with pytest.raises(extism.Error, match="outside of its host function call"):
            attempt()
    # The plugin itself is unaffected.
    assert plugin.call("run", "def") == b"def"


def test_current_plugin_used_from_another_thread_during_the_call_raises(
    within_deadline: Deadline,
) -> None:
    errors: list[BaseException] = []

    @host_fn(name="f", signature=([I64], [I64]))
    def f(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        def other_thread() -> None:
            try:
                plugin.alloc(4)
            except BaseException as e:  # noqa: BLE001 (recorded for the test)
                errors.append(e)

        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join(30)
        results[0].value = params[0].value

    plugin = extism.Plugin(block_guest(), functions=[f])
    assert within_deadline(lambda: plugin.call("run", "abc")) == b"abc"
    assert len(errors) == 1
    assert isinstance(errors[0], extism.Error)


# -------------------------------------------------------------------------------------------------
# Errors and re-entrancy
# -------------------------------------------------------------------------------------------------


def test_exception_in_a_host_function_is_raised_by_call_as_is() -> None:
    error = Boom("kaput")
    fail = [True]

    @host_fn(name="f", signature=([I64], [I64]))
    def f(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        if fail[0]:
            raise error
        results[0].value = params[0].value

    plugin = extism.Plugin(block_guest(), functions=[f])
    with pytest.raises(Boom) as exc:
        plugin.call("run", "x")
    assert exc.value is error
    fail[0] = False
    assert plugin.call("run", "recovered") == b"recovered"


def test_exception_in_an_inferred_host_function_is_raised_by_call_as_is() -> None:
    error = ValueError("bad input")

    @host_fn(name="f")
    def f(text: str) -> str:
        raise error

    plugin = extism.Plugin(block_guest(), functions=[f])
    with pytest.raises(ValueError) as exc:
        plugin.call("run", "x")
    assert exc.value is error


def test_exception_stops_the_guest_before_it_continues() -> None:
    calls: list[int] = []

    @host_fn(name="step", signature=([], []))
    def step(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        calls.append(len(calls))
        if len(calls) == 2:
            raise Boom("second")

    plugin = extism.Plugin(
        guest(
            '(import "extism:host/user" "step" (func $step))',
            "(call $step) (call $step) (call $step)",
        ),
        functions=[step],
    )
    with pytest.raises(Boom):
        plugin.call("run", b"")
    assert calls == [0, 1]


def test_host_function_calling_its_own_plugin_raises_error_without_deadlock(
    within_deadline: Deadline,
) -> None:
    holder: dict[str, extism.Plugin] = {}
    errors: list[BaseException] = []

    @host_fn(name="f", signature=([I64], [I64]))
    def f(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        try:
            holder["plugin"].call("run", "inner")
        except extism.Error as e:
            errors.append(e)
        plugin.return_string(results[0], "outer")

    plugin = extism.Plugin(block_guest(), functions=[f])
    holder["plugin"] = plugin
    assert within_deadline(lambda: plugin.call("run", "x")) == b"outer"
    assert len(errors) == 1
    assert str(errors[0]) == "cannot make reentrant calls into plugin"
    # Afterwards the plugin works normally.
    assert within_deadline(lambda: plugin.call("run", "y")) == b"outer"


def test_host_function_may_call_another_plugin(within_deadline: Deadline) -> None:
    @host_fn(name="f", signature=([I64], [I64]))
    def inner(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        plugin.return_string(results[0], plugin.input_string(params[0]).upper())

    other = extism.Plugin(block_guest(), functions=[inner])

    @host_fn(name="f", signature=([I64], [I64]))
    def outer(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        answer = other.call("run", plugin.input_bytes(params[0]))
        plugin.return_bytes(results[0], b"[" + answer + b"]")

    plugin = extism.Plugin(block_guest(), functions=[outer])
    assert within_deadline(lambda: plugin.call("run", "nested")) == b"[NESTED]"


# -------------------------------------------------------------------------------------------------
# The python-sdk's own host-function cases, on extism__code-functions.wasm
# -------------------------------------------------------------------------------------------------


@pytest.fixture
def code_functions() -> dict[str, Any]:
    if not CODE_FUNCTIONS.is_file():
        pytest.skip(f"fixture {CODE_FUNCTIONS} not found")
    return {"wasm": [{"path": str(CODE_FUNCTIONS)}]}


def test_python_sdk_explicit_host_function_writes_user_data(code_functions: dict[str, Any]) -> None:
    @host_fn(signature=([I64], [I64]), user_data=b"test")
    def hello_world(
        plugin: CurrentPlugin, params: list[Val], results: list[Val], user_data: bytes
    ) -> None:
        block = plugin.alloc(len(user_data))
        plugin.memory(block)[:] = user_data
        results[0].value = block.offset

    with extism.Plugin(code_functions, functions=[hello_world], wasi=True) as plugin:
        assert plugin.call("count_vowels", "this is a test") == b"test"


def test_python_sdk_inferred_str_host_function(code_functions: dict[str, Any]) -> None:
    @host_fn(user_data=b"test")
    def hello_world(inp: str, *user_data: bytes) -> str:
        return f"hello world: {inp} {user_data[0].decode()}"

    with extism.Plugin(code_functions, functions=[hello_world], wasi=True) as plugin:
        assert plugin.call("count_vowels", "aaa") == b'hello world: {"count": 3} test'


def test_python_sdk_inferred_json_param(code_functions: dict[str, Any]) -> None:
    @host_fn(user_data=b"test")
    def hello_world(inp: Annotated[dict, Json], *user_data: bytes) -> str:
        return f"hello world: {inp['count']} {user_data[0].decode()}"

    with extism.Plugin(code_functions, functions=[hello_world], wasi=True) as plugin:
        assert plugin.call("count_vowels", "aaa") == b"hello world: 3 test"


def test_python_sdk_codecs(code_functions: dict[str, Any]) -> None:
    @host_fn(user_data=b"test")
    def hello_world(
        inp: Annotated[str, Codec(lambda xs: xs.decode().replace("o", "u"))], *user_data: bytes
    ) -> Annotated[str, Codec(lambda xs: xs.replace("u", "a").encode())]:
        return inp

    with extism.Plugin(code_functions, functions=[hello_world], wasi=True) as plugin:
        assert plugin.call("count_vowels", "aaa") == b'{"caant": 3}'


def test_python_sdk_pickle_return(code_functions: dict[str, Any]) -> None:
    @host_fn(user_data=b"test")
    def hello_world(inp: Annotated[dict, Json], *user_data: bytes) -> Annotated[Gribble, Pickle]:
        return Gribble(f"robble {inp['count']}")

    with extism.Plugin(code_functions, functions=[hello_world], wasi=True) as plugin:
        result = plugin.call("count_vowels", "aaa", parse=pickle.loads)
    assert isinstance(result, Gribble)
    assert result.frobbitz() == "gromble robble 3"


def test_python_sdk_current_plugin_and_host_context(code_functions: dict[str, Any]) -> None:
    @host_fn(signature=([I64], [I64]))
    def hello_world(plugin: CurrentPlugin, params: list[Val], results: list[Val]) -> None:
        context = plugin.host_context()
        plugin.return_string(results[0], f"{context['greeting']} {plugin.input_string(params[0])}")

    with extism.Plugin(code_functions, functions=[hello_world], wasi=True) as plugin:
        output = plugin.call("count_vowels", "aaa", host_context={"greeting": "hi"})
    assert output == b'hi {"count": 3}'


def test_python_sdk_inferred_current_plugin_and_host_context(
    code_functions: dict[str, Any],
) -> None:
    marker = object()
    seen: list[Any] = []

    @host_fn()
    def hello_world(plugin: CurrentPlugin, inp: Annotated[dict, Json]) -> Annotated[dict, Json]:
        seen.append(plugin.host_context())
        return {"doubled": inp["count"] * 2}

    with extism.Plugin(code_functions, functions=[hello_world], wasi=True) as plugin:
        output = plugin.call("count_vowels", "aeiou", host_context=marker)
    assert json.loads(output) == {"doubled": 10}
    assert seen == [marker]
    assert seen[0] is marker
