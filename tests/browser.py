"""Helpers for browser tests: a live server in a thread and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from .conftest import IN_CI

# Screenshots for review, kept by CI as an artifact.
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = os.environ.get("FORUM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def require_chromium() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        message = (
            f"browser tests need Debian's Chromium at {CHROMIUM}: "
            "install it with `apt-get install chromium` (or set FORUM_CHROMIUM) to enable them"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@contextmanager
def live_server(app):
    """The app served on a free port, with the outbox worker running beside it, as `make run`
    does."""
    from forum.extensions import db
    from forum.worker import run

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    stop = threading.Event()

    def work():
        with app.app_context():
            try:
                run(poll=0.05, should_stop=stop.is_set)
            finally:
                db.session.remove()

    worker = threading.Thread(target=work, daemon=True)
    thread.start()
    worker.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        stop.set()
        server.shutdown()
        thread.join(timeout=5)
        worker.join(timeout=5)


# Every page reports Content-Security-Policy violations to the test, which fails on any.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


@contextmanager
def chromium_page(width: int, height: int = 900):
    """A page in Chromium; the test fails if any page broke the Content-Security-Policy."""
    from playwright.sync_api import sync_playwright

    violations: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.add_init_script(REPORT_CSP_VIOLATIONS)
            page = context.new_page()
            page.on(
                "console",
                lambda message: (
                    violations.append(message.text)
                    if message.type == "error"
                    and (
                        "CSP violation" in message.text or "Content Security Policy" in message.text
                    )
                    else None
                ),
            )
            page.set_default_timeout(10_000)
            yield page
        finally:
            browser.close()
    assert violations == [], f"the pages broke the Content-Security-Policy: {violations}"


def screenshot(page, name: str) -> None:
    """The page as it looks now, into test-artifacts/ for a reviewer."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
