"""Language detection on article-sized samples."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newsdesk.extract import detect_language

SAMPLES = {
    "nl": "De gemeenteraad van Utrecht heeft dinsdagavond ingestemd met het plan om de binnenstad "
          "autoluw te maken. Bewoners en ondernemers krijgen een ontheffing, maar doorgaand verkeer "
          "wordt geweerd.",
    "en": "The city council voted on Tuesday evening to close the historic centre to through traffic. "
          "Residents and shop owners will be given permits, but other drivers will be turned away.",
    "de": "Der Stadtrat hat am Dienstagabend beschlossen, die Innenstadt für den Durchgangsverkehr zu "
          "sperren. Anwohner und Geschäftsleute erhalten eine Genehmigung, alle anderen müssen "
          "draußen bleiben.",
    "fr": "Le conseil municipal a décidé mardi soir de fermer le centre historique à la circulation de "
          "transit. Les habitants et les commerçants recevront une autorisation, les autres conducteurs "
          "seront refoulés.",
}


@pytest.mark.parametrize(("code", "text"), SAMPLES.items(), ids=list(SAMPLES))
def test_detects_the_language(code: str, text: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ["", "   ", "Hi", "12 34 56 78 90 !!", "OK, ja."])
def test_too_little_text_gives_none(text: str) -> None:
    assert detect_language(text) is None


def test_gibberish_gives_none_rather_than_a_guess() -> None:
    assert detect_language("asdf qwer zxcv uiop hjkl bnm, tyu ghj") is None


def test_long_text_is_fine() -> None:
    assert detect_language(SAMPLES["nl"] * 500) == "nl"


def test_importing_loads_no_model() -> None:
    code = ("import newsdesk.extract as e, newsdesk.extract.language as l; "
            "assert l._identifier.cache_info().currsize == 0; print('ok')")
    src = Path(__file__).resolve().parents[2] / "src"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(src)})
    assert done.stdout.strip() == "ok", done.stderr
