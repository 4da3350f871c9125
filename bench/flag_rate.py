"""How often each negativity scorer would flag an ordinary support question: the share of 300
random questions from two imported Stack Exchange sites (technical, mostly calm) whose asker's
post reaches the scorer's thread bar. Prints figures; asserts nothing.

    .venv/bin/python bench/flag_rate.py
"""

from __future__ import annotations

import html
import random
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moderation.classifier import HEAD_PATH, NegativeHead  # noqa: E402
from moderation.scorers import LearnedScorer, LexiconScorer  # noqa: E402
from moderation.sentiment import ThreadPost, thread_negativity  # noqa: E402
from search import semantic  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "stackexchange"
SITES = ["iot.stackexchange.com", "askaboutgadgets"]
SAMPLE = 300


def questions() -> list[str]:
    texts = []
    for site in SITES:
        path = next(p for p in (DATA / site).iterdir() if p.name.lower() == "posts.xml")
        for _event, row in ET.iterparse(path):
            if row.tag == "row" and row.get("PostTypeId") == "1":
                body = re.sub(r"<[^>]+>", " ", html.unescape(row.get("Body", "")))
                texts.append(" ".join(body.split())[:1500])
    return random.Random(0).sample(texts, SAMPLE)


def main() -> None:
    if not DATA.exists():
        sys.exit(f"{DATA} is absent: this needs ../shared/data beside the checkout")
    texts = questions()
    scorers = [LexiconScorer()]
    if semantic.available() and HEAD_PATH.exists():
        scorers.append(LearnedScorer(NegativeHead.load(), semantic.Encoder(threads=2).encode))
    for scorer in scorers:
        scores = scorer.score_texts(texts)
        flagged = sum(
            thread_negativity([ThreadPost(s.negativity, True)], scorer.others_bar)
            >= scorer.flag_bar
            for s in scores
        )
        print(
            f"{scorer.name:<8} thread bar {scorer.flag_bar:.2f}: flags {flagged} of {len(texts)} "
            f"questions ({flagged / len(texts):.0%})"
        )


if __name__ == "__main__":
    main()
