"""The bounded decoders behind Fetcher: whatever the chunking and step size, the output is exact."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import brotli
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsdesk.errors import FetchError
from newsdesk.ingest.fetch import _decoder_for

ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "": lambda b: b,
}


def decode_in_steps(coding: str, wire: bytes, chunk: int, step: int) -> bytes:
    decoder = _decoder_for(coding)
    out = []
    for i in range(0, len(wire), chunk):
        decoder.feed(wire[i:i + chunk])
        while piece := decoder.pull(step):
            out.append(piece)
    assert decoder.finished()
    return b"".join(out)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(sorted(ENCODERS)), st.binary(max_size=60), st.integers(0, 10_000),
       st.integers(1, 5000), st.one_of(st.integers(1, 64), st.integers(1, 70_000)))
def test_any_chunking_and_step_decode_exactly(coding: str, unit: bytes, repeat: int, chunk: int,
                                              step: int) -> None:
    data = unit * repeat  # up to 600 kB, compressible or not; built here so failures print small
    assert decode_in_steps(coding, ENCODERS[coding](data), chunk, step) == data


def test_brotli_output_held_back_after_a_full_step_is_drained() -> None:
    # found by the property above: brotli says it can take more input while output is still waiting
    data = b"ab" * 241_856
    assert decode_in_steps("br", brotli.compress(data), 1588, 56_622) == data


def test_each_pull_is_bounded() -> None:
    decoder = _decoder_for("gzip")
    decoder.feed(gzip.compress(bytes(10_000_000)))  # 10 MB of zeros in about 10 kB
    sizes = []
    while piece := decoder.pull(4096):
        sizes.append(len(piece))
    assert max(sizes) <= 4096 and sum(sizes) == 10_000_000


def test_unsupported_encodings() -> None:
    for coding in ("zstd", "compress", "gzip, br", "x-custom"):
        with pytest.raises(FetchError, match="cannot read"):
            _decoder_for(coding)
    assert _decoder_for("identity").finished()
