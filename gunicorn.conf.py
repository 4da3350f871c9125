"""Gunicorn settings for serving Crowd Answers in production: `gunicorn 'forum:create_app()'`.

Every value can be overridden from the environment, so one file serves a laptop, the
benchmark and a fleet of app servers.
"""

import multiprocessing
import os

bind = os.environ.get("FORUM_BIND", "127.0.0.1:8000")
# One process per core, each with a few threads (gthread): a connection waits in the worker's
# poller until it has sent something, so idle keep-alive connections and clients that
# connect and say nothing hold no thread, where each would hold a whole sync worker (three
# idle connections used to stop the site). A client that trickles its request in slowly still
# holds one thread for up to `timeout`: for the open internet put nginx in front, which reads
# whole requests before passing them on (README: "Running on several hosts").
workers = int(os.environ.get("FORUM_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("FORUM_THREADS", "8"))
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
