"""A few of `make bench`'s pages against the ceiling under gunicorn + wrk, on its cached
corpus, without the rest of the bench: three interleaved runs of each, medians with their
spread. For working on those pages; `make bench` gives the figures.

    .venv/bin/python bench/pages_quick.py [threads] [lists] [posting] [search] [--seconds 10]
        [--settings FORUM_X=1 ...]

threads: the 30-answer threads made anew (page cache off), anonymous and signed in;
served: the same threads as served (the page cache on, as in production; not with threads);
posting: answers posted as fast as four connections can (the worker beside the server);
lists: `make bench`'s 40 lists with their Zipf skew (the page cache as in production);
search: the search page over the bench's 100 queries.
"""

from __future__ import annotations

import argparse
import random
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import click  # noqa: E402
import corpus as corpus_mod  # noqa: E402
import load  # noqa: E402
import run as bench  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "parts",
        nargs="*",
        default=["threads"],
        choices=["threads", "served", "lists", "posting", "search"],
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--settings", nargs="*", default=[], help="NAME=VALUE for the server")
    args = parser.parse_args()
    corpus = corpus_mod.build(100_000)
    corpus_mod.ensure_index(corpus)
    database_url, index_dir = bench.run_copy(corpus)
    rng = random.Random(7)
    post_threads = rng.sample(range(1, corpus.threads - 10), 200)
    others = sorted(set(range(1, corpus.threads - 10)) - set(post_threads))
    big_threads = sorted(rng.sample(others, bench.BIG_THREADS - 1)) + [corpus.thread_30]
    bench.with_big_threads(database_url, corpus.thread_30, big_threads[:-1])
    bench.asked_by_a_customer(database_url, post_threads)
    bench.periodic_jobs_done(database_url, index_dir)
    queries = bench.query_set(corpus.database)[:100]
    list_paths = bench.list_mix(database_url)
    settings = {"FORUM_THREAD_CACHE_SECONDS": "0"} if "threads" in args.parts else {}
    settings |= dict(item.split("=", 1) for item in args.settings)
    runs: dict[str, list] = {}
    bench.flush_thread_cache()
    with load.Server(database_url, index_dir, **settings) as server:
        anonymous = load.Session(server.base)
        size = len(anonymous.get(f"/questions/{corpus.thread_30}").encode())
        reader = load.Session(server.base)
        reader.login(corpus.customer_email, corpus_mod.BENCH_PASSWORD)
        cookie = reader.cookie_header()
        token = reader.csrf_token("/")
        posting = load.lua_post_answers(post_threads, cookie, token)
        searches = ["/search?q=" + urllib.parse.quote_plus(q) for q in queries]
        for run in range(bench.RUNS):
            click.echo(f"run {run + 1} of {bench.RUNS}")
            zipf = load.zipf_paths(
                "/questions/{id}", big_threads, bench.ZIPF_REQUESTS, rng.randrange(1 << 30)
            )
            pages = [("ceiling", f"/_bench/ceiling?bytes={size}", None)]
            if "threads" in args.parts:
                pages += [
                    ("anonymous, page cache off", zipf[0], load.lua_get_cycle(zipf)),
                    ("signed in, page cache off", zipf[0], load.lua_get_cycle(zipf, cookie)),
                ]
            elif "served" in args.parts:
                pages += [
                    ("anonymous, as served", zipf[0], load.lua_get_cycle(zipf)),
                    ("signed in, as served", zipf[0], load.lua_get_cycle(zipf, cookie)),
                ]
            if "lists" in args.parts:
                lists = load.zipf_paths(
                    "{id}", list_paths, bench.ZIPF_REQUESTS, rng.randrange(1 << 30), ranked=True
                )
                pages.append(("lists", lists[0], load.lua_get_cycle(lists)))
            if "search" in args.parts:
                pages.append(("search", searches[0], load.lua_get_cycle(searches)))
            if "posting" in args.parts:
                pages.append(("post answer", f"/questions/{post_threads[0]}/answers", posting))
            for name, path, script in pages:
                result = load.run_wrk(
                    server.base, name, path, args.seconds, args.connections, script
                )
                runs.setdefault(name, []).append(result)
        memory = server.peak_memory_mb()
    summaries = {name: load.Summary(name, results) for name, results in runs.items()}
    ceiling = summaries["ceiling"].requests_per_second
    for name, summary in summaries.items():
        low, high = summary.spread
        click.echo(
            f"{name:<28} {summary.requests_per_second:7.0f} req/s ({low:.0f}–{high:.0f}) "
            f"{summary.requests_per_second / ceiling:5.2f} of the ceiling, "
            f"p50 {summary.p50_ms:.1f} ms, p99 {summary.p99_ms:.1f} ms, "
            f"non-2xx {summary.errors}"
        )
    click.echo(f"peak memory per web worker: {max(memory):.0f} MB")


if __name__ == "__main__":
    main()
