"""Running wasm on several threads at once with a `ThreadPoolExecutor`.

The `Engine` and the compiled `Module` are thread-safe and shared by every thread; a `Store`
(and the instances in it) is not, so each worker thread makes its own. Wasm runs with the
GIL released, so CPU-bound wasm calls on different threads really run in parallel.

Prints the number of primes in each chunk of [0, 2_000_000), and the total. The wall time
goes to stderr, so stdout stays the same on every run.
"""

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from wasmtime import Engine, Func, Instance, Module, Store

HERE = Path(__file__).resolve().parent

ENGINE = Engine()
# Compiled once, instantiated in as many stores as needed.
MODULE = Module.from_file(ENGINE, HERE / "primes.wat")

LIMIT = 2_000_000
CHUNKS = 8
WORKERS = 4

# One (store, count_primes) pair per worker thread, made on its first task and reused.
per_thread = threading.local()


def count_primes(lo: int, hi: int) -> int:
    if not hasattr(per_thread, "store"):
        per_thread.store = Store(ENGINE)
        instance = Instance(per_thread.store, MODULE, [])
        per_thread.count_primes = instance.exports(per_thread.store)["count_primes"]
    func = per_thread.count_primes
    assert isinstance(func, Func)
    # The GIL is released for the duration of this call.
    count: int = func(per_thread.store, lo, hi)
    return count


def main() -> None:
    step = LIMIT // CHUNKS
    ranges = [(lo, lo + step) for lo in range(0, LIMIT, step)]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(count_primes, lo, hi) for lo, hi in ranges]
        # Collected in submission order, whichever thread finishes first.
        counts = [future.result() for future in futures]
    elapsed = time.perf_counter() - started

    for (lo, hi), count in zip(ranges, counts, strict=True):
        print(f"primes in [{lo:>9,}, {hi:>9,}): {count:>6,}")
    print(f"total primes below {LIMIT:,}: {sum(counts):,}")
    print(f"{WORKERS} threads took {elapsed:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
