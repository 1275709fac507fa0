"""Pickling `Module` and `Engine`: round trips, the engine recipe (settings travel with the code),
engine sharing between unpickled modules, the unpickling errors, `.engine` of every kind of
module, and process pools (spawn and fork workers)."""

from __future__ import annotations

import copy
import importlib
import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import wasmtime
from wasmtime import (
    Config,
    Engine,
    Instance,
    Linker,
    Module,
    Store,
    Trap,
    TrapCode,
    ValType,
    WasmtimeError,
    _native,
)

TESTS = Path(__file__).resolve().parents[1]

ADD_WAT = """
(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (global (export "answer") i32 (i32.const 42))
  (memory (export "mem") 1))
"""

# Imports `add` and exports `add3`: a + b + c through two calls of the import.
USES_ADD_WAT = """
(module
  (import "lib" "add" (func $add (param i32 i32) (result i32)))
  (func (export "add3") (param i32 i32 i32) (result i32)
    (call $add (call $add (local.get 0) (local.get 1)) (local.get 2))))
"""

# `depth(n)` recurses n calls deep and returns n.
DEPTH_WAT = """
(module
  (func $depth (export "depth") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $depth (i32.sub (local.get 0) (i32.const 1))))))))
"""

# `spin` never returns; `count(n)` loops n times and returns n.
LOOP_WAT = """
(module
  (func (export "spin") (loop $forever (br $forever)))
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $i)))
"""

# Needs the wide-arithmetic proposal, off by default.
WIDE_WAT = """
(module
  (func (export "add128") (param i64 i64 i64 i64) (result i64 i64)
    (i64.add128 (local.get 0) (local.get 1) (local.get 2) (local.get 3))))
"""


def roundtrip(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj))


def exports_of(module: Module, store: Store | None = None, imports: list[Any] | None = None) -> Any:
    """The exports of ``module`` instantiated in ``store`` (default: a new store of its engine),
    with the store."""
    store = Store(module.engine) if store is None else store
    return store, Instance(store, module, imports or []).exports(store)


def engine_with(**settings: Any) -> Engine:
    config = Config()
    for name, value in settings.items():
        setattr(config, name, value)
    return Engine(config)


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_module_round_trip_keeps_exports_and_calls(engine: Engine, protocol: int) -> None:
    module = Module(engine, ADD_WAT)
    loaded = pickle.loads(pickle.dumps(module, protocol=protocol))
    assert isinstance(loaded, Module)
    assert loaded is not module
    assert [e.name for e in loaded.exports] == ["add", "answer", "mem"]
    func, glob, mem = (e.type for e in loaded.exports)
    assert (func.params, func.results) == ([ValType.i32(), ValType.i32()], [ValType.i32()])
    assert (glob.content, glob.mutable) == (ValType.i32(), False)
    assert (mem.limits.min, mem.limits.max) == (1, None)
    store, exports = exports_of(loaded)
    assert exports["add"](store, 40, 2) == 42
    assert exports["answer"].value(store) == 42
    assert exports["mem"].size(store) == 1


def test_module_imports_survive(engine: Engine) -> None:
    loaded = roundtrip(Module(engine, USES_ADD_WAT))
    assert [(i.module, i.name) for i in loaded.imports] == [("lib", "add")]


def test_copy_and_deepcopy_use_the_pickle(engine: Engine) -> None:
    module = Module(engine, ADD_WAT)
    for clone in (copy.copy(module), copy.deepcopy(module)):
        assert clone is not module
        store, exports = exports_of(clone)
        assert exports["add"](store, 1, 2) == 3


def test_module_engine_is_the_engine_it_was_compiled_for(engine: Engine) -> None:
    module = Module(engine, ADD_WAT)
    assert isinstance(module.engine, Engine)
    # A new object each time, the same engine underneath: stores of either run the other's
    # modules.
    assert module.engine is not module.engine
    store = Store(module.engine)
    Instance(store, Module(engine, "(module)"), [])
    store2 = Store(engine)
    Instance(store2, module, [])
    with pytest.raises(WasmtimeError, match="cross-`Engine` instantiation is not currently"):
        Instance(Store(Engine()), module, [])


