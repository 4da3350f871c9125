"""Error pages in the site's layout, or JSON errors for clients that ask for JSON."""

from __future__ import annotations

import inspect
import time
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    flash,
    g,
    get_flashed_messages,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db, limiter, login_manager
from .services.errors import ServiceError

TITLES = {
    400: "That request could not be understood",
    403: "You can't do that",
    404: "Page not found",
    405: "That action is not allowed here",
    413: "That is too large",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "Back in a moment",
}


EXPIRED_FORM = (
    "This form had expired (it was open a long time, or you signed in again). "
    "Nothing was sent; what you typed is kept below. Check it and send it again."
)
SIGN_IN_REASON = "Please sign in to do that. You will come straight back here."
SIGN_IN_REASONS = {
    "questions.ask": "Sign in, or create an account, to ask your question. "
    "You will come straight back to the form.",
}


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def render_error(status: int, message: str):
    if wants_json():
        return jsonify(error={"status": status, "message": message}), status
    back = _same_site_referrer()
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=TITLES.get(status, "Error"),
            message=message,
            back=back if back != request.full_path.rstrip("?") else None,
        ),
        status,
    )


def _resend_page(status: int, message: str):
    """A form that could not be taken, with what was typed (never passwords or the old
    token) in a form that sends it again with a fresh token."""
    typed = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name != "csrf_token" and "password" not in name and name != "confirm"
    ]
    page = render_template(
        "errors/resend.html",
        status=status,
        title=TITLES[status],
        message=message,
        typed=typed,
        action=request.full_path.rstrip("?"),
        back=_same_site_referrer(),
    )
    return page, status


def _seconds_until_allowed() -> int | None:
    """Until the breached limit lets this client in again, from Flask-Limiter's own record."""
    breached = [limit for limit in limiter.current_limits if limit.breached]
    if not breached:
        return None
    reset_at = max(limit.reset_at for limit in breached)
    return max(1, int(reset_at - time.time()))


def unauthorized_response():
    """Flask-Login's answer to a signed-out visitor: 401 JSON for scripts (with the sign-in
    address, so the page can offer a link), else the sign-in page, which comes back here.

    Only a GET is worth coming back to; after a sign-in, a POST target (a vote, say) would
    answer 405, so a signed-out POST comes back to the page it was sent from."""
    if wants_json():
        return jsonify(
            error={
                "status": 401,
                "message": "Sign in to do that.",
                "sign_in": url_for("accounts.login"),
            }
        ), 401
    flash(SIGN_IN_REASONS.get(request.endpoint, SIGN_IN_REASON), "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else _same_site_referrer()
    return redirect(url_for("accounts.login", next=target))


def _sent_from_this_site() -> bool:
    """Whether the browser says this request came from one of this site's pages."""
    origin = request.headers.get("Origin")
    if origin:
        return urlsplit(origin).netloc == request.host
    return _same_site_referrer() is not None


def _same_site_referrer() -> str | None:
    """The path of the page that sent this request, if it is one of this site's."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or not referrer.path.startswith("/"):
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        return render_error(error.status_code, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        """An expired form (open for hours, or the session ended) comes back with what was
        typed and a fresh token, never lost. A form sent from another site gets only the
        plain 400: nothing of it is offered to send again."""
        if request.method != "POST" or wants_json() or not _sent_from_this_site():
            return render_error(
                400,
                "Your form had expired or was sent from another site. "
                "Go back, reload the page and send it again.",
            )
        view = app.view_functions.get(request.endpoint or "")
        signed_in_view = request.endpoint not in {"accounts.login", "accounts.register"}
        if getattr(view, "reshows_form_on_expiry", False) and (
            current_user.is_authenticated or not signed_in_view
        ):
            # The view's own form fails its CSRF check and is shown again, filled in; it
            # writes nothing, so its rate limit is not counted.
            flash(EXPIRED_FORM, "error")
            try:
                response = make_response(inspect.unwrap(view)(**(request.view_args or {})))
            except (HTTPException, ServiceError):  # the post went away meanwhile, say
                db.session.rollback()
                get_flashed_messages()  # the page below says it instead
            else:
                response.status_code = 400
                return response
        return _resend_page(400, EXPIRED_FORM.replace("below", "here"))

    @app.errorhandler(429)
    def too_many(error):
        """Too often: how long to wait, a way back, and (for a form from this site) what
        was typed, ready to send again once the wait is over."""
        wait = _seconds_until_allowed()
        message = f"You have done that too often ({error.description}). " + (
            f"You can try again in {wait} seconds." if wait else "Please wait a minute."
        )
        if request.method == "POST" and not wants_json() and _sent_from_this_site():
            response = make_response(_resend_page(429, message + " What you typed is kept here."))
        else:
            response = make_response(render_error(429, message))
        if wait:
            response.headers["Retry-After"] = str(wait)
        return response

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    def database_unavailable(error):
        """The database is away (or too busy): 503 with Retry-After, which proxies and
        monitors understand, in the site's layout. Nothing on the page needs the database."""
        app.logger.warning("Database unavailable: %s", error)
        try:
            db.session.rollback()
        except sa_exc.SQLAlchemyError:
            db.session.invalidate()
        g._login_user = login_manager.anonymous_user()  # the page must not ask the database
        response, status = render_error(
            503,
            "We can't reach our database right now. Nothing you sent was lost half-way: "
            "please try again in a minute.",
        )
        if not isinstance(response, Response):
            response = make_response(response)
        response.status_code = status
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_error(error.code or 500, error.description or "")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("Unhandled error", exc_info=error)
        db.session.rollback()
        return render_error(500, InternalServerError.description)
