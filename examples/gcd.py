"""Compile a WebAssembly text module, instantiate it and call one of its exports.

Run it from anywhere: ``python examples/gcd.py`` prints ``gcd(6, 27) = 3``.
"""

from pathlib import Path

from wasmtime import Engine, Func, Instance, Module, Store

HERE = Path(__file__).resolve().parent


def main() -> None:
    engine = Engine()
    store = Store(engine)
    # from_file accepts .wat text as well as binary .wasm.
    module = Module.from_file(store.engine, HERE / "gcd.wat")
    instance = Instance(store, module, [])  # the module has no imports
    gcd = instance.exports(store)["gcd"]
    assert isinstance(gcd, Func)
    print(f"gcd(6, 27) = {gcd(store, 6, 27)}")


if __name__ == "__main__":
    main()
