"""Admin pages: people, products and live settings, each change and its inverse, each in the
audit log."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from forum.extensions import db
from forum.models import AuditEntry, Flag, LoginSession, Product, Question, Role, User, utcnow
from forum.services import moderation

from .conftest import AuthActions


def admin_log() -> list[tuple[str, str, str]]:
    return [
        (e.action, e.post, e.detail)
        for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.question_id.is_(None)).order_by(AuditEntry.id)
        )
    ]


def test_finding_people_and_changing_a_role_both_ways(client, auth, make):
    admin = make.user(Role.ADMIN, name="Ada Admin")
    carol = make.user(name="Carol Customer", email="carol@example.com")
    auth.login(admin.email)
    page = client.get("/admin/people?q=CAROL").get_data(as_text=True)
    assert "Carol Customer" in page and page.count('data-testid="person-row"') == 1
    assert "Carol Customer" not in client.get("/admin/people?role=staff").get_data(as_text=True)

    response = auth.post(f"/admin/people/{carol.id}/role", {"role": "staff"})
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "Carol Customer is now staff." in page
    db.session.expire_all()
    assert db.session.get(User, carol.id).role == "staff"
    auth.post(f"/admin/people/{carol.id}/role", {"role": "customer"})
    db.session.expire_all()
    assert db.session.get(User, carol.id).role == "customer"
    assert admin_log() == [
        ("role changed", f"user:{carol.id}", "customer → staff"),
        ("role changed", f"user:{carol.id}", "staff → customer"),
    ]
    log = client.get("/admin/log").get_data(as_text=True)
    assert "customer → staff" in log and "Ada Admin" in log


def test_an_admin_cannot_demote_or_deactivate_themselves(client, auth, make):
    admin = make.user(Role.ADMIN)
    auth.login(admin.email)
    response = auth.post(f"/admin/people/{admin.id}/role", {"role": "customer"})
    assert response.status_code == 400
    assert "You cannot take away your own admin role" in response.get_data(as_text=True)
    response = auth.post(f"/admin/people/{admin.id}/deactivate")
    assert response.status_code == 400
    assert auth.post(f"/admin/people/{admin.id}/role", {"role": "wizard"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(User, admin.id).role == "admin" and admin_log() == []


def test_deactivating_ends_every_sign_in_and_reactivating_lets_them_back(app, auth, make):
    admin = make.user(Role.ADMIN)
    dave = make.user(name="Dave")
    daves_browser = AuthActions(app.test_client())
    daves_browser.login(dave.email)
    assert daves_browser.client.get("/notifications").status_code == 200

    auth.login(admin.email)
    response = auth.post(f"/admin/people/{dave.id}/deactivate")
    page = auth.client.get(response.location).get_data(as_text=True)
    assert "Dave is deactivated; 1 sign-in(s) ended at once." in page
    assert daves_browser.client.get("/notifications").status_code == 302  # signed out
    refused = daves_browser.login(dave.email)
    assert refused.status_code in (400, 403) or "/account/login" in (refused.location or "")
    assert (
        db.session.scalar(
            select(LoginSession.id).where(
                LoginSession.user_id == dave.id, LoginSession.revoked_at.is_(None)
            )
        )
        is None
    )

    auth.post(f"/admin/people/{dave.id}/reactivate")
    assert daves_browser.login(dave.email).status_code == 302
    assert daves_browser.client.get("/notifications").status_code == 200
    actions = [a for a, _, _ in admin_log()]
    assert actions == ["deactivated", "reactivated"]
    person_page = auth.client.get(f"/admin/people/{dave.id}").get_data(as_text=True)
    assert "deactivated" in person_page and "reactivated" in person_page


def test_products_are_created_renamed_archived_and_restored(client, auth, make):
    admin = make.user(Role.ADMIN)
    customer = make.user()
    auth.login(admin.email)
    response = auth.post("/admin/products", {"name": "Smart Plug", "description": "The plug."})
    assert response.status_code == 303
    plug = db.session.scalar(select(Product).where(Product.name == "Smart Plug"))
    assert plug.slug == "smart-plug"

    refused = auth.post("/admin/products", {"name": "smart plug", "description": "kept text"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "There is already a product called smart plug." in page
    assert "kept text" in page
    assert auth.post("/admin/products", {"name": "x"}).status_code == 400

    auth.post(f"/admin/products/{plug.id}", {"name": "Smart Plug Mini", "description": "Small."})
    db.session.expire_all()
    assert (plug.name, plug.slug, plug.description) == ("Smart Plug Mini", "smart-plug", "Small.")

    auth.post(f"/admin/products/{plug.id}/archive")
    auth.logout()
    asker = AuthActions(client)
    asker.login(customer.email)
    assert "Smart Plug Mini" not in client.get("/ask").get_data(as_text=True)
    refused = asker.post(
        "/ask",
        {
            "title": "Does the plug work with timers?",
            "body": "I want to switch my lamp on at seven every morning.",
            "product_id": plug.id,
            "tags": "",
        },
        page="/ask",
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Smart Plug Mini is archived and takes no new questions" in page
    assert "I want to switch my lamp on at seven every morning." in page
    asker.logout()

    auth.login(admin.email)
    auth.post(f"/admin/products/{plug.id}/restore")
    auth.logout()
    asker.login(customer.email)
    assert "Smart Plug Mini" in client.get("/ask").get_data(as_text=True)
    assert [a for a, _, _ in admin_log()] == [
        "product created",
        "product changed",
        "product archived",
        "product restored",
    ]


def test_lists_offer_a_product_as_it_is_now_at_once(client, auth, make):
    """The home list keeps its products with its rows; a product's change shows on the next
    view, not after the cache's time runs out."""
    admin = make.user(Role.ADMIN)
    plug = make.product(name="Smart Plug")

    def filter_choices() -> list[str]:
        page = client.get("/").get_data(as_text=True)
        menu = page[page.index('id="filter-product"') :]
        return re.findall(
            r'<option value="[^"]+"[^>]*>([^<]+)</option>', menu[: menu.index("</select>")]
        )

    assert "Smart Plug" in filter_choices()  # the list and its products are now cached
    auth.login(admin.email)
    auth.post(f"/admin/products/{plug.id}", {"name": "Smart Plug Mini", "description": "Small."})
    choices = filter_choices()
    assert "Smart Plug Mini" in choices and "Smart Plug" not in choices
    auth.post(f"/admin/products/{plug.id}/archive")
    assert "Smart Plug Mini" not in filter_choices()
    auth.post(f"/admin/products/{plug.id}/restore")
    assert "Smart Plug Mini" in filter_choices()


