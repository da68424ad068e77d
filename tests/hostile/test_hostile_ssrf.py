"""Figure 4: SSRF. A feed, an article link, a redirect, feed autodiscovery or an image link that points
at a non-public address makes 0 connections there, in any notation, through DNS, or through DNS that
changes its answer between check and connect. The operator's allowed_networks is the only way in.

A listener on 127.0.0.9 (and one on [::1]) counts every connection; tests/localsite's server on
127.0.0.1 is the operator's own, allowed site. The per-notation and rebinding proofs at the fetcher
level are tests/ingest/test_fetch_safety.py; here the same attacks come through a whole pass.
"""

from __future__ import annotations

import asyncio
import ipaddress
from datetime import UTC, datetime
from html import escape

import pytest
from hostile_helpers import ConnectionCounter, article_page, pass_over, policy, rss

from ingest.fetch_servers import FakeDNS
from newsdesk.errors import BlockedAddressError, DiscoveryError
from newsdesk.ingest.fetch import Fetcher
from newsdesk.models import ArticleStatus, NewSource
from newsdesk.services.sources import add_source
from newsdesk.storage import ArticleFilter

OPERATOR_SITE = (ipaddress.ip_network("127.0.0.1/32"),)


def forbidden_urls(port: int, port6: int) -> dict[str, str]:
    """Every spelling of "the forbidden listener" a feed could use. 127.0.0.9 == 0x7f000009 == 2130706441."""
    return {
        "dotted": f"http://127.0.0.9:{port}/x",
        "decimal": f"http://2130706441:{port}/x",
        "hex": f"http://0x7f000009:{port}/x",
        "hex_dotted": f"http://0x7f.0x0.0x0.0x9:{port}/x",
        "octal": f"http://0177.0.0.011:{port}/x",
        "short": f"http://127.9:{port}/x",
        "mapped_v6": f"http://[::ffff:127.0.0.9]:{port}/x",
        "mapped_v6_hex": f"http://[::ffff:7f00:9]:{port}/x",
        "nat64": f"http://[64:ff9b::7f00:9]:{port}/x",
        "dns_name": f"http://evil.test:{port}/x",
        "dns_mixed": f"http://mixed.test:{port}/x",
        "dns_nat64": f"http://nat64.test:{port}/x",
        "dns_trailing_dot": f"http://evil.test.:{port}/x",
        "v6_loopback": f"http://[::1]:{port6}/x",
        "v6_loopback_long": f"http://[0:0:0:0:0:0:0:1]:{port6}/x",
        "dns_v6": f"http://v6.test:{port6}/x",
        "private_10": "http://10.0.0.1/x",
        "private_192": "http://192.168.1.1/x",
        "link_local_metadata": "http://169.254.169.254/latest/meta-data/",
        "multicast": "http://224.0.0.1/x",
        "cgnat": "http://100.64.0.1/x",
        "unique_local_v6": "http://[fc00::1]/x",
        "link_local_v6": "http://[fe80::1]/x",
        "multicast_v6": "http://[ff02::1]/x",
        "this_host": f"http://0.0.0.0:{port}/x",
    }


def dns() -> FakeDNS:
    return FakeDNS({
        "evil.test": [["127.0.0.9"]],
        "evil.test.": [["127.0.0.9"]],
        "mixed.test": [["127.0.0.9", "10.1.2.3"]],
        "nat64.test": [["64:ff9b::7f00:9"]],
        "v6.test": [["::1"]],
        # the first lookup says the operator's site, every later one the forbidden listener
        "rebind.test": [["127.0.0.1"], ["127.0.0.9"]],
    })


@pytest.fixture
def counters():
    v4 = ConnectionCounter("127.0.0.9")
    v6 = ConnectionCounter("::1")
    yield v4, v6
    v4.close()
    v6.close()


def test_feeds_at_forbidden_addresses_are_refused_and_recorded(storage, counters, site) -> None:
    v4, v6 = counters
    ok_feed = site.add("/ok.xml", rss(site.base, [("Goed", "/a.html")]), content_type="application/rss+xml")
    site.add("/a.html", article_page("Goed"))
    urls = forbidden_urls(v4.port, v6.port)
    now = datetime.now(UTC)
    for name, url in urls.items():
        storage.add_source(NewSource(url, title=name), now)
    storage.add_source(NewSource(ok_feed, title="ok"), now)
    summary = asyncio.run(pass_over(storage, fetch_policy=policy(allowed_networks=OPERATOR_SITE), resolver=dns()))
    assert (v4.connections, v6.connections) == (0, 0)
    by_title = {s.title: s.state for s in storage.list_sources()}
    not_blocked = {n: (by_title[n].last_error_kind, by_title[n].last_error) for n in urls
                   if by_title[n].last_error_kind != "blocked_address"}
    assert not_blocked == {}
    assert summary.new_articles == 1 and by_title["ok"].last_error is None


def test_the_allow_list_is_the_only_way_in(storage, counters) -> None:
    """The counter is real: opening 127.0.0.9 lets the very same sources through."""
    v4, _ = counters
    now = datetime.now(UTC)
    for name in ("dotted", "decimal", "hex", "octal", "dns_name"):
        storage.add_source(NewSource(forbidden_urls(v4.port, 1)[name], title=name), now)
    allowed = (ipaddress.ip_network("127.0.0.9/32"),)
    asyncio.run(pass_over(storage, fetch_policy=policy(allowed_networks=allowed), resolver=dns()))
    assert v4.connections == 5
    assert all(s.state.last_error_kind != "blocked_address" for s in storage.list_sources())


