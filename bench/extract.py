"""Extraction benchmark: newsdesk beside trafilatura and readability-lxml, in one process, same run.

    PYTHONPATH=src python bench/extract.py                 # AEB + fixtures, print the table
    PYTHONPATH=src python bench/extract.py --write-docs    # ... and put it into docs/benchmarks.md
    PYTHONPATH=src python bench/extract.py --ablation      # ... plus newsdesk's mechanisms one by one

Data sets:
  aeb       the ScrapingHub article-extraction benchmark, <repo>/../shared/data/aeb (or $NEWSDESK_AEB_DIR);
            skipped with a message when absent
  pages     tests/data/pages: one page per site, with gold bodies
  sites     tests/data/sites/<site>/: several pages per site, gold bodies; newsdesk runs twice here,
            page by page and as a batch that learns each site's template first (extract_articles)

The metric is the AEB's own (its evaluate.py, as its README describes): tokens `\\w+` with case kept,
word 4-gram shingle multisets per page, tp/fp/fn normalised per page to sum 1, precision averaged
over pages with output, recall over pages with a non-empty truth, F1 the harmonic mean of the two.
Speed is pages per second spent inside the extractor (parsing included, loading the files not).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench/extract start -->", "<!-- bench/extract end -->"


# --- data ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    key: str
    url: str | None
    html: str
    gold: str
    #: pages of one site share a group; extract_articles learns per group
    site: str = ""


def aeb_dir() -> Path | None:
    candidates = [os.environ.get("NEWSDESK_AEB_DIR")]
    # The repo's sibling "shared" folder; a git worktree under /work/wt/<name> has it one level up.
    candidates += [str(base / "shared" / "data" / "aeb") for base in (ROOT.parent, ROOT.parent.parent)]
    for candidate in candidates:
        if candidate and (Path(candidate) / "ground-truth.json").is_file():
            return Path(candidate)
    return None


def load_aeb(directory: Path) -> list[Page]:
    truth = json.loads((directory / "ground-truth.json").read_text("utf-8"))
    pages = []
    for key in sorted(truth):
        raw = gzip.decompress((directory / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(key, truth[key].get("url"), raw.decode("utf-8", "replace"),
                          truth[key].get("articleBody", "")))
    return pages


def load_fixture_pages() -> list[Page]:
    folder = ROOT / "tests" / "data" / "pages"
    pages = []
    for path in sorted(folder.glob("*.html")):
        name = path.name.removesuffix(".html")
        expected = json.loads((folder / f"{name}.expected.json").read_text("utf-8"))
        pages.append(Page(name, expected.get("url"), path.read_bytes().decode("utf-8", "replace"),
                          (folder / f"{name}.gold.txt").read_text("utf-8")))
    return pages


def load_site_pages() -> list[Page]:
    folder = ROOT / "tests" / "data" / "sites"
    pages = []
    for site in sorted(p for p in folder.glob("*") if p.is_dir()):
        urls = json.loads((site / "urls.json").read_text("utf-8"))
        for path in sorted(site.glob("page*.html")):
            name = path.name.removesuffix(".html")
            pages.append(Page(f"{site.name}/{name}", urls[name], path.read_text("utf-8"),
                              (site / f"{name}.gold.txt").read_text("utf-8"), site=site.name))
    return pages


# --- the AEB metric --------------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    grams = (tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)))
    return Counter(g for g in grams if g)


def shingle_counts(gold: str, predicted: str) -> tuple[float, float, float]:
    """(tp, fp, fn) over word-4-gram multisets, normalised to sum 1 (AEB's string_shingle_matching)."""
    truth, pred = _shingles(gold), _shingles(predicted)
    tp = fp = fn = 0.0
    for key in truth.keys() | pred.keys():
        t, p = truth.get(key, 0), pred.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Score:
    f1: float
    precision: float
    recall: float
    empty: float  #: share of pages with no output
    errors: float  #: share of pages where the extractor raised something unexpected
    pages_per_second: float


def score(golds: Sequence[str], outputs: Sequence[str], seconds: float, errors: int) -> Score:
    counts = [shingle_counts(g, o) for g, o in zip(golds, outputs, strict=True)]
    precisions = [tp / (tp + fp) for tp, fp, _ in counts if tp + fp > 0]
    recalls = [tp / (tp + fn) for tp, _, fn in counts if tp + fn > 0]
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    n = len(golds)
    empty = sum(1 for o in outputs if not o.strip()) / n
    return Score(f1, p, r, empty, errors / n, n / seconds if seconds else 0.0)


# --- extractors ------------------------------------------------------------------------------------

Extractor = Callable[[str, str | None], str]


def _trafilatura(precision: bool) -> Extractor:
    import trafilatura

    def run(html: str, url: str | None) -> str:
        return trafilatura.extract(html, url=url, favor_precision=precision) or ""
    return run


def _readability(html: str, url: str | None) -> str:
    from readability import Document

    from newsdesk.extract import html_to_text

    return html_to_text(Document(html, url=url).summary(html_partial=True))


def _newsdesk_with(**switches: bool) -> Extractor:
    from newsdesk.errors import NoArticleError, PaywallError
    from newsdesk.extract import ChooseOptions, ExtractLimits, extract_article

    limits = ExtractLimits(choose=ChooseOptions(**switches))

    def run(html: str, url: str | None) -> str:
        try:
            return extract_article(html, url, limits=limits).text
        except PaywallError as exc:
            # Labelled as a paywall (not stored as an article); AEB's gold for such pages is the
            # teaser, so the teaser the label carries is what gets scored.
            return exc.teaser
        except NoArticleError:
            return ""
    return run


_newsdesk = _newsdesk_with()


def extractors() -> dict[str, Extractor]:
    return {
        "newsdesk": _newsdesk,
        "trafilatura (favor_precision)": _trafilatura(True),
        "trafilatura (default)": _trafilatura(False),
        "readability-lxml": _readability,
    }


def run_all(chosen: dict[str, Extractor], pages: Sequence[Page]) -> dict[str, Score]:
    """Every extractor on every page, interleaved page by page, so that a busy machine slows all
    of them alike and the pages/s figures stay comparable within one run."""
    outputs: dict[str, list[str]] = {name: [] for name in chosen}
    errors = dict.fromkeys(chosen, 0)
    spent = dict.fromkeys(chosen, 0.0)
    for page in pages:
        for name, extractor in chosen.items():
            started = time.perf_counter()
            try:
                out = extractor(page.html, page.url)
            except Exception:  # a benchmark counts crashes instead of stopping at the first
                out = ""
                errors[name] += 1
            spent[name] += time.perf_counter() - started
            outputs[name].append(out)
    golds = [p.gold for p in pages]
    return {name: score(golds, outputs[name], spent[name], errors[name]) for name in chosen}


def run_one(extractor: Extractor, pages: Sequence[Page]) -> Score:
    return run_all({"one": extractor}, pages)["one"]


def run_batch(pages: Sequence[Page], learn: bool) -> Score:
    """newsdesk's batch form: one extract_articles call per site, learning its template first."""
    from newsdesk.extract import extract_articles

    outputs, spent = [], 0.0
    by_site: dict[str, list[Page]] = {}
    for page in pages:
        by_site.setdefault(page.site, []).append(page)
    for group in by_site.values():
        started = time.perf_counter()
        results = extract_articles([(p.url or "", p.html) for p in group], learn_sites=learn)
        spent += time.perf_counter() - started
        outputs += [getattr(r, "text", "") or getattr(r, "teaser", "") for r in results]
    golds = [p.gold for group in by_site.values() for p in group]
    return score(golds, outputs, spent, 0)


# --- report ----------------------------------------------------------------------------------------

def _row(name: str, s: Score, reference: Score | None = None) -> str:
    ratio = ""
    if reference is not None and reference.pages_per_second:
        ratio = f"{s.pages_per_second / reference.pages_per_second:.2f}"
    return (f"| {name} | {s.f1:.3f} | {s.precision:.3f} | {s.recall:.3f} | {s.empty:.1%} | {s.errors:.1%} "
            f"| {s.pages_per_second:.1f} | {ratio} |")


#: the speed column that does not depend on how busy the machine is: pages/s relative to this one
REFERENCE = "trafilatura (favor_precision)"
HEADER = (f"| extractor | F1 | precision | recall | empty | exceptions | pages/s | speed vs {REFERENCE} |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def ablation(pages: Sequence[Page]) -> tuple[Score, list[tuple[str, str, Score]]]:
    """newsdesk whole, and with each mechanism switched off in turn (extract/choose.py's switches)."""
    from newsdesk.extract.choose import MECHANISMS

    variants = {"": _newsdesk} | {name: _newsdesk_with(**{name: False}) for name in MECHANISMS}
    scores = run_all(variants, pages)
    return scores[""], [(name, why, scores[name]) for name, why in MECHANISMS.items()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    parser.add_argument("--ablation", action="store_true", help="also run newsdesk with each mechanism off")
    parser.add_argument("--only", help="run only extractors whose name contains this")
    parser.add_argument("--limit", type=int, help="only the first N AEB pages (quick checks)")
    args = parser.parse_args(argv)

    sets: list[tuple[str, list[Page]]] = []
    directory = aeb_dir()
    if directory is None:
        print("AEB not found (looked for <repo>/../shared/data/aeb and $NEWSDESK_AEB_DIR): skipping it")
    else:
        sets.append(("AEB", load_aeb(directory)[: args.limit]))
    sets.append(("tests/data/pages", load_fixture_pages()))
    site_pages = load_site_pages() if (ROOT / "tests" / "data" / "sites").is_dir() else []
    if site_pages:
        sets.append(("tests/data/sites (3 sites, 6 pages each)", site_pages))

    # Warm up every extractor once (imports, model loads), so speed measures extraction only.
    warm = sets[-1][1][0]
    chosen = {n: e for n, e in extractors().items() if not args.only or args.only in n}
    for extractor in chosen.values():
        extractor(warm.html, warm.url)

    lines: list[str] = []
    for label, pages in sets:
        lines += [f"**{label}** ({len(pages)} pages)", "", HEADER]
        results = run_all(chosen, pages)
        reference = results.get(REFERENCE)
        for name, result in results.items():
            row = _row(name, result, reference)
            print(f"{label:40} {row}", flush=True)
            lines.append(row)
        if label.startswith("tests/data/sites"):
            for learn in (False, True):
                name = "newsdesk extract_articles, " + ("learning each site" if learn else "no learning")
                row = _row(name, run_batch(pages, learn), reference)
                print(f"{label:40} {row}", flush=True)
                lines.append(row)
        lines.append("")
    if args.ablation and directory is not None:
        full, rows = ablation(sets[0][1])
        lines += ["**Ablation on AEB**: newsdesk with one mechanism switched off", "",
                  "| switched off | F1 | change | pages/s | why the mechanism is there |",
                  "| --- | ---: | ---: | ---: | --- |",
                  f"| (nothing) | {full.f1:.3f} | | {full.pages_per_second:.1f} | |"]
        for name, why, s in rows:
            line = f"| {name} | {s.f1:.3f} | {s.f1 - full.f1:+.3f} | {s.pages_per_second:.1f} | {why} |"
            print(line, flush=True)
            lines.append(line)
        lines.append("")

    if args.write_docs:
        command = "PYTHONPATH=src python bench/extract.py --write-docs"
        command += " --ablation" if args.ablation else ""
        write_docs(lines, command)
    return 0


def write_docs(lines: list[str], command: str) -> None:
    import platform

    import readability
    import trafilatura

    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    versions = (f"trafilatura {trafilatura.__version__}, readability-lxml "
                f"{getattr(readability, '__version__', '0.8+')}, Python {platform.python_version()}, "
                f"{os.cpu_count()} CPUs")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    block = "\n".join([START, "", f"Measured {stamp} with `{command}` ({versions}, load average {load} at "
                       "the end); all extractors in the same process and run, interleaved page by page, so "
                       "pages/s compare within a table, not across machines or runs.", "", *lines, END])
    text = DOCS.read_text("utf-8") if DOCS.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Extraction (bench/extract.py)\n\n" + block + "\n"
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(text, "utf-8")
    print(f"wrote {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    raise SystemExit(main())
