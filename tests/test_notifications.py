"""Notifications: who hears of what, once, from the worker; the inbox; watching, muting and
following; mail preferences and the digest; the asker's nudge; the signed links in mail."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select, update

from forum import signed
from forum.extensions import db
from forum.mail import send_digests, send_pending
from forum.models import (
    AuditEntry,
    Flag,
    FlagKind,
    MailState,
    Notification,
    OutboxEvent,
    Role,
    utcnow,
)
from forum.services import marks, moderation, notifications, nudges, posting, watching
from forum.worker import drain

from .factories import done


def inbox_of(user) -> list[tuple[str, str | None]]:
    """(kind, post) of each notification this person has, oldest first."""
    db.session.expire_all()
    return [
        (n.kind, n.post)
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    ]


def kinds_of(user) -> list[str]:
    return [kind for kind, _post in inbox_of(user)]


@pytest.fixture
def people(make):
    alice = make.user(name="Alice Asker")
    bob = make.user(name="Bob Helper")
    carol = make.user(name="Carol Watcher")
    staff = make.user(Role.STAFF, name="Sam Staff")
    moderator = make.user(Role.MODERATOR, name="Mo Derator")
    return alice, bob, carol, staff, moderator


# Each event kind -----------------------------------------------------------------------------


def test_an_answer_tells_the_asker_once_and_not_the_answerer(make, people):
    alice, bob, *_ = people
    question = make.question(author=alice)
    answer = make.answer(question, author=bob)
    assert inbox_of(alice) == [("answer", f"answer:{answer.id}")]
    assert inbox_of(bob) == []


def test_nobody_is_told_of_their_own_actions(make, people):
    alice, *_ = people
    question = make.question(author=alice)
    answer = make.answer(question, author=alice)
    make.comment(question, author=alice, answer=answer)
    done(marks.accept_answer(alice, answer))
    assert inbox_of(alice) == []


def test_a_comment_tells_the_author_of_the_post_it_is_on(make, people):
    alice, bob, carol, *_ = people
    question = make.question(author=alice)
    answer = make.answer(question, author=bob)
    on_answer = make.comment(question, author=carol, answer=answer)
    on_question = make.comment(question, author=carol)
    assert inbox_of(bob) == [("comment", f"comment:{on_answer.id}")]
    assert ("comment", f"comment:{on_question.id}") in inbox_of(alice)
    assert ("comment", f"comment:{on_answer.id}") not in inbox_of(alice)


def test_accepted_and_verified_tell_the_answerer_and_verified_tells_watchers(make, people):
    alice, bob, carol, staff, _ = people
    question = make.question(author=alice)
    answer = make.answer(question, author=bob)
    make.comment(question, author=carol)  # Carol now watches the thread
    done(marks.accept_answer(alice, answer))
    done(marks.verify_answer(staff, answer, "Confirmed by support."))
    assert kinds_of(bob) == ["accepted", "verified"]
    assert "verified_watched" in kinds_of(carol)
    assert "verified_watched" in kinds_of(alice)
    assert kinds_of(staff) == []


def test_a_staff_answer_tells_watchers_and_the_asker_hears_it_once(make, people):
    alice, bob, carol, staff, _ = people
    question = make.question(author=alice)
    make.answer(question, author=bob)  # Bob watches now
    done(watching.set_watch(carol, question, "watching"))  # Carol chose to
    answer = make.answer(question, author=staff)
    key = f"answer:{answer.id}"
    assert inbox_of(carol) == [("staff_answer", key)]
    assert ("staff_answer", key) in inbox_of(bob)
    assert [k for k, post in inbox_of(alice) if post == key] == ["answer"]


def test_a_customer_answer_does_not_tell_watchers(make, people):
    alice, bob, carol, *_ = people
    question = make.question(author=alice)
    done(watching.set_watch(carol, question, "watching"))
    make.answer(question, author=bob)
    assert inbox_of(carol) == []


def test_mentions_by_name_without_spaces_but_not_in_code(make, people):
    alice, bob, carol, *_ = people
    question = make.question(author=alice)
    answer = make.answer(
        question,
        author=bob,
        body="Ask @CarolWatcher, she fixed it. Not `@BobHelper` in code. Mail me: x@AliceAsker.",
    )
    assert inbox_of(carol) == [("mention", f"answer:{answer.id}")]
    # Alice is the asker: one notification, the more specific one, though also "mentioned".
    assert inbox_of(alice) == [("answer", f"answer:{answer.id}")]


def test_one_notification_per_person_for_one_change(make, people):
    alice, bob, *_ = people
    question = make.question(author=alice)
    answer = make.answer(question, author=bob, body="@AliceAsker hold the button, @aliceasker.")
    assert inbox_of(alice) == [("answer", f"answer:{answer.id}")]


def test_a_mention_added_by_an_edit_is_told_once(make, people):
    alice, bob, carol, *_ = people
    question = make.question(author=alice)
    answer = make.answer(question, author=bob)
    done(posting.edit_answer(bob, answer, "Hold the button. @CarolWatcher knows more."))
    done(posting.edit_answer(bob, answer, "Hold the button longer. @CarolWatcher knows more."))
    assert inbox_of(carol) == [("mention", f"answer:{answer.id}")]


def test_an_ambiguous_mention_means_the_participant_or_nobody(make, people):
    alice, bob, *_ = people
    twin_a = make.user(name="Pat Twin")
    twin_b = make.user(name="Pat Twin")
    question = make.question(author=alice)
    make.answer(question, author=bob, body="Maybe @PatTwin knows.")
    assert inbox_of(twin_a) == inbox_of(twin_b) == []
    make.comment(question, author=twin_b, body="I had this too.")
    make.answer(question, author=bob, body="Right, @PatTwin, try the reset.")
    assert kinds_of(twin_b) == ["mention"] and inbox_of(twin_a) == []


def test_a_private_message_from_staff_tells_the_asker_and_the_reply_tells_staff(make, people):
    alice, _bob, _carol, _staff, moderator = people
    question = make.question(author=alice, body="This is useless and I am furious.")
    flag = moderation.raise_flag(
        question, moderation.FlagDecision(FlagKind.NEGATIVE.value, ("angry",), 0.9)
    )
    done(flag)
    message = done(moderation.take_private(moderator, flag, "Hello, we can sort this out."))
    assert ("private_message", f"private:{message.id}") in inbox_of(alice)
    reply = done(moderation.reply_private(alice, question, "Thanks, here are my details."))
    assert ("private_message", f"private:{reply.id}") in inbox_of(moderator)


def test_hiding_tells_the_author_why_and_restoring_tells_them_too(make, people):
    alice, bob, _carol, _staff, moderator = people
    question = make.question(author=alice)
    answer = make.answer(question, author=bob, body="Buy cheap watches at my shop.")
    done(moderation.set_hidden(moderator, answer, True))
    done(moderation.set_hidden(moderator, answer, False))
    rows = db.session.scalars(
        select(Notification).where(Notification.user_id == bob.id).order_by(Notification.id)
    ).all()
    assert [n.kind for n in rows] == ["post_hidden", "post_restored"]
    assert rows[0].detail == "A moderator hid it pending review."


def test_a_post_hidden_before_delivery_is_not_told(make, people):
    alice, bob, _carol, _staff, moderator = people
    question = make.question(author=alice)
    answer = posting.post_answer(bob, question.id, "Visit my shop for spare parts.")
    db.session.commit()  # committed, not yet consumed
    moderation.set_hidden(moderator, answer, True)
    db.session.commit()
    drain()
    assert inbox_of(alice) == []


def test_running_the_same_outbox_rows_again_writes_nothing_new(make, people):
    alice, bob, *_ = people
    question = make.question(author=alice)
    make.answer(question, author=bob)
    db.session.execute(update(OutboxEvent).values(processed_at=None))
    db.session.commit()
    drain()
    assert kinds_of(alice) == ["answer"]


# Watching, muting, following ----------------------------------------------------------------


def test_muting_silences_a_thread_and_unmuting_brings_it_back(make, people):
    alice, bob, *_ = people
    question = make.question(author=alice)
    done(watching.set_watch(alice, question, "muted"))
    make.answer(question, author=bob)
    assert inbox_of(alice) == []
    done(watching.set_watch(alice, question, None))
    make.answer(question, author=bob)
    assert kinds_of(alice) == ["answer"]


def test_stop_watching_stops_staff_answers(make, people):
    alice, _bob, carol, staff, _ = people
    question = make.question(author=alice)
    done(watching.set_watch(carol, question, "watching"))
    done(watching.set_watch(carol, question, None))
    make.answer(question, author=staff)
    assert inbox_of(carol) == []


def test_the_thread_page_watches_mutes_and_stops(make, people, client, auth):
    alice, bob, carol, *_ = people
    question = make.question(author=alice)
    auth.login(carol.email)
    url = f"/questions/{question.id}"
    assert "Not watching." in client.get(url).get_data(as_text=True)
    page = auth.post(f"{url}/watch", {"level": "watching"}, page=url, follow_redirects=True)
    assert "Watching: you hear about staff answers here." in page.get_data(as_text=True)
    page = auth.post(f"{url}/watch", {"level": "muted"}, page=url, follow_redirects=True)
    assert "Muted: you hear nothing about this thread." in page.get_data(as_text=True)
    page = auth.post(f"{url}/watch", {"level": ""}, page=url, follow_redirects=True)
    assert "Not watching." in page.get_data(as_text=True)
    bad = auth.post(f"{url}/watch", {"level": "loudly"}, page=url)
    assert bad.status_code == 400 and "Choose watch, mute or neither." in bad.get_data(as_text=True)


def test_following_a_product_or_tag_tells_of_new_questions_until_unfollowed(
    make, people, client, auth
):
    alice, bob, carol, *_ = people
    product = make.product(name="Router X")
    auth.login(carol.email)
    listing = f"/?product={product.slug}"
    page = client.get(listing).get_data(as_text=True)
    assert "Follow Router X" in page
    page = auth.post(
        f"/follow/products/{product.id}",
        {"action": "follow", "next": listing},
        page=listing,
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Unfollow Router X" in page
    asked = make.question(author=alice, product=product, tags="wifi")
    assert inbox_of(carol) == [("new_question", f"question:{asked.id}")]
    auth.post(f"/follow/products/{product.id}", {"action": "unfollow"}, page=listing)
    make.question(author=alice, product=product)
    assert len(inbox_of(carol)) == 1
    # A tag too; and the asker is not told of their own question.
    tag_id = asked.tags[0].id
    done(watching.set_following(bob, "tags", tag_id, True))
    again = make.question(author=alice, tags="wifi")
    assert inbox_of(bob) == [("new_question", f"question:{again.id}")]
    assert ("new_question", f"question:{again.id}") not in inbox_of(alice)


# The inbox -----------------------------------------------------------------------------------


def test_the_inbox_groups_by_thread_and_opens_the_exact_post(make, people, client, auth):
    alice, bob, carol, *_ = people
    first = make.question(author=alice, title="Printer prints blank pages")
    second = make.question(author=alice, title="Scanner will not pair")
    answer = make.answer(first, author=bob)
    make.answer(second, author=carol)
    make.comment(first, author=carol)
    auth.login(alice.email)
    page = client.get("/notifications").get_data(as_text=True)
    assert "3 unread" in page
    # The thread with the newest notification (Carol's comment) comes first.
    assert page.index("Printer prints blank pages") < page.index("Scanner will not pair")
    assert len(re.findall(r'data-testid="inbox-thread"', page)) == 2
    assert "Bob Helper answered your question" in page
    assert "Carol Watcher commented on your post" in page
    note = db.session.scalar(select(Notification).where(Notification.post == f"answer:{answer.id}"))
    opened = client.get(f"/notifications/{note.id}")
    assert opened.status_code == 303
    assert opened.headers["Location"].endswith(f"/questions/{first.id}#answer-{answer.id}")
    assert client.get("/notifications/count").get_json() == {"unread": 2}
    auth.post(f"/notifications/{note.id}/unread", page="/notifications")
    assert client.get("/notifications/count").get_json() == {"unread": 3}
    auth.post("/notifications/read", page="/notifications")
    assert client.get("/notifications/count").get_json() == {"unread": 0}
    assert "0 unread" in client.get("/notifications").get_data(as_text=True)


def test_the_bell_shows_the_count_and_answers_304_when_unchanged(make, people, client, auth):
    alice, bob, *_ = people
    question = make.question(author=alice)
    make.answer(question, author=bob)
    auth.login(alice.email)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="bell-count">1<', page)
    first = client.get("/notifications/count")
    assert first.get_json() == {"unread": 1} and first.headers["ETag"]
    again = client.get("/notifications/count", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    make.answer(question, author=bob)
    changed = client.get("/notifications/count", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json() == {"unread": 2}


def test_nobody_opens_or_marks_another_persons_notifications(make, people, client, auth):
    alice, bob, carol, *_ = people
    question = make.question(author=alice)
    make.answer(question, author=bob)
    note = db.session.scalar(select(Notification))
    auth.login(carol.email)
    assert client.get(f"/notifications/{note.id}").status_code == 404
    assert auth.post(f"/notifications/{note.id}/unread").status_code == 404
    auth.post("/notifications/read", {"notification_id": str(note.id)})
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is None
    assert client.get("/notifications/count").get_json() == {"unread": 0}


def test_signed_out_readers_are_sent_to_sign_in(client):
    response = client.get("/notifications")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert (
        client.get("/notifications/count", headers={"Accept": "application/json"}).status_code
        == 401
    )


# Mail preferences and the digest ------------------------------------------------------------


def mail_states(user) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Notification.email_state)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def test_preferences_decide_now_digest_or_nothing(make, people, client, auth):
    alice, bob, *_ = people
    auth.login(alice.email)
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert "Answers to my questions" in page
    auth.post(
        "/settings/notifications",
        {"answers": "off", "comments": "digest"},
        page="/settings/notifications",
    )
    question = make.question(author=alice)
    make.answer(question, author=bob)
    make.comment(question, author=bob)
    assert mail_states(alice) == ["none", "digest"]
    assert notifications.preferences(alice.id)["mentions"] == "instant"  # untouched: default


def test_one_mail_per_thread_per_pause_the_rest_waits_for_the_digest(make, people):
    alice, bob, carol, *_ = people
    question = make.question(author=alice)
    other = make.question(author=alice)
    make.answer(question, author=bob)
    assert send_pending() == 1
    make.answer(question, author=carol)  # same thread, within the pause
    make.answer(other, author=carol)  # another thread: its own mail
    assert mail_states(alice) == ["sent", "digest", "pending"]


def mails_in(app) -> list:
    folder = Path(app.config["MAIL_DIR"])
    return [
        message_from_bytes(p.read_bytes(), policy=default_policy)
        for p in sorted(folder.glob("*.eml"))
    ]


def test_the_digest_collects_what_waited_once_per_period(app, make, people):
    alice, bob, carol, *_ = people
    done(notifications.set_preferences(alice, {"answers": "digest"}))
    question = make.question(author=alice, title="Battery drains overnight")
    make.answer(question, author=bob)
    make.answer(question, author=carol)
    now = utcnow()
    assert send_digests(now) == 0  # nothing has waited an hour yet
    assert send_digests(now + timedelta(hours=2)) == 1
    [digest] = mails_in(app)
    text = digest.get_body(("plain",)).get_content()
    assert "Battery drains overnight" in text
    assert "Bob Helper answered your question" in text and "Carol Watcher" in text
    assert mail_states(alice) == ["sent", "sent"]
    make.answer(question, author=bob)
    assert send_digests(now + timedelta(hours=4)) == 0  # the last digest was two hours ago
    assert send_digests(now + timedelta(hours=27)) == 1


def test_what_was_read_before_the_mail_went_is_not_mailed(make, people, client, auth):
    alice, bob, *_ = people
    question = make.question(author=alice)
    make.answer(question, author=bob)
    auth.login(alice.email)
    auth.post("/notifications/read", page="/notifications")
    assert send_pending() == 0
    assert mail_states(alice) == ["none"]


# The nudge -----------------------------------------------------------------------------------


def age_answers(question, days: float) -> None:
    """Date the thread's answers back, and its first-answer time with them (invariant 7)."""
    from forum.models import Answer, Question
    from forum.services.lifecycle import first_answer_values

    db.session.execute(
        update(Answer)
        .where(Answer.question_id == question.id)
        .values(created_at=utcnow() - timedelta(days=days))
    )
    db.session.execute(
        update(Question).where(Question.id == question.id).values(**first_answer_values())
    )
    db.session.commit()