def test_unpickled_module_engine_makes_stores(engine: Engine) -> None:
    loaded = roundtrip(Module(engine, ADD_WAT))
    assert isinstance(loaded.engine, Engine)
    store = Store(loaded.engine)
    assert Instance(store, loaded, []).exports(store)["add"](store, 2, 3) == 5
    # The engine compiles new modules too, which then share its stores.
    fresh = Module(loaded.engine, USES_ADD_WAT)
    add = Instance(store, loaded, []).exports(store)["add"]
    assert Instance(store, fresh, [add]).exports(store)["add3"](store, 1, 2, 3) == 6


def test_closed_module_cannot_be_pickled(engine: Engine) -> None:
    module = Module(engine, ADD_WAT)
    module.close()
    with pytest.raises(ValueError):
        pickle.dumps(module)
    with pytest.raises(ValueError, match="closed"):
        module.engine  # noqa: B018


def test_instance_pre_module_has_the_linker_engine(engine: Engine) -> None:
    linker = Linker(engine)
    pre = linker.instantiate_pre(Module(engine, ADD_WAT))
    module = pre.module
    store = Store(module.engine)
    exports = pre.instantiate(store).exports(store)
    assert exports["add"](store, 5, 6) == 11
    store, exports = exports_of(roundtrip(module))
    assert exports["add"](store, 7, 8) == 15


def test_deserialized_module_has_the_engine_it_was_loaded_into(
    engine: Engine, tmp_path: Path
) -> None:
    compiled = Module(engine, ADD_WAT)
    path = tmp_path / "add.cwasm"
    path.write_bytes(compiled.serialize())
    for module in (
        Module.deserialize(engine, compiled.serialize()),
        Module.deserialize_file(engine, str(path)),
    ):
        store, exports = exports_of(module)
        assert exports["add"](store, 1, 1) == 2
        Instance(store, compiled, [])  # the same engine as `compiled`
        store, exports = exports_of(roundtrip(module))
        assert exports["add"](store, 2, 2) == 4


# --------------------------------------------------------------------------------------------
# The recipe: the engine's settings travel with the code
# --------------------------------------------------------------------------------------------


def test_engine_reduce_is_its_recipe_in_setting_order() -> None:
    config = Config()
    config.consume_fuel = True
    config.cranelift_flag_set("opt_level", "speed")
    config.max_wasm_stack = 256 * 1024
    config.epoch_interruption = 1  # any truthy value, recorded as a bool
    config.pooling_allocator = {"total_memories": 10}
    config.cranelift_opt_level = "speed_and_size"
    with pytest.raises(WasmtimeError, match="^unknown strategy: bogus$"):
        config.strategy = "bogus"  # a setting that failed is not recorded
    reduced = Engine(config).__reduce__()
    assert reduced == (
        _native._unpickle_engine,
        (
            1,
            wasmtime.wasmtime_version,
            (
                ("consume_fuel", False, (True,)),
                ("cranelift_flag_set", True, ("opt_level", "speed")),
                ("max_wasm_stack", False, (256 * 1024,)),
                ("epoch_interruption", False, (True,)),
                ("pooling_allocator", False, ({"total_memories": 10},)),
                ("cranelift_opt_level", False, ("speed_and_size",)),
            ),
        ),
    )


def test_default_engine_recipe_is_empty() -> None:
    assert Engine().__reduce__() == (
        _native._unpickle_engine,
        (1, wasmtime.wasmtime_version, ()),
    )


def test_module_reduce_carries_format_version_recipe_and_code() -> None:
    engine = engine_with(consume_fuel=True)
    module = Module(engine, ADD_WAT)
    unpickle, args = module.__reduce__()
    assert unpickle is _native._unpickle_module
    assert args[:3] == (1, wasmtime.wasmtime_version, (("consume_fuel", False, (True,)),))
    assert isinstance(args[3], bytes)
    assert args[3] == bytes(module.serialize())


def test_fuel_travels() -> None:
    loaded = roundtrip(Module(engine_with(consume_fuel=True), LOOP_WAT))
    store = Store(loaded.engine)
    store.set_fuel(10_000)
    count = Instance(store, loaded, []).exports(store)["count"]
    assert count(store, 100) == 100
    left = store.get_fuel()
    assert 0 < left < 10_000
    with pytest.raises(Trap) as exc:
        count(store, 1_000_000)
    assert exc.value.trap_code == TrapCode.OUT_OF_FUEL


