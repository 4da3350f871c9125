"""Registration, sign-in, sign-out, password changes, staff creation, CSRF and redirects."""

import pytest

from forum.extensions import db
from forum.models import Role, User
from forum.services import accounts

from .conftest import csrf_token
from .factories import Factory


def register(client, **fields):
    data = {
        "email": "new@example.com",
        "display_name": "New Customer",
        "password": "a long password",
        "confirm": "a long password",
        **fields,
    }
    data["csrf_token"] = csrf_token(client, "/account/register")
    return client.post("/account/register", data=data)


def test_register_signs_in_and_hashes_the_password(client):
    response = register(client)
    assert response.status_code == 302
    user = db.session.scalar(db.select(User).filter_by(email="new@example.com"))
    assert user.role == "customer"
    assert "a long password" not in user.password_hash
    assert user.password_hash.startswith("pbkdf2:sha256:1000$")  # the method configured
    assert "New Customer" in client.get("/").get_data(as_text=True)


def test_email_is_unique_whatever_its_case(client, make):
    make.user(email="taken@example.com")
    response = register(client, email="TAKEN@Example.com", display_name="Keeps This Name")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "already exists" in page
    assert 'value="Keeps This Name"' in page  # the user's input is kept


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short", "confirm": "short"}, "at least 10"),
        ({"confirm": "something else"}, "do not match"),
        ({"display_name": "x"}, "between 2 and 80"),
    ],
)
def test_bad_registration_shows_a_message_beside_the_field(client, fields, message):
    response = register(client, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page.lower() or message in page
    assert 'role="alert"' in page
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_login_logout_and_remember_me(client, auth, make):
    user = make.user()
    bad = auth.login(user.email, "wrong password!")
    assert bad.status_code == 400
    assert "do not match" in bad.get_data(as_text=True)

    good = auth.login(user.email.upper(), remember=True)
    assert good.status_code == 302
    assert "remember_token" in good.headers.get("Set-Cookie", "") or any(
        "remember_token" in h for h in good.headers.getlist("Set-Cookie")
    )
    assert user.display_name in client.get("/").get_data(as_text=True)

    auth.logout()
    assert "Sign in" in client.get("/").get_data(as_text=True)


def test_inactive_and_imported_accounts_cannot_sign_in(auth, make):
    user = make.user()
    user.active = False
    db.session.commit()
    assert auth.login(user.email).status_code == 400
    assert accounts.authenticate(user.email, Factory.PASSWORD) is None


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_next_redirects_only_within_the_site(client, make, target):
    user = make.user()
    token = csrf_token(client)
    response = client.post(
        f"/account/login?next={target}",
        data={"email": user.email, "password": Factory.PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_redirect_to_a_local_page_is_followed(client, make):
    user = make.user()
    token = csrf_token(client)
    response = client.post(
        "/account/login?next=/ask",
        data={"email": user.email, "password": Factory.PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/ask"


def test_change_password(client, auth, make):
    user = make.user()
    auth.login(user.email)
    wrong = auth.post(
        "/account/password",
        {
            "current_password": "nope nope nope",
            "new_password": "brand new secret",
            "confirm": "brand new secret",
        },
        page="/account/password",
    )
    assert wrong.status_code == 400
    assert "current password is not right" in wrong.get_data(as_text=True)
    ok = auth.post(
        "/account/password",
        {
            "current_password": Factory.PASSWORD,
            "new_password": "brand new secret",
            "confirm": "brand new secret",
        },
        page="/account/password",
    )
    assert ok.status_code == 302
    assert accounts.authenticate(user.email, "brand new secret") is not None
    assert accounts.authenticate(user.email, Factory.PASSWORD) is None


def test_forms_without_a_csrf_token_are_refused(client, make):
    user = make.user()
    response = client.post(
        "/account/login", data={"email": user.email, "password": Factory.PASSWORD}
    )
    assert response.status_code == 400
    assert "expired or was sent from another site" in response.get_data(as_text=True)
    assert "Sign in" in client.get("/").get_data(as_text=True)  # still signed out


def test_cli_creates_staff_and_moderators(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Staff@Example.com",
            "--role",
            "staff",
            "--name",
            "Sam Staff",
            "--password",
            "a staff password",
        ],
    )
    assert result.exit_code == 0, result.output
    user = accounts.find_user_by_email("staff@example.com")
    assert user.role == Role.STAFF and user.is_staff and not user.is_moderator
    again = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "staff@example.com",
            "--role",
            "moderator",
            "--password",
            "a staff password",
        ],
    )
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_a_signed_in_reader_is_loaded_with_every_value_the_orm_would_give(make):
    """`signed_in_user` reads the row through the driver and applies the columns' types
    itself: the user it gives must equal the ORM's, times with their zone included."""
    from forum.services.accounts import _USER_ATTRIBUTES, signed_in_user, start_session

    user = make.user(name="Sam Signed")
    token = start_session(user, "a browser")
    db.session.commit()
    expected = {key: getattr(db.session.get(User, user.id), key) for key in _USER_ATTRIBUTES}
    db.session.expunge_all()
    loaded = signed_in_user(f"{user.id}:{token}")
    assert {key: getattr(loaded, key) for key in _USER_ATTRIBUTES} == expected
    assert loaded.created_at.tzinfo is not None and loaded.active is True
    assert signed_in_user(f"{user.id}:not-the-token") is None
