"""Multi-value functions: several results in both directions.

A Python host function declared with two results returns a tuple (any sequence works), and
calling a wasm export with three results gives back a Python list.
"""

from pathlib import Path

from wasmtime import Engine, Func, FuncType, Instance, Module, Store, ValType

HERE = Path(__file__).resolve().parent


def main() -> None:
    store = Store(Engine())
    i32 = ValType.i32()

    # (i32, i32) -> (i32, i32): Python's divmod already returns the pair as a tuple.
    def host_divmod(a: int, b: int) -> tuple[int, int]:
        return divmod(a, b)

    divmod_func = Func(store, FuncType([i32, i32], [i32, i32]), host_divmod)

    module = Module.from_file(store.engine, HERE / "multi.wat")
    instance = Instance(store, module, [divmod_func])
    hms = instance.exports(store)["hms"]
    assert isinstance(hms, Func)

    # The host function can be called from Python too: a list comes back here as well.
    print(f"divmod_func(100, 7) = {divmod_func(store, 100, 7)}")

    # A wasm export with three results returns a list of three Python ints.
    print(f"hms results: {hms.type(store).results}")
    result = hms(store, 45296)
    print(f"hms(45296) = {result}")
    hours, minutes, seconds = result
    print(f"45296 s = {hours} h {minutes} min {seconds} s")


if __name__ == "__main__":
    main()
