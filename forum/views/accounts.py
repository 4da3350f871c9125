"""Registration, signing in and out, password changes and ending other sign-ins."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, limiter
from ..forms import ChangePasswordForm, LoginForm, RegisterForm
from ..services import accounts, self_service
from ..services.errors import InvalidInput
from .helpers import attach_error, reshows_form_on_expiry, safe_next

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _sign_in(user, remember: bool = False) -> None:
    """A new sign-in: a fresh session (and so a fresh CSRF token) tied to a new login row."""
    accounts.start_session(user, request.user_agent.string)
    db.session.commit()
    _new_session()
    login_user(user, remember=remember)


def _new_session() -> None:
    """Forget the old session, and the CSRF token this request already derived from it."""
    visitor = session.get(self_service.SESSION_KEY)
    session.clear()
    if visitor:  # the self-service visitor id outlives the sign-in: "searched, then asked"
        session[self_service.SESSION_KEY] = visitor
    g.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)


def _failed_sign_in(response) -> bool:
    """Only failures count against the sign-in limits: a sign-in redirects."""
    return response.status_code != 302


def _account_key() -> str:
    """The account being tried, however the address is spelled."""
    return "login-account:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/register", methods=["GET", "POST"])
@reshows_form_on_expiry
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("questions.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register_user(
                form.email.data, form.display_name.data, form.password.data
            )
        except InvalidInput as error:
            attach_error(form, error)
        else:
            _sign_in(user)
            flash(f"Welcome, {user.display_name}! Your account is ready.", "success")
            return redirect(safe_next(request.args.get("next"), url_for("questions.index")))
    status = 400 if form.errors else 200
    return render_template("accounts/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@reshows_form_on_expiry
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"], deduct_when=_failed_sign_in
)
@limiter.limit(
    lambda: current_app.config["RATELIMIT_LOGIN_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed_sign_in,
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("questions.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            form.form_errors.append("That e-mail and password do not match an account.")
        else:
            _sign_in(user, remember=form.remember.data)
            flash("You are signed in.", "success")
            return redirect(safe_next(request.args.get("next"), url_for("questions.index")))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        accounts.end_session(current_user)
        db.session.commit()
    _new_session()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("questions.index"))


@bp.route("/password", methods=["GET", "POST"])
@reshows_form_on_expiry
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except InvalidInput as error:
            attach_error(form, error)
        else:
            db.session.commit()
            flash("Your password has been changed; you are signed out everywhere else.", "success")
            return redirect(url_for("questions.index"))
    status = 400 if form.errors else 200
    return render_template("accounts/password.html", form=form), status


@bp.route("/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    ended = accounts.end_sessions(current_user, keep=current_user.login_token)
    db.session.commit()
    flash(f"Signed out of {ended} other session{'s' if ended != 1 else ''}.", "success")
    return redirect(url_for(".change_password"), code=303)
