"""An Extism plugin calling a Python host function: prints "Hello, world!".

The plugin (greet.wat) hands its input to the host function `greeting`; `host_fn` infers the
wasm signature from the annotations (a `str` travels as a handle to Extism memory).
"""

from pathlib import Path

import extism


@extism.host_fn()
def greeting(name: str) -> str:
    return f"Hello, {name}!"


wat = (Path(__file__).parent / "greet.wat").read_text()
with extism.Plugin(wat, functions=[greeting]) as plugin:
    print(plugin.call("greet", "world").decode())