def test_no_fuel_without_consume_fuel(engine: Engine) -> None:
    loaded = roundtrip(Module(engine, LOOP_WAT))
    with pytest.raises(WasmtimeError, match="^fuel is not configured in this store$"):
        Store(loaded.engine).set_fuel(10)


def test_epoch_interruption_travels() -> None:
    loaded = roundtrip(Module(engine_with(epoch_interruption=True), LOOP_WAT))
    store = Store(loaded.engine)
    spin = Instance(store, loaded, []).exports(store)["spin"]
    store.set_epoch_deadline(1)
    loaded.engine.increment_epoch()
    with pytest.raises(Trap) as exc:
        spin(store)
    assert exc.value.trap_code == TrapCode.INTERRUPT


def test_without_epoch_interruption_deadlines_are_ignored(engine: Engine) -> None:
    loaded = roundtrip(Module(engine, LOOP_WAT))
    store = Store(loaded.engine)
    count = Instance(store, loaded, []).exports(store)["count"]
    store.set_epoch_deadline(1)
    loaded.engine.increment_epoch()
    loaded.engine.increment_epoch()
    assert count(store, 100_000) == 100_000


def test_max_wasm_stack_travels(engine: Engine) -> None:
    # 5000 frames fit the default 512 KiB wasm stack, not 64 KiB.
    store, exports = exports_of(Module(engine, DEPTH_WAT))
    assert exports["depth"](store, 5000) == 5000
    small = Module(engine_with(max_wasm_stack=64 * 1024), DEPTH_WAT)
    for module in (small, roundtrip(small)):
        store, exports = exports_of(module)
        assert exports["depth"](store, 100) == 100
        with pytest.raises(Trap) as exc:
            exports["depth"](store, 5000)
        assert exc.value.trap_code == TrapCode.STACK_OVERFLOW


def test_wasm_feature_off_by_default_travels() -> None:
    with pytest.raises(WasmtimeError, match="wide arithmetic support is not enabled"):
        Module(Engine(), WIDE_WAT)
    module = Module(engine_with(wasm_wide_arithmetic=True), WIDE_WAT)
    # The compiled code needs the feature: an engine without it refuses the bytes.
    with pytest.raises(WasmtimeError, match="wide_arithmetic"):
        Module.deserialize(Engine(), module.serialize())
    loaded = roundtrip(module)
    store, exports = exports_of(loaded)
    assert exports["add128"](store, -1, 0, 1, 0) == [0, 1]


def test_cranelift_flags_travel() -> None:
    config = Config()
    config.cranelift_flag_set("opt_level", "none")
    module = Module(Engine(config), ADD_WAT)
    loaded = roundtrip(module)
    assert loaded.engine.__reduce__()[1][2] == (
        ("cranelift_flag_set", True, ("opt_level", "none")),
    )
    store, exports = exports_of(loaded)
    assert exports["add"](store, 20, 22) == 42


# --------------------------------------------------------------------------------------------
# Unpickled modules share an engine per recipe
# --------------------------------------------------------------------------------------------


def test_two_unpickled_modules_share_one_engine() -> None:
    engine = engine_with(consume_fuel=True)
    lib_data = pickle.dumps(Module(engine, ADD_WAT))
    user_data = pickle.dumps(Module(engine, USES_ADD_WAT))
    lib, user = pickle.loads(lib_data), pickle.loads(user_data)
    store = Store(lib.engine)
    store.set_fuel(10_000)
    add = Instance(store, lib, []).exports(store)["add"]
    add3 = Instance(store, user, [add]).exports(store)["add3"]
    assert add3(store, 1, 2, 3) == 6
    # The other module's engine is the same engine: its stores take the first module too.
    store2 = Store(user.engine)
    Instance(store2, lib, [])
    # So is a third unpickle of the same bytes.
    again = pickle.loads(lib_data)
    Instance(store, again, [])


def test_an_unpickled_engine_shares_the_unpickled_modules_engine() -> None:
    engine = engine_with(consume_fuel=True, max_wasm_stack=300 * 1024)
    loaded = roundtrip(Module(engine, ADD_WAT))
    engine2 = roundtrip(engine)
    store = Store(engine2)
    store.set_fuel(100)
    assert Instance(store, loaded, []).exports(store)["add"](store, 3, 4) == 7


