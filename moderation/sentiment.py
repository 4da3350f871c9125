"""How negative a post is, and why: VADER plus phrases that customer service knows too well."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Phrases a general lexicon reads as neutral but that signal an unhappy customer, with the
# negativity each adds (0..1).
SERVICE_PHRASES: dict[str, float] = {
    r"still waiting": 0.45,
    r"no ?one (has )?(answered|replied|responded|helped)": 0.5,
    r"nobody (has )?(answered|replied|responded|helped)": 0.5,
    r"(want|demand|need) (a|my) refund": 0.55,
    r"refund (me|now)": 0.5,
    r"cancel(l?ing)? my (account|subscription|order)": 0.5,
    r"(third|3rd|fourth|4th|fifth|5th|several|many) times? (i|that i|now i)? ?"
    r"(ask|asked|am asking|contact)": 0.5,
    r"(this is|it'?s) (the )?(third|3rd|fourth|4th) time": 0.5,
    r"charged twice|double charged|overcharged": 0.45,
    r"(never|won'?t) (buy|use|recommend) (from )?(you|this|it|again)": 0.5,
    r"(worst|terrible|awful|horrible|useless) "
    r"(support|service|customer service|company|product)": 0.5,
    r"waste of (my )?(time|money)": 0.45,
    r"(report|reporting) (you|this) to": 0.5,
    r"(no|zero) (response|reply|answer) (from|in|after)": 0.45,
    r"(days|weeks) (and|with) no (response|reply|answer|fix)": 0.5,
    r"unacceptable|ridiculous|scam|rip-?off": 0.35,
    r"still (broken|not working|doesn'?t work)": 0.4,
}
_PHRASES = [(re.compile(rf"\b(?:{p})\b", re.IGNORECASE), w) for p, w in SERVICE_PHRASES.items()]
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
# A post at or above this negativity is in the negative class (VADER's usual -0.05 cut-off);
# `flask moderation eval` measures this. Chosen across all four labelled files, not one.
NEGATIVE_THRESHOLD = 0.05
# A thread at or above this is put in front of staff: precision matters more than recall there.
FLAG_THRESHOLD = 0.35


@dataclass(frozen=True)
class SentenceReason:
    sentence: str
    negativity: float
    words: tuple[str, ...]  # lexicon words and service phrases that drove it
    probability: float | None = None  # the learned classifier's P(negative), when it scored


@dataclass(frozen=True)
class SentimentScore:
    negativity: float  # 0 (calm) .. 1 (furious)
    compound: float  # VADER's compound score of the whole text, -1 .. 1
    reasons: tuple[SentenceReason, ...] = field(default_factory=tuple)

    @property
    def is_negative(self) -> bool:
        return self.negativity >= NEGATIVE_THRESHOLD


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()  # loads the lexicon shipped in the package, once


def _negative_words(sentence: str) -> list[str]:
    lexicon = _analyzer().lexicon
    return [w for w in re.findall(r"[a-z']+", sentence.lower()) if lexicon.get(w, 0) <= -1.5]


def _sentence_negativity(sentence: str) -> tuple[float, list[str]]:
    polarity = _analyzer().polarity_scores(sentence)
    negativity = max(0.0, -polarity["compound"])
    words = _negative_words(sentence) if negativity > 0 else []
    for pattern, weight in _PHRASES:
        match = pattern.search(sentence)
        if match:
            negativity = min(1.0, negativity + weight * (1 - negativity))
            words.append(match.group(0).lower())
    return negativity, list(dict.fromkeys(words))  # a word can be both lexicon and phrase


def split_sentences(text: str) -> list[str]:
    text = " ".join((text or "").split(" "))[:20000]
    return [s.strip() for s in _SENTENCES.split(text) if s.strip()]


def lexicon_reading(sentence: str) -> tuple[float, list[str]]:
    """The lexicon's negativity of one sentence and the words and phrases behind it."""
    return _sentence_negativity(sentence)


def score_text(text: str) -> SentimentScore:
    """Negativity of one post, with the sentences (and words) that drove it, worst first."""
    text = " ".join((text or "").split(" "))[:20000]
    sentences = split_sentences(text)
    reasons = []
    for sentence in sentences:
        negativity, words = _sentence_negativity(sentence)
        if negativity >= 0.2:
            reasons.append(SentenceReason(sentence[:300], round(negativity, 3), tuple(words)))
    compound = _analyzer().polarity_scores(text)["compound"] if text else 0.0
    worst = max((r.negativity for r in reasons), default=0.0)
    # The whole text sets the tone; one furious sentence in a calm post still counts.
    overall = max(max(0.0, -compound), 0.8 * worst)
    phrase_hits = sum(1 for r in reasons for w in r.words if " " in w)
    overall = min(1.0, overall + 0.1 * max(0, phrase_hits - 1))
    reasons.sort(key=lambda r: r.negativity, reverse=True)
    return SentimentScore(round(overall, 3), round(compound, 3), tuple(reasons[:5]))


@dataclass(frozen=True)
class ThreadPost:
    negativity: float
    by_asker: bool


# Others' posts make a thread negative on their own only from here up. VADER scores a helper who
# writes "same here, the update broke mine too, I hate this" (0.87) about as high as plain
# abuse (0.90), so the bar sits above both: a helper agrees with the asker, and abuse in an
# answer or comment is what reports are for.
OTHERS_BAR = 0.95


def thread_negativity(posts: list[ThreadPost], others_bar: float = OTHERS_BAR) -> float:
    """A thread's negativity from its posts in order. The asker's posts set it, recent ones
    weighing most, so an angry follow-up outweighs an old grumble; anyone else's post counts
    only when it alone reaches OTHERS_BAR."""
    asker = [p.negativity for p in posts if p.by_asker]
    others = max((p.negativity for p in posts if not p.by_asker), default=0.0)
    tone = 0.0
    if asker:
        total = weights = 0.0
        for age, negativity in enumerate(reversed(asker)):  # age 0 = the latest post
            weight = 0.6**age
            total += weight * negativity
            weights += weight
        tone = max(total / weights, asker[-1] * 0.9)
    return round(max(tone, others if others >= others_bar else 0.0), 3)
