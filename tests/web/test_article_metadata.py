"""The article page shows the section, the update time and the photo credit, escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import lxml.html
from fastapi.testclient import TestClient

from newsdesk.models import NewArticle

#: the seeded storage's clock (tests/web/conftest.py)
NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
Seeded = Any


def _add(seeded: Seeded, **fields: Any) -> int:
    values: dict[str, Any] = {
        "source_id": seeded.nrc.id, "url": "https://www.nrc.nl/2026/01/20/meta", "title": "Metadata-artikel",
        "fetched_at": NOW, "published_at": NOW - timedelta(hours=30), "language": "nl",
        "image_url": "https://img.example.org/meta.jpg", "html": "<p>Tekst.</p>", "text": "Tekst.",
    }
    values.update(fields)
    article_id = seeded.storage.add_article(NewArticle(**values))
    assert article_id is not None
    return article_id


def _get(client: TestClient, article_id: int) -> tuple[str, Any]:
    response = client.get(f"/articles/{article_id}")
    assert response.status_code == 200
    return response.text, lxml.html.fromstring(response.text)


def test_section_update_and_credit_render(client: TestClient, seeded: Seeded) -> None:
    updated = NOW - timedelta(hours=2)
    article_id = _add(seeded, section="Binnenland", updated_at=updated,
                      image_caption="De brug over de Vliet.", image_credit="Jan de Vries/ANP")
    _, doc = _get(client, article_id)
    main = doc.cssselect("main")[0]
    section = main.cssselect("p.section")
    assert [s.text_content() for s in section] == ["Binnenland"]
    # the label sits above the headline
    tags = [el.tag if el.tag != "p" else el.get("class") for el in main.iter("p", "h1")]
    assert tags.index("section") < tags.index("h1")
    stamp = main.cssselect(".meta .updated")[0]
    assert stamp.text_content().startswith("Updated ")
    assert stamp.cssselect("time")[0].get("datetime") == updated.isoformat()
    caption = main.cssselect("figure.lead figcaption")[0]
    assert caption.text_content() == "De brug over de Vliet. — Jan de Vries/ANP"
    assert caption.cssselect("span.credit")[0].text_content() == "Jan de Vries/ANP"


def test_update_not_later_than_publication_is_not_shown(client: TestClient, seeded: Seeded) -> None:
    published = NOW - timedelta(hours=30)
    article_id = _add(seeded, published_at=published, updated_at=published, image_caption="Onderschrift")
    _, doc = _get(client, article_id)
    assert doc.cssselect(".meta .updated") == []
    assert doc.cssselect("p.section") == []
    caption = doc.cssselect("figure.lead figcaption")[0]
    assert caption.text_content() == "Onderschrift"
    assert caption.cssselect(".credit") == []


def test_credit_without_caption(client: TestClient, seeded: Seeded) -> None:
    article_id = _add(seeded, image_credit="Reuters")
    _, doc = _get(client, article_id)
    assert doc.cssselect("figure.lead figcaption")[0].text_content() == "Reuters"


def test_dutch_label(client: TestClient, seeded: Seeded) -> None:
    article_id = _add(seeded, updated_at=NOW - timedelta(hours=1))
    response = client.get(f"/articles/{article_id}?lang=nl")
    doc = lxml.html.fromstring(response.text)
    assert doc.cssselect(".meta .updated")[0].text_content().startswith("Bijgewerkt ")


def test_metadata_is_escaped(client: TestClient, seeded: Seeded) -> None:
    article_id = _add(seeded, section="<script>alert(1)</script>", image_caption="Foto <b>vet</b>",
                      image_credit='<img src=x onerror="alert(2)">')
    text, doc = _get(client, article_id)
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert '<img src=x onerror="alert(2)">' not in text
    main = doc.cssselect("main")[0]
    assert main.cssselect("p.section")[0].text_content() == "<script>alert(1)</script>"
    assert main.cssselect("p.section script") == []
    credit = main.cssselect("figcaption span.credit")[0]
    assert credit.text_content() == '<img src=x onerror="alert(2)">'
    assert credit.cssselect("img") == [] and main.cssselect("figcaption b") == []
