"""Mail through a real SMTP server (aiosmtpd, started here): what arrives in the mailbox, and
what happens while the server is away."""

from __future__ import annotations

import re
import socket
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from forum.extensions import db
from forum.mail import send_pending
from forum.models import MailState, Notification
from forum.services import notifications


class Mailbox:
    """An SMTP server's handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(
            (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default_policy))
        )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mailbox(smtp_port):
    box = Mailbox()
    server = Controller(box, hostname="127.0.0.1", port=smtp_port)
    server.start()
    yield box
    server.stop()


@pytest.fixture
def app_config(app_config, smtp_port):
    return {
        **app_config,
        "MAIL_BACKEND": "smtp",
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "MAIL_FROM": "Crowd Answers <support@forum.test>",
        "SITE_URL": "https://forum.test",
        "SITE_NAME": "Acme Answers",
    }


def test_an_answer_puts_one_mail_in_the_askers_mailbox(app, make, mailbox, client):
    alice = make.user(name="Alice Asker", email="alice@example.com")
    bob = make.user(name="Bob Helper")
    question = make.question(author=alice, title="Router drops wifi every hour")
    answer = make.answer(question, author=bob, body="Turn off band steering in the settings.")
    assert send_pending() == 1
    [(recipients, mail)] = mailbox.messages
    assert recipients == ["alice@example.com"]
    assert mail["To"] == "Alice Asker <alice@example.com>"
    assert mail["Subject"] == (
        "[Acme Answers] Bob Helper answered your question: Router drops wifi every hour"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Turn off band steering in the settings." in text
    link = re.search(r"Open it: (\S+)", text).group(1)
    assert link.startswith("https://forum.test/notifications/") and link in html
    assert "Acme Answers" in text and "Acme Answers" in html
    # The link leads to the answer itself once Alice signs in.
    from .conftest import AuthActions

    AuthActions(client).login("alice@example.com")
    opened = client.get(link.removeprefix("https://forum.test"))
    assert opened.headers["Location"].endswith(f"/questions/{question.id}#answer-{answer.id}")
    # One click on the unsubscribe link, as a mail program makes it: no session, no token.
    unsubscribe = mail["List-Unsubscribe"].strip("<>")
    client.delete_cookie("session")
    response = client.post(
        unsubscribe.removeprefix("https://forum.test"), data="List-Unsubscribe=One-Click"
    )
    assert response.status_code == 200
    assert notifications.preferences(alice.id)["answers"] == "off"
    make.answer(question, author=bob)
    assert send_pending() == 0 and len(mailbox.messages) == 1


def test_mail_waits_while_the_server_is_away_and_goes_when_it_is_back(app, make, smtp_port):
    alice = make.user(name="Alice Asker")
    question = make.question(author=alice)
    make.answer(question, author=make.user())
    assert send_pending() == 0  # nobody listens on the port yet
    state = db.session.scalar(select(Notification.email_state))
    assert state == MailState.PENDING.value
    box = Mailbox()
    server = Controller(box, hostname="127.0.0.1", port=smtp_port)
    server.start()
    try:
        assert send_pending() == 1
        assert send_pending() == 0  # sent once, not again
    finally:
        server.stop()
    assert len(box.messages) == 1


def test_a_mail_shows_the_words_as_typed(app, make, mailbox):
    alice = make.user(name="Alice <Asker>", email="alice@example.com")
    bob = make.user(name="Bob & Co")
    question = make.question(author=alice, title="Router <b>drops</b> wifi & more")
    make.answer(question, author=bob, body="Try <i>this</i> & that")
    assert send_pending() == 1
    [(_recipients, mail)] = mailbox.messages
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Router <b>drops</b> wifi & more" in text and "Try <i>this</i> & that" in text
    assert "Router &lt;b&gt;drops&lt;/b&gt; wifi &amp; more" in html
    assert "Try &lt;i&gt;this&lt;/i&gt; &amp; that" in html and "<b>" not in html
