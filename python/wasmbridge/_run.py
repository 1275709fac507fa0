"""``wasmbridge run``: run a WASI command (or call one export) like ``wasmtime run``.

The program gets the arguments after its path (its own path is ``argv[0]``), the environment
variables given with ``--env``, the directories given with ``--dir``, and this process's stdin,
stdout and stderr. The exit status is the program's ``proc_exit`` code; a trap prints the error
and exits with 134 (as ``wasmtime run`` does on Unix); any other failure exits with 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import wasmtime

TRAP_STATUS = 134


class UsageError(Exception):
    """A mistake on the command line (bad --env, unknown export, wrong argument count)."""


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a WASI program (.wasm or .wat)",
        description="Run a WASI preview 1 command, or call one of a module's exports.",
    )
    p.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="HOST[::GUEST]",
        help="give the program the host directory HOST as GUEST (default: the same path)",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set an environment variable",
    )
    p.add_argument(
        "--invoke", metavar="FUNC", help="call this export with the arguments and print its results"
    )
    p.add_argument("program", help="the .wasm or .wat file")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the program's arguments")
    p.set_defaults(func=run)


def _convert(arg: str, ty: wasmtime.ValType) -> Any:
    if ty in (wasmtime.ValType.i32(), wasmtime.ValType.i64()):
        return int(arg, 0)
    if ty in (wasmtime.ValType.f32(), wasmtime.ValType.f64()):
        return float(arg)
    raise UsageError(f"cannot pass a command-line argument as {ty}")


def _config(ns: argparse.Namespace) -> wasmtime.WasiConfig:
    config = wasmtime.WasiConfig()
    config.argv = [ns.program, *ns.args]
    env = []
    for item in ns.env:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--env expects NAME=VALUE, got {item!r}")
        env.append((name, value))
    config.env = env
    config.inherit_stdin()
    config.inherit_stdout()
    config.inherit_stderr()
    for item in ns.dir:
        host, sep, guest = item.partition("::")
        config.preopen_dir(host, guest if sep else host)
    return config


def _invoke(store: wasmtime.Store, instance: wasmtime.Instance, name: str, args: list[str]) -> None:
    func = instance.exports(store).get(name)
    if not isinstance(func, wasmtime.Func):
        raise UsageError(f"the module exports no function named {name!r}")
    params = func.type(store).params
    if len(args) != len(params):
        raise UsageError(f"{name} takes {len(params)} arguments, {len(args)} given")
    result = func(store, *(_convert(a, t) for a, t in zip(args, params, strict=True)))
    results = result if isinstance(result, list) else [] if result is None else [result]
    for value in results:
        print(value)


def run(ns: argparse.Namespace) -> int:
    try:
        engine = wasmtime.Engine()
        module = wasmtime.Module.from_file(engine, ns.program)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        store = wasmtime.Store(engine)
        store.set_wasi(_config(ns))
        instance = linker.instantiate(store, module)
        if ns.invoke is not None:
            _invoke(store, instance, ns.invoke, ns.args)
        else:
            start = instance.exports(store).get("_start")
            if not isinstance(start, wasmtime.Func):
                raise UsageError("the module has no _start function: use --invoke FUNC")
            start(store)
    except wasmtime.ExitTrap as e:
        return e.code
    except wasmtime.Trap as e:
        print(f"error: {e}", file=sys.stderr)
        return TRAP_STATUS
    except (wasmtime.WasmtimeError, OSError, ValueError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        sys.stdout.flush()
    return 0
