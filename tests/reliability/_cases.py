"""The machinery the misuse matrices share (``test_misuse.py``, ``test_misuse_component.py``,
``test_misuse_extism.py``): case registries, expectations, helpers that cases call, and the tests
that run the cases.

pytest runs with ``--import-mode=importlib``, so the test modules cannot import one another; this
module is imported as ``_cases`` instead: ``conftest.py`` puts this folder on ``sys.path`` in the
pytest process, and its ``case_runner`` does the same in the child interpreters.

A test module keeps its own registry (``CASES = Cases()``, ``case = CASES.register``), registers
its cases with ``@case("<group>.<what>", expect)`` and ends with ``define_tests(globals(), ...)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from wasmtime import Engine, WasmtimeError

# --------------------------------------------------------------------------------------------
# Case registries (read by conftest's case_runner in the child interpreter)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    run: Callable[[], object]
    expect: tuple[str, ...]
    bug: str | None = None


class Cases(dict[str, Case]):
    """A test module's cases by name (``<group>.<what>``)."""

    def register(
        self, name: str, expect: tuple[str, ...], bug: str | None = None
    ) -> Callable[[Callable[[], object]], Callable[[], object]]:
        """Register the decorated function as case ``name``. A case with a ``bug`` shows a
        native bug: it runs alone, as a strict xfail, until the native side is fixed."""

        def add(fn: Callable[[], object]) -> Callable[[], object]:
            assert name not in self, f"duplicate case {name}"
            self[name] = Case(fn, expect, bug)
            return fn

        return add


def raises(exc: type[BaseException], match: str = "") -> tuple[str, ...]:
    return ("raises", f"{exc.__module__}.{exc.__qualname__}", match)


def returns(value: object) -> tuple[str, ...]:
    return ("returns", repr(value))


# The expectations of core and component objects misused the same way.
WRONG_STORE = raises(WasmtimeError, "^object used with the wrong store$")
CLOSED = raises(ValueError, "^already closed$")
IN_USE = raises(WasmtimeError, "^store is in use by another thread")
CALLER_GONE = raises(ValueError, "^caller is no longer valid$")

# --------------------------------------------------------------------------------------------
# Helpers for the cases
# --------------------------------------------------------------------------------------------


@cache
def engine() -> Engine:
    return Engine()


def in_thread(fn: Callable[[], object], timeout: float = 10) -> object:
    """``fn()`` on another thread: its result, or its exception raised here. A call that blocks
    raises TimeoutError (a hang where a result or an exception was promised)."""
    out: list[tuple[bool, Any]] = []

    def work() -> None:
        try:
            out.append((True, fn()))
        except BaseException as e:  # noqa: BLE001 (handed back to the caller)
            out.append((False, e))

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError("blocked instead of returning or raising")
    ok, value = out[0]
    if not ok:
        raise value
    return value


def outcome(fn: Callable[[], object]) -> object:
    """``fn()``'s value, or the name of the exception class it raised."""
    try:
        return fn()
    except BaseException as e:  # noqa: BLE001 (recorded)
        return type(e).__name__


def raise_(error: BaseException) -> Any:
    raise error


def closed(obj: Any) -> Any:
    obj.close()
    return obj


class Boom(Exception):
    pass


class BaseBoom(BaseException):
    pass


def same_error_out(error: BaseException, call: Callable[[], object]) -> object:
    """(the call raised ``error`` itself, the class name); a wrong outcome is returned as is."""
    try:
        value = call()
    except BaseException as e:  # noqa: BLE001 (compared)
        return (e is error, type(e).__name__)
    return ("returned", value)


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


def group(name: str) -> str:
    return name.split(".", 1)[0]


def as_param(cases: Cases, name: str) -> Any:
    bug = cases[name].bug
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(name, marks=marks, id=name)


def define_tests(namespace: dict[str, Any], prefix: str) -> None:
    """Define, in a test module's ``namespace`` (where pytest collects them), the tests of its
    ``CASES`` (each runs in child interpreters that load the module's file):

    * ``test_<prefix>_group[<group>]``: every case of the group (the name's first part) without
      a bug, in one child; every case ends as expected and none crashes;
    * ``test_<prefix>_known_native_bug[<name>]``: each case with a bug alone, as a strict xfail
      (it may crash or hang the child). Defined only while some case has a bug;
    * ``test_<prefix>_case_alone[<name>]`` (slow): the complete matrix, every case in its own
      child.
    """
    cases: Cases = namespace["CASES"]
    path: str = namespace["__file__"]
    groups = sorted({group(name) for name in cases})
    bugs = [name for name, c in cases.items() if c.bug]

    @pytest.mark.parametrize("group_name", groups)
    def test_group(group_name: str, case_runner: Any) -> None:
        """Every case of the group, in one child interpreter, ends as expected; none crashes."""
        names = [n for n, c in cases.items() if group(n) == group_name and not c.bug]
        case_runner.check(path, cases, names)

    @pytest.mark.parametrize("name", [as_param(cases, n) for n in bugs])
    def test_known_native_bug(name: str, case_runner: Any) -> None:
        """Cases that show a native bug, each alone (they may crash or hang the child)."""
        case_runner.check(path, cases, [name])

    @pytest.mark.slow
    @pytest.mark.parametrize("name", [as_param(cases, n) for n in cases])
    def test_case_alone(name: str, case_runner: Any) -> None:
        """The complete matrix: every case in its own child interpreter."""
        case_runner.check(path, cases, [name])

    tests = {"group": test_group, "case_alone": test_case_alone}
    if bugs:  # with no bug left, the test would only show as a skip of an empty list
        tests["known_native_bug"] = test_known_native_bug
    for what, test in tests.items():
        name = f"test_{prefix}_{what}"
        test.__name__ = test.__qualname__ = name
        test.__module__ = namespace["__name__"]
        namespace[name] = test
