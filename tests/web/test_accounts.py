"""Accounts: an admin creates, resets and deactivates them; everyone changes their own
password; a changed password ends the sessions signed in with the old one."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.db import session_scope
from domain.models import StaffRole, User
from domain.schemas import StaffIn
from domain.services import create_staff
from tests.web.conftest import csrf_from, login
from tests.web.factories import PASSWORD, World


def sign_in(app: Flask, email: str, password: str) -> int:
    client = app.test_client()
    data = {"email": email, "password": password, "csrf_token": csrf_from(client)}
    return client.post("/login", data=data).status_code


def shown_password(html: str) -> str:
    block = html[html.index('id="new-password"') :]
    return re.search(r'<input readonly value="([^"]+)"', block).group(1)  # type: ignore[union-attr]


def test_an_admin_gives_a_new_technician_an_account(
    app: Flask, client_for, sqlite_engine: Engine, world: World
) -> None:
    with session_scope(sqlite_engine) as s:
        carla = create_staff(s, StaffIn(name="Carla Nueva", role=StaffRole.TECHNICIAN,
                                        skills=["boiler"], home_latitude=39.5,
                                        home_longitude=-0.4)).id  # fmt: skip
    client, token = client_for("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert f'<option value="{carla}" >Carla Nueva</option>' in page
    assert f'<option value="{world.staff["ana"]}"' not in page  # Ana has her account
    created = client.post("/admin/users", data={
        "csrf_token": token, "email": "Carla@Example.com", "name": "Carla", "role": "technician",
        "staff_id": str(carla), "locale": "es",
    })  # fmt: skip
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    assert "Password for carla@example.com" in html
    password = shown_password(html)
    assert len(password) >= 16
    assert sign_in(app, "carla@example.com", password) == 302
    assert "Password for" not in client.get("/admin/users").get_data(as_text=True)  # once
    refused = client.post("/admin/users", data={
        "csrf_token": token, "email": "solo@example.com", "name": "Solo", "role": "technician",
    })  # fmt: skip
    assert refused.status_code == 422
    assert "needs the staff member it belongs to" in refused.get_data(as_text=True)
    with Session(sqlite_engine) as s:
        assert s.exec(select(User).where(User.email == "solo@example.com")).first() is None


def test_a_reset_password_ends_the_old_sessions_and_deactivation_stops_sign_in(
    app: Flask, client_for, sqlite_engine: Engine, world: World
) -> None:
    tech = app.test_client()
    login(tech, world.users["technician"])
    assert tech.get("/me/").status_code == 200
    admin, token = client_for("admin")
    with Session(sqlite_engine) as s:
        ana = s.exec(select(User).where(User.email == world.users["technician"])).one()
    reset = admin.post(f"/admin/users/{ana.id}/password", data={"csrf_token": token})
    password = shown_password(reset.get_data(as_text=True))
    assert tech.get("/me/").status_code == 302  # signed in with the old password: ended
    assert sign_in(app, world.users["technician"], PASSWORD) == 401
    assert sign_in(app, world.users["technician"], password) == 302
    off = admin.post(f"/admin/users/{ana.id}/active", data={"csrf_token": token, "active": "0"})
    assert off.status_code == 302
    assert sign_in(app, world.users["technician"], password) == 401
    admin.post(f"/admin/users/{ana.id}/active", data={"csrf_token": token, "active": "1"})
    assert sign_in(app, world.users["technician"], password) == 302
    with Session(sqlite_engine) as s:
        me = s.exec(select(User).where(User.email == world.users["admin"])).one()
    own = admin.post(f"/admin/users/{me.id}/active", data={"csrf_token": token, "active": "0"})
    assert "cannot deactivate your own account" in admin.get(own.location).get_data(True)
    with Session(sqlite_engine) as s:
        assert s.get(User, me.id).active is True  # type: ignore[union-attr]


def test_only_admins_manage_accounts(client_for, world: World) -> None:
    client, _ = client_for("dispatcher")
    assert client.get("/admin/users").status_code == 403


def test_everyone_changes_their_own_password(app: Flask, client_for, world: World) -> None:
    client, _ = client_for("technician")
    other = app.test_client()
    login(other, world.users["technician"])  # the same person on another device
    token = csrf_from(client, "/account/password")
    new = "a much longer secret"

    def change(current: str, new: str, repeat: str) -> int:
        form = {"csrf_token": token, "current": current, "new": new, "repeat": repeat}
        return client.post("/account/password", data=form).status_code

    assert change("wrong password", new, new) == 422
    assert change(PASSWORD, new, new + "x") == 422
    assert change(PASSWORD, "short", "short") == 422
    assert change(PASSWORD, new, new) == 302
    assert client.get("/me/").status_code == 200  # this session carries on
    assert other.get("/me/").status_code == 302  # the other device signs in again
    assert sign_in(app, world.users["technician"], PASSWORD) == 401
    assert sign_in(app, world.users["technician"], new) == 302


def test_guessing_the_current_password_is_rate_limited(client_for, world: World) -> None:
    client, _ = client_for("technician")
    token = csrf_from(client, "/account/password")
    form = {"csrf_token": token, "new": "a much longer secret", "repeat": "a much longer secret"}
    codes = [
        client.post("/account/password", data={**form, "current": f"guess {n}"}).status_code
        for n in range(12)
    ]
    assert codes == [422] * 10 + [429, 429]


def test_an_admin_who_resets_their_own_password_stays_signed_in(
    app: Flask, client_for, sqlite_engine: Engine, world: World
) -> None:
    admin, token = client_for("admin")
    with Session(sqlite_engine) as s:
        me = s.exec(select(User).where(User.email == world.users["admin"])).one()
    reset = admin.post(f"/admin/users/{me.id}/password", data={"csrf_token": token})
    password = shown_password(reset.get_data(as_text=True))
    assert admin.get("/admin/users").status_code == 200  # still signed in here
    assert sign_in(app, world.users["admin"], password) == 302
