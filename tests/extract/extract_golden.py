"""The golden pages in tests/data/pages: page, expected metadata and gold body text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGES = Path(__file__).resolve().parent.parent / "data" / "pages"


@dataclass(frozen=True)
class GoldenPage:
    name: str
    html: bytes
    expected: dict[str, Any]
    gold_text: str

    @property
    def url(self) -> str:
        return str(self.expected["url"])


def golden_pages() -> list[GoldenPage]:
    pages = []
    for path in sorted(PAGES.glob("*.html")):
        name = path.name.removesuffix(".html")
        pages.append(GoldenPage(
            name=name,
            html=path.read_bytes(),
            expected=json.loads((PAGES / f"{name}.expected.json").read_text("utf-8")),
            gold_text=(PAGES / f"{name}.gold.txt").read_text("utf-8"),
        ))
    return pages
