"""The site-templates admin: what each site's learned profile removes and why, and the override."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html
from fastapi.testclient import TestClient

from newsdesk.extract.sitelearn import RepeatedBlock, SiteProfile
from newsdesk.services.siteprofiles import learned_profile

NOW = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)


def learned(storage) -> None:
    block = RepeatedBlock(key="schrijf je in voor de nieuwsbrief", pages=9, sample="Schrijf je in voor de nieuwsbrief",
                          path="body/div.promo", reason="the same text is on 9 of 10 pages of this site")
    storage.save_site_profile("nrc.nl", SiteProfile(host="nrc.nl", pages_seen=10, blocks=(block,)).to_json(), NOW)


def token(client: TestClient, path: str) -> str:
    doc = lxml.html.fromstring(client.get(path).text)
    return doc.cssselect("input[name=csrf_token]")[0].get("value")


def test_sites_list_and_detail_show_what_is_removed_and_why(client: TestClient, seeded) -> None:
    assert "No site has enough stored pages yet." in client.get("/admin/sites").text
    learned(seeded.storage)
    listing = lxml.html.fromstring(client.get("/admin/sites").text)
    assert [a.text_content() for a in listing.cssselect("tbody th a")] == ["nrc.nl"]
    page = client.get("/admin/sites/nrc.nl")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Schrijf je in voor de nieuwsbrief" in page.text and "9 of 10 pages" in page.text
    assert client.get("/admin/sites/unknown.example").status_code == 404


def test_override_is_saved_with_csrf_and_bad_selectors_are_refused(client: TestClient, seeded) -> None:
    learned(seeded.storage)
    assert client.post("/admin/sites/nrc.nl/override", data={"keep_texts": "x"}).status_code == 403
    csrf = token(client, "/admin/sites/nrc.nl")
    response = client.post("/admin/sites/nrc.nl/override", follow_redirects=False,
                           data={"csrf_token": csrf, "keep_texts": "Lees ook\n\n", "remove_selectors": ".promo"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/sites/nrc.nl"
    profile = learned_profile(seeded.storage.get_site_profile("nrc.nl"))
    assert profile.keep_texts == ("lees ook",) and profile.remove_selectors == (".promo",)
    assert len(profile.blocks) == 1  # the learned blocks stay
    client.post("/admin/sites/nrc.nl/override", data={"csrf_token": csrf, "remove_selectors": "p[["})
    assert "Saved." not in client.get("/admin/sites/nrc.nl").text
    assert learned_profile(seeded.storage.get_site_profile("nrc.nl")).remove_selectors == (".promo",)


def test_sites_admin_refuses_remote_clients(app, seeded) -> None:
    learned(seeded.storage)
    with TestClient(app, client=("203.0.113.9", 1234)) as remote:
        assert remote.get("/admin/sites").status_code == 403
        assert remote.get("/admin/sites/nrc.nl").status_code == 403
