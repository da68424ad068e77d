"""bench/digest: render and deliver personalised newsletter digests over real SMTP.

usage: python bench/digest.py [--subscribers 10000] [--small 2000] [--stories 10] [--write-docs]

An aiosmtpd server (newsdesk.mail.sink.SmtpSink, keeping only the last few mails) runs in a separate
process on 127.0.0.1. Each measurement runs in a fresh subprocess, so its peak RSS is its own:
  - the digest (STORIES story entries, each with 3 outlets) is rendered once with prepare_digest;
  - subscribers are streamed from a generator: per subscriber, an unsubscribe and a manage token are
    signed, the personal mail is assembled (PreparedDigest.mail_for) and sent by Mailer.send_many
    over one reused SMTP connection. Nothing is built ahead, so memory must not grow with N;
  - digests/s over the whole run (render + sign + send + the server's receipt), and peak RSS.
Two runs, SMALL and SUBSCRIBERS, show whether peak RSS grows with the number of subscribers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from benchdocs import write_section  # noqa: E402

sys.path.insert(0, str(ROOT / "src"))

from newsdesk.mail.digest import select_digest_entries  # noqa: E402
from newsdesk.mail.render import DigestLinks, OutgoingMail, prepare_digest  # noqa: E402
from newsdesk.mail.send import SmtpSettings, send_concurrently  # noqa: E402
from newsdesk.mail.sink import SmtpSink  # noqa: E402
from newsdesk.mail.tokens import make_token  # noqa: E402
from newsdesk.models import Cadence, DigestArticle, DigestPeriod, Newsletter, TopicKind  # noqa: E402

SECRET = "bench-secret-key"  # noqa: S105 - signs the bench's own tokens only
PUBLIC = "https://news.example"
OUTLETS = ("NOS", "NRC", "de Volkskrant", "Trouw", "NU.nl", "AD", "Het Parool", "RTL Nieuws")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --------------------------------------------------------------------------------- SMTP server


def serve(conn: Connection) -> None:
    sink = SmtpSink(keep=5).start()
    conn.send(sink.port)
    while conn.recv() == "cpu":  # until "stop"
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn.send((sink.received_count, usage.ru_utime + usage.ru_stime))
    conn.send(sink.received_count)
    sink.stop()


# --------------------------------------------------------------------------------- measuring child


def child(port: int, subscribers: int, stories: int, connections: int) -> dict[str, float]:
    newsletter = Newsletter(1, "Klimaat & energie", "Het klimaatnieuws van de dag", TopicKind.SEARCH,
                            "klimaat", language="nl", cadence=Cadence.DAILY, hour=7,
                            timezone="Europe/Amsterdam")
    end = datetime(2026, 1, 20, 6, tzinfo=UTC)
    period = DigestPeriod(end - timedelta(days=1), end, "2026-01-20")
    articles = [
        DigestArticle(
            id=s * 3 + k, story_id=s, title=f"Kabinet neemt besluit over klimaatplan, deel {s} — reactie {k}",
            url=f"https://{OUTLETS[(s + k) % len(OUTLETS)].lower().replace(' ', '')}.example/nieuws/{s}-{k}",
            reader_url=f"{PUBLIC}/articles/{s * 3 + k}", source_title=OUTLETS[(s + k) % len(OUTLETS)],
            published=end - timedelta(minutes=10 * s + k),
            summary="Het kabinet heeft dinsdag een nieuw pakket maatregelen gepresenteerd om de uitstoot "
                    "van broeikasgassen sneller terug te dringen. Oppositie en milieuorganisaties reageren.")
        for s in range(stories) for k in range(3)
    ]
    entries = select_digest_entries(articles, period.start, period.end)
    prepared = prepare_digest(newsletter, entries, from_address="nieuws@news.example", period=period)
    rss_before = peak_rss_mb()

    def mails() -> Iterator[OutgoingMail]:
        for i in range(subscribers):
            address = f"abonnee{i}@example.org"
            links = DigestLinks(
                f"{PUBLIC}/newsletters/unsubscribe/{make_token(SECRET, 'unsubscribe', i, address)}",
                f"{PUBLIC}/newsletters/manage/{make_token(SECRET, 'manage', i, address)}",
            )
            yield prepared.mail_for(address, links)

    settings = SmtpSettings("127.0.0.1", port, from_address="nieuws@news.example", timeout=10, backoff=0.1,
                            max_per_connection=1_000_000)
    ok = failed = 0
    size = 0
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    for result in send_concurrently(settings, mails(), connections=connections):
        if result.ok:
            ok += 1
        else:
            failed += 1
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    size = len(prepared.mail_for("x@example.org", DigestLinks(f"{PUBLIC}/u/x", f"{PUBLIC}/m/x")).data)
    return {"subscribers": subscribers, "ok": ok, "failed": failed, "seconds": elapsed,
            "per_s": ok / elapsed, "cpu_s": cpu, "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb(),
            "entries": len(entries), "mail_bytes": size}


def run_child(port: int, subscribers: int, stories: int, connections: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", str(port), str(subscribers), str(stories),
                          str(connections)],
                         check=True, capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--stories", type=int, default=10)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--child", nargs=4, type=int)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    server = ctx.Process(target=serve, args=(theirs,), daemon=True)
    server.start()
    try:
        port = ours.recv()
        server_cpu = []
        results = []
        for n in (args.small, args.subscribers):
            ours.send("cpu")
            _, cpu_before = ours.recv()
            results.append(run_child(port, n, args.stories, args.connections))
            ours.send("cpu")
            server_cpu.append((ours.recv()[1] - cpu_before) / n)
        small, large = results
        ours.send("stop")
        received = ours.recv()
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    expected = small["ok"] + large["ok"]
    cmd = (f"python bench/digest.py --subscribers {args.subscribers} --small {args.small} "
           f"--stories {args.stories} --connections {args.connections}")
    lines = [
        "## Newsletters: digest delivery (bench/digest.py)", "",
        f"Command: `{cmd}` (measured {datetime.now(UTC):%Y-%m-%d}, {sys.platform}, 2 cores; aiosmtpd server "
        f"in a separate process on 127.0.0.1; each run in a fresh process).", "",
        f"Each digest: {int(large['entries'])} stories with 3 outlets each, text + HTML "
        f"(multipart/alternative), about {large['mail_bytes'] / 1024:.0f} kB; per subscriber two signed "
        "tokens (unsubscribe, manage), the personal footer and headers, one SMTP transaction; "
        f"{args.connections} reused SMTP connections (send_concurrently). Subscribers are streamed, "
        "never built ahead.", "",
        "| subscribers | delivered | failed | seconds | digests/s | sender CPU per digest (ms) "
        "| aiosmtpd CPU per digest (ms) | sender RSS before sending (MB) | sender peak RSS (MB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r, srv in zip((small, large), server_cpu, strict=True):
        lines.append(f"| {int(r['subscribers']):,} | {int(r['ok']):,} | {int(r['failed'])} "
                     f"| {r['seconds']:.1f} "
                     f"| {r['per_s']:.0f} | {1000 * r['cpu_s'] / r['subscribers']:.2f} | {1000 * srv:.2f} "
                     f"| {r['rss_before_mb']:.1f} | {r['peak_rss_mb']:.1f} |")
    growth = large["peak_rss_mb"] - small["peak_rss_mb"]
    verdict = ("memory is flat in the number of subscribers" if abs(growth) < 2.0
               else "memory GROWS with the number of subscribers")
    lines += ["", f"The server received {received:,} of {expected:,} delivered mails. Peak RSS differs by "
              f"{growth:+.1f} MB between {args.small:,} and {args.subscribers:,} subscribers: {verdict}."]
    load = os.getloadavg()[0]
    lines += ["", f"Load average when measured: {load:.1f} on 2 cores (other work shared the machine). With "
              f"{1000 * large['cpu_s'] / large['subscribers']:.2f} ms of sender CPU per digest, the sender "
              "alone "
              f"could do about {large['subscribers'] / large['cpu_s']:.0f} digests/s on one core; the "
              "pure-Python aiosmtpd server, which parses every line of every mail, is the slower side."]
    section = "\n".join(lines)
    print(section)
    if args.write_docs:
        write_section("bench/digest", section)


if __name__ == "__main__":
    main()