def test_the_asker_is_nudged_once_after_the_first_answer(make, people, app):
    alice, bob, *_ = people
    question = make.question(author=alice)
    make.answer(question, author=bob)
    assert nudges.scan() == 0  # too soon
    age_answers(question, app.config["NUDGE_DAYS"] + 0.5)
    assert done(nudges.scan()) == 1
    assert done(nudges.scan()) == 0
    assert kinds_of(alice).count("nudge") == 1


def test_no_nudge_when_solved_self_answered_or_long_ago(make, people, app):
    alice, bob, *_ = people
    solved = make.question(author=alice)
    answer = make.answer(solved, author=bob)
    done(marks.accept_answer(alice, answer))
    own = make.question(author=alice)
    make.answer(own, author=alice)
    old = make.question(author=alice)
    make.answer(old, author=bob)
    for q in (solved, own):
        age_answers(q, app.config["NUDGE_DAYS"] + 1)
    age_answers(old, app.config["NUDGE_DAYS"] + 400)
    assert nudges.scan() == 0


def nudge_mail(app, make, people):
    alice, bob, *_ = people
    question = make.question(author=alice, title="Headset keeps disconnecting")
    answer = make.answer(question, author=bob)
    age_answers(question, app.config["NUDGE_DAYS"] + 1)
    done(nudges.scan())
    assert send_pending() == 2  # the answer, then the nudge
    [mail] = [m for m in mails_in(app) if "Did an answer solve" in m["Subject"]]
    return question, answer, mail.get_body(("plain",)).get_content()


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_yes_accept_this_answer_from_the_nudge_mail(app, make, people, client):
    question, answer, text = nudge_mail(app, make, people)
    accept_url = re.search(r"Yes, accept this answer: (\S+)", text).group(1)
    confirm = client.get(path_of(accept_url))
    assert confirm.status_code == 200
    assert "Bob Helper's answer" in html.unescape(confirm.get_data(as_text=True))
    db.session.expire_all()
    assert question.accepted_answer_id is None  # a GET changes nothing
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.get_data(as_text=True))
    done_page = client.post(
        path_of(accept_url), data={"csrf_token": token.group(1)}, follow_redirects=True
    )
    assert "The answer is marked as the one that solved it." in done_page.get_data(as_text=True)
    db.session.expire_all()
    assert question.accepted_answer_id == answer.id
    # Without the CSRF token the POST is refused.
    assert client.post(path_of(accept_url)).status_code == 400


