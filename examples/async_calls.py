"""asyncio: wasm calls awaited off the event loop, run side by side, and cancelled.

`Func.call_async` makes the ordinary call on a worker thread and returns an awaitable, so the
event loop keeps serving other tasks while wasm runs (the GIL is released meanwhile).
Cancelling the task, here through `asyncio.wait_for`, stops the wasm within a few
milliseconds, and the store is free again once the cancellation has come out.

Run it from anywhere: ``python examples/async_calls.py``.
"""

import asyncio
from pathlib import Path

from wasmtime import Engine, Func, Instance, Module, Store

HERE = Path(__file__).resolve().parent


def count_primes_in(module: Module) -> tuple[Store, Func]:
    store = Store(module.engine)
    func = Instance(store, module, []).exports(store)["count_primes"]
    assert isinstance(func, Func)
    return store, func


async def main() -> None:
    module = Module.from_file(Engine(), HERE / "primes.wat")
    # One store per concurrent call: a store runs one call at a time.
    (store1, count1), (store2, count2) = count_primes_in(module), count_primes_in(module)

    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.001)
            ticks += 1

    beating = asyncio.create_task(heartbeat())
    low, high = await asyncio.gather(
        count1.call_async(store1, 0, 1_000_000), count2.call_async(store2, 1_000_000, 2_000_000)
    )
    print(f"primes below 1000000: {low}; from 1000000 to 2000000: {high}")
    print(f"the event loop kept running meanwhile: {ticks > 0}")
    beating.cancel()

    try:
        # Far too much work for 50 ms: the timeout cancels the call, which stops the wasm.
        await asyncio.wait_for(count1.call_async(store1, 0, 2_000_000_000), timeout=0.05)
    except TimeoutError:
        print("timed out; the wasm was stopped")
    print(f"the store is free again: {count1(store1, 0, 100)} primes below 100")


if __name__ == "__main__":
    asyncio.run(main())
