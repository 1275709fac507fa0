"""Command-line entry point: ``wasmbridge`` (installed script) or ``python -m wasmbridge``.

Subcommands: ``run`` (a WASI program, like ``wasmtime run``) and ``call`` (one function of an
Extism plugin, like ``extism call``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from wasmbridge import __version__


def build_parser() -> argparse.ArgumentParser:
    # The Wasmtime version is the one compiled into the native module, not a copy of it.
    from wasmtime import wasmtime_version

    parser = argparse.ArgumentParser(
        prog="wasmbridge",
        description="Tools for wasmbridge, the Rust implementation of the wasmtime and extism "
        "Python APIs.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"wasmbridge {__version__} (wasmtime {wasmtime_version})",
    )
    subparsers = parser.add_subparsers(title="commands")
    from wasmbridge import _call, _run

    _run.add_parser(subparsers)
    _call.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    if not hasattr(ns, "func"):
        parser.print_help()
        return 0
    status: int = ns.func(ns)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
