"""Meaning-aware search with the real packaged model: embeddings made by the worker, kept in
step with the threads, fused with BM25, and the same site with them turned off."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum import embeddings
from forum.extensions import db
from forum.models import Role, ThreadEmbedding
from forum.search_sync import search_threads, similar_threads
from forum.services import moderation, posting, votes
from search import SearchQuery
from search.semantic import available

from .conftest import SEARCH_BACKENDS
from .factories import done

pytestmark = pytest.mark.skipif(not available(), reason="the embedding model is not installed")


@pytest.fixture(params=SEARCH_BACKENDS)
def app_config(request, app_config):
    """Meaning blends with the words of either search backend the database allows."""
    return {**app_config, "EMBEDDINGS": True, "SEARCH_BACKEND": request.param}


def stored(question_id: int) -> ThreadEmbedding | None:
    db.session.expire_all()
    return db.session.get(ThreadEmbedding, question_id)


def ids(results) -> list[int]:
    return [hit.id for hit in results.hits]


def test_the_worker_embeds_threads_and_keeps_them_in_step(make):
    moderator = make.user(Role.MODERATOR)
    question = make.question(title="Lamp will not reset to factory settings")
    first = stored(question.id)
    assert first is not None and len(first.vector) == 384 * 4
    digest, updated = first.digest, first.updated_at
    done(votes.cast_vote(make.user(), question, "up"))  # not a change to the text
    assert stored(question.id).updated_at == updated
    done(posting.edit_question(question.author, question, "Router drops every hour", "x" * 30, ""))
    assert stored(question.id).digest != digest
    done(moderation.set_hidden(moderator, question, True))
    assert stored(question.id) is None
    done(moderation.set_hidden(moderator, question, False))
    assert stored(question.id) is not None


@pytest.fixture
def factory_reset(make):
    """A lamp thread about a factory reset that never says "reset" or "lamp"."""
    lamp = make.product(name="Lamp")
    return lamp, make.question(
        product=lamp,
        title="Restore my smart light bulb to its original factory state",
        body="I want to wipe the bulb and set it up from the beginning again.",
    )


def test_meaning_finds_a_thread_that_shares_no_word(make, factory_reset):
    lamp, target = factory_reset
    make.question(product=lamp, title="Which colour temperature suits reading", body="y" * 30)
    text = "how do I reset the lamp"
    assert target.id in ids(search_threads(SearchQuery(text=text)))
    assert ids(search_threads(SearchQuery(text=text)))[0] == target.id
    # Filters hold for what meaning finds: another product's scope does not get it.
    router = make.product(name="Router")
    assert target.id not in ids(search_threads(SearchQuery(text=text, product=router.slug)))
    assert target.id not in ids(search_threads(SearchQuery(text=text, states=["solved"])))
    # Nor does it outlive the thread.
    done(posting.delete_post(target.author, target))
    assert target.id not in ids(search_threads(SearchQuery(text=text)))


def test_similar_questions_by_meaning_without_padding(make, factory_reset):
    lamp, target = factory_reset
    make.question(product=lamp, title="Best beer for a summer barbecue", body="z" * 30)
    found = similar_threads("how do I reset the lamp", product=lamp.slug)
    assert [hit.id for hit in found] == [target.id]


def test_with_embeddings_off_search_is_words_alone(app, make, factory_reset):
    lamp, target = factory_reset
    app.config["EMBEDDINGS"] = False
    assert ids(search_threads(SearchQuery(text="how do I reset the lamp"))) == []
    assert ids(search_threads(SearchQuery(text="restore smart bulb"))) == [target.id]
    make.question(product=lamp, title="Another lamp question here")
    assert db.session.scalar(select(ThreadEmbedding).order_by(ThreadEmbedding.question_id.desc()))
    assert len(db.session.scalars(select(ThreadEmbedding)).all()) == 1  # the worker made none


def test_vectors_follow_the_database(make):
    lamp = make.product(name="Lamp")
    one = make.question(product=lamp, title="Lamp flickers when dimmed", body="w" * 30)
    embeddings.forget()
    assert len(embeddings.vectors()) == 1
    two = make.question(product=lamp, title="Lamp hums when it is on", body="v" * 30)
    embeddings._state["checked"] = 0.0  # as if a second had passed
    assert len(embeddings.vectors()) == 2
    done(posting.delete_post(two.author, two))
    embeddings._state["checked"] = 0.0
    near = embeddings.vectors().nearest(embeddings.encoder().encode_one("lamp"), limit=5)
    assert [thread for thread, _similarity in near] == [one.id]


def test_a_worker_killed_before_embedding_is_repaired_by_the_minute_job(make):
    from forum import worker
    from forum.models import Question

    question = make.question(title="Lamp buzzes at night", body="u" * 30)
    db.session.execute(
        ThreadEmbedding.__table__.delete().where(ThreadEmbedding.question_id == question.id)
    )
    db.session.commit()
    worker._to_embed.clear()  # what a killed worker had queued is gone
    assert stored(question.id) is None
    worker.timed_jobs()
    worker.embed_some(worker.EMBED_SLICE)
    assert stored(question.id) is not None
    assert db.session.get(Question, question.id) is not None
