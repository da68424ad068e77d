"""Named entities for story clustering, without model downloads: a shipped gazetteer with an alias
table, capitalised spans and acronyms, for Dutch, English, German and French.

Why not spaCy: its models are hundreds of megabytes per language and slow on a small server; for
clustering we need *ids that agree across outlets and languages* more than perfect spans. The
gazetteer (data/gazetteer.tsv) maps the variants of well-known names to one id (NAVO = NATO = OTAN ->
"org:nato"; Verenigde Staten = VS = États-Unis -> "place:united-states"; Rutte -> "person:mark-rutte"),
so a Dutch and an English article about the same event share entity ids. Unknown names still count:
a capitalised span such as "Jan de Vries" becomes "name:jan de vries", and a later "De Vries" in the
same article is linked to it.

Pure apart from reading the two shipped data files once, lazily, on first use.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = [
    "Entity",
    "Gazetteer",
    "extract_entities",
    "fold",
    "load_gazetteer",
    "stopwords",
]

#: longest text read per article; the opening of a news article names its actors
MAX_TEXT_CHARS = 20_000
#: the longest name in tokens that a capitalised span may reach
MAX_SPAN_TOKENS = 6
LANGUAGES = ("en", "nl", "de", "fr")

# Lowercase words that join two capitalised names into one: "Ursula von der Leyen", "Mohammed bin
# Salman", "Jan van der Berg", "Charles de Gaulle".
PARTICLES = frozenset(
    {
        "van",
        "de",
        "der",
        "den",
        "ter",
        "ten",
        "te",
        "von",
        "zu",
        "vom",
        "le",
        "la",
        "du",
        "des",
        "di",
        "da",
        "del",
        "della",
        "dos",
        "al",
        "el",
        "bin",
        "ibn",
        "ben",
        "'t",
        "op",
        "y",
        "of",
    }
)
# Words before a name that say it is a person / organisation suffixes that say it is one.
_PERSON_CUES = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "president",
        "minister",
        "premier",
        "prime",
        "chancellor",
        "senator",
        "governor",
        "ceo",
        "chief",
        "judge",
        "general",
        "king",
        "queen",
        "prince",
        "pope",
        "heer",
        "mevrouw",
        "burgemeester",
        "staatssecretaris",
        "bondskanselier",
        "koning",
        "koningin",
        "herr",
        "frau",
        "kanzler",
        "bundeskanzler",
        "ministerin",
        "präsident",
        "präsidentin",
        "m",
        "mme",
        "président",
        "présidente",
        "ministre",
        "chancelier",
        "sénateur",
        "roi",
        "reine",
        "coach",
        "trainer",
        "zanger",
        "zangeres",
        "singer",
        "actor",
        "actress",
        "spokesman",
        "spokeswoman",
        "woordvoerder",
        "sprecher",
        "porte-parole",
    }
)
_ORG_SUFFIXES = frozenset(
    {
        "inc",
        "corp",
        "corporation",
        "ltd",
        "plc",
        "llc",
        "group",
        "groep",
        "gruppe",
        "groupe",
        "bank",
        "nv",
        "bv",
        "gmbh",
        "ag",
        "sa",
        "se",
        "party",
        "partij",
        "partei",
        "parti",
        "university",
        "universiteit",
        "universität",
        "université",
        "ministry",
        "ministerie",
        "ministerium",
        "ministère",
        "council",
        "raad",
        "rat",
        "conseil",
        "court",
        "hof",
        "gericht",
        "cour",
        "fc",
        "airlines",
        "motors",
        "holdings",
        "association",
        "vereniging",
        "verband",
        "foundation",
        "stichting",
        "stiftung",
    }
)
# German capitalises every noun; these endings mark a common noun, not a name.
_DE_NOUN_SUFFIXES = (
    "ung",
    "heit",
    "keit",
    "schaft",
    "tion",
    "tät",
    "ismus",
    "chen",
    "lein",
    "nis",
    "tum",
    "ling",
    "ment",
    "enz",
    "anz",
    "ik",
    "ur",
    "ie",
    "ei",
    "gen",
    "ten",
    "rung",
    "halt",
    "werk",
    "zeug",
)
_DE_DETERMINERS = frozenset(
    {
        "der",
        "die",
        "das",
        "den",
        "dem",
        "des",
        "ein",
        "eine",
        "einen",
        "einem",
        "einer",
        "eines",
        "kein",
        "keine",
        "keinen",
        "sein",
        "seine",
        "seinen",
        "ihr",
        "ihre",
        "ihren",
        "unser",
        "unsere",
        "diese",
        "dieser",
        "dieses",
        "diesen",
        "jede",
        "jeder",
        "jedes",
        "jeden",
        "zum",
        "zur",
        "im",
        "am",
        "vom",
        "beim",
        "ins",
        "mehr",
        "viele",
        "alle",
        "neue",
        "neuen",
        "zwei",
        "drei",
        "vier",
        "fünf",
        "sechs",
        "zehn",
        "hundert",
        "tausend",
        "einige",
        "mehrere",
        "wenige",
        "ohne",
        "wegen",
    }
)

_ACRONYM_DOTS = re.compile(r"\b(?:[A-Za-z]\.){2,}")
_TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*", re.UNICODE)
_ELISION = re.compile(r"^(?:[lLdDnNsSjJcCmMtT]|[qQ]u|[jJ]usqu|[lL]orsqu|[pP]uisqu)['’](?=\w)")
_SENTENCE_END = re.compile(r"[.!?:;\"“”«»\n|–—-]\s*$|^\s*[\"“«(\[]")


@dataclass(frozen=True)
class Entity:
    """A named entity mentioned in an article."""

    #: stable id shared by every spelling and language: "person:mark-rutte", "org:nato",
    #: "place:greenland", or "name:<folded span>" for names outside the gazetteer
    id: str
    #: display name: the gazetteer's canonical name, else the first spelling met
    name: str
    #: "person", "organisation", "place", or "unknown"
    type: str
    #: mentions in title and text
    count: int


def fold(text: str) -> str:
    """Case- and accent-insensitive key: "Grönland" -> "gronland", "États-Unis" -> "etats-unis"."""
    text = unicodedata.normalize("NFKD", text.replace("’", "'")).casefold()
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@dataclass(frozen=True)
class _Alias:
    id: str
    case_sensitive: bool


class Gazetteer:
    """Alias table: token tuples (folded) -> entity id, plus each id's type and display name."""

    def __init__(self, rows: Iterable[tuple[str, str, list[str]]]) -> None:
        self.aliases: dict[tuple[str, ...], _Alias] = {}
        self.types: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.max_tokens = 1
        for entity_id, kind, names in rows:
            self.types[entity_id] = kind
            self.names[entity_id] = names[0]
            for name in names:
                toks = tuple(fold(t) for t in _tokens_of(name))
                if not toks:
                    continue
                # "US", "VS", "EU", "WHO" are words too ("us", "who"): match them only in capitals
                bare = re.sub(r"[^\w]", "", name)
                case_sensitive = bare.isupper() and len(bare) <= 5
                self.aliases.setdefault(toks, _Alias(entity_id, case_sensitive))
                self.max_tokens = max(self.max_tokens, len(toks))

    def lookup(self, tokens: tuple[str, ...]) -> _Alias | None:
        return self.aliases.get(tuple(fold(t) for t in tokens))


