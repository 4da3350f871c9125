"""Two app hosts and their workers on one PostgreSQL and one Redis, each its own process, as a
company runs them behind a load balancer: a post made through one host is found through the
other within 10 s, rate limits are shared, and the periodic scan runs once however many
workers run. Runs when the suite runs on PostgreSQL (CI's second pass)."""

from __future__ import annotations

import os
import re
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from forum.extensions import db
from forum.models import Flag, Question, ScheduledJob, utcnow

from .servers import free_port, gunicorn, output, processes, worker

ON_POSTGRES = os.environ.get("FORUM_TEST_DATABASE_URL", "").startswith("postgresql")
pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="several hosts share PostgreSQL: runs in `make test-postgres`"
)
REDIS = os.environ.get("FORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379")
TOKEN = re.compile(r'name="csrf[_-]token"[^>]*(?:value|content)="([^"]+)"')
KEY = re.compile(r'name="posting_key" value="([^"]+)"')


def debug_state() -> str:
    from sqlalchemy import text

    db.session.rollback()
    rows = db.session.execute(text("SELECT id, title FROM search_threads")).all()
    outbox = db.session.execute(text("SELECT id, kind, processed_at, last_error FROM outbox")).all()
    return f"\nsearch_threads: {rows}\noutbox: {outbox}\n"


def token(session: requests.Session, url: str) -> str:
    return TOKEN.search(session.get(url, timeout=5).text).group(1)


@pytest.fixture
def shared_redis():
    import redis

    for number in (14, 15):
        redis.Redis.from_url(f"{REDIS}/{number}").flushdb()
    return {
        "FORUM_RATELIMIT_STORAGE": f"{REDIS}/14",
        "FORUM_CACHE_URL": f"{REDIS}/15",
    }


def test_two_hosts_share_search_limits_and_the_scheduler(app, make, tmp_path, shared_redis):
    customer = make.user(name="Casey Customer")
    product = make.product("Orbit Mesh Router", "orbit-router")
    old = make.question(product=product, title="Satellite light stays orange for days")
    db.session.execute(
        update(Question)
        .where(Question.id == old.id)
        .values(created_at=utcnow() - timedelta(days=2))
    )
    db.session.commit()
    common = {
        **shared_redis,
        "FORUM_ENV": "production",
        "FORUM_SECRET_KEY": "two-hosts-one-secret",
        "FORUM_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "FORUM_SEARCH_BACKEND": "postgres",
        "FORUM_SECURE_COOKIES": "0",
        "FORUM_WORKERS": "1",
        "FORUM_EMBEDDINGS": "off",
        "FORUM_NEGATIVE_SCORER": "lexicon",
        "FORUM_MAIL_BACKEND": "off",
        "FORUM_RATELIMIT_LOGIN": "4 per minute",
        "FORUM_SLA_HOURS": "24",
    }
    hosts = {name: {**common, "FORUM_INSTANCE_PATH": str(tmp_path / name)} for name in ("a", "b")}
    with processes() as start:
        a = gunicorn(start, free_port(), hosts["a"])
        b = gunicorn(start, free_port(), hosts["b"])
        workers = [worker(start, hosts[name]) for name in hosts]

        # A post through host A is found through host B within 10 s (the workers yield the
        # processor to the web: under the whole suite on two cores, 2 s was once not enough).
        browser = requests.Session()
        browser.post(
            f"{a}/account/login",
            data={
                "email": customer.email,
                "password": make.PASSWORD,
                "csrf_token": token(browser, f"{a}/account/login"),
            },
            timeout=5,
        )
        ask_page = browser.get(f"{a}/ask", timeout=5).text
        posted = browser.post(
            f"{a}/ask",
            data={
                "title": "Zanzibar quokka mode blinks the satellite",
                "body": "Since the update the satellite blinks in quokka mode all night long.",
                "product_id": str(product.id),
                "tags": "",
                "posting_key": KEY.search(ask_page).group(1),
                "csrf_token": TOKEN.search(ask_page).group(1),
            },
            timeout=5,
        )
        assert posted.status_code == 200 and "Your question is posted." in posted.text
        answered_at = time.monotonic()
        elsewhere = requests.Session()
        while True:
            page = elsewhere.get(f"{b}/search", params={"q": "quokka"}, timeout=5).text
            if "Zanzibar <mark>quokka</mark> mode blinks the satellite" in page:
                break
            assert time.monotonic() - answered_at < 10.0, "not found through host B in 10 s:\n" + (
                "\n".join(output(w) for w in workers) + debug_state() + page[-3000:]
            )
            time.sleep(0.05)

        # Rate limits are shared: 4 failed sign-ins a minute from one address, on any host.
        stranger = requests.Session()
        statuses = []
        for host in (a, b, a, b, a, b):
            response = stranger.post(
                f"{host}/account/login",
                data={
                    "email": "nobody@example.com",
                    "password": "wrong password",
                    "csrf_token": token(stranger, f"{host}/account/login"),
                },
                timeout=5,
            )
            statuses.append(response.status_code)
        assert statuses[:4] != [429] * 4 and 429 not in statuses[:4]
        assert statuses[4:] == [429, 429]

        # Both workers run the scheduler; the scan ran once and flagged the old thread once.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            db.session.expire_all()
            row = db.session.get(ScheduledJob, "moderation scan")
            if row is not None and row.last_finished_at is not None:
                break
            time.sleep(0.2)
        time.sleep(2)
        assert all(w.poll() is None for w in workers), "a worker stopped"
        db.session.expire_all()
        assert db.session.get(ScheduledJob, "moderation scan").runs == 1
        flags = db.session.scalars(select(Flag.kind).where(Flag.question_id == old.id)).all()
        assert flags == ["unanswered"]
