"""The two ways a post's negativity is scored, behind one interface: the lexicon alone
(VADER and the customer-service phrases), or the learned classifier over sentence embeddings
with the lexicon's readings as features. Each carries its own bars, since the lexicon's
negativity and the classifier's probability are different scales. Plain Python; no Flask."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from .classifier import Encode, NegativeHead, features
from .sentiment import (
    FLAG_THRESHOLD,
    NEGATIVE_THRESHOLD,
    OTHERS_BAR,
    SentenceReason,
    SentimentScore,
    lexicon_reading,
    score_text,
    split_sentences,
)

REASONS_KEPT = 5


class Scorer(Protocol):
    name: str
    negative_bar: float  # a post at or above this is negative
    flag_bar: float  # a thread at or above this is flagged
    others_bar: float  # someone else's post makes the thread negative alone from here

    def score_texts(self, texts: list[str]) -> list[SentimentScore]: ...


@dataclass(frozen=True)
class LexiconScorer:
    name: str = "lexicon"
    negative_bar: float = NEGATIVE_THRESHOLD
    flag_bar: float = FLAG_THRESHOLD
    others_bar: float = OTHERS_BAR

    def score_texts(self, texts: list[str]) -> list[SentimentScore]:
        return [score_text(text) for text in texts]


@dataclass(frozen=True)
class LearnedScorer:
    """A post's probability of being negative, read from the whole post as the head was
    trained (on whole reviews and tweets). The sentences behind a negative-leaning post are
    scored one by one for the moderator's explanation, and only those: a calm post costs one
    pass through the model.

    Not the most negative sentence: every sentence is a chance of a false alarm, so a long
    calm post would nearly always have one (on 300 random IoT Stack Exchange questions the
    most negative sentence reached the thread bar in 65%, the whole post in 15%;
    `bench/flag_rate.py` measures the whole post on two sites). Only the asker's posts make a
    thread negative (others' abuse is what reports are for), so `others_bar` is out of
    reach."""

    head: NegativeHead
    encode: Encode
    name: str = "learned"
    others_bar: float = 2.0

    @property
    def negative_bar(self) -> float:
        return self.head.sentence_bar

    @property
    def flag_bar(self) -> float:
        return self.head.thread_bar

    def _probabilities(self, texts: list[str]) -> list[float]:
        if not texts:
            return []
        return [float(p) for p in self.head.probabilities(features(texts, self.encode))]

    def score_texts(self, texts: list[str]) -> list[SentimentScore]:
        whole = self._probabilities([" ".join(split_sentences(text)) for text in texts])
        split = [
            split_sentences(text) if p >= self.negative_bar else []
            for text, p in zip(texts, whole, strict=True)
        ]
        flat = [s for parts in split for s in parts if len(parts) > 1]
        each = iter(self._probabilities(flat))
        scores = []
        for parts, p in zip(split, whole, strict=True):
            ps = [next(each) for _ in parts] if len(parts) > 1 else [p] * len(parts)
            reasons = [
                SentenceReason(sentence[:300], round(q, 3), tuple(lexicon_reading(sentence)[1]), q)
                for sentence, q in zip(parts, ps, strict=True)
                if q >= self.negative_bar
            ]
            if not reasons and p >= self.negative_bar and parts:  # negative as a whole
                q, sentence = max(zip(ps, parts, strict=True))
                reasons = [SentenceReason(sentence[:300], round(q, 3), (), q)]
            reasons.sort(key=lambda r: r.negativity, reverse=True)
            scores.append(SentimentScore(round(p, 3), 0.0, tuple(reasons[:REASONS_KEPT])))
        return scores


def scoring_speed(head: NegativeHead, encode: Encode, texts: list[str]) -> float:
    """Sentences scored per second by the learned scorer on these texts, as the worker
    scores a batch (all its sentences through the model at once, 64 texts a batch)."""
    scorer = LearnedScorer(head, encode)
    sentences = sum(len(split_sentences(text)) for text in texts)
    started = time.perf_counter()
    for start in range(0, len(texts), 64):
        scorer.score_texts(texts[start : start + 64])
    return sentences / (time.perf_counter() - started)
