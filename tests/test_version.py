"""Version information: ours, and the wasmtime crate underneath."""

import re
from importlib.metadata import version

import extism
import wasmtime


def test_wasmtime_version_is_the_distribution_version() -> None:
    assert wasmtime.__version__ == version("wasmbridge")


def test_the_wasmtime_crate_underneath() -> None:
    assert re.fullmatch(r"48\.\d+\.\d+", wasmtime.wasmtime_version)


def test_extism_version_names_what_runs() -> None:
    reported = extism.extism_version()
    expected = f"1.41.0+wasmbridge.{wasmtime.__version__}.wasmtime.{wasmtime.wasmtime_version}"
    assert reported == expected
    # A PEP 440 / semver local label: parsers still read the Extism version 1.41.0.
    assert re.fullmatch(r"1\.41\.0\+[a-z0-9]+(\.[a-z0-9]+)*", reported)
