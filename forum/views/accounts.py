"""Registration, signing in and out, and password changes."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter
from ..forms import ChangePasswordForm, LoginForm, RegisterForm
from ..services import accounts
from ..services.errors import InvalidInput
from .helpers import attach_error, safe_next

bp = Blueprint("accounts", __name__, url_prefix="/account")


@bp.route("/register", methods=["GET", "POST"])
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
            login_user(user)
            flash(f"Welcome, {user.display_name}! Your account is ready.", "success")
            return redirect(safe_next(request.args.get("next"), url_for("questions.index")))
    status = 400 if form.errors else 200
    return render_template("accounts/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("questions.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            form.form_errors.append("That e-mail and password do not match an account.")
        else:
            login_user(user, remember=form.remember.data)
            flash("You are signed in.", "success")
            return redirect(safe_next(request.args.get("next"), url_for("questions.index")))
    status = 400 if form.errors or form.form_errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("questions.index"))


@bp.route("/password", methods=["GET", "POST"])
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
            flash("Your password has been changed.", "success")
            return redirect(url_for("questions.index"))
    status = 400 if form.errors else 200
    return render_template("accounts/password.html", form=form), status
