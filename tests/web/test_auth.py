"""Logging in: no default password, CSRF, fresh session, rate limit, cookie flags, locale."""

from __future__ import annotations

from pathlib import Path

import redis
from flask import Flask
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.models import AuditEntry, User
from posventa.config import Settings
from tests.web.conftest import csrf_from, login, make_app
from tests.web.factories import PASSWORD, World


def test_empty_database_has_no_account_to_log_in_with(app: Flask) -> None:
    client = app.test_client()
    token = csrf_from(client)
    for email in ("admin", "admin@example.com", "admin@posventa.local"):
        for password in ("admin", "password", "posventa"):
            response = client.post(
                "/login", data={"email": email, "password": password, "csrf_token": token}
            )
            assert response.status_code in (400, 401)
    assert client.get("/sales/").status_code == 302


def test_login_with_good_password_and_refusal_of_a_wrong_one(
    app: Flask, world: World, sqlite_engine: Engine
) -> None:
    client = app.test_client()
    token = csrf_from(client)
    bad = client.post(
        "/login",
        data={"email": world.users["dispatcher"], "password": "wrong", "csrf_token": token},
    )
    assert bad.status_code == 401
    assert "Correo o contraseña incorrectos" in bad.get_data(as_text=True)  # Spanish by default
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "Password" in english.get_data(as_text=True)
    login(client, world.users["dispatcher"])
    assert client.get("/sales/").status_code == 200
    with Session(sqlite_engine) as s:
        actions = [a.action for a in s.exec(select(AuditEntry))]
    assert "user.login" in actions


