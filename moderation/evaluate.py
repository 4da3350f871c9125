"""Precision, recall and F1 of the negative class on labelled sentiment files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .sentiment import score_text

# The VADER tweets carry a mean human rating from -4 to +4; these are "negative".
TWEET_NEGATIVE_BELOW = -0.05


@dataclass(frozen=True)
class Evaluation:
    name: str
    examples: int
    negatives: int
    precision: float
    recall: float
    f1: float


def load_labelled(path: Path) -> list[tuple[str, bool]]:
    """(text, is_negative) pairs from the UCI sentences or the VADER tweets format."""
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1].strip() in {"0", "1"}:  # UCI: sentence, label
            rows.append((parts[0], parts[1].strip() == "0"))
        elif len(parts) == 3:  # tweets: id, mean rating, text
            try:
                rows.append((parts[2], float(parts[1]) <= TWEET_NEGATIVE_BELOW))
            except ValueError:
                continue
    return rows


def gold_rule(path: Path) -> str:
    """Which rows of a file count as negative, in words, for the report."""
    rows = path.read_text(encoding="utf-8", errors="replace").splitlines()[:5]
    if any(len(line.split("\t")) == 3 for line in rows):
        return f"mean human rating <= {TWEET_NEGATIVE_BELOW} on -4..+4 (VADER tweets format)"
    return "label 0 (UCI sentences format: sentence, tab, 0 or 1)"


def evaluate(
    name: str,
    rows: list[tuple[str, bool]],
    predict: Callable[[list[str]], list[bool]] | None = None,
) -> Evaluation:
    """Precision, recall and F1 of the negative class; `predict` says which texts are
    negative (the lexicon by default)."""
    texts = [text for text, _ in rows]
    predictions = predict(texts) if predict else [score_text(text).is_negative for text in texts]
    return scores(name, [negative for _, negative in rows], predictions)


def scores(name: str, labels: Sequence[bool], predicted: Sequence[bool]) -> Evaluation:
    """Precision, recall and F1 of the negative class from gold labels and predictions."""
    tp = fp = fn = 0
    for is_negative, said in zip(labels, predicted, strict=True):
        tp += bool(said and is_negative)
        fp += bool(said and not is_negative)
        fn += bool(not said and is_negative)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Evaluation(name, len(labels), sum(map(bool, labels)), precision, recall, f1)
