"""Admin pages: people (find, change role, deactivate, activity), products (create, rename,
describe, archive) and the settings that may change while the site runs. Admins only; every
change is in the audit log, shown on the log page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Role
from ..services import admin, site_settings
from ..services.errors import InvalidInput
from ..services.threads import all_products
from .helpers import bounded_int

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def admins_only():
    admin.require_admin(current_user)


@bp.route("")
def index():
    return redirect(url_for(".people"))


# People ----------------------------------------------------------------------------------------


@bp.route("/people")
def people():
    text = request.args.get("q", "")[:100]
    role = request.args.get("role") or None
    page = bounded_int(request.args.get("page"), 1, high=10_000)
    rows = admin.find_people(text, role, page)
    return render_template(
        "admin/people.html",
        rows=rows,
        q=text,
        role=role,
        roles=list(Role),
        page=page,
        more=len(rows) == admin.USERS_PER_PAGE,
    )


@bp.route("/people/<id:user_id>")
def person(user_id: int, error: InvalidInput | None = None):
    user = admin.person(user_id)
    page = render_template(
        "admin/person.html",
        user=user,
        roles=list(Role),
        activity=admin.activity(user),
        error=error,
    )
    return page, (400 if error else 200)


@bp.route("/people/<id:user_id>/role", methods=["POST"])
def change_role(user_id: int):
    user = admin.person(user_id)
    try:
        admin.change_role(current_user, user, request.form.get("role", ""))
    except InvalidInput as error:
        db.session.rollback()
        return person(user_id, error)
    db.session.commit()
    flash(f"{user.display_name} is now {user.role}.", "success")
    return redirect(url_for(".person", user_id=user.id), code=303)


@bp.route("/people/<id:user_id>/<any(deactivate, reactivate):action>", methods=["POST"])
def set_active(user_id: int, action: str):
    user = admin.person(user_id)
    try:
        ended = admin.set_active(current_user, user, action == "reactivate")
    except InvalidInput as error:
        db.session.rollback()
        return person(user_id, error)
    db.session.commit()
    if action == "reactivate":
        flash(f"{user.display_name} can sign in again.", "success")
    else:
        flash(f"{user.display_name} is deactivated; {ended} sign-in(s) ended at once.", "success")
    return redirect(url_for(".person", user_id=user.id), code=303)


# Products --------------------------------------------------------------------------------------


def _products_page(error: InvalidInput | None = None, draft=None, editing: int | None = None):
    page = render_template(
        "admin/products.html",
        products=all_products(archived=True),
        counts=admin.product_counts(),
        error=error,
        draft=draft or {},
        editing=editing,
    )
    return page, (400 if error else 200)


@bp.route("/products", methods=["GET", "POST"])
def products():
    if request.method == "GET":
        return _products_page()
    try:
        product = admin.create_product(
            current_user, request.form.get("name", ""), request.form.get("description", "")
        )
    except InvalidInput as error:
        db.session.rollback()
        return _products_page(error, request.form)
    db.session.commit()
    flash(f"{product.name} is created.", "success")
    return redirect(url_for(".products"), code=303)


@bp.route("/products/<id:product_id>", methods=["POST"])
def edit_product(product_id: int):
    product = admin.product_or_404(product_id)
    try:
        admin.update_product(
            current_user,
            product,
            request.form.get("name", ""),
            request.form.get("description", ""),
        )
    except InvalidInput as error:
        db.session.rollback()
        return _products_page(error, request.form, editing=product_id)
    db.session.commit()
    flash(f"{product.name} is saved.", "success")
    return redirect(url_for(".products"), code=303)


@bp.route("/products/<id:product_id>/<any(archive, restore):action>", methods=["POST"])
def archive_product(product_id: int, action: str):
    product = admin.product_or_404(product_id)
    admin.set_archived(current_user, product, action == "archive")
    db.session.commit()
    if action == "archive":
        flash(f"{product.name} is archived: it takes no new questions.", "success")
    else:
        flash(f"{product.name} takes questions again.", "success")
    return redirect(url_for(".products"), code=303)


# Settings and the log --------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    error = None
    if request.method == "POST":
        try:
            for key in site_settings.LIVE:
                if key in request.form:
                    site_settings.change(current_user, key, request.form[key])
        except InvalidInput as problem:
            db.session.rollback()
            error = problem
        else:
            db.session.commit()
            flash("Settings saved; they apply at once.", "success")
            return redirect(url_for(".settings"), code=303)
    page = render_template(
        "admin/settings.html",
        live=site_settings.LIVE,
        values={key: site_settings.value(key) for key in site_settings.LIVE},
        defaults={key: site_settings.value_text(key) for key in site_settings.LIVE},
        overridden=site_settings.overridden(),
        error=error,
        draft=request.form if error else {},
    )
    return page, (400 if error else 200)


@bp.route("/log")
def log():
    return render_template("admin/log.html", entries=admin.admin_log(200))
