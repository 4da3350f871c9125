"""Mail: notifications sent now, digests of the rest, through SMTP (or a file in development).

The worker calls `send_pending` and `send_digests` between outbox batches. Each message is
claimed, sent and marked in its own transaction, so a crash re-sends at most the message in
flight (its Message-ID names the notification, so mail clients see one); a mail server that
is away leaves everything pending for the next round. Every message has a plain-text and an
HTML part, the site's name, a direct link to the post, and a one-click `List-Unsubscribe`
(RFC 8058) for its topic.
"""

from __future__ import annotations

import logging
import smtplib
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path

from flask import current_app, url_for
from sqlalchemy import func, select

from . import signed
from .extensions import db
from .models import (
    Answer,
    MailState,
    Notification,
    NotificationKind,
    Question,
    User,
    utcnow,
)
from .services.notifications import TOPIC_OF, describe, post_for

log = logging.getLogger(__name__)

DIGEST_WAIT = timedelta(hours=1)  # what waits for a digest waits at least this long
NUDGE_ANSWERS = 3  # answers offered in a "Did this solve it?" mail


class MailUnavailable(Exception):
    """The mail server cannot be reached now; try again later."""


# Transports ---------------------------------------------------------------------------------


class _Transport:
    def send(self, message: EmailMessage) -> None:
        raise NotImplementedError


class _Smtp(_Transport):
    def __init__(self, config):
        try:
            self.client = smtplib.SMTP(config["MAIL_HOST"], config["MAIL_PORT"], timeout=10)
            if config["MAIL_STARTTLS"]:
                self.client.starttls()
            if config["MAIL_USERNAME"]:
                self.client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except (OSError, smtplib.SMTPException) as error:
            raise MailUnavailable(str(error)) from error

    def send(self, message: EmailMessage) -> None:
        try:
            self.client.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise
        except (OSError, smtplib.SMTPException) as error:
            raise MailUnavailable(str(error)) from error

    def close(self) -> None:
        try:
            self.client.quit()
        except (OSError, smtplib.SMTPException):
            pass


class _Folder(_Transport):
    """Development: one .eml file per message, to open in any mail program."""

    def __init__(self, config):
        self.folder = Path(config["MAIL_DIR"])
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage) -> None:
        name = message["Message-ID"].strip("<>").partition("@")[0]
        (self.folder / f"{name}.eml").write_bytes(bytes(message))


class _Console(_Transport):
    def send(self, message: EmailMessage) -> None:
        text = message.get_body(("plain",)).get_content()
        log.info("Mail to %s: %s\n%s", message["To"], message["Subject"], text)


class _Off(_Transport):
    def send(self, message: EmailMessage) -> None:
        pass


@contextmanager
def transport():
    config = current_app.config
    backend = {"smtp": _Smtp, "file": _Folder, "console": _Console}.get(
        config["MAIL_BACKEND"], _Off
    )
    connection = backend(config) if backend in (_Smtp, _Folder) else backend()
    try:
        yield connection
    finally:
        if isinstance(connection, _Smtp):
            connection.close()


# Composing ----------------------------------------------------------------------------------


def _site_context():
    """A request context on the site's public address, so url_for gives links that work
    from a mail program."""
    return current_app.test_request_context(base_url=current_app.config["SITE_URL"])


def _message(user: User, subject: str, template: str, message_id: str, topic: str, **context):
    config = current_app.config
    unsubscribe = url_for(
        "notifications.unsubscribe",
        token=signed.make("unsubscribe", u=user.id, t=topic),
        _external=True,
    )
    context = {
        **context,
        "user": user,
        "site_name": config["SITE_NAME"],
        "unsubscribe_url": unsubscribe,
        "settings_url": url_for("notifications.settings", _external=True),
    }
    message = EmailMessage()
    name, address = parseaddr(config["MAIL_FROM"])
    message["From"] = formataddr((name or config["SITE_NAME"], address))
    message["To"] = formataddr((user.display_name, user.email))
    message["Subject"] = f"[{config['SITE_NAME']}] {subject}"
    domain = address.partition("@")[2] or "localhost"
    message["Message-ID"] = f"<{message_id}@{domain}>"
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_render(f"mail/{template}.txt", context))
    message.add_alternative(_render(f"mail/{template}.html", context), subtype="html")
    return message


def _render(name: str, context: dict) -> str:
    """A mail's template with what the mail gives it and nothing else: not the site's
    context processors, which read the reader's session and counts for a page's header
    (two queries a mail, for nothing a mail shows)."""
    return current_app.jinja_env.get_template(name).render(context)


def open_link(notification: Notification) -> str:
    return url_for("notifications.open", notification_id=notification.id, _external=True)


def compose(notification: Notification) -> EmailMessage:
    """The mail for one notification (call inside `_site_context`)."""
    question = notification.question
    line = describe(notification)
    context = {
        "notification": notification,
        "line": line,
        "question": question,
        "link": open_link(notification),
        "excerpt": _excerpt(notification),
    }
    if notification.kind == NotificationKind.NUDGE.value:
        context["answers"] = _nudge_answers(notification)
        context["need_help_url"] = url_for(
            "notifications.need_help",
            token=signed.make("need-help", u=notification.user_id, q=question.id),
            _external=True,
        )
    return _message(
        notification.user,
        f"{line}: {question.title}",
        "notification",
        f"notification-{notification.id}",
        TOPIC_OF[NotificationKind(notification.kind)],
        **context,
    )


