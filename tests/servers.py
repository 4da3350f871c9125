"""Real app servers for tests: gunicorn with the repository's gunicorn.conf.py, and the worker
(`flask worker`), each its own process, as production runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(extra: dict) -> dict:
    env = {**os.environ, "FLASK_APP": "forum:create_app", "FORUM_LOG_LEVEL": "warning", **extra}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@contextmanager
def processes():
    """Started processes, each in its own group (its output in a log file beside it), killed
    with their children at the end."""
    started: list[tuple[subprocess.Popen, object]] = []
    logs = Path(tempfile.mkdtemp(prefix="forum-processes-"))

    def start(command: list[str], env: dict) -> subprocess.Popen:
        log = open(logs / f"{len(started)}-{Path(command[0]).name}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_env(env),
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log_path = log.name
        started.append((process, log))
        return process

    try:
        yield start
    finally:
        for process, log in started:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)
            log.close()


def output(process: subprocess.Popen) -> str:
    return Path(process.log_path).read_text(errors="replace")[-3000:]


def gunicorn(start, port: int, env: dict) -> str:
    """An app server on this port; returns its address once it answers."""
    process = start(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "forum:create_app()"],
        {**env, "FORUM_BIND": f"127.0.0.1:{port}"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped: {output(process)}")
        try:
            requests.get(f"{base}/account/login", timeout=1)
            return base
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 30 s")


def worker(start, env: dict) -> subprocess.Popen:
    return start([str(BIN / "flask"), "worker", "--poll", "0.05"], env)
