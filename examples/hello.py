"""A Python function imported by a wasm module and called from one of its exports.

hello.wat imports `host.double`; here it is a plain Python callable wrapped in a `Func` with
an explicit `FuncType`, passed to `Instance` in the module's import order.
"""

from pathlib import Path

from wasmtime import Engine, Func, FuncType, Instance, Module, Store, ValType

HERE = Path(__file__).resolve().parent


def double(n: int) -> int:
    # Runs in Python with the GIL held, in the middle of the wasm call.
    print(f"  Python double({n}) called from wasm")
    return 2 * n


def main() -> None:
    store = Store(Engine())
    module = Module.from_file(store.engine, HERE / "hello.wat")

    # The signature must match the import declared in the module: (i32) -> i32.
    i32 = ValType.i32()
    host_double = Func(store, FuncType([i32], [i32]), double)

    # Imports are positional: one entry per import of the module, in declaration order.
    instance = Instance(store, module, [host_double])
    add_double = instance.exports(store)["add_double"]
    assert isinstance(add_double, Func)

    print("calling add_double(1, 20) in wasm")
    print(f"add_double(1, 20) = {add_double(store, 1, 20)}")


if __name__ == "__main__":
    main()