def _excerpt(notification: Notification) -> str:
    post = post_for(notification.post)
    if post is None or getattr(post, "hidden_at", None) or getattr(post, "deleted_at", None):
        return ""
    if notification.kind == NotificationKind.PRIVATE_MESSAGE.value:
        return ""  # private words stay on the site, behind a sign-in
    text = " ".join((post.body_source or "").split())
    return text[:280] + ("…" if len(text) > 280 else "")


def _nudge_answers(notification: Notification) -> list[dict]:
    answers = db.session.scalars(
        select(Answer)
        .where(
            Answer.question_id == notification.question_id,
            Answer.deleted_at.is_(None),
            Answer.hidden_at.is_(None),
            Answer.author_id != notification.user_id,
        )
        .order_by(Answer.score.desc(), Answer.id)
        .limit(NUDGE_ANSWERS)
    )
    return [
        {
            "answer": answer,
            "accept_url": url_for(
                "notifications.accept",
                token=signed.make("accept", u=notification.user_id, a=answer.id),
                _external=True,
            ),
            "link": url_for("questions.show", question_id=answer.question_id, _external=True)
            + f"#answer-{answer.id}",
        }
        for answer in answers
    ]


def compose_digest(user: User, notifications: list[Notification]) -> EmailMessage:
    groups: dict[int, tuple[Question, list]] = {}
    for n in notifications:
        groups.setdefault(n.question_id, (n.question, []))[1].append(
            {"line": describe(n), "link": open_link(n)}
        )
    count = len(notifications)
    return _message(
        user,
        f"{count} update{'s' if count != 1 else ''} in {len(groups)} "
        f"thread{'s' if len(groups) != 1 else ''}",
        "digest",
        f"digest-{user.id}-{notifications[-1].id}",
        "all",
        groups=list(groups.values()),
    )


# Sending ------------------------------------------------------------------------------------


def _claim_one(state: MailState, user_id: int | None = None):
    query = (
        select(Notification)
        .where(Notification.email_state == state.value)
        .order_by(Notification.id)
        .limit(1)
    )
    if user_id is not None:
        query = query.where(Notification.user_id == user_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Notification)
    return db.session.scalar(query)


def _anything(state: MailState) -> bool:
    found = db.session.scalar(
        select(Notification.id).where(Notification.email_state == state.value).limit(1)
    )
    db.session.rollback()
    return found is not None


def send_pending(limit: int = 100, now: datetime | None = None) -> int:
    """Mail what is due now, one message per transaction. Returns how many were sent; a mail
    server that is away leaves the rest pending (logged)."""
    if current_app.config["MAIL_BACKEND"] == "off" or not _anything(MailState.PENDING):
        return 0
    sent = 0
    with _site_context():
        try:
            with transport() as connection:
                while sent < limit:
                    notification = _claim_one(MailState.PENDING)
                    if notification is None:
                        break
                    if notification.read_at is not None:
                        notification.email_state = MailState.NONE.value
                    else:
                        _send(connection, notification)
                        sent += notification.email_state == MailState.SENT.value
                    notification.emailed_at = now or utcnow()
                    db.session.commit()
        except MailUnavailable as error:
            db.session.rollback()
            log.warning("Mail server unavailable (%s); %d sent, the rest wait", error, sent)
    db.session.rollback()
    return sent


def _send(connection, notification: Notification) -> None:
    """Send one notification's mail. A message that cannot be made, or a recipient the server
    refuses, is logged and not retried (it would hold up every message behind it); a server
    that is away raises MailUnavailable and everything waits."""
    try:
        connection.send(compose(notification))
        notification.email_state = MailState.SENT.value
    except MailUnavailable:
        raise
    except smtplib.SMTPRecipientsRefused:
        log.warning("The mail server refused %s; not retrying", notification.user.email)
        notification.email_state = MailState.NONE.value
    except Exception:
        log.exception("Mail for notification %s could not be made; skipped", notification.id)
        notification.email_state = MailState.NONE.value


def send_digests(now: datetime | None = None) -> int:
    """One digest per person whose waiting notifications are due: the oldest has waited an
    hour, and their last digest went at least DIGEST_HOURS ago. Returns how many were sent."""
    if current_app.config["MAIL_BACKEND"] == "off":
        return 0
    now = now or utcnow()
    period = timedelta(hours=current_app.config["DIGEST_HOURS"])
    waiting = db.session.execute(
        select(Notification.user_id, func.min(Notification.created_at))
        .where(Notification.email_state == MailState.DIGEST.value)
        .group_by(Notification.user_id)
    ).all()
    sent = 0
    with _site_context():
        try:
            with transport() as connection:
                for user_id, oldest in waiting:
                    user = db.session.get(User, user_id)
                    if oldest > now - min(DIGEST_WAIT, period):
                        continue
                    if user.digest_sent_at is not None and user.digest_sent_at > now - period:
                        continue
                    sent += _send_digest(connection, user, now)
                    db.session.commit()
        except MailUnavailable as error:
            db.session.rollback()
            log.warning("Mail server unavailable (%s); digests wait", error)
    db.session.rollback()
    return sent


def _send_digest(connection, user: User, now: datetime) -> int:
    query = select(Notification).where(
        Notification.user_id == user.id, Notification.email_state == MailState.DIGEST.value
    )
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Notification)
    items = list(db.session.scalars(query.order_by(Notification.id)))
    unread = [n for n in items if n.read_at is None]
    for n in items:
        n.email_state = MailState.NONE.value if n.read_at is not None else MailState.SENT.value
        n.emailed_at = now
    if not unread:
        return 0
    connection.send(compose_digest(user, unread))
    user.digest_sent_at = now
    return 1
