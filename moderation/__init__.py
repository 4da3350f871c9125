"""Moderation logic: sentiment with reasons, flag rules and priorities. Plain Python, no Flask.

`forum` stores and acts on what these functions decide."""

from .rules import FlagDecision, negative_flag, priority, spam_signals, unanswered_flag
from .sentiment import SentimentScore, score_text, thread_negativity

__all__ = [
    "FlagDecision",
    "SentimentScore",
    "negative_flag",
    "priority",
    "score_text",
    "spam_signals",
    "thread_negativity",
    "unanswered_flag",
]
