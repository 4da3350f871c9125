"""Crowd Answers: the Flask application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import event

import config as settings

from .extensions import begin_writing, cache, csrf, db, limiter, login_manager, migrate, writes

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings from config.py and the environment, then `config` overrides."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    _load_settings(app, config or {})
    _trust_proxies(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_cli(app)
    return app


def _load_settings(app: Flask, overrides: dict) -> None:
    env = overrides.get("ENV_NAME")
    app.config.update(settings.load(env))
    app.config.update(overrides)
    settings.check_rate_limits(app.config)
    settings.check_search_backend(app.config)


def _trust_proxies(app: Flask) -> None:
    """Behind FORUM_PROXY_COUNT proxies, the client's address (rate limits, sessions' notes)
    and scheme come from their X-Forwarded-* headers; with none, those headers are ignored."""
    count = app.config.get("PROXY_COUNT", 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        _tune_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"

    from . import local_memory, negativity, security
    from .errors import unauthorized_response
    from .services.accounts import signed_in_user

    login_manager.unauthorized_handler(unauthorized_response)
    login_manager.user_loader(signed_in_user)
    security.init_app(app)
    negativity.init_app(app)
    local_memory.init_app(app)


def _tune_sqlite(engine) -> None:
    """SQLite serves the web processes and the worker at once: write-ahead logging lets
    readers go on while one writes, and a writer waits for the lock instead of failing."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        # 16 MB of page cache per connection (SQLite's default is 2 MB): an index the
        # dashboard reads whole, or a page's worth of rows, stays in it between requests.
        cursor.execute("PRAGMA cache_size=-16000")
        cursor.close()

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(connection, _cursor, statement, _parameters, _context, _many) -> None:
        # The driver opens a transaction only at the first write; take the lock for it the
        # way every writer does (`begin_writing`), not by SQLite's own growing pauses.
        if writes(statement):
            begin_writing(connection.connection.driver_connection)


def _register_blueprints(app: Flask) -> None:
    from .errors import register_error_handlers
    from .views.helpers import IdConverter

    app.url_map.converters["id"] = IdConverter
    from .views import (
        accounts,
        admin,
        marks,
        moderation,
        notifications,
        people,
        questions,
        search_page,
        staff,
    )

    app.register_blueprint(accounts.bp)
    app.register_blueprint(questions.bp)
    app.register_blueprint(marks.bp)
    app.register_blueprint(search_page.bp)
    app.register_blueprint(moderation.bp)
    app.register_blueprint(moderation.customer_bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(admin.bp)
    register_error_handlers(app)


def _register_template_helpers(app: Flask) -> None:
    from flask_login import current_user

    from . import permissions
    from .page_pieces import pressed
    from .services.posting_keys import new_key
    from .templating import register

    app.jinja_env.globals.update(
        can_edit=permissions.can_edit,
        can_delete=permissions.can_delete,
        can_accept=permissions.can_accept,
        can_verify=permissions.can_verify,
        can_vote=permissions.can_vote,
        can_moderate=permissions.can_moderate,
        reputation_needed=permissions.reputation_needed,
        # The reader's own reputation; a hole in a rendering shared by readers (`page_pieces`).
        reader_reputation=lambda: current_user.reputation,
        posting_key=new_key,
        pressed=pressed,
    )
    register(app)

    @app.context_processor
    def staff_awareness():
        """Staff see how many urgent flags are open, on every page (one COUNT query)."""
        from flask_login import current_user

        from .services.moderation import urgent_count

        if permissions.can_moderate(current_user):
            return {"urgent_flags": urgent_count()}
        return {}

    @app.context_processor
    def bell():
        """The signed-in reader's unread count for the header (one indexed COUNT query,
        unless the page read it with its own statement, as the thread page does, and left
        it in the request under `UNREAD_KEY`); pages keep it fresh by asking
        /notifications/count."""
        from flask import request
        from flask_login import current_user

        from .services.notifications import unread_count
        from .templating import UNREAD_KEY

        if current_user.is_authenticated:
            unread = request.environ.get(UNREAD_KEY)
            if unread is None:
                unread = unread_count(current_user.id)
            return {"unread_notifications": unread}
        return {}


def _register_cli(app: Flask) -> None:
    from .cli import forum_cli, moderation_cli, search_cli, stats_cli, users_cli, worker_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(forum_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(moderation_cli)
    app.cli.add_command(worker_cli)
    app.cli.add_command(stats_cli)


def freeze_start_up() -> None:
    """Leave what a process made to start (the app, its modules, templates and models) out
    of the garbage collector's full passes: a pass over all of it paused a request for
    75 ms every few hundred posts. Call once the app is loaded, in each serving process."""
    import gc

    gc.collect()
    gc.freeze()
