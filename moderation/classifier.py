"""A learned negative-sentence classifier: sentence embeddings (all-MiniLM-L6-v2, the model
search uses) and the lexicon's own readings of the sentence, into a logistic-regression head.

The lexicon misses complaints stated without sentiment words ("and have returned both.") and
flags praise that uses a negative word; the embedding carries what the sentence is about. The
head is small (a weight per feature) and is stored as JSON beside this module, written by
`flask moderation train` with the data and figures that produced it. Plain Python, numpy and
(for training only) scikit-learn; no Flask.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .evaluate import Evaluation, scores
from .sentiment import _PHRASES, _analyzer

HEAD_PATH = Path(__file__).with_name("negative_head.json")
OWN_DATA = Path(__file__).with_name("data") / "customer_service_sentences.txt"
LEXICON_FEATURES = ("vader_neg", "vader_pos", "vader_compound", "vader_negativity", "phrases")
# The lexicon's five readings are scaled up to weigh like the embedding's 384 small values
# under the same regularisation.
LEXICON_SCALE = 3.0
# The project's own customer-service sentences take this share of the training weight.
OWN_SHARE = 0.25
# The thread bar is the lowest probability whose precision on the cross-validated shared
# data reaches this: a flag puts a thread in front of staff, so precision comes first.
THREAD_PRECISION = 0.9

Encode = Callable[[Sequence[str]], np.ndarray]


def lexicon_features(sentences: Sequence[str]) -> np.ndarray:
    rows = []
    for sentence in sentences:
        polarity = _analyzer().polarity_scores(sentence)
        phrases = sum(weight for pattern, weight in _PHRASES if pattern.search(sentence))
        rows.append(
            [
                polarity["neg"],
                polarity["pos"],
                polarity["compound"],
                max(0.0, -polarity["compound"]),
                min(1.0, phrases),
            ]
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(LEXICON_FEATURES))


def features(sentences: Sequence[str], encode: Encode) -> np.ndarray:
    """One row per sentence: its embedding, then the lexicon's readings."""
    if not sentences:
        return np.zeros((0, 0), dtype=np.float32)
    return np.hstack([encode(list(sentences)), LEXICON_SCALE * lexicon_features(sentences)])


@dataclass(frozen=True)
class NegativeHead:
    """The trained head: P(negative) = sigmoid(features · weights + bias). `sentence_bar`
    marks a sentence as negative (the F1-best cut-off, 0.5 with balanced classes);
    `thread_bar` is the flag bar, chosen on the shared data for precision."""

    weights: tuple[float, ...]
    bias: float
    sentence_bar: float
    thread_bar: float
    model: str
    trained_on: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    command: str = "flask moderation train"
    report: dict = field(default_factory=dict)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros(0, dtype=np.float32)
        logits = rows @ np.asarray(self.weights, dtype=np.float32) + self.bias
        return 1.0 / (1.0 + np.exp(-logits))

    def save(self, path: Path = HEAD_PATH) -> None:
        data = asdict(self)
        data["weights"] = [round(w, 6) for w in self.weights]
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> NegativeHead:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{**data, "weights": tuple(data["weights"])})


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _scores(name: str, labels: np.ndarray, predicted: np.ndarray) -> Evaluation:
    return scores(name, labels.tolist(), predicted.tolist())


def _fit(rows: np.ndarray, labels: np.ndarray, strength: float, weight: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=strength, max_iter=3000, class_weight="balanced")
    return model.fit(rows, labels, sample_weight=weight)


@dataclass
class Training:
    """Cross-validated figures per file and the head trained on all of it."""

    head: NegativeHead
    cross_validated: list[Evaluation]
    held_out: list[Evaluation]  # each file scored by a head trained on the others only
    thread_precision: float
    thread_recall: float


def train(
    files: dict[str, list[tuple[str, bool]]],
    encode: Encode,
    model: str,
    hashes: dict[str, str],
    strength: float = 1.0,
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[str], None] = lambda _step: None,
    share: dict[str, float] | None = None,
) -> Training:
    """Train on every file, reporting stratified k-fold cross-validated precision, recall
    and F1 of the negative class per file, and each file held out from training entirely.

    `share` gives a file a fixed share of the training weight (the project's own forum
    sentences are few beside thousands of reviews and tweets, but they are the kind of text
    the head will score); the other files share the rest in proportion to their size."""
    from sklearn.model_selection import StratifiedKFold

    names = list(files)
    texts = [text for name in names for text, _ in files[name]]
    labels = np.array([neg for name in names for _, neg in files[name]], dtype=bool)
    group = np.array([i for i, name in enumerate(names) for _ in files[name]])
    weight = _weights(files, share or {})
    progress(f"embedding {len(texts)} sentences")
    rows = features(texts, encode)
    probability = np.zeros(len(texts), dtype=np.float64)
    progress(f"{folds}-fold cross-validation")
    for fit_on, score_on in StratifiedKFold(folds, shuffle=True, random_state=seed).split(
        rows, labels * 10 + group
    ):
        fitted = _fit(rows[fit_on], labels[fit_on], strength, weight[fit_on])
        probability[score_on] = fitted.predict_proba(rows[score_on])[:, 1]
    cross_validated = [
        _scores(name, labels[group == i], probability[group == i] >= 0.5)
        for i, name in enumerate(names)
    ]
    progress("each file held out")
    held_out = []
    for i, name in enumerate(names):
        fitted = _fit(rows[group != i], labels[group != i], strength, weight[group != i])
        predicted = fitted.predict_proba(rows[group == i])[:, 1] >= 0.5
        held_out.append(_scores(name, labels[group == i], predicted))
    thread_bar = choose_bar(probability, labels, THREAD_PRECISION)
    at_bar = _scores("all", labels, probability >= thread_bar)
    fitted = _fit(rows, labels, strength, weight)
    head = NegativeHead(
        weights=tuple(float(w) for w in fitted.coef_[0]),
        bias=float(fitted.intercept_[0]),
        sentence_bar=0.5,
        thread_bar=thread_bar,
        model=model,
        trained_on=hashes,
        report={
            "cross_validated": [asdict(s) for s in cross_validated],
            "held_out": [asdict(s) for s in held_out],
            "thread_bar_precision": round(at_bar.precision, 4),
            "thread_bar_recall": round(at_bar.recall, 4),
            "strength": strength,
            "share": share or {},
            "folds": folds,
        },
    )
    return Training(head, cross_validated, held_out, at_bar.precision, at_bar.recall)


def _weights(files: dict[str, list], share: dict[str, float]) -> np.ndarray:
    """Each example's weight: a file in `share` gets that share of the total, spread over
    its examples; every other example weighs 1 (mean weight 1 overall)."""
    total = sum(len(rows) for rows in files.values())
    rest = sum(len(rows) for name, rows in files.items() if name not in share)
    scale = (1 - sum(share.values())) * total / rest if rest else 1.0
    per_file = {
        name: (share[name] * total / len(rows) if name in share else scale)
        for name, rows in files.items()
    }
    return np.array([per_file[name] for name, rows in files.items() for _ in rows])


def choose_bar(probability: np.ndarray, labels: np.ndarray, precision: float) -> float:
    """The lowest cut-off (in steps of 0.01) at which the negatives it selects are at least
    `precision` right; 0.99 if none is."""
    for hundredths in range(50, 100):
        bar = hundredths / 100
        selected = probability >= bar
        if selected.any() and (labels[selected].mean() >= precision):
            return bar
    return 0.99
