"""A numpy array that is a window onto wasm linear memory, without copying.

`Memory.buffer(store)` returns a writable buffer over the memory itself, so
`numpy.frombuffer` builds an array whose elements *are* bytes of the memory: numpy's writes
are seen by wasm and wasm's writes are seen by numpy. (`Memory.read` would copy instead.)
"""

from pathlib import Path

import numpy as np

from wasmtime import Engine, Func, Instance, Memory, Module, Store

HERE = Path(__file__).resolve().parent

OFFSET = 1024  # byte offset of the array in linear memory (a multiple of 8, for f64)
COUNT = 8  # number of f64 elements


def main() -> None:
    store = Store(Engine())
    module = Module.from_file(store.engine, HERE / "numpy_memory.wat")
    exports = Instance(store, module, []).exports(store)
    memory, wasm_sum, wasm_scale = exports["memory"], exports["sum"], exports["scale"]
    assert isinstance(memory, Memory)
    assert isinstance(wasm_sum, Func) and isinstance(wasm_scale, Func)

    # A view of COUNT little-endian doubles starting at OFFSET. Take a new buffer after
    # Memory.grow: an existing one keeps the size the memory had when it was created.
    values = np.frombuffer(memory.buffer(store), dtype="<f8", count=COUNT, offset=OFFSET)
    print(f"writable view: {values.flags.writeable}, owns its data: {values.flags.owndata}")

    # numpy fills the memory directly...
    values[:] = np.arange(1, COUNT + 1)
    print(f"numpy wrote: {values.tolist()}")

    # ...and wasm reads those same bytes.
    print(f"wasm sum: {wasm_sum(store, OFFSET, COUNT)}")

    # wasm scales the values in place; the numpy array shows the change without a copy.
    wasm_scale(store, OFFSET, COUNT, 0.5)
    print(f"after wasm scale(0.5): {values.tolist()}")
    print(f"numpy sum: {values.sum()}")

    # The same bytes, copied out with Memory.read for comparison.
    first = np.frombuffer(memory.read(store, OFFSET, OFFSET + 8), dtype="<f8")[0]
    print(f"Memory.read of the first element: {first}")


if __name__ == "__main__":
    main()
