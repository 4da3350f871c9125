"""The negativity scorer this site uses (`NEGATIVE_SCORER`), made once per process: the
learned classifier where its model is installed, else the lexicon. Only the worker scores;
pages show what it stored."""

from __future__ import annotations

import json
import logging
import os
import threading

from flask import Flask, current_app

from moderation.classifier import HEAD_PATH, NegativeHead
from moderation.scorers import LearnedScorer, LexiconScorer, Scorer
from moderation.sentiment import SentenceReason, SentimentScore
from search import semantic

log = logging.getLogger(__name__)
SCORING_THREADS = 2
_made: dict[str, Scorer] = {}
_lock = threading.Lock()


def init_app(app: Flask) -> None:
    """Load the configured scorer's head at start (the model itself loads on first use), so
    a missing head or model is said once, when the site starts."""
    _scorer_for(app.config.get("NEGATIVE_SCORER", "learned"))


def scorer() -> Scorer:
    return _scorer_for(current_app.config.get("NEGATIVE_SCORER", "learned"))


def _scorer_for(wanted: str) -> Scorer:
    with _lock:
        if wanted not in _made:
            _made[wanted] = make_scorer(wanted)
        return _made[wanted]


def make_scorer(wanted: str) -> Scorer:
    if wanted != "learned":
        return LexiconScorer()
    if not semantic.available() or not HEAD_PATH.exists():
        log.warning(
            "The learned negativity scorer needs the model (the `semantic` extra) and %s; "
            "scoring with the lexicon alone",
            HEAD_PATH.name,
        )
        return LexiconScorer()
    # Only the worker scores, a batch at a time: its own copy of the model may use every
    # core (the search's copy keeps to one core per query).
    batch_encoder = semantic.Encoder(threads=min(SCORING_THREADS, os.cpu_count() or 1))
    return LearnedScorer(NegativeHead.load(), batch_encoder.encode)


def reasons_json(score: SentimentScore) -> str | None:
    if not score.reasons:
        return None
    return json.dumps(
        [
            {
                "sentence": r.sentence,
                "negativity": r.negativity,
                "words": list(r.words),
                "probability": r.probability,
            }
            for r in score.reasons
        ]
    )


def stored_reasons(post) -> list[SentenceReason]:
    """The sentences the worker found negative in this post, most negative first."""
    if not post.negative_reasons:
        return []
    return [
        SentenceReason(r["sentence"], r["negativity"], tuple(r["words"]), r.get("probability"))
        for r in json.loads(post.negative_reasons)
    ]
