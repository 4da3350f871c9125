"""Sentiment and flag rules on their own: no Flask, no database."""

from datetime import UTC, datetime, timedelta

from moderation import negative_flag, priority, score_text, spam_signals, unanswered_flag
from moderation.sentiment import ThreadPost, thread_negativity

ANGRY = (
    "This is the third time I ask. I was charged twice and nobody has answered my emails. "
    "I want a refund now or I will cancel my account. Unacceptable."
)
FRIENDLY = "Thanks so much, the reset worked perfectly and the lights look great!"


def test_an_angry_post_is_negative_with_its_reasons():
    score = score_text(ANGRY)
    assert score.is_negative and score.negativity > 0.8
    words = {w for r in score.reasons for w in r.words}
    assert {"want a refund", "cancel my account", "charged twice"} <= words
    assert any("nobody has answered" in w for w in words)
    assert score.reasons[0].sentence in ANGRY


def test_friendly_and_neutral_posts_are_not_negative():
    assert not score_text(FRIENDLY).is_negative
    assert not score_text("How do I set up a guest network on the router?").is_negative
    assert score_text("").negativity == 0.0


def test_service_phrases_a_general_lexicon_misses():
    for text in (
        "Still waiting for an answer.",
        "No one has replied to me.",
        "I want a refund.",
        "Please cancel my subscription.",
    ):
        assert score_text(text).is_negative, text


def test_the_askers_latest_posts_weigh_most():
    old_grumble = [ThreadPost(0.8, True), ThreadPost(0.0, False), ThreadPost(0.0, True)]
    angry_follow_up = [ThreadPost(0.0, True), ThreadPost(0.0, False), ThreadPost(0.8, True)]
    assert thread_negativity(angry_follow_up) > thread_negativity(old_grumble)
    helper_grumble = [ThreadPost(0.0, True), ThreadPost(0.8, False)]
    assert thread_negativity(angry_follow_up) > thread_negativity(helper_grumble)


def test_rules():
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert unanswered_flag(now - timedelta(hours=23), 0, now, 24) is None
    assert unanswered_flag(now - timedelta(hours=30), 1, now, 24) is None
    flag = unanswered_flag(now - timedelta(hours=30), 0, now, 24)
    assert flag.kind == "unanswered" and "30 hours" in flag.reasons[0]
    assert negative_flag(0.1, []) is None and negative_flag(0.9, ["x"]).kind == "negative"
    assert spam_signals("see https://a https://b https://c", timedelta(hours=1), True)
    assert spam_signals("one https://a link", timedelta(hours=1), False) is None
    assert priority("negative", 0.9, 10, 100) > priority("unanswered", 0.2, 0, 0)
