"""Working with a module's exported linear memory from Python.

Shows the memory's size in pages and bytes, host reads and writes with `Memory.read` and
`Memory.write`, a store made by a wasm function and seen by the host, growth with
`Memory.grow`, a wasm access past the end trapping (`wasmtime.Trap`), and growth beyond the
declared maximum being refused (`wasmtime.WasmtimeError`).
"""

from pathlib import Path

from wasmtime import Engine, Func, Instance, Memory, Module, Store, Trap, WasmtimeError

HERE = Path(__file__).resolve().parent


def main() -> None:
    store = Store(Engine())
    module = Module.from_file(store.engine, HERE / "memory.wat")
    exports = Instance(store, module, []).exports(store)
    memory = exports["memory"]
    store_i32 = exports["store_i32"]
    load_u8 = exports["load_u8"]
    assert isinstance(memory, Memory)
    assert isinstance(store_i32, Func) and isinstance(load_u8, Func)

    print(f"size: {memory.size(store)} page(s) = {memory.data_len(store)} bytes")

    # Host -> memory: write bytes at an offset, then read them back (read copies a slice).
    memory.write(store, b"wasm", 16)
    print(f"read(16, 20) = {bytes(memory.read(store, 16, 20))!r}")
    print(f"load_u8(16) = {load_u8(store, 16)} (the byte 'w', read by wasm)")

    # Wasm -> memory: an i32.store of 0x2164_6961 lays down the bytes 61 69 64 21 ("aid!").
    store_i32(store, 32, 0x21646961)
    print(f"after store_i32(32, 0x21646961): read(32, 36) = {bytes(memory.read(store, 32, 36))!r}")

    # grow returns the previous size in pages.
    old = memory.grow(store, 1)
    print(f"grow(1) returned {old}; size is now {memory.size(store)} page(s)")

    # Wasm memory accesses are bounds-checked: one byte past the end traps.
    end = memory.data_len(store)
    try:
        load_u8(store, end)
    except Trap as trap:
        print(f"load_u8({end}) trapped: {trap.trap_code}")

    # The module declared a maximum of 3 pages, so growing from 2 by 2 more is refused.
    try:
        memory.grow(store, 2)
    except WasmtimeError:
        print(f"grow(2) failed: the maximum is 3 pages; size stays {memory.size(store)}")


if __name__ == "__main__":
    main()