def test_article_links_redirects_and_images_reach_nothing_forbidden(storage, counters, site) -> None:
    v4, v6 = counters
    urls = forbidden_urls(v4.port, v6.port)
    # article links straight at the forbidden forms, and links to the operator's site that redirect there
    items = [(f"link {name}", url) for name, url in urls.items()]
    for name, url in urls.items():
        site.add(f"/redirect/{name}", "", status=302, headers={"location": url})
        items.append((f"redirect {name}", f"{site.base}/redirect/{name}"))
    image = f"http://127.0.0.9:{v4.port}/pixel.gif"
    page = article_page("Goed met plaatje", 1, extra=f'<figure><img src="{image}"><figcaption>foto</figcaption>'
                        f'</figure><img src="http://[::1]:{v6.port}/p.png">')
    site.add("/good.html", page)
    items.append(("Goed met plaatje", f"{site.base}/good.html"))
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(u)}</link><description>Tekst {escape(t)}</description>"
        f'<enclosure url="{escape(image)}" type="image/jpeg" length="1"/></item>' for t, u in items)
    site.add("/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>{site.base}/'
             f"</link>{entries}</channel></rss>", content_type="application/rss+xml")
    source = storage.add_source(NewSource(site.url("/feed.xml")), datetime.now(UTC))
    asyncio.run(pass_over(storage, fetch_policy=policy(allowed_networks=OPERATOR_SITE), resolver=dns()))
    assert (v4.connections, v6.connections) == (0, 0)
    assert site.hits["/good.html"] == 1
    stored = {a.title: storage.get_article(a.id) for a in storage.list_articles(ArticleFilter(source_id=source.id))}
    assert stored["Goed met plaatje"].status is ArticleStatus.OK
    # A link newsdesk refuses to fetch is a permanent failure: kept with the feed's own text, never retried
    # each poll (where a feed of refused links would take every slot of articles_per_feed forever).
    for name in urls:
        assert stored[f"link {name}"].status is ArticleStatus.FETCH_FAILED, name
        if name != "octal":  # httpx itself rejects that Location header: a broken response, retried next poll
            assert stored[f"redirect {name}"].status is ArticleStatus.FETCH_FAILED, name
        # ... saying why, not blaming a robots.txt that was never fetched
        error = stored[f"link {name}"].error or ""
        assert "public internet addresses" in error or "not a valid address" in error, name


def test_dns_rebinding_between_check_and_connect_reaches_nothing(storage, site) -> None:
    # The forbidden listener sits on the operator site's own port, on 127.0.0.9: only the IP differs.
    trap = ConnectionCounter("127.0.0.9", port=site.port)
    try:
        base = f"http://rebind.test:{site.port}"
        site.add("/rebind.xml", rss(base, [("Rebound", "/r.html")]), content_type="application/rss+xml")
        site.add("/r.html", article_page("Rebound"))
        storage.add_source(NewSource(f"{base}/rebind.xml"), datetime.now(UTC))
        resolver = dns()
        asyncio.run(pass_over(storage, fetch_policy=policy(allowed_networks=OPERATOR_SITE), resolver=resolver))
        assert trap.connections == 0
        assert site.hits["/rebind.xml"] == 1  # the first answer was the allowed site
        assert len(resolver.calls_for("rebind.test")) >= 2  # later lookups gave the forbidden address...
        assert site.hits["/r.html"] == 0  # ...which was refused, never connected to
    finally:
        trap.close()


def test_feed_autodiscovery_never_follows_a_link_to_a_forbidden_address(storage, counters, site) -> None:
    v4, v6 = counters
    links = "".join(f'<link rel="alternate" type="application/rss+xml" href="{escape(u)}">'
                    for u in forbidden_urls(v4.port, v6.port).values())
    site.add("/home.html", f"<!doctype html><html><head><title>Home</title>{links}</head><body><p>hi</p></body></html>")
    site.add("/robots.txt", f"Sitemap: http://127.0.0.9:{v4.port}/sitemap.xml\n", content_type="text/plain")
    site.add("/to-internal", "", status=301, headers={"location": f"http://127.0.0.9:{v4.port}/feed"})

    async def go() -> list[BaseException]:
        failures: list[BaseException] = []
        async with Fetcher(policy(allowed_networks=OPERATOR_SITE), resolver=dns()) as fetcher:
            for url in (site.url("/home.html"), site.url("/to-internal"), f"http://127.0.0.9:{v4.port}/",
                        f"http://2130706441:{v4.port}/"):
                try:
                    await add_source(storage, fetcher, url)
                except (DiscoveryError, BlockedAddressError) as exc:
                    failures.append(exc)
        return failures

    failures = asyncio.run(go())
    assert len(failures) == 4
    assert (v4.connections, v6.connections) == (0, 0)
    assert storage.list_sources() == []


def test_refused_links_do_not_starve_a_feeds_real_entries(storage, site) -> None:
    """Regression: refused links were 'retried next poll' forever, holding articles_per_feed slots."""
    items = [(f"intern {i}", f"{site.base}/to-intern/{i}") for i in range(3)] + [("Echt", f"{site.base}/real.html")]
    for i in range(3):  # the operator's site redirects each of them to a private address
        site.add(f"/to-intern/{i}", "", status=302, headers={"location": f"http://10.0.0.{i + 1}/x"})
    site.add("/real.html", article_page("Echt"))
    site.add("/feed.xml", rss("", items), content_type="application/rss+xml", etag=False)
    source = storage.add_source(NewSource(site.url("/feed.xml")), datetime.now(UTC))
    for _ in range(3):
        asyncio.run(pass_over(storage, fetch_policy=policy(allowed_networks=OPERATOR_SITE), articles_per_feed=2))
    titles = {a.title for a in storage.list_articles(ArticleFilter(source_id=source.id))}
    assert "Echt" in titles and len(titles) == 4
