"""The examples run as documented (README's first command runs examples/gcd.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize(
    ("script", "printed"),
    [("gcd.py", "gcd(6, 27) = 3"), ("greet.py", "Hello, world!")],
)
def test_example_prints_its_result(script: str, printed: str) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == printed