def test_login_form_needs_its_csrf_token(app: Flask, world: World) -> None:
    client = app.test_client()
    response = client.post(
        "/login", data={"email": world.users["dispatcher"], "password": PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/sales/").status_code == 302  # still logged out


def test_every_form_post_needs_a_csrf_token(app: Flask, world: World) -> None:
    client = app.test_client()
    login(client, world.users["admin"])
    for path in ("/sales/new", f"/staff/{world.staff['ana']}/feed", "/logout", "/admin/tokens"):
        assert client.post(path, data={}).status_code == 400, path


def test_session_is_fresh_after_login(app: Flask, world: World) -> None:
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client, world.users["dispatcher"])
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"]


def test_logout_ends_the_session(app: Flask, world: World) -> None:
    client = app.test_client()
    token = login(client, world.users["dispatcher"])
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/sales/").status_code == 302


def test_login_is_rate_limited(app: Flask, world: World) -> None:
    client = app.test_client()
    token = csrf_from(client)
    codes = [
        client.post(
            "/login",
            data={"email": world.users["dispatcher"], "password": "guess", "csrf_token": token},
        ).status_code
        for _ in range(12)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]


def test_next_parameter_cannot_send_users_to_another_site(app: Flask, world: World) -> None:
    client = app.test_client()
    token = csrf_from(client)
    for target, expected in (
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/sales/", "/sales/"),
    ):
        response = client.post(
            f"/login?next={target}",
            data={"email": world.users["dispatcher"], "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302
        assert response.location == expected, (target, response.location)
        client.post("/logout", data={"csrf_token": csrf_from(client, "/")})
        token = csrf_from(client)


def test_session_cookie_flags(settings: Settings, sqlite_engine: Engine, world: World) -> None:
    production = settings.replace(testing=False, public_url="https://posventa.example")
    app = make_app(production, sqlite_engine)
    client = app.test_client()
    token = csrf_from(client)
    response = client.post(
        "/login",
        data={"email": world.users["dispatcher"], "password": PASSWORD, "csrf_token": token},
    )
    cookie = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("posventa_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    dev = make_app(settings, sqlite_engine)  # testing over http: Secure off so the client works
    assert dev.config["SESSION_COOKIE_SECURE"] is False


def test_locale_follows_the_user(app: Flask, world: World, sqlite_engine: Engine) -> None:
    client = app.test_client()
    token = login(client, world.users["dispatcher"])
    assert "Plan board" in client.get("/sales/").get_data(as_text=True)
    response = client.post(
        "/account/locale", data={"csrf_token": token, "locale": "es", "next": "/sales/"}
    )
    assert response.status_code == 302 and response.location.endswith("/sales/")
    page = client.get("/sales/").get_data(as_text=True)
    assert "Tablero" in page and 'lang="es"' in page
    with Session(sqlite_engine) as s:
        user = s.exec(select(User).where(User.email == world.users["dispatcher"])).one()
        assert user.locale == "es"


def test_static_assets_are_served_by_the_app(app: Flask, tmp_path: Path) -> None:
    client = app.test_client()
    for name in ("app.css", "board.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and len(response.data) > 500
        response.close()
    page = client.get("/login").get_data(as_text=True)
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page


def test_pages_carry_a_content_security_policy(
    settings: Settings, sqlite_engine: Engine, world: World
) -> None:
    app = make_app(settings, sqlite_engine)
    client = app.test_client()
    login(client, world.users["dispatcher"])
    response = client.get("/sales/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "img-src 'self' data:;" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.get_data(as_text=True)
    assert " onclick=" not in html and " onchange=" not in html and "<script>" not in html
    tiles = make_app(
        settings.replace(map_tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png"),
        sqlite_engine,
    )
    tiles_client = tiles.test_client()
    login(tiles_client, world.users["dispatcher"])
    csp = tiles_client.get("/sales/").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://a.tile.example.org;" in csp


def _bad_logins(apps: list[Flask], email: str, attempts: int) -> list[int]:
    """``attempts`` failed logins from one address, spread in turn over ``apps``."""
    clients = [app.test_client() for app in apps]
    tokens = [csrf_from(client) for client in clients]
    codes = []
    for i in range(attempts):
        k = i % len(apps)
        response = clients[k].post(
            "/login", data={"email": email, "password": "guess", "csrf_token": tokens[k]}
        )
        codes.append(response.status_code)
    return codes


def test_web_workers_sharing_redis_count_login_attempts_together(
    settings: Settings, sqlite_engine: Engine, world: World
) -> None:
    url = "redis://127.0.0.1:6379/11"  # a database of the machine's Redis kept for this test
    redis.Redis.from_url(url).flushdb()
    shared = settings.replace(rate_limit_storage_url=url)
    workers = [make_app(shared, sqlite_engine) for _ in range(2)]
    codes = _bad_logins(workers, world.users["dispatcher"], 12)
    assert codes == [401] * 10 + [429, 429]
    assert redis.Redis.from_url(url).keys("*/posventa/*")


def test_in_memory_counting_is_per_worker(
    settings: Settings, sqlite_engine: Engine, world: World
) -> None:
    workers = [make_app(settings, sqlite_engine) for _ in range(2)]
    assert settings.rate_limit_storage_url == "memory://"
    codes = _bad_logins(workers, world.users["dispatcher"], 12)
    assert codes == [401] * 12  # six each: neither worker reached its ten


def test_logins_are_still_counted_while_redis_is_down(
    settings: Settings, sqlite_engine: Engine, world: World
) -> None:
    down = settings.replace(rate_limit_storage_url="redis://127.0.0.1:1/0")  # nothing listens
    app = make_app(down, sqlite_engine)
    codes = _bad_logins([app], world.users["dispatcher"], 12)
    assert codes == [401] * 10 + [429, 429]  # counted in memory meanwhile, not refused


def test_background_requests_never_write_the_session_back(client_for, world: World) -> None:
    """The board's status poll and the customer picker answer without a session cookie: one
    answered after a page took its flashed messages would put them back (shown twice)."""
    from tests.web.factories import PLAN_DAY

    client, token = client_for("dispatcher")
    added = client.post(f"/staff/{world.staff['ana']}/absences",
                        data={"csrf_token": token, "starts_on": PLAN_DAY.isoformat()})  # fmt: skip
    assert "posventa_session=" in added.headers.get("Set-Cookie", "")  # holds the flash
    for path in (f"/board/{PLAN_DAY}/status.json", "/sales/customers.json?q=Carmen"):
        response = client.get(path)
        assert response.status_code == 200 and response.is_json, path
        assert "Set-Cookie" not in response.headers, path
    page = client.get(added.location)
    assert page.get_data(as_text=True).count("Day off recorded.") == 1
    assert "posventa_session=" in page.headers.get("Set-Cookie", "")  # pages refresh it
    assert "Day off recorded." not in client.get(added.location).get_data(as_text=True)
