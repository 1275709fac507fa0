"""Fixtures for the reliability suite (issue 8): run adversarial code in a fresh interpreter.

A segfault, an abort or a hang must fail one test, not kill or stall pytest, so the misuse tests
never run their cases in the pytest process:

* ``isolated(code, timeout=...)`` runs a Python snippet with ``sys.executable -X faulthandler
  -c`` in a temporary folder and returns an `Isolated`: the return code (negative: the signal
  that killed it), stdout, stderr, the time it took, and whether it timed out (then it was
  killed: a hang, reported as a deadlock).
* ``case_runner`` runs *cases*: the functions registered in a test module's ``CASES`` dict
  (name -> object with ``run``, a no-argument callable, and ``expect``). The child interpreter
  imports the test module by path, runs the named cases in order and prints one line per case:
  ``@@case BEGIN <name>`` first, then ``@@case RAISED <name> <exception classes> <message>``
  or ``@@case RETURNED <name> <repr of the value>``, and ``@@case DONE`` at the end. Many cases
  share one child, which keeps the suite fast, yet a crash stays attributable: the last case
  that began and never finished is the culprit.

The misuse test modules share their registries, expectations and tests through ``_cases.py``
(they cannot import one another): this folder is put on ``sys.path`` here for the pytest process,
and the child puts the test module's folder there too, so ``import _cases`` works in both.

Expectations are tuples: ``("raises", "<module>.<qualname>", "<regex>")`` asks for an exception
of that class (or a subclass) whose message matches the regex; ``("returns", "<repr>")`` asks for
a return value with exactly that repr. A PyO3 panic (``pyo3_runtime.PanicException``) or a Rust
panic message on stderr is a failure whatever the expectation.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import pytest

# The misuse test modules import their shared machinery as `_cases` (see above).
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.append(HERE)

MARK = "@@case"

# The child's side of `case_runner`: argv = [module path, registry name, case names...].
DRIVER = f"""
import importlib.util, os, sys

path, registry, names = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.append(os.path.dirname(os.path.abspath(path)))  # for its `import _cases`
spec = importlib.util.spec_from_file_location("_reliability_cases", path)
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
cases = getattr(module, registry)


def one_line(describe):
    try:
        text = describe()
    except BaseException as exc:
        text = "<unprintable: " + type(exc).__name__ + ">"
    return " ".join(str(text).split())[:4000]


for name in names:
    print("\\n{MARK} BEGIN", name, flush=True)
    value = None
    try:
        value = cases[name].run()
    except BaseException as exc:
        kinds = ",".join(c.__module__ + "." + c.__qualname__ for c in type(exc).__mro__)
        print("\\n{MARK} RAISED", name, kinds, one_line(lambda: exc), flush=True)
    else:
        print("\\n{MARK} RETURNED", name, one_line(lambda: repr(value)), flush=True)
    del value