def test_different_settings_make_different_engines() -> None:
    plain = roundtrip(Module(Engine(), ADD_WAT))
    fueled = roundtrip(Module(engine_with(consume_fuel=True), ADD_WAT))
    with pytest.raises(
        WasmtimeError, match="^cross-`Engine` instantiation is not currently supported"
    ):
        Instance(Store(plain.engine), fueled, [])
    with pytest.raises(
        WasmtimeError, match="^cross-`Engine` instantiation is not currently supported"
    ):
        Instance(Store(fueled.engine), plain, [])


def test_engine_round_trip() -> None:
    engine = engine_with(consume_fuel=True)
    loaded = roundtrip(engine)
    assert isinstance(loaded, Engine)
    assert loaded.__reduce__() == engine.__reduce__()
    store = Store(loaded)
    store.set_fuel(5)
    assert store.get_fuel() == 5
    module = Module(loaded, ADD_WAT)
    assert Instance(store, module, []).exports(store)["add"](store, 1, 2) == 3
    assert roundtrip(Engine()).__reduce__() == Engine().__reduce__()


def test_closed_engine_cannot_be_pickled() -> None:
    engine = Engine()
    engine.close()
    with pytest.raises(ValueError):
        pickle.dumps(engine)


# --------------------------------------------------------------------------------------------
# Unpickling errors (the arguments of a real `Module.__reduce__`, altered)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def reduced(engine: Engine) -> tuple[int, str, Any, bytes]:
    unpickle, args = Module(engine, ADD_WAT).__reduce__()
    assert unpickle is _native._unpickle_module
    return args


def test_unpickle_module_with_unaltered_args(reduced: tuple[int, str, Any, bytes]) -> None:
    store, exports = exports_of(_native._unpickle_module(*reduced))
    assert exports["add"](store, 2, 2) == 4


@pytest.mark.parametrize("fmt", [0, 2, 99])
def test_unpickle_module_other_format(reduced: tuple[int, str, Any, bytes], fmt: int) -> None:
    _, version, recipe, code = reduced
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_module(fmt, version, recipe, code)
    assert str(exc.value) == f"cannot unpickle Module: pickle format {fmt}, this wasmbridge reads 1"


def test_unpickle_module_other_wasmtime_version(reduced: tuple[int, str, Any, bytes]) -> None:
    fmt, version, recipe, code = reduced
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_module(fmt, "47.0.1", recipe, code)
    assert str(exc.value).startswith(
        f"cannot unpickle Module: compiled by wasmtime 47.0.1, this is wasmtime {version}; "
    )
    assert version == wasmtime.wasmtime_version


