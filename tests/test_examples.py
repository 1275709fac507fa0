"""The examples run as documented (README's first command runs examples/gcd.py)."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_gcd_example_prints_result() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "gcd.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "gcd(6, 27) = 3"


def test_extism_greet_example_prints_greeting() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "greet.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Hello, world!"
