"""Wasm on a Dask cluster: a compiled `Module` shipped to worker processes with the tasks.

A local cluster of two worker processes stands in for a real one (`Client("tcp://...")`);
nothing else changes. `client.scatter` pickles the module once (compiled code plus its engine's
settings) and places it on every worker, which unpickles it once, without compiling; each task
makes a store from `module.engine` and calls the wasm. Needs ``pip install "dask[distributed]"``.

Run it from anywhere: ``python examples/dask_cluster.py``.
"""

from pathlib import Path

from dask.distributed import Client, LocalCluster

from wasmtime import Engine, Instance, Module, Store

HERE = Path(__file__).resolve().parent


def count_primes(module: Module, lo: int, hi: int) -> int:
    store = Store(module.engine)
    count = Instance(store, module, []).exports(store)["count_primes"]
    return count(store, lo, hi)


def main() -> None:
    module = Module.from_file(Engine(), HERE / "primes.wat")
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, Client(cluster) as client:
        shared = client.scatter(module, broadcast=True)
        bounds = range(0, 200_000, 50_000)
        futures = [client.submit(count_primes, shared, lo, lo + 50_000) for lo in bounds]
        counts = client.gather(futures)
        print(f"primes below 200000, by chunk of 50000: {counts}, total {sum(counts)}")


if __name__ == "__main__":
    main()
