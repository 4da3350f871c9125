"""Importing real Stack Exchange dumps: counts, idempotence, sanitising and attribution."""

import pytest

from forum.extensions import db
from forum.importer import import_site
from forum.models import Answer, Comment, Question, User

from .conftest import require_shared_data
from .test_markup import active_content


def count(model, *where) -> int:
    return db.session.scalar(db.select(db.func.count(model.id)).where(*where))


def test_import_folder_dump_counts_and_is_idempotent(client):
    site = require_shared_data("stackexchange", "askaboutgadgets")
    result = import_site(site)
    # Figures from the data set's README: 198 questions, 324 answers, 65 accepted, 45 unanswered.
    assert (result.questions, result.answers) == (198, 324)
    assert count(Question) == 198 and count(Answer) == 324
    assert count(Question, Question.accepted_answer_id.is_not(None)) == 65
    assert count(Question, Question.answer_count == 0) == 45
    assert count(Comment) == result.comments > 300
    # Counters agree with the rows.
    mismatched = db.session.scalar(
        db.select(db.func.count(Question.id)).where(
            Question.answer_count
            != db.select(db.func.count(Answer.id))
            .where(Answer.question_id == Question.id)
            .scalar_subquery()
        )
    )
    assert mismatched == 0

    again = import_site(site)
    assert (again.questions, again.answers, again.comments, again.users) == (0, 0, 0, 0)
    assert count(Question) == 198 and count(Answer) == 324
    assert count(Comment) == result.comments


def test_imported_html_goes_through_the_sanitiser(app):
    import_site(require_shared_data("stackexchange", "askaboutgadgets"))
    bodies = db.session.scalars(db.select(Question.body_html)).all()
    bodies += db.session.scalars(db.select(Answer.body_html)).all()
    assert all(active_content(html) == [] for html in bodies)
    assert any("<a href=" in html and 'rel="nofollow ugc noopener"' in html for html in bodies)


def test_imported_authors_cannot_sign_in(app):
    import_site(require_shared_data("stackexchange", "askaboutgadgets"))
    imported = db.session.scalars(db.select(User)).all()
    assert imported and all(u.password_hash is None and not u.active for u in imported)


def test_seven_zip_archive_import_with_attribution(client):
    result = import_site(require_shared_data("stackexchange", "beer.stackexchange.com.7z"))
    assert (result.questions, result.answers) == (1029, 2277)
    assert count(Question, Question.accepted_answer_id.is_not(None)) == 619
    question = db.session.scalar(
        db.select(Question).where(Question.accepted_answer_id.is_not(None)).limit(1)
    )
    original_id = question.source_key.rsplit("/", 1)[1]
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    assert "Beer, Wine &amp; Spirits" in page
    assert f'href="https://beer.stackexchange.com/questions/{original_id}"' in page
    assert "CC BY-SA" in page
    author = db.session.get(User, question.author_id)
    if author.source_url:
        assert f'href="{author.source_url}"' in page
    assert author.display_name.replace("&", "&amp;").replace("'", "&#39;") in page
    assert "Accepted by the asker" in page


@pytest.mark.parametrize("site", ["iot.stackexchange.com"])
def test_cli_import_reports_progress_and_totals(runner, site):
    path = require_shared_data("stackexchange", site)
    result = runner.invoke(args=["forum", "import-stackexchange", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported iot.stackexchange.com: 320 questions, 508 answers" in result.output


def test_bodies_rendered_in_worker_processes_come_back_in_order(app):
    from forum.importer import PARALLEL_FROM, _render_in_background
    from forum.markup import render_markdown, sanitize_html

    texts = [
        f"Post **{n}** <script>alert({n})</script> see http://example.com/{n}"
        for n in range(PARALLEL_FROM + 50)
    ]
    html, markdown = _render_in_background([(sanitize_html, texts), (render_markdown, texts[:3])])
    assert html.get() == [sanitize_html(t) for t in texts]
    assert markdown.get() == [render_markdown(t) for t in texts[:3]]
    assert "<script>" not in "".join(html.get())