def test_a_live_setting_changes_the_moderation_scan_at_once(app, client, auth, make):
    app.config["MODERATION_SLA_HOURS"] = 24
    admin = make.user(Role.ADMIN)
    question = make.question()
    db.session.execute(
        update(Question)
        .where(Question.id == question.id)
        .values(created_at=utcnow() - timedelta(hours=3))
    )
    db.session.commit()
    moderation.scan()
    db.session.commit()
    assert db.session.scalar(select(Flag.id).where(Flag.kind == "unanswered")) is None

    auth.login(admin.email)
    refused = auth.post("/admin/settings", {"sla_hours": "soon", "reports_to_hide": "3"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Service level, in hours must be a number." in page and 'value="soon"' in page
    assert auth.post("/admin/settings", {"sla_hours": "0"}).status_code == 400

    assert auth.post("/admin/settings", {"sla_hours": "2", "reports_to_hide": "3"}).status_code
    moderation.scan()
    db.session.commit()
    assert db.session.scalar(select(Flag.id).where(Flag.kind == "unanswered")) is not None
    assert 'value="2"' in client.get("/admin/settings").get_data(as_text=True)

    auth.post("/admin/settings", {"sla_hours": "", "reports_to_hide": "3"})  # back to 24
    assert 'value="24"' in client.get("/admin/settings").get_data(as_text=True)
    assert admin_log() == [
        ("setting changed", "setting:sla_hours", "24 → 2"),
        ("setting reset", "setting:sla_hours", "back to 24"),
    ]
