"""The examples run as documented (README's first command runs examples/gcd.py).

Each script runs in a child process from a different working directory (they find their .wat
files next to themselves), and its whole stdout must match.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def lines(*text: str) -> str:
    return "\n".join(text)


@pytest.mark.parametrize(
    ("script", "printed"),
    [
        ("gcd.py", "gcd(6, 27) = 3"),
        ("greet.py", "Hello, world!"),
        (
            "hello.py",
            lines(
                "calling add_double(1, 20) in wasm",
                "  Python double(20) called from wasm",
                "add_double(1, 20) = 41",
            ),
        ),
        (
            "memory.py",
            lines(
                "size: 1 page(s) = 65536 bytes",
                "read(16, 20) = b'wasm'",
                "load_u8(16) = 119 (the byte 'w', read by wasm)",
                "after store_i32(32, 0x21646961): read(32, 36) = b'aid!'",
                "grow(1) returned 1; size is now 2 page(s)",
                "load_u8(131072) trapped: TrapCode.MEMORY_OUT_OF_BOUNDS",
                "grow(2) failed: the maximum is 3 pages; size stays 2",
            ),
        ),
        (
            "linking.py",
            lines(
                "host log: 'app: summing'",
                "app sum_to(10) = 55",
                "lib add was called 10 times",
            ),
        ),
        (
            "multi.py",
            lines(
                "divmod_func(100, 7) = [14, 2]",
                "hms results: [i32, i32, i32]",
                "hms(45296) = [12, 34, 56]",
                "45296 s = 12 h 34 min 56 s",
            ),
        ),
        (
            "wasi.py",
            lines(
                "the program exited with status 0",
                "captured 37 bytes of stdout:",
                "  | hello, Ada",
                "  | hello, Grace",
                "  | hello, Linus",
            ),
        ),
        (
            "numpy_memory.py",
            lines(
                "writable view: True, owns its data: False",
                "numpy wrote: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]",
                "wasm sum: 36.0",
                "after wasm scale(0.5): [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]",
                "numpy sum: 18.0",
                "Memory.read of the first element: 0.5",
            ),
        ),
        (
            "thread_pool.py",
            lines(
                "primes in [        0,   250,000): 22,044",
                "primes in [  250,000,   500,000): 19,494",
                "primes in [  500,000,   750,000): 18,700",
                "primes in [  750,000, 1,000,000): 18,260",
                "primes in [1,000,000, 1,250,000): 17,971",
                "primes in [1,250,000, 1,500,000): 17,686",
                "primes in [1,500,000, 1,750,000): 17,453",
                "primes in [1,750,000, 2,000,000): 17,325",
                "total primes below 2,000,000: 148,933",
            ),
        ),
        (
            "process_pool.py",
            lines(
                "primes below 200000, by chunk of 50000: [5133, 4459, 4256, 4136], total 17984",
                "['Welcome, ada!', 'Welcome, grace!']",
            ),
        ),
        (
            "async_calls.py",
            lines(
                "primes below 1000000: 78498; from 1000000 to 2000000: 70435",
                "the event loop kept running meanwhile: True",
                "timed out; the wasm was stopped",
                "the store is free again: 25 primes below 100",
            ),
        ),
        pytest.param(
            "dask_cluster.py",
            "primes below 200000, by chunk of 50000: [5133, 4459, 4256, 4136], total 17984",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("distributed") is None,
                reason="needs dask[distributed] (installed by `make venv`)",
            ),
        ),
    ],
)
def test_example_prints_its_result(script: str, printed: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == printed
