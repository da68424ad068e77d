"""Writes a benchmark's section into docs/benchmarks.md between its own markers, leaving the rest."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(name: str, section: str, doc: Path = DOC) -> None:
    """Replace the block between `<!-- NAME start -->` and `<!-- NAME end -->`, or append it."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    start, end = f"<!-- {name} start -->", f"<!-- {name} end -->"
    block = f"{start}\n{section}\n{end}"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)
