"""The learned negativity classifier: its training, the committed head, the worker flagging
with it (and explaining why), and the lexicon when it is off or cannot load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.models import Flag, Role
from forum.services import posting
from moderation.classifier import HEAD_PATH, NegativeHead, _weights, choose_bar
from moderation.evaluate import evaluate, gold_rule
from moderation.scorers import LexiconScorer
from search.semantic import available

from .conftest import require_shared_data
from .factories import done

needs_model = pytest.mark.skipif(not available(), reason="the embedding model is not installed")

# From the labelled reviews: complaints and regret with no sentiment word in them.
QUIET_COMPLAINTS = [
    "nokia will not cover phones bought from amazon.",
    "and have returned both.",
    "each of the 4 lasted less than six months.",
    "buyer beware.",
    "called customer service and basically was told to either keep buying new ones.",
]
CALM_SUPPORT = [
    "How do I reset my bulb?",
    "My router drops the wifi every evening around 8 pm. Any idea what to check?",
    "Thanks, the reset worked!",
    "The support team was great, the issue is fixed.",
]


def negative_flags(question_id: int) -> list[Flag]:
    db.session.expire_all()
    return db.session.scalars(
        select(Flag).where(Flag.question_id == question_id, Flag.kind == "negative")
    ).all()


# Without the model ------------------------------------------------------------------------


def test_the_thread_bar_is_the_lowest_with_the_precision_asked_for():
    labels = np.array([True, True, False, True, False, False])
    probability = np.array([0.95, 0.9, 0.85, 0.7, 0.6, 0.55])
    assert choose_bar(probability, labels, 0.9) == 0.86  # above the false 0.85
    assert choose_bar(probability, labels, 0.6) == 0.56  # 3 of the 5 above it
    assert choose_bar(np.array([0.9]), np.array([False]), 0.9) == 0.99


def test_a_shared_file_takes_its_share_of_the_training_weight():
    files = {"big": [("a", True)] * 90, "own": [("b", False)] * 10}
    weight = _weights(files, {"own": 0.25})
    assert weight[:90].sum() == pytest.approx(75) and weight[90:].sum() == pytest.approx(25)
    assert _weights(files, {}).tolist() == [1.0] * 100


def test_the_head_round_trips_through_its_file(tmp_path):
    head = NegativeHead((0.5, -1.0), 0.25, 0.5, 0.7, "model", {"f.txt": "abc"})
    head.save(tmp_path / "head.json")
    again = NegativeHead.load(tmp_path / "head.json")
    assert again == head
    assert again.probabilities(np.array([[2.0, 0.0], [0.0, 2.0]])) == pytest.approx(
        [1 / (1 + np.exp(-1.25)), 1 / (1 + np.exp(1.75))]
    )


def test_the_committed_head_says_what_made_it():
    data = json.loads(HEAD_PATH.read_text())
    assert len(data["weights"]) == 384 + 5
    assert set(data["trained_on"]) == {
        "amazon_cells_labelled.txt",
        "imdb_labelled.txt",
        "yelp_labelled.txt",
        "tweets_GroundTruth.txt",
        "customer_service_sentences.txt",
    }
    assert data["command"] == "flask moderation train"
    assert data["report"]["thread_bar_precision"] >= 0.85
    assert all(row["f1"] >= 0.8 for row in data["report"]["cross_validated"][:4])


def test_the_evaluation_states_its_gold_rule_and_scores_any_predictor(tmp_path):
    uci, tweets = tmp_path / "uci.txt", tmp_path / "tweets.txt"
    uci.write_text("bad one\t0\ngood one\t1\n")
    tweets.write_text("1\t-2.5\tawful\n2\t1.0\tfine\n")
    assert gold_rule(uci).startswith("label 0") and "<= -0.05" in gold_rule(tweets)
    rows = [("bad one", True), ("good one", False), ("meh", True)]
    result = evaluate("x", rows, lambda texts: [t != "meh" for t in texts])
    assert (result.precision, result.recall) == (0.5, 0.5)


def test_without_the_model_or_the_head_the_site_scores_with_the_lexicon(app, monkeypatch, caplog):
    from forum import negativity

    monkeypatch.setattr(negativity, "HEAD_PATH", HEAD_PATH.with_name("absent.json"))
    scorer = negativity.make_scorer("learned")
    assert isinstance(scorer, LexiconScorer)
    assert "scoring with the lexicon alone" in caplog.text


# With the model ---------------------------------------------------------------------------


@needs_model
def test_the_learned_scorer_finds_quiet_complaints_the_lexicon_misses():
    from forum.negativity import make_scorer

    learned, lexicon = make_scorer("learned"), LexiconScorer()
    assert learned.name == "learned"
    found = learned.score_texts(QUIET_COMPLAINTS)
    missed = lexicon.score_texts(QUIET_COMPLAINTS)
    assert all(s.negativity >= learned.negative_bar for s in found), found
    assert all(s.negativity < lexicon.negative_bar for s in missed)
    calm = learned.score_texts(CALM_SUPPORT)
    assert all(s.negativity < learned.negative_bar for s in calm), calm
    # Each negative text is explained: its sentence and the classifier's probability.
    reason = found[1].reasons[0]
    assert reason.sentence == "and have returned both." and reason.probability >= 0.5


@pytest.fixture
def learned(app):
    app.config["NEGATIVE_SCORER"] = "learned"
    yield
    app.config["NEGATIVE_SCORER"] = "lexicon"


@needs_model
def test_the_worker_flags_a_quiet_complaint_and_the_flag_page_says_why(learned, make, auth):
    asker = make.user()
    product = make.product()
    question = done(
        posting.ask_question(
            asker,
            product.id,
            "Second charger stopped after a month",
            "I have returned both units and asked for my money back. Buyer beware.",
        )
    )
    [flag] = negative_flags(question.id)
    assert any("p=" in reason for reason in flag.reason_list)
    auth.login(make.user(Role.MODERATOR).email)
    page = auth.client.get(f"/moderation/flags/{flag.id}").get_data(as_text=True)
    assert "I have returned both units and asked for my money back." in page
    assert "likely negative" in page


@needs_model
def test_a_quiet_complaint_is_not_flagged_by_the_lexicon(make):
    question = make.question(
        title="Second charger stopped after a month",
        body="I have returned both units and asked for my money back. Buyer beware.",
    )
    assert negative_flags(question.id) == []


@needs_model
def test_others_posts_alone_never_make_a_thread_negative(learned, make):
    question = make.question(title="Which charger fits the new model?", body=CALM_SUPPORT[0])
    make.answer(
        question, body="Mine lasted less than six months. I have returned both. Buyer beware."
    )
    make.comment(question, body="Same here, returned it and bought another brand.")
    assert negative_flags(question.id) == []


@needs_model
def test_train_prints_figures_per_file_and_writes_a_head_the_scorer_loads(runner, tmp_path):
    """On a small slice of the shared files, to stay quick: the command, end to end."""
    shared = require_shared_data("sentiment-uci-labelled-sentences").parent
    data = tmp_path / "data"
    for folder, name in [
        ("sentiment-uci-labelled-sentences", "amazon_cells_labelled.txt"),
        ("sentiment-uci-labelled-sentences", "imdb_labelled.txt"),
        ("sentiment-uci-labelled-sentences", "yelp_labelled.txt"),
        ("sentiment-vader-tweets", "tweets_GroundTruth.txt"),
    ]:
        (data / folder).mkdir(parents=True, exist_ok=True)
        lines = (shared / folder / name).read_text(encoding="utf-8").splitlines()[:120]
        (data / folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "head.json"
    result = runner.invoke(
        args=["moderation", "train", "--data", str(data), "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    for name in ("amazon_cells_labelled.txt", "tweets_GroundTruth.txt"):
        assert result.output.count(name) == 4  # cross-validated and held out, twice
    assert "customer_service_sentences.txt" in result.output
    assert "thread bar" in result.output and "sentences/s" in result.output
    head = NegativeHead.load(output)
    assert len(head.weights) == 389 and 0.5 <= head.thread_bar <= 0.99
    assert set(head.trained_on) >= {"amazon_cells_labelled.txt", "customer_service_sentences.txt"}


@needs_model
def test_eval_shows_both_scorers_side_by_side_with_the_gold_rule(runner, tmp_path):
    path = tmp_path / "forum.txt"
    path.write_text("".join(f"{t}\t0\n" for t in QUIET_COMPLAINTS[:3]) + "Thanks!\t1\n")
    result = runner.invoke(args=["moderation", "eval", str(path)])
    assert result.exit_code == 0, result.output
    rows = [
        line
        for line in result.output.splitlines()
        if line.startswith("forum.txt") and "negative =" not in line
    ]
    assert [row.split()[1] for row in rows] == ["lexicon", "learned"]
    assert "forum.txt: negative = label 0" in result.output
