"""asyncio support: `Func.call_async`, `component.Func.call_async` and `extism.Plugin.call_async`.

Wasm runs with the GIL released, so the simplest way to keep an event loop responsive during a
long call is to make the ordinary blocking call on a worker thread (the loop's default
executor) and await it. What needs care is cancellation: cancelling the awaiting task must stop
the wasm, or the worker thread would go on running it (and keep the store busy) with nobody
waiting. Each call therefore runs inside its own native `CancelScope`; on cancellation the scope
is cancelled, the wasm traps at the next epoch tick (every 5 ms), and the task waits for the
worker to let go of the store before it ends with `CancelledError`. Once the `await` has
finished, cancelled or not, the store is free for the next call.

Wasm that is inside a host function when the task is cancelled stops once the host function
returns into wasm.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from ._native import CancelScope


async def call(f: Callable[..., Any], *args: Any) -> Any:
    """`f(*args)` on the running loop's default executor, cancellable as the module docs say."""
    loop = asyncio.get_running_loop()
    scope = CancelScope()
    running = loop.run_in_executor(None, scope.run, f, *args)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        scope.cancel()
        # The call now fails fast (an interrupt trap, or Extism's "timeout"). Wait for it, through
        # further cancellations too, so that the store is idle when the cancellation comes out.
        while not running.done():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(running)
        raise
