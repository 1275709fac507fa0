"""Running a WASI preview 1 program with arguments and capturing what it prints.

`Linker.define_wasi` supplies the `wasi_snapshot_preview1` imports; what the program sees
(its argv, and where its stdout goes) comes from the `WasiConfig` given to `Store.set_wasi`.
Here stdout goes to a Python callback instead of the terminal (`inherit_stdout()` would
write straight to this process's stdout).
"""

from pathlib import Path

from wasmtime import Engine, ExitTrap, Func, Linker, Module, Store, WasiConfig

HERE = Path(__file__).resolve().parent


def main() -> None:
    engine = Engine()
    linker = Linker(engine)
    linker.define_wasi()

    # Everything the program writes to fd 1 arrives here as bytes.
    chunks: list[bytes] = []

    config = WasiConfig()
    config.argv = ["greeter", "Ada", "Grace", "Linus"]  # argv[0] is the program name
    config.stdout_custom = chunks.append  # returning None means "all bytes taken"

    store = Store(engine)
    store.set_wasi(config)

    instance = linker.instantiate(store, Module.from_file(engine, HERE / "wasi.wat"))
    start = instance.exports(store)["_start"]
    assert isinstance(start, Func)

    # proc_exit ends the program by raising ExitTrap, whatever the status.
    try:
        start(store)
    except ExitTrap as exit_trap:
        print(f"the program exited with status {exit_trap.code}")

    output = b"".join(chunks).decode()
    print(f"captured {len(output)} bytes of stdout:")
    for line in output.splitlines():
        print(f"  | {line}")


if __name__ == "__main__":
    main()