@pytest.mark.parametrize(
    "alter",
    [lambda code: b"garbage", lambda code: code[: len(code) // 2], lambda code: b""],
    ids=["garbage", "truncated", "empty"],
)
def test_unpickle_module_bad_code(reduced: tuple[int, str, Any, bytes], alter: Any) -> None:
    fmt, version, recipe, code = reduced
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_module(fmt, version, recipe, alter(code))
    message = str(exc.value)
    assert message.startswith("cannot unpickle Module: ")
    assert len(message) > len("cannot unpickle Module: ")  # wasmtime's reason follows


def test_unpickle_module_code_of_other_settings(reduced: tuple[int, str, Any, bytes]) -> None:
    # The recipe says fuel, the code was compiled without: wasmtime's own check refuses it.
    fmt, version, _, code = reduced
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_module(fmt, version, (("consume_fuel", False, (True,)),), code)
    assert str(exc.value).startswith("cannot unpickle Module: ")
    assert "fuel" in str(exc.value)


def test_unpickle_unknown_setting(reduced: tuple[int, str, Any, bytes]) -> None:
    fmt, version, _, code = reduced
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_module(fmt, version, (("no_such_setting", False, (True,)),), code)
    assert str(exc.value).startswith("cannot unpickle: unknown engine setting ")
    assert "no_such_setting" in str(exc.value)


def test_unpickle_unknown_setting_message(reduced: tuple[int, str, Any, bytes]) -> None:
    fmt, version, _, code = reduced
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_module(fmt, version, (("no_such_setting", False, (True,)),), code)
    assert str(exc.value) == "cannot unpickle: unknown engine setting 'no_such_setting'"


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_wasm_stack", "big"), ("consume_fuel", 1), ("strategy", "bogus")],
)
def test_unpickle_setting_with_a_bad_value_raises_what_the_setter_raises(
    reduced: tuple[int, str, Any, bytes], name: str, value: Any
) -> None:
    with pytest.raises(Exception) as expected:
        setattr(Config(), name, value)
    fmt, version, _, code = reduced
    with pytest.raises(type(expected.value)) as exc:
        _native._unpickle_module(fmt, version, ((name, False, (value,)),), code)
    assert str(exc.value) == str(expected.value)


@pytest.mark.parametrize(
    "recipe",
    [42, (("consume_fuel",),), (("consume_fuel", False, True),), (("consume_fuel", False, ()),)],
    ids=["not-iterable", "short-step", "args-not-tuple", "no-value"],
)
def test_unpickle_malformed_recipe(reduced: tuple[int, str, Any, bytes], recipe: Any) -> None:
    fmt, version, _, code = reduced
    with pytest.raises(WasmtimeError, match="^cannot unpickle: malformed engine settings$"):
        _native._unpickle_module(fmt, version, recipe, code)


def test_unpickle_engine_errors() -> None:
    _, (fmt, version, recipe) = Engine().__reduce__()
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_engine(7, version, recipe)
    assert str(exc.value) == "cannot unpickle Engine: pickle format 7, this wasmbridge reads 1"
    with pytest.raises(WasmtimeError) as exc:
        _native._unpickle_engine(fmt, "1.2.3", recipe)
    assert str(exc.value).startswith("cannot unpickle Engine: compiled by wasmtime 1.2.3, ")
    with pytest.raises(WasmtimeError, match="^cannot unpickle: unknown engine setting "):
        _native._unpickle_engine(fmt, version, (("bogus", True, ()),))


# --------------------------------------------------------------------------------------------
# Process pools
# --------------------------------------------------------------------------------------------


def test_spawn_pool_worker_receives_modules(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(TESTS))  # spawn copies sys.path into the workers
    jobs = importlib.import_module("pickle_jobs")
    module = Module(engine, jobs.MODULE_WAT)
    small_stack = Module(engine_with(max_wasm_stack=64 * 1024), jobs.MODULE_WAT)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        add = pool.submit(jobs.call_module, module, "add", 40, 2)
        deep = pool.submit(jobs.call_module, module, "depth", 5000)
        overflow = pool.submit(jobs.call_module, small_stack, "depth", 5000)
        pid, result = add.result(timeout=60)
        assert pid != os.getpid()
        assert result == 42
        assert deep.result(timeout=60)[1] == 5000
        assert overflow.result(timeout=60)[1] == "trap STACK_OVERFLOW"


def test_trap_pickles_so_a_worker_can_raise_it(engine: Engine) -> None:
    store, exports = exports_of(Module(engine, DEPTH_WAT.replace("(i32.const 0)", "(unreachable)")))
    with pytest.raises(Trap) as exc:
        exports["depth"](store, 3)
    loaded = roundtrip(exc.value)
    assert isinstance(loaded, Trap)
    assert str(loaded) == str(exc.value)
    assert loaded.trap_code == TrapCode.UNREACHABLE


def fork_job(module: Module, a: int, b: int, fuel: int | None = None) -> tuple[int, int]:
    store = Store(module.engine)
    if fuel is not None:
        store.set_fuel(fuel)
    return os.getpid(), Instance(store, module, []).exports(store)["add"](store, a, b)


@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_fork_pool_worker_receives_modules(engine: Engine) -> None:
    module = Module(engine, ADD_WAT)
    fueled = Module(engine_with(consume_fuel=True), ADD_WAT)
    context = multiprocessing.get_context("fork")
    # Two workers, several rounds: Python 3.11 forks a pool's second worker on a later submit,
    # while the queue's feeder thread may be pickling a Module; the child must not inherit a
    # lock held at that moment (regression: it could hang forever).
    for _ in range(5):
        with ProcessPoolExecutor(2, mp_context=context) as pool:
            results = [pool.submit(fork_job, module, 20, k) for k in range(4)]
            results.append(pool.submit(fork_job, fueled, 20, 2, 100))
            outcomes = [r.result(timeout=60) for r in results]
        assert [result for _, result in outcomes] == [20, 21, 22, 23, 22]
        assert all(pid != os.getpid() for pid, _ in outcomes)