print("\\n{MARK} DONE", flush=True)
"""

PANIC_CLASS = "pyo3_runtime.PanicException"
# What a crash or a swallowed Rust panic leaves on stderr.
FATAL_STDERR = ("panicked at", "Fatal Python error", "Segmentation fault", "AddressSanitizer")


def clip(text: str, size: int) -> str:
    """``text``, or its head and tail if it is longer than ``size``."""
    if len(text) <= size:
        return text
    return f"{text[: size // 2]}\n[... {len(text) - size} characters ...]\n{text[-size // 2 :]}"


@dataclass
class Isolated:
    """What a child interpreter did."""

    returncode: int | None
    stdout: str
    stderr: str
    elapsed: float
    timed_out: bool

    @property
    def signal_name(self) -> str | None:
        """The signal that killed the child (e.g. ``SIGSEGV``), if one did."""
        if self.returncode is None or self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"

    @property
    def crashed(self) -> bool:
        """Killed by a signal (segfault, abort, ...) rather than exiting."""
        return self.signal_name is not None

    def describe(self, tail: int = 4000) -> str:
        """How the child ended, with the ends of its output (a Rust panic's message is at the
        head of stderr, its backtrace after it)."""
        how = (
            f"hung: killed after {self.elapsed:.1f} s (deadlock?)"
            if self.timed_out
            else f"killed by {self.signal_name}"
            if self.crashed
            else f"exit status {self.returncode}"
        )
        return (
            f"{how}\n--- stdout (tail) ---\n{self.stdout[-tail:]}\n"
            f"--- stderr ---\n{clip(self.stderr, tail)}"
        )


def run_isolated(
    args: Iterable[str],
    timeout: float = 60,
    env: Mapping[str, str] | None = None,
) -> Isolated:
    """Run ``python -X faulthandler <args>`` in a temporary folder; never raises on failure."""
    environment = dict(os.environ)
    environment.update(env or {})
    with tempfile.TemporaryDirectory(prefix="reliability-") as folder:
        start = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-X", "faulthandler", *args],
                cwd=folder,
                env=environment,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as expired:
            out, err = expired.stdout, expired.stderr
            return Isolated(
                None,
                out.decode(errors="replace") if isinstance(out, bytes) else out or "",
                err.decode(errors="replace") if isinstance(err, bytes) else err or "",
                time.monotonic() - start,
                True,
            )
        return Isolated(done.returncode, done.stdout, done.stderr, time.monotonic() - start, False)


@pytest.fixture
def isolated() -> Callable[..., Isolated]:
    """``isolated(code, timeout=60, env=None)``: run ``code`` in a fresh interpreter."""

    def run(code: str, timeout: float = 60, env: Mapping[str, str] | None = None) -> Isolated:
        return run_isolated(["-c", code], timeout, env)

    return run


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


class CaseLike(Protocol):
    @property
    def run(self) -> Callable[[], object]: ...
    @property
    def expect(self) -> tuple[str, ...]: ...


@dataclass
class Outcome:
    """How one case ended in the child: ``RAISED`` (with the exception's classes, most
    derived first, and its message) or ``RETURNED`` (with the value's repr)."""

    kind: str
    classes: list[str] = field(default_factory=list)
    text: str = ""

    def __str__(self) -> str:
        if self.kind == "RAISED":
            return f"raised {self.classes[0]}: {self.text}"
        return f"returned {self.text}"


@dataclass
class CaseRun:
    """A child that ran some cases: the outcomes it printed, and which case it was in when it
    stopped (if it stopped early)."""

    process: Isolated
    outcomes: dict[str, Outcome]
    begun: list[str]
    done: bool

    @property
    def unfinished(self) -> str | None:
        """The case that began but printed no outcome (the crashing or hanging one)."""
        if self.begun and self.begun[-1] not in self.outcomes:
            return self.begun[-1]
        return None


def parse(process: Isolated) -> CaseRun:
    outcomes: dict[str, Outcome] = {}
    begun: list[str] = []
    done = False
    for line in process.stdout.splitlines():
        if not line.startswith(MARK + " "):
            continue
        parts = line[len(MARK) + 1 :].split(" ", 3)
        if parts[0] == "DONE":
            done = True
        elif parts[0] == "BEGIN":
            begun.append(parts[1])
        elif parts[0] == "RAISED":
            classes = parts[2].split(",")
            outcomes[parts[1]] = Outcome("RAISED", classes, parts[3] if len(parts) > 3 else "")
        elif parts[0] == "RETURNED":
            outcomes[parts[1]] = Outcome("RETURNED", [], " ".join(parts[2:]))
    return CaseRun(process, outcomes, begun, done)


def mismatch(outcome: Outcome, expect: tuple[str, ...]) -> str | None:
    """Why ``outcome`` does not meet ``expect``, or None if it does."""
    if PANIC_CLASS in outcome.classes:
        return f"Rust panic: {outcome}"
    if expect[0] == "raises":
        wanted, pattern = expect[1], expect[2]
        if outcome.kind != "RAISED":
            return f"expected {wanted} matching {pattern!r}, but {outcome}"
        if wanted not in outcome.classes:
            return f"expected {wanted} matching {pattern!r}, but {outcome}"
        if pattern and not re.search(pattern, outcome.text):
            return f"expected {wanted} matching {pattern!r}, but {outcome}"
        return None
    if expect[0] == "returns":
        if outcome.kind != "RETURNED" or outcome.text != expect[1]:
            return f"expected to return {expect[1]}, but {outcome}"
        return None
    raise ValueError(f"unknown expectation {expect!r}")


class CaseRunner:
    """Runs registered cases in a child interpreter and checks their outcomes."""

    def run(
        self, path: str, names: list[str], registry: str = "CASES", timeout: float = 90
    ) -> CaseRun:
        return parse(run_isolated(["-c", DRIVER, path, registry, *names], timeout))

    def check(
        self,
        path: str,
        cases: Mapping[str, CaseLike],
        names: list[str],
        registry: str = "CASES",
        timeout: float = 90,
    ) -> CaseRun:
        """Run ``names`` (all in one child) and fail with every problem found: a crash or hang
        (naming the case it happened in), a case whose outcome differs from its expectation,
        a panic."""
        result = self.run(path, names, registry, timeout)
        problems = [
            f"{name}: {why}"
            for name in names
            if name in result.outcomes
            and (why := mismatch(result.outcomes[name], cases[name].expect)) is not None
        ]
        process = result.process
        if not result.done or process.returncode != 0 or process.timed_out:
            culprit = result.unfinished or "(before the first case)"
            problems.append(f"child stopped in case {culprit}: {process.describe()}")
        elif missing := [name for name in names if name not in result.outcomes]:
            problems.append(f"no outcome for {missing}")
        fatal = [marker for marker in FATAL_STDERR if marker in process.stderr]
        if fatal and not problems:
            problems.append(f"stderr shows {fatal}: {process.describe()}")
        assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
        return result


@pytest.fixture
def case_runner() -> CaseRunner:
    """Runs a test module's registered cases in a child interpreter (see the module docs)."""
    return CaseRunner()