def test_still_need_help_puts_the_thread_in_front_of_staff(app, make, people, client):
    question, _answer, text = nudge_mail(app, make, people)
    url = path_of(re.search(r"Still need help\? (\S+)", text).group(1))
    page = client.get(url)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    client.post(url, data={"csrf_token": token})
    flag = db.session.scalar(select(Flag).where(Flag.question_id == question.id))
    assert flag.kind == FlagKind.NEEDS_STAFF.value and flag.is_active
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "asked for staff"))
    again = client.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "You asked already" in again.get_data(as_text=True)


def test_signed_links_refuse_expired_tampered_and_wrong_user(app, make, people, client, auth):
    alice, bob, carol, *_ = people
    question = make.question(author=alice)
    answer = make.answer(question, author=bob)
    token = signed.make("accept", u=alice.id, a=answer.id)
    tampered = client.get(f"/mail/accept/{token[:-3]}abc")
    assert tampered.status_code == 400
    assert "This link is not valid" in tampered.get_data(as_text=True)
    other_purpose = client.get(f"/mail/accept/{signed.make('need-help', u=alice.id, q=1)}")
    assert other_purpose.status_code == 400
    app.config["MAIL_LINK_DAYS"] = 0  # links expire at once: one second later, refused
    time.sleep(1.1)
    expired = client.get(f"/mail/accept/{token}")
    assert expired.status_code == 400 and "This link has expired" in expired.get_data(as_text=True)
    app.config["MAIL_LINK_DAYS"] = 14
    auth.login(carol.email)
    wrong = client.get(f"/mail/accept/{token}")
    assert wrong.status_code == 403
    assert "sent to another account" in wrong.get_data(as_text=True)
    # Bob's own link cannot accept on Alice's question either.
    auth.logout()
    bobs = signed.make("accept", u=bob.id, a=answer.id)
    page = client.get(f"/mail/accept/{bobs}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    refused = client.post(f"/mail/accept/{bobs}", data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert "Only the person who asked can accept" in refused.get_data(as_text=True)


def test_one_click_unsubscribe_needs_no_session(app, make, people, client):
    alice, bob, *_ = people
    token = signed.make("unsubscribe", u=alice.id, t="answers")
    page = client.get(f"/mail/unsubscribe/{token}").get_data(as_text=True)
    assert "Stop mail about answers to my questions." in page
    response = client.post(
        f"/mail/unsubscribe/{token}",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert notifications.preferences(alice.id)["answers"] == "off"
    assert notifications.preferences(alice.id)["mentions"] == "instant"
    everything = signed.make("unsubscribe", u=alice.id, t="all")
    client.post(f"/mail/unsubscribe/{everything}")
    assert set(notifications.preferences(alice.id).values()) == {"off"}
    assert client.post("/mail/unsubscribe/not-a-token").status_code == 400


# My activity, profiles, badges, mentions -----------------------------------------------------


def test_my_questions_answers_and_watched_threads(make, people, client, auth):
    alice, bob, carol, *_ = people
    asked = make.question(author=alice, title="Where is the reset button")
    answer = make.answer(asked, author=bob)
    done(marks.accept_answer(alice, answer))
    watched = make.question(author=carol, title="Charger gets hot")
    done(watching.set_watch(alice, watched, "watching"))
    auth.login(alice.email)
    mine = client.get("/activity?tab=questions").get_data(as_text=True)
    assert "Where is the reset button" in mine and "Solved" in mine
    assert "Charger gets hot" in client.get("/activity?tab=watching").get_data(as_text=True)
    auth.logout()
    auth.login(bob.email)
    answers = client.get("/activity?tab=answers").get_data(as_text=True)
    assert "Where is the reset button" in answers and "Accepted" in answers


def test_the_public_profile_lists_visible_posts_only(make, people, client):
    alice, bob, _carol, staff, moderator = people
    shown = make.question(author=bob, title="Shown question here")
    hidden = make.question(author=bob, title="Hidden question here")
    done(moderation.set_hidden(moderator, hidden, True))
    page = client.get(f"/users/{bob.id}").get_data(as_text=True)
    assert "Bob Helper" in page and "Shown question here" in page
    assert "Hidden question here" not in page and "mention as @BobHelper" in page
    staff_page = client.get(f"/users/{staff.id}").get_data(as_text=True)
    assert 'class="role-badge" data-testid="role-badge">staff<' in staff_page
    assert client.get("/users/999999").status_code == 404
    assert shown.id


def test_staff_comments_carry_the_role_badge(make, people, client):
    alice, _bob, _carol, staff, _ = people
    question = make.question(author=alice)
    make.comment(question, author=staff, body="We are looking into it.")
    page = client.get(f"/questions/{question.id}").get_data(as_text=True)
    comment = page[page.index("We are looking into it.") :]
    assert re.search(r"Sam Staff</a> <span class=\"role-badge\"[^>]*>staff</span>", comment)


def test_mention_suggestions(make, people, client, auth):
    alice, *_ = people
    auth.login(alice.email)
    found = client.get("/mentions?q=car").get_json()["people"]
    assert found == [{"mention": "CarolWatcher", "name": "Carol Watcher", "staff": False}]
    assert client.get("/mentions?q=%25").get_json()["people"] == []  # a literal %, not "any"
    assert client.get("/mentions?q=").get_json()["people"] == []


def test_a_mail_that_cannot_be_made_does_not_hold_up_the_rest(app, make, people):
    alice, bob, *_ = people
    question = make.question(author=alice)
    db.session.add(
        Notification(
            user_id=alice.id,
            question_id=question.id,
            key="broken:1",
            kind="no-such-kind",
            email_state=MailState.PENDING.value,
        )
    )
    db.session.commit()
    make.answer(make.question(author=alice), author=bob)
    assert send_pending() == 1
    assert sorted(mail_states(alice)) == ["none", "sent"]
    assert len(mails_in(app)) == 1


def test_the_idle_lane_sees_a_new_row_at_its_next_look(make, people):
    """The notification lane looks with one light statement while idle; it must see each row
    that waits, and nothing once the row is told."""
    from forum.worker import anything_to_tell, notify_batch

    alice, bob, *_ = people
    question = make.question(author=alice)
    assert not anything_to_tell()
    answer = posting.post_answer(bob, question.id, "Reset it, then pair it again.")
    db.session.commit()
    assert anything_to_tell()
    while notify_batch():
        pass
    assert not anything_to_tell()
    assert inbox_of(alice) == [("answer", f"answer:{answer.id}")]
