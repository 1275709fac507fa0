"""Every Python example in the guides (docs/guide/*.md) runs as written.

Each ```` ```python ```` block is a whole program. It runs in a child interpreter
(`sys.executable`) from an empty temporary directory, and must exit with status 0.

The rule for output: when the next thing after a python block (blank lines aside) is a
```` ```text ```` block, that block is the program's whole stdout, compared exactly, final
newline included. A text block anywhere else is not checked. Blocks in other languages (`sh`,
`wit`, ...) are never run.

Test ids are `<page>-<n>`: the page's name and the block's position among its python blocks,
counted from 1 (`wasmtime-3` is the third python block of `wasmtime.md`).
"""

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

GUIDES = Path(__file__).resolve().parent.parent / "docs" / "guide"

FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass
class Block:
    page: str
    number: int
    line: int
    code: str
    expected: str | None


def fenced_blocks(text: str) -> list[tuple[str, int, str]]:
    """The fenced blocks of a Markdown page as (language, first line, content), plus a
    pseudo-block ("", line, "") for each non-blank line between blocks, so that adjacency can be
    told apart."""
    items: list[tuple[str, int, str]] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            if lines[i].strip():
                items.append(("", i + 1, ""))
            i += 1
            continue
        start = i + 1
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            i += 1
        items.append((opening.group(1), start, "".join(lines[start:i])))
        i += 1
    return items


def python_blocks(page: Path) -> list[Block]:
    items = fenced_blocks(page.read_text())
    blocks: list[Block] = []
    for k, (language, line, code) in enumerate(items):
        if language != "python":
            continue
        following = items[k + 1] if k + 1 < len(items) else None
        expected = following[2] if following is not None and following[0] == "text" else None
        blocks.append(Block(page.stem, len(blocks) + 1, line, code, expected))
    return blocks


BLOCKS = [block for page in sorted(GUIDES.glob("*.md")) for block in python_blocks(page)]


def test_the_guides_have_examples() -> None:
    assert len(BLOCKS) > 0


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.page}-{b.number}" for b in BLOCKS])
def test_guide_example_runs(block: Block, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(block.code)
    out = subprocess.run(
        [sys.executable, script.name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    where = f"docs/guide/{block.page}.md, block at line {block.line}"
    assert out.returncode == 0, f"{where} failed:\n{out.stderr}"
    if block.expected is not None:
        assert out.stdout == block.expected, where
