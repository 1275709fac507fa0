"""Compiled wasm sent to worker processes: a pickled `Module` and a pickled Extism plugin.

The parent compiles once. A `Module` pickles as its compiled code plus its engine's settings,
so each worker of a `ProcessPoolExecutor` gets it ready to run, with no compilation, and makes
stores from `module.engine`. An `extism.CompiledPlugin` pickles the same way, with its manifest
settings and its host functions (a module-level `host_fn` travels by name: the worker imports
this file to find it).

Each worker receives the module and the plugin once, through the pool's initializer, and keeps
a store per process. Run it from anywhere: ``python examples/process_pool.py``.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import extism
from wasmtime import Engine, Instance, Module, Store

HERE = Path(__file__).resolve().parent

# What each worker process keeps between tasks.
worker: dict[str, Any] = {}


@extism.host_fn(name="greeting")  # the import greet.wat calls
def welcome(name: str) -> str:
    return f"Welcome, {name}!"


def setup(module: Module, compiled: extism.CompiledPlugin) -> None:
    store = Store(module.engine)
    worker["store"] = store
    worker["count_primes"] = Instance(store, module, []).exports(store)["count_primes"]
    worker["plugin"] = extism.Plugin(compiled)


def count_primes(lo: int, hi: int) -> int:
    return worker["count_primes"](worker["store"], lo, hi)


def greet(name: str) -> str:
    return worker["plugin"].call("greet", name).decode()


def main() -> None:
    module = Module.from_file(Engine(), HERE / "primes.wat")
    compiled = extism.CompiledPlugin((HERE / "greet.wat").read_bytes(), functions=[welcome])
    # "spawn" starts clean interpreters, as on macOS and Windows: everything crosses by pickle.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        2, mp_context=context, initializer=setup, initargs=(module, compiled)
    ) as pool:
        bounds = range(0, 200_000, 50_000)
        counts = list(pool.map(count_primes, bounds, [lo + 50_000 for lo in bounds]))
        print(f"primes below 200000, by chunk of 50000: {counts}, total {sum(counts)}")
        print(list(pool.map(greet, ["ada", "grace"])))


if __name__ == "__main__":
    main()
