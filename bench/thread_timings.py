"""The 30-answer thread page in process on the bench corpus: median milliseconds per request
for each way a reader gets it, and optionally a profile (`--profile`, pyinstrument).

    .venv/bin/python bench/thread_timings.py                # all four, 300 requests each
    .venv/bin/python bench/thread_timings.py ceiling "page cache off, anonymous"
    .venv/bin/python bench/thread_timings.py "page cache off, anonymous" --profile

Needs the corpus that `make bench` caches in bench/.cache/ and Redis on 127.0.0.1:6379 (the
cache in database 2, emptied first). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus as corpus_mod  # noqa: E402

CACHE_URL = "redis://127.0.0.1:6379/2"
TOKEN = re.compile(r'name="csrf[_-]token"[^>]*(?:value|content)="([^"]+)"')
MODES = {  # name -> (signed in, page cache seconds); "ceiling": bench/serve.py's page
    "ceiling": (False, 60),
    "as served, anonymous": (False, 60),
    "as served, signed in": (True, 60),
    "page cache off, anonymous": (False, 0),
    "page cache off, signed in": (True, 0),
}


def timings(mode: str, requests: int, profile: bool) -> float:
    signed_in, seconds = MODES[mode]
    meta = json.loads((corpus_mod.CACHE / "corpus.json").read_text())
    os.environ["FORUM_CACHE_URL"] = CACHE_URL
    app = corpus_mod.make_app(
        Path(meta["database"]),
        Path(meta["index_dir"]),
        EMBEDDINGS=False,
        THREAD_CACHE_SECONDS=seconds,
    )
    with app.app_context():
        from forum.extensions import cache

        cache.clear()
    client = app.test_client()
    page = f"/questions/{meta['thread_30']}"
    if mode == "ceiling":  # the ceiling page of the thread page's size, as `make bench` does
        from jinja2 import ChoiceLoader, FileSystemLoader
        from serve import ceiling

        app.jinja_loader = ChoiceLoader(
            [app.jinja_loader, FileSystemLoader(Path(__file__).parent / "templates")]
        )
        app.add_url_rule("/_bench/ceiling", "bench_ceiling", ceiling)
        page = f"/_bench/ceiling?bytes={len(client.get(page).data)}"
    if signed_in:
        token = TOKEN.search(client.get("/account/login").text).group(1)
        form = {"email": meta["customer_email"], "password": corpus_mod.BENCH_PASSWORD}
        response = client.post("/account/login", data={**form, "csrf_token": token})
        assert response.status_code == 302, response.status_code
    for _ in range(20):  # the first request makes the rendering and the post blocks
        assert client.get(page).status_code == 200
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
    spent = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(page)
        spent.append((time.perf_counter() - started) * 1000)
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modes", nargs="*", help=f"any of: {'; '.join(MODES)} (default: all)")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    unknown = [mode for mode in args.modes if mode not in MODES]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    medians = {}
    for mode in args.modes or MODES:
        medians[mode] = timings(mode, args.requests, args.profile)
        print(f"{mode:<28} {medians[mode]:6.2f} ms (median)")
    if "ceiling" in medians:
        for mode, spent in medians.items():
            print(f"{mode:<28} {medians['ceiling'] / spent:6.2f} of the ceiling (in process)")


if __name__ == "__main__":
    main()
