"""The project's own demo content seeds an empty database with threads in every state."""

from forum.extensions import db
from forum.models import Question, Role, User


def test_seed_demo_fills_an_empty_database_once(runner, client):
    result = runner.invoke(args=["forum", "seed-demo"])
    assert result.exit_code == 0 and "Seeded demo data" in result.output
    questions = db.session.scalars(db.select(Question)).all()
    assert any(q.answer_count == 0 for q in questions)  # unanswered
    assert any(q.accepted_answer_id for q in questions)  # solved
    assert any(q.verified_answer_id for q in questions)  # verified by staff
    assert any(q.score or q.answers and q.answers[0].score for q in questions)  # voted on
    assert any(q.answer_count and not q.accepted_answer_id for q in questions)  # answered
    assert any("refund" in q.body_source for q in questions)  # angry
    roles = set(db.session.scalars(db.select(User.role)))
    assert roles == {r.value for r in Role}

    again = runner.invoke(args=["forum", "seed-demo"])
    assert "nothing seeded" in again.output
    assert db.session.scalar(db.select(db.func.count(Question.id))) == len(questions)

    home = client.get("/").get_data(as_text=True)
    assert all(q.title.replace("'", "&#39;") in home for q in questions)
