"""Headline embeddings (the real shipped encoder, offline) and how the clusterer uses them."""

import json
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from newsdesk.stories.cluster import ClusterConfig, ClusterItem, StoryClusterer
from newsdesk.stories.embedding import DIMENSIONS, HeadlineEncoder

T0 = datetime(2014, 3, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def encoder() -> HeadlineEncoder:
    return HeadlineEncoder()


def test_the_same_event_in_dutch_and_english_is_closer_than_another_event(encoder: HeadlineEncoder) -> None:
    nl, en, other = encoder.encode([
        "Trump belt met NAVO-chef Rutte over Groenland",
        "Trump and NATO chief Rutte discuss Greenland in late-night call",
        "VS kondigen heffingen aan op import uit acht Europese landen, ook Nederland",
    ])
    assert nl.shape == (DIMENSIONS,) and abs(float(np.linalg.norm(nl)) - 1.0) < 1e-4
    assert float(nl @ en) > 0.5 > 0.3 > float(nl @ other)


def test_empty_text_has_no_vector_and_batches_match_single_calls(encoder: HeadlineEncoder) -> None:
    assert encoder.encode_one("   ") is None
    assert encoder.encode([]).shape == (0, DIMENSIONS)
    titles = ["Pizza chain Sbarro files for bankruptcy", "", "Storm Jorien floods Dutch towns"]
    batch = encoder.encode(titles)
    assert not batch[1].any()
    one = encoder.encode_one(titles[2])
    assert one is not None and float(one @ batch[2]) > 0.999


GOX = [
    "Mt. Gox files for bankruptcy protection in Japan",
    "Bitcoin exchange Mt. Gox files for US bankruptcy protection",
    "Mt. Gox seeks US bankruptcy protection as bitcoin losses mount",
    "Mt Gox files for Chapter 15 bankruptcy in Texas",
    "Failed bitcoin exchange Mt. Gox files for bankruptcy in US",
]
SBARRO = ["Sbarro files for bankruptcy", "Pizza chain Sbarro files for bankruptcy again"]


def _run(config: ClusterConfig, vectors: dict[str, np.ndarray] | None) -> dict[str, int]:
    c = StoryClusterer(config)
    out = {}
    for i, title in enumerate(GOX + SBARRO):
        item = ClusterItem(title, title, T0 + timedelta(minutes=i), language="en",
                           embedding=None if vectors is None else vectors[title])
        out[title] = c.assign(item).story_id
    return out


def test_shared_event_words_do_not_join_two_companies_when_the_headlines_disagree(
    encoder: HeadlineEncoder,
) -> None:
    # "files for bankruptcy" carries Sbarro into the Mt. Gox story on words alone; the headline
    # embeddings tell a pizza chain from a bitcoin exchange (the gate)
    vectors = dict(zip(GOX + SBARRO, encoder.encode(GOX + SBARRO), strict=True))
    words = _run(ClusterConfig(), None)
    assert words[SBARRO[0]] == words[GOX[0]]
    both = _run(ClusterConfig(), vectors)
    assert len({both[t] for t in GOX}) == 1
    assert both[SBARRO[0]] != both[GOX[0]] and both[SBARRO[1]] != both[GOX[0]]


def test_state_round_trip_keeps_the_story_vectors() -> None:
    rng = random.Random(3)
    topics = [np.array([rng.gauss(0, 1) for _ in range(DIMENSIONS)], dtype=np.float32) for _ in range(6)]
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    items = []
    for i in range(160):
        t = rng.randrange(6)
        noise = np.array([rng.gauss(0, 0.6) for _ in range(DIMENSIONS)], dtype=np.float32)
        title = f"{words[t]} {words[t + 1]} {rng.choice(words)} news {i}"
        items.append(ClusterItem(i, title, T0 + timedelta(minutes=i), embedding=topics[t] + noise))
    straight = StoryClusterer()
    expected = [straight.assign(i) for i in items]
    half = StoryClusterer()
    for item in items[:80]:
        half.assign(item)
    state = json.loads(json.dumps(half.export_state()))
    assert any(s["emb"] is not None for s in state["stories"])
    resumed = StoryClusterer.from_state(state)
    got = [resumed.assign(i) for i in items[80:]]
    assert [(a.story_id, a.new_story, a.merged, a.score) for a in got] == [
        (a.story_id, a.new_story, a.merged, a.score) for a in expected[80:]
    ]
