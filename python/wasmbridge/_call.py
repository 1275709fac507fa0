"""``wasmbridge call``: call one function of an Extism plugin and print its output.

This is for trying a plugin from a shell without writing a host program (like ``extism call``
of the Extism CLI). The source is a wasm or WAT file, which becomes the manifest
``{"wasm": [{"path": <its absolute path>}]}``, or an Extism manifest in a ``.json`` or ``.toml``
file. A relative ``path`` of a manifest's ``wasm`` entries is taken relative to the directory of
the manifest file (not the current directory), so a manifest can sit next to its modules and be
used from anywhere; every other field is used as written. The options are merged into the
manifest: ``--config`` over its ``config``, ``--allow-host`` appended to its ``allowed_hosts``,
``--allow-path`` over its ``allowed_paths``, ``--timeout`` replacing its ``timeout_ms``.

The output bytes go to stdout as they are (no newline is added). Exit status: 0 on success;
1 when Extism cannot create the plugin or the call fails (the error is printed to stderr as
``error: <message>``, e.g. the guest's error text, ``timeout`` or ``Function not found: X``);
2 for a mistake on the command line or a source file that cannot be read; 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import extism

USAGE_STATUS = 2
INTERRUPTED_STATUS = 130

MANIFEST_SUFFIXES = (".json", ".toml")


class UsageError(Exception):
    """A source that cannot be used: missing, unreadable, or not a valid manifest file."""


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {item!r}")
    return key, value


def _path_mapping(item: str) -> tuple[str, str]:
    """``[ro:]HOST[::GUEST]`` as the manifest's ``allowed_paths`` entry ``("[ro:]HOST", GUEST)``."""
    prefix = "ro:" if item.startswith("ro:") else ""
    host, sep, guest = item.removeprefix(prefix).partition("::")
    if not host:
        raise argparse.ArgumentTypeError(f"expected HOST[::GUEST] with a host path, got {item!r}")
    if sep and not guest:
        raise argparse.ArgumentTypeError(f"expected HOST::GUEST with a guest path, got {item!r}")
    return prefix + host, guest if sep else host


def _timeout(item: str) -> int:
    try:
        value = int(item)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of milliseconds, got {item!r}"
        )
    return value


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "call",
        help="call a function of an Extism plugin (.wasm, .wat, or a .json/.toml manifest)",
        description="Call FUNC of an Extism plugin with the given input and print its output "
        "bytes. A relative wasm path in a manifest file is relative to the manifest's directory.",
    )
    p.add_argument(
        "source", metavar="PLUGIN", help="a .wasm or .wat file, or a .json or .toml manifest"
    )
    p.add_argument("function", metavar="FUNC", help="the exported function to call")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--input", metavar="TEXT", help="the call's input (default: empty)")
    data.add_argument(
        "--stdin", action="store_true", help="read the call's input (bytes) from stdin"
    )
    p.add_argument("--wasi", action="store_true", help="give the plugin WASI preview 1")
    p.add_argument(
        "--config",
        action="append",
        default=[],
        type=_key_value,
        metavar="KEY=VALUE",
        help="set a config value the plugin reads with config_get (repeatable)",
    )
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="let the plugin make HTTP requests to HOST, a glob such as *.example.com (repeatable)",
    )
    p.add_argument(
        "--allow-path",
        action="append",
        default=[],
        type=_path_mapping,
        metavar="HOST[::GUEST]",
        help="give the plugin the host directory HOST as GUEST (default: the same path; "
        "prefix HOST with ro: for read-only access; needs --wasi; repeatable)",
    )
    p.add_argument(
        "--timeout",
        type=_timeout,
        metavar="MS",
        help="stop the call after MS milliseconds (manifest timeout_ms)",
    )
    p.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="print the plugin's log lines to stderr from LEVEL up (trace, debug, info, warn, "
        "error)",
    )
    p.set_defaults(func=call)


def _object(manifest: dict[str, Any], field: str) -> dict[str, Any]:
    value = manifest.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"the manifest's {field!r} must be a table of strings")
    return dict(value)


def _load_manifest(path: Path) -> dict[str, Any]:
    """The manifest in the file at ``path``, with relative wasm paths made absolute."""
    try:
        text = path.read_bytes()
        if path.suffix.lower() == ".toml":
            manifest = tomllib.loads(text.decode("utf-8"))
        else:
            manifest = json.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"{path}: not a valid manifest: {e}") from None
    if not isinstance(manifest, dict):
        raise UsageError(f"{path}: not a valid manifest: expected an object")
    wasm = manifest.get("wasm")
    if isinstance(wasm, list):
        base = path.resolve().parent
        manifest["wasm"] = [
            {**entry, "path": str(base / entry["path"])}
            if isinstance(entry, dict) and isinstance(entry.get("path"), str)
            else entry
            for entry in wasm
        ]
    return manifest


def _manifest(ns: argparse.Namespace) -> dict[str, Any]:
    path = Path(ns.source)
    if not path.exists():
        raise UsageError(f"no such file: {ns.source}")
    if not path.is_file():
        raise UsageError(f"not a file: {ns.source}")
    try:
        if path.suffix.lower() in MANIFEST_SUFFIXES:
            manifest = _load_manifest(path)
        else:
            manifest = {"wasm": [{"path": str(path.resolve())}]}
    except OSError as e:
        raise UsageError(f"cannot read {ns.source}: {e.strerror or e}") from None
    if ns.config:
        manifest["config"] = {**_object(manifest, "config"), **dict(ns.config)}
    if ns.allow_host:
        hosts = manifest.get("allowed_hosts") or []
        if not isinstance(hosts, list):
            raise UsageError("the manifest's 'allowed_hosts' must be a list of strings")
        manifest["allowed_hosts"] = [*hosts, *ns.allow_host]
    if ns.allow_path:
        manifest["allowed_paths"] = {**_object(manifest, "allowed_paths"), **dict(ns.allow_path)}
    if ns.timeout is not None:
        manifest["timeout_ms"] = ns.timeout
    return manifest


def call(ns: argparse.Namespace) -> int:
    try:
        try:
            manifest = _manifest(ns)
            data = sys.stdin.buffer.read() if ns.stdin else os.fsencode(ns.input or "")
        except UsageError as e:
            print(f"error: {e}", file=sys.stderr)
            return USAGE_STATUS
        if ns.log_level is not None:
            extism.set_log_file("stderr", ns.log_level)
        try:
            plugin = extism.Plugin(manifest, wasi=ns.wasi, functions=[])
            output = plugin.call(ns.function, data)
        except extism.Error as e:
            message = str(e).rstrip("\n")  # trap messages end with a newline of their own
            print(f"error: {message}", file=sys.stderr)
            return 1
        sys.stdout.buffer.write(output)
        sys.stdout.buffer.flush()
    except KeyboardInterrupt:
        return INTERRUPTED_STATUS
    return 0
