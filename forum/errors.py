"""Error pages in the site's layout, or JSON errors for clients that ask for JSON."""

from __future__ import annotations

from flask import (
    Flask,
    Response,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db, login_manager
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


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def render_error(status: int, message: str):
    if wants_json():
        return jsonify(error={"status": status, "message": message}), status
    return (
        render_template(
            "errors/error.html", status=status, title=TITLES.get(status, "Error"), message=message
        ),
        status,
    )


def unauthorized_response():
    """Flask-Login's answer to a signed-out visitor: 401 JSON for scripts, else the sign-in page.

    Only a GET is worth coming back to; after a sign-in, a POST target would answer 405."""
    if wants_json():
        return jsonify(error={"status": 401, "message": "Sign in to do that."}), 401
    flash("Please sign in to do that.", "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("accounts.login", next=target))


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        return render_error(error.status_code, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400,
            "Your form had expired or was sent from another site. "
            "Go back, reload the page and send it again.",
        )

    @app.errorhandler(429)
    def too_many(error):
        return render_error(
            429,
            f"You have done that too often ({error.description}). "
            "Please wait a minute and try again; what you typed is still in the page "
            "you came from.",
        )

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
