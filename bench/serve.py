"""The app as the benchmark serves it under gunicorn: the real app plus one ceiling page.

The ceiling renders a template of a given size inside the site layout with no database
work, through the same gunicorn, WSGI stack and Flask request cycle: the fastest any page of
that size could be here. Pages are reported as ratios to it.

    gunicorn -c gunicorn.conf.py --pythonpath bench 'serve:create_bench_app()'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import render_template, request
from jinja2 import ChoiceLoader, FileSystemLoader

from forum import create_app

FILLER = (
    "Hold the reset button for ten seconds, then reconnect the charger and wait for the "
    "light to turn green; if it still blinks, roll the firmware back in Settings. "
)


@lru_cache(maxsize=8)
def paragraphs(size: int) -> list[str]:
    count = max(1, size // (len(FILLER) + 40))
    return [f"{n}. {FILLER}" for n in range(count)]


def ceiling():
    size = min(max(int(request.args.get("bytes", "20000") or 0), 0), 2_000_000)
    return render_template("bench_ceiling.html", paragraphs=paragraphs(size))


def create_bench_app():
    app = create_app()
    app.jinja_loader = ChoiceLoader(
        [app.jinja_loader, FileSystemLoader(Path(__file__).parent / "templates")]
    )
    app.add_url_rule("/_bench/ceiling", "bench_ceiling", ceiling)
    return app
