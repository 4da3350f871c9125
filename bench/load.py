"""Serving the corpus under gunicorn and driving pages with wrk."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@dataclass
class LoadResult:
    name: str
    path: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    bytes_per_response: int = 0


@dataclass
class Summary:
    """Several runs of one page: the median of each figure, and the spread of req/s."""

    name: str
    runs: list[LoadResult]

    def _median(self, attribute: str) -> float:
        import statistics

        return statistics.median(getattr(r, attribute) for r in self.runs)

    @property
    def requests_per_second(self) -> float:
        return self._median("requests_per_second")

    @property
    def p50_ms(self) -> float:
        return self._median("p50_ms")

    @property
    def p99_ms(self) -> float:
        return self._median("p99_ms")

    @property
    def spread(self) -> tuple[float, float]:
        rates = [r.requests_per_second for r in self.runs]
        return min(rates), max(rates)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)


def _unit_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip()).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(name: str, path: str, output: str) -> LoadResult:
    percent = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.M))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    failed = int(errors.group(1)) if errors else 0
    if socket_errors:
        failed += sum(int(n) for n in socket_errors.groups())
    return LoadResult(
        name=name,
        path=path,
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=_unit_ms(percent["50"]),
        p99_ms=_unit_ms(percent["99"]),
        requests=total,
        errors=failed,
    )


class Server:
    """gunicorn with the repository's gunicorn.conf.py, serving bench/serve.py on loopback,
    and the outbox worker beside it (`flask worker`), as production runs them."""

    def __init__(self, database_url: str, index_dir: str, port: int = 8765, workers: int = 2,
                 **settings: str):
        self.base = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "FORUM_ENV": "production",
            "FORUM_SECRET_KEY": "bench-secret-not-for-production",
            "FORUM_DATABASE_URL": database_url,
            "FORUM_SEARCH_INDEX": index_dir,
            "FORUM_INSTANCE_PATH": str(Path(index_dir).parent / "instance"),
            "FORUM_BIND": f"127.0.0.1:{port}",
            "FORUM_WORKERS": str(workers),
            "FORUM_LOG_LEVEL": "warning",
            "FORUM_SECURE_COOKIES": "0",  # plain HTTP on loopback
            # Production shares limits and the cache in Redis (start-up insists).
            "FORUM_RATELIMIT_STORAGE": os.environ.get(
                "FORUM_RATELIMIT_STORAGE", "redis://127.0.0.1:6379/0"
            ),
            "FORUM_CACHE_URL": os.environ.get("FORUM_CACHE_URL", "redis://127.0.0.1:6379/1"),
            # The load comes from one signed-in customer: lift the per-user posting limits.
            "FORUM_RATELIMIT_POST": "1000000 per minute",
            "FORUM_RATELIMIT_COMMENT": "1000000 per minute",
            "FORUM_RATELIMIT_LOGIN": "1000 per minute",
            **settings,
        }
        self.process: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.worker = subprocess.Popen(
            [str(VENV_BIN / "flask"), "worker", "--exit-with-parent"],
            cwd=ROOT,
            env={**self.env, "FLASK_APP": "forum:create_app"},
            stdout=subprocess.DEVNULL,
        )
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "-c", str(ROOT / "gunicorn.conf.py"),
                "--pythonpath", str(ROOT / "bench"),
                "serve:create_bench_app()",
            ],
            cwd=ROOT,
            env=self.env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/_bench/ceiling?bytes=100", timeout=2):
                    # Touch each worker once so start-up is not measured.
                    for _ in range(8):
                        urllib.request.urlopen(self.base + "/_bench/ceiling?bytes=100").read()
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("gunicorn exited during start-up") from None
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def __exit__(self, *exc) -> None:
        for process in (self.process, self.worker):
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def peak_memory_mb(self) -> list[float]:
        """Peak resident memory (VmHWM) of each worker so far."""
        peaks = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
        return peaks


# The one browser a signed-in load comes from: the same User-Agent at sign-in and on every
# request wrk sends with its cookie. Without it, wrk (which sends none) looked like another
# client: Flask-Login marked the sign-in not fresh and wrote the session cookie anew on
# every response, which a browser never makes it do.
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) CrowdAnswersBench/1"


def _signed_in_headers(cookie: str) -> str:
    return f'wrk.headers["Cookie"] = "{cookie}"\nwrk.headers["User-Agent"] = "{BROWSER}"\n'


class Session:
    """A signed-in browser-like client (cookies and the CSRF token) for form posts."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", BROWSER)]

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, fields: dict[str, str]) -> str:
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(self.base + path, data=data, timeout=30) as response:
            return response.read().decode()

    def login(self, email: str, password: str) -> None:
        token = self.csrf_token("/account/login")
        self.post("/account/login", {"csrf_token": token, "email": email, "password": password})
        if "Sign out" not in self.get("/"):
            raise RuntimeError(f"could not sign in as {email}")

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
        if not match:
            raise RuntimeError(f"no CSRF token on {path}")
        return match.group(1)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def run_wrk(base: str, name: str, path: str, seconds: int, connections: int,
            script: str | None = None) -> LoadResult:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        if script:
            lua.write(script)
    if script:
        command += ["-s", lua.name]
    output = subprocess.run(
        [*command, base + path], capture_output=True, text=True, check=True
    ).stdout
    os.unlink(lua.name)
    return parse_wrk(name, path, output)


def lua_get_cycle(paths: list[str], cookie: str | None = None) -> str:
    items = ", ".join(f'"{p}"' for p in paths)
    header = _signed_in_headers(cookie) if cookie else ""
    return header + f"""
local paths = {{{items}}}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
"""


def lua_signed_in(cookie: str) -> str:
    return _signed_in_headers(cookie)


def zipf_paths(template: str, ids: list, count: int, seed: int, s: float = 1.0,
               ranked: bool = False) -> list[str]:
    """`count` requests over these threads with a Zipf skew (the k-th most read thread is
    read 1/k^s as often as the first), most read threads in random order of id: what many
    readers arriving from search and links do, rather than one URL over and over."""
    import random

    rng = random.Random(seed)
    order = ids[:]
    if not ranked:  # which threads are popular is random; `ranked`: the order given
        rng.shuffle(order)
    weights = [1 / (rank**s) for rank in range(1, len(order) + 1)]
    return [template.format(id=i) for i in rng.choices(order, weights=weights, k=count)]


def lua_post_answers(thread_ids: list[int], cookie: str, token: str) -> str:
    items = ", ".join(str(i) for i in thread_ids)
    return f"""
local threads = {{{items}}}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "{cookie}"
wrk.headers["User-Agent"] = "{BROWSER}"
request = function()
  n = n + 1
  local q = threads[(n % #threads) + 1]
  local body = "csrf_token={urllib.parse.quote(token)}" ..
    "&body=Hold+the+reset+button+for+ten+seconds+" ..
    "then+reconnect+the+charger.+Reply+number+" .. n
  return wrk.format("POST", "/questions/" .. q .. "/answers", nil, body)
end
"""


def have_wrk() -> bool:
    return shutil.which("wrk") is not None
