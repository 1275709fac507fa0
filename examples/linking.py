"""Linking two modules together by name with a `Linker`.

linking_lib.wat exports a memory and functions; its instance is registered with
`Linker.define_instance` under the name "lib". linking_app.wat imports "lib" items and a host
function "host.log", defined with `Linker.define_func`; `Linker.instantiate` resolves all the
imports by their module and item names, so their order does not matter.
"""

from pathlib import Path

from wasmtime import Engine, Func, FuncType, Linker, Memory, Module, Store, ValType

HERE = Path(__file__).resolve().parent


def main() -> None:
    engine = Engine()
    store = Store(engine)
    linker = Linker(engine)

    # 1. Instantiate the library (it has no imports) and expose all its exports as "lib.*".
    lib = linker.instantiate(store, Module.from_file(engine, HERE / "linking_lib.wat"))
    linker.define_instance(store, "lib", lib)
    lib_memory = lib.exports(store)["memory"]
    assert isinstance(lib_memory, Memory)

    # 2. A host function for "host.log": the app passes a (pointer, length) string that lives
    #    in the library's memory, the only memory there is.
    def log(ptr: int, length: int) -> None:
        text = lib_memory.read(store, ptr, ptr + length).decode()
        print(f"host log: {text!r}")

    i32 = ValType.i32()
    linker.define_func("host", "log", FuncType([i32, i32], []), log)

    # 3. Instantiate the app: its imports are found in the linker by name.
    app = linker.instantiate(store, Module.from_file(engine, HERE / "linking_app.wat"))
    sum_to = app.exports(store)["sum_to"]
    calls = lib.exports(store)["calls"]
    assert isinstance(sum_to, Func) and isinstance(calls, Func)

    print(f"app sum_to(10) = {sum_to(store, 10)}")
    print(f"lib add was called {calls(store)} times")


if __name__ == "__main__":
    main()
