"""Gunicorn settings for serving Crowd Answers in production: `gunicorn 'forum:create_app()'`.

Every value can be overridden from the environment, so one file serves a laptop, the
benchmark and a fleet of app servers.
"""

import multiprocessing
import os

bind = os.environ.get("FORUM_BIND", "127.0.0.1:8000")
# Sync workers: the app is CPU-bound Python, one worker per core keeps latency predictable,
# and each process's search handle (a Whoosh searcher) serves one request at a time, which
# it must: read from several threads at once it returns garbage. A sync worker is held by a
# client for as long as that client takes to send its request, so never expose gunicorn
# itself: nginx in front (deploy/nginx-site.conf) reads every request whole first, and idle or
# trickling clients then cost nginx a connection, not the site a worker (tests/test_serving.py).
workers = int(os.environ.get("FORUM_WORKERS", multiprocessing.cpu_count()))
worker_class = "sync"
# Loading the app in each worker (not the master) gives each its own database connections
# and search-index handle; nothing open is shared across fork.
preload_app = False
backlog = 2048
timeout = int(os.environ.get("FORUM_WORKER_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("FORUM_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("FORUM_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("FORUM_LOG_LEVEL", "info")


def post_worker_init(worker):
    """Each web process, once it has loaded the app (see `forum.freeze_start_up`)."""
    from forum import freeze_start_up

    freeze_start_up()
