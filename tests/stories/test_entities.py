import json
from pathlib import Path

import pytest

from newsdesk.stories.entities import Entity, extract_entities, fold

DATA = Path(__file__).parent / "data"


def ids(title: str, text: str | None, lang: str | None) -> set[str]:
    return {e.id for e in extract_entities(title, text, lang)}


def test_aliases_map_languages_to_one_id() -> None:
    nl = ids("Trump belt Rutte over Groenland", "De VS willen het eiland. De NAVO zwijgt.", "nl")
    en = ids("Trump calls Rutte about Greenland", "The US wants the island. NATO is silent.", "en")
    de = ids(
        "Trump ruft Rutte wegen Grönland an",
        "Die Vereinigten Staaten wollen die Insel. Die NATO schweigt.",
        "de",
    )
    fr = ids(
        "Trump appelle Rutte à propos du Groenland", "Les États-Unis veulent l'île. L'OTAN se tait.", "fr"
    )
    expected = {
        "person:donald-trump",
        "person:mark-rutte",
        "place:greenland",
        "place:united-states",
        "org:nato",
    }
    for found in (nl, en, de, fr):
        assert expected <= found


def test_entity_fields_and_counts() -> None:
    ents = extract_entities("Rutte in Den Haag", "Mark Rutte sprak. Later zei Rutte niets.", "nl")
    rutte = next(e for e in ents if e.id == "person:mark-rutte")
    assert rutte == Entity("person:mark-rutte", "Mark Rutte", "person", 3)
    assert ents[0] is rutte  # most mentioned first


def test_short_capital_aliases_need_capitals() -> None:
    assert "place:united-states" not in ids("Let us talk", "Give us the money, who cares", "en")
    assert "org:who" not in ids("Who is next", "Nobody knows who.", "en")
    assert "org:who" in ids("WHO warns of measles", None, "en")


def test_unknown_names_spans_particles_and_surname_linking() -> None:
    ents = extract_entities(
        "Ophef over Jan van der Berg",
        "Volgens Jan van der Berg is het onzin. Van der Berg bleef erbij.",
        "nl",
    )
    assert [e.id for e in ents if e.id.startswith("name:")] == ["name:jan van der berg"]


def test_sentence_initial_common_words_and_stopwords_are_dropped() -> None:
    found = ids(
        "Storm hits coast", "Heavy rain fell. Analysts said the storm was the worst since 1990.", "en"
    )
    assert not any(i in found for i in ("name:heavy", "name:analysts", "name:the"))


def test_title_case_headline_only_trusts_known_names() -> None:
    found = ids("Why eBay Spinning Off PayPal Makes Sense", None, "en")
    assert found == {"org:ebay", "org:paypal"}


@pytest.mark.parametrize(
    "args",
    [
        ("", None, None),
        ("a", "", "xx"),
        ("!!!", "???", "nl-BE"),
        ("ALL CAPS HEADLINE ABOUT NOTHING", None, "en"),
        ("x" * 5000, "Y " * 30_000, "de"),
    ],
)
def test_odd_input_does_not_crash(args: tuple) -> None:
    assert isinstance(extract_entities(*args), list)


def _score(path: Path) -> tuple[float, float]:
    tp = fp = fn = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        gold = {fold(e) for e in row["entities"]}
        got = {fold(e.id) for e in extract_entities(row["title"], row["text"], row["lang"])}
        tp, fp, fn = tp + len(gold & got), fp + len(got - gold), fn + len(gold - got)
    return tp / (tp + fp), tp / (tp + fn)


def test_gold_set_precision_recall() -> None:
    # Floors just under the measured figures (tuning set P 0.96 R 0.95; held-out set P 0.86 R 0.89,
    # written after the rules were tuned). Never lower them silently.
    p, r = _score(DATA / "entities_gold.jsonl")
    assert p >= 0.93 and r >= 0.92, (p, r)
    p, r = _score(DATA / "entities_heldout.jsonl")
    assert p >= 0.83 and r >= 0.86, (p, r)
