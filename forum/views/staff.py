"""The service desk's dashboard (staff, moderators, admins) and its CSV export."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, render_template, request
from flask_login import current_user, login_required

from ..permissions import can_moderate
from ..services import dashboard
from ..services.errors import InvalidInput, PermissionDenied
from ..services.threads import all_products

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.before_request
@login_required
def staff_only():
    if not can_moderate(current_user):
        raise PermissionDenied("Only staff, moderators and admins can see the dashboard.")


def _scope() -> tuple[dashboard.Scope, InvalidInput | None]:
    """The scope asked for; a bad one falls back to the last 30 days of all products, with
    the complaint to show beside the form (which keeps what was typed)."""
    args = request.args
    try:
        return dashboard.scope_for(
            args.get("product") or None, args.get("period"), args.get("start"), args.get("end")
        ), None
    except InvalidInput as error:
        return dashboard.scope_for(None, "30"), error


@bp.route("/dashboard")
def dashboard_page():
    scope, error = _scope()
    board = dashboard.build(scope)
    page = render_template(
        "staff/dashboard.html",
        board=board,
        products=all_products(archived=True),
        periods=dashboard.PERIODS,
        flag_ages=[label for label, _, _ in dashboard.FLAG_AGES],
        error=error,
        asked=request.args,
    )
    return page, (400 if error else 200)


@bp.route("/dashboard.csv")
def dashboard_csv():
    scope, error = _scope()
    if error is not None:
        raise error
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(dashboard.CSV_HEADER)
    writer.writerows(dashboard.csv_rows(dashboard.build(scope)))
    name = f"service-desk-{scope.start}-{scope.end}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