def _tokens_of(text: str) -> list[str]:
    text = _ACRONYM_DOTS.sub(lambda m: m.group(0).replace(".", ""), text)
    out = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0).rstrip(".")
        if tok.endswith(("'s", "’s")):
            tok = tok[:-2]
        if tok:
            out.append(tok)
    return out


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The shipped gazetteer, read once on first use (importing this module reads nothing)."""
    raw = resources.files("newsdesk.stories").joinpath("data/gazetteer.tsv").read_text("utf-8")
    rows = []
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        entity_id, kind, names = line.split("\t")
        rows.append((entity_id, kind, [n.strip() for n in names.split("|") if n.strip()]))
    return Gazetteer(rows)


@lru_cache(maxsize=1)
def _stopword_table() -> dict[str, frozenset[str]]:
    raw = resources.files("newsdesk.stories").joinpath("data/stopwords.json").read_text("utf-8")
    data = json.loads(raw)
    table = {lang: frozenset(fold(w) for w in words) for lang, words in data.items() if lang in LANGUAGES}
    table["*"] = frozenset().union(*table.values())
    # demonyms, titles and institutions written with a capital that are no name on their own
    table["_caps"] = frozenset(fold(w) for w in data.get("_capitalised_common", ()))
    return table


def stopwords(language: str | None) -> frozenset[str]:
    """Folded stopwords of a language; for an unknown language, those of all four."""
    table = _stopword_table()
    return table.get(_lang(language), table["*"])


def _lang(language: str | None) -> str:
    return (language or "").split("-")[0].split("_")[0].lower()


@dataclass
class _Tok:
    text: str
    folded: str
    sentence_start: bool


def _segment(text: str) -> list[_Tok]:
    text = _ACRONYM_DOTS.sub(lambda m: m.group(0).replace(".", ""), text)
    toks: list[_Tok] = []
    prev_end = 0
    for m in _TOKEN.finditer(text):
        gap = text[prev_end : m.start()]
        raw = m.group(0)
        # a trailing full stop belongs to the sentence, not the word ("Rutte." ends a sentence)
        ends_sentence = raw.endswith(".")
        tok = _ELISION.sub("", raw.rstrip("."))
        if tok.endswith(("'s", "’s")):
            tok = tok[:-2]
        start = not toks or bool(_SENTENCE_END.search(gap)) or (toks and toks[-1].text == "")
        prev_end = m.end()
        if not tok:
            continue
        toks.append(_Tok(tok, fold(tok), bool(start)))
        if ends_sentence and len(tok) > 1:
            toks.append(_Tok("", "", True))  # sentence marker, never part of a span
    return toks


def _is_cap(tok: str) -> bool:
    return bool(tok) and (
        tok[0].isupper() or (len(tok) > 1 and tok[0].islower() and any(c.isupper() for c in tok[1:]))
    )


def _is_acronym(tok: str) -> bool:
    letters = [c for c in tok if c.isalpha()]
    return 2 <= len(tok) <= 6 and len(letters) >= 2 and all(c.isupper() for c in letters)


def _title_case(toks: list[_Tok], stop: frozenset[str]) -> bool:
    """A headline in Title Case (or ALL CAPS) says nothing about which words are names."""
    words = [t for t in toks if t.text and t.text[0].isalpha() and t.folded not in stop and len(t.text) > 2]
    if len(words) < 3:
        return False
    caps = sum(1 for t in words if _is_cap(t.text))
    return caps / len(words) >= 0.9


def extract_entities(title: str, text: str | None = None, language: str | None = None) -> list[Entity]:
    """Entities of an article, most mentioned first (ties: first mentioned first).

    `language` is "nl", "en", "de" or "fr" (region suffixes such as "nl-BE" are fine); anything else
    uses the rules of all four. Never raises on odd input; the text is read up to MAX_TEXT_CHARS.
    """
    gaz = load_gazetteer()
    lang = _lang(language)
    stop = stopwords(lang) | stopwords("en")
    caps_common = _stopword_table()["_caps"]
    title_toks = _segment((title or "")[:2_000])
    body_toks = _segment((text or "")[:MAX_TEXT_CHARS])
    lower_words = {t.folded for t in (*title_toks, *body_toks) if t.text and t.text[0].islower()}
    body_caps = {t.folded for t in body_toks if t.text and _is_cap(t.text) and not t.sentence_start}
    # with no text, a headline's first word cannot be checked: keep it
    anywhere_caps = (
        {t.folded for t in body_toks if t.text and _is_cap(t.text)}
        if body_toks
        else {t.folded for t in title_toks}
    )

    found: list[tuple[str, str, str]] = []  # (id, surface, type) in order of mention
    title_case = _title_case(title_toks, stop)
    all_caps_title = bool(title_toks) and all(
        not t.text or not any(c.islower() for c in t.text) for t in title_toks
    )
    for toks, is_title in ((title_toks, True), (body_toks, False)):
        guarded = is_title and title_case
        found.extend(
            _scan(
                toks,
                gaz,
                lang,
                stop | caps_common,
                lower_words,
                body_caps,
                guarded,
                all_caps=guarded and all_caps_title,
                is_title=is_title,
                anywhere_caps=anywhere_caps,
            )
        )
    return _aggregate(found, gaz)


def _scan(
    toks: list[_Tok],
    gaz: Gazetteer,
    lang: str,
    stop: frozenset[str],
    lower_words: set[str],
    body_caps: set[str],
    title_case: bool,
    all_caps: bool,
    is_title: bool,
    anywhere_caps: set[str],
) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    n = len(toks)
    i = 0
    while i < n:
        tok = toks[i]
        if not tok.text:
            i += 1
            continue
        hit = _gaz_match(toks, i, gaz, lang)
        if hit is not None:
            length, entity_id = hit
            out.append((entity_id, " ".join(t.text for t in toks[i : i + length]), gaz.types[entity_id]))
            i += length
            continue
        if not _is_cap(tok.text):
            i += 1
            continue
        # a capitalised span, joined over particles, ending before the next known name
        j = i + 1
        while j < n and j - i < MAX_SPAN_TOKENS:
            t = toks[j]
            if not t.text or t.sentence_start or _gaz_match(toks, j, gaz, lang) is not None:
                break
            if _is_cap(t.text):
                j += 1
            elif t.folded in PARTICLES and not _is_acronym(toks[j - 1].text):
                # "van der", "de la": run over the particles to the next capitalised word
                k = j
                while k < n and k - j < 3 and toks[k].folded in PARTICLES and not toks[k].sentence_start:
                    k += 1
                if (
                    k < n
                    and toks[k].text
                    and _is_cap(toks[k].text)
                    and not toks[k].sentence_start
                    and toks[k].folded not in PARTICLES
                    and _gaz_match(toks, k, gaz, lang) is None
                ):
                    j = k + 1
                else:
                    break
            else:
                break
        start, end = _trim(toks, i, j, stop, lower_words, lang)
        i = j
        if start >= end:
            continue
        span = toks[start:end]
        prev = toks[start - 1] if start > 0 and toks[start - 1].text else None
        if (
            len(span) == 1
            and span[0].sentence_start
            and not _is_acronym(span[0].text)
            and span[0].folded not in body_caps
            and (not is_title or span[0].folded not in anywhere_caps)
        ):
            # A lone capitalised word opening a sentence is usually a common word ("Floods hit",
            # "Markets rose"); keep it only if the text also writes it capitalised mid-sentence (for
            # the headline's first word: anywhere in the text; a headline alone keeps it).
            continue
        if all_caps and not (len(span) == 1 and _is_acronym(span[0].text) and len(span[0].text) <= 4):
            continue
        if title_case:
            # In a Title Case headline only trust names the body writes capitalised too, acronyms
            # and camel-cased brands (eBay, iPhone).
            single = span[0].text
            trusted = all(t.folded in body_caps for t in span) or (
                len(span) == 1 and (_is_acronym(single) or (single[0].islower()))
            )
            if not trusted:
                continue
        if lang == "de" and len(span) == 1 and not _is_acronym(span[0].text):
            word = span[0]
            if word.folded.endswith(_DE_NOUN_SUFFIXES) or (
                prev is not None
                and (
                    prev.folded in _DE_DETERMINERS
                    or (prev.text[0].islower() and prev.folded.endswith(("e", "en", "er", "es", "em")))
                )
            ):
                continue
        surface = " ".join(t.text for t in span)
        kind = "unknown"
        if prev is not None and prev.folded in _PERSON_CUES:
            kind = "person"
        elif (
            len(span) > 1 and span[-1].folded in _ORG_SUFFIXES or len(span) == 1 and _is_acronym(span[0].text)
        ):
            kind = "organisation"
        out.append(("name:" + " ".join(t.folded for t in span), surface, kind))
    return out


def _gaz_match(toks: list[_Tok], i: int, gaz: Gazetteer, lang: str) -> tuple[int, str] | None:
    first = toks[i].text
    if not first or not (_is_cap(first) or first[0].isdigit()):
        return None
    for length in range(min(gaz.max_tokens, len(toks) - i), 0, -1):
        window = toks[i : i + length]
        if any(not t.text for t in window) or any(t.sentence_start for t in window[1:]):
            continue
        alias = gaz.aliases.get(tuple(t.folded for t in window))
        if alias is not None:
            if alias.case_sensitive and not all(t.text.isupper() or t.text[0].isdigit() for t in window):
                continue
            return length, alias.id
    # compounds: "NAVO-chef", "Trump-regering", "EU-Gipfel"
    if "-" in first:
        head = first.split("-")[0]
        alias = gaz.aliases.get((fold(head),))
        if alias is not None and (not alias.case_sensitive or head.isupper()):
            return 1, alias.id
    # Dutch and German genitive: "Trumps telefoontje", "Ruttes Anruf"
    if lang in ("nl", "de", "") and first.endswith("s") and len(first) > 3:
        alias = gaz.aliases.get((fold(first[:-1]),))
        if alias is not None and not alias.case_sensitive:
            return 1, alias.id
    return None


def _common(tok: _Tok, stop: frozenset[str], lang: str) -> bool:
    if _is_acronym(tok.text):
        return False
    if tok.folded in stop or tok.folded in PARTICLES or tok.folded in _PERSON_CUES:
        return True
    return lang == "de" and tok.folded.endswith(_DE_NOUN_SUFFIXES)


def _trim(
    toks: list[_Tok], start: int, end: int, stop: frozenset[str], lower_words: set[str], lang: str
) -> tuple[int, int]:
    """Drop capitalised common words at the edges of toks[start:end]: sentence-initial "The",
    "Gisteren", titles ("Trainer", "Premier"), a sentence-initial word the text also writes in lower
    case, German nouns, and dangling particles. Returns the trimmed bounds."""
    while start < end:
        first = toks[start]
        prev = toks[start - 1] if start > 0 else None
        noun_after_det = (
            lang == "de" and prev is not None and prev.folded in _DE_DETERMINERS and end - start > 1
        )
        if (
            _common(first, stop, lang)
            or (first.sentence_start and first.folded in lower_words)
            or noun_after_det
        ):
            start += 1
        else:
            break
    while end > start and _common(toks[end - 1], stop, lang):
        end -= 1
    # a lone one-letter word or a number is no name
    if end - start == 1 and (len(toks[start].text) < 2 or toks[start].text.isdigit()):
        return start, start
    return start, end


def _aggregate(found: list[tuple[str, str, str]], gaz: Gazetteer) -> list[Entity]:
    # Link a later surname to the full name met in the same article ("Jan de Vries" ... "De Vries").
    full_names: dict[str, tuple[str, str, str]] = {}
    for entity_id, surface, kind in found:
        if entity_id.startswith("name:") and " " in entity_id:
            parts = entity_id[5:].split(" ")
            for k in range(1, len(parts)):
                full_names.setdefault(" ".join(parts[k:]), (entity_id, surface, kind))
    counts: dict[str, int] = {}
    first: dict[str, tuple[int, str, str]] = {}
    for pos, (entity_id, surface, kind) in enumerate(found):
        if (
            entity_id.startswith("name:")
            and " " not in entity_id[5:]
            or (
                entity_id.startswith("name:")
                and entity_id[5:] in full_names
                and full_names[entity_id[5:]][0] != entity_id
            )
        ):
            linked = full_names.get(entity_id[5:])
            if linked is not None and linked[0] != entity_id:
                entity_id, surface, kind = linked[0], linked[1], "person" if kind == "unknown" else kind
        counts[entity_id] = counts.get(entity_id, 0) + 1
        if entity_id not in first:
            name = gaz.names.get(entity_id, surface)
            first[entity_id] = (pos, name, kind)
        elif first[entity_id][2] == "unknown" and kind != "unknown":
            first[entity_id] = (first[entity_id][0], first[entity_id][1], kind)
    ordered = sorted(first, key=lambda e: (-counts[e], first[e][0]))
    return [Entity(e, first[e][1], first[e][2], counts[e]) for e in ordered]
