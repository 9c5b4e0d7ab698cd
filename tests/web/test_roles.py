"""Who may open what: a matrix of role x route, and one trainer never sees another's data."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.web.conftest import csrf_from, login
from tests.web.factories import PLAN_DAY, World

DAY = PLAN_DAY.isoformat()
LOGIN = "/login"


def get_routes(w: World) -> list[tuple[str, dict[str, int]]]:
    """(path, expected status per role); 'login' means redirected to the login page."""
    office = {"admin": 200, "dispatcher": 200, "technician": 403}
    return [
        (f"/board/{DAY}", office),
        (f"/board/{DAY}/status.json", office),
        (f"/board/week?from={DAY}", office),
        (f"/board/{DAY}/approve?plan={w.plan_id}", office),
        ("/sales/", office),
        ("/sales/new", office),
        ("/sales/import", office),
        (f"/sales/{w.sales[0]}", office),
        ("/visits/", office),
        ("/visits/export.csv", office),
        ("/sales/renewals", office),
        ("/sales/renewals.csv", office),
        ("/surveys/", office),
        ("/inbox/", office),
        ("/sms/simulator", office),
        ("/field-work/", office),
        ("/surveys/export.csv", office),
        ("/staff/", office),
        ("/staff/new", office),
        (f"/staff/{w.staff['ana']}", office),
        (f"/me/?staff={w.staff['bea']}&day={DAY}", {**office, "technician": 403}),
        (f"/me/?day={DAY}", {"admin": 302, "dispatcher": 302, "technician": 200}),
        (f"/me/route.json?staff={w.staff['bea']}&day={DAY}", {**office, "technician": 403}),
        (f"/me/route.json?day={DAY}", {"admin": 404, "dispatcher": 404, "technician": 200}),
        ("/admin/tokens", {"admin": 200, "dispatcher": 403, "technician": 403}),
        ("/admin/audit", {"admin": 200, "dispatcher": 403, "technician": 403}),
    ]


def post_routes(w: World) -> list[str]:
    """Actions only the office may take (a technician gets 403, anonymous goes to login)."""
    return [
        f"/board/{DAY}/optimize",
        f"/board/{DAY}/visits/{w.visits[0]}/pin",
        f"/board/{DAY}/approve",
        "/sales/new",
        "/sales/import",
        "/sales/start-pending",
        f"/sales/{w.sales[0]}/cancel",
        f"/sales/{w.sales[0]}/fault",
        f"/visits/{w.visits[0]}/reply",
        "/staff/new",
        f"/staff/{w.staff['ana']}/absences",
        f"/staff/{w.staff['ana']}/absences/1/withdraw",
        f"/staff/{w.staff['ana']}/feed",
        f"/customers/{w.customers[0]}/erase",
        f"/sales/{w.sales[0]}/reference",
        f"/sales/{w.sales[0]}/sold-on",
        "/inbox/handled",
        "/inbox/1/reopen",
        f"/sales/{w.sales[0]}/contract",
        f"/sales/{w.sales[0]}/sms",
        f"/sms/simulator/{w.customers[0]}/reply",
        f"/sms/simulator/staff/{w.staff['ana']}/reply",
        "/admin/tokens",
    ]


@pytest.mark.parametrize("role", ["admin", "dispatcher", "technician"])
def test_role_route_matrix(app: Flask, world: World, role: str) -> None:
    client = app.test_client()
    token = login(client, world.users[role])
    for path, expected in get_routes(world):
        response = client.get(path)
        assert response.status_code == expected[role], (role, path, response.status_code)
    if role == "technician":
        for path in post_routes(world):
            response = client.post(path, data={"csrf_token": token})
            assert response.status_code == 403, (path, response.status_code)
        assert client.post("/admin/tokens", data={"csrf_token": token}).status_code == 403
    if role == "dispatcher":
        assert client.post("/admin/tokens", data={"csrf_token": token}).status_code == 403


def test_anonymous_is_sent_to_login_everywhere(app: Flask, world: World) -> None:
    client = app.test_client()
    token = csrf_from(client)
    for path, _ in get_routes(world):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.startswith(LOGIN), path
    for path in post_routes(world):
        response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 302 and response.location.startswith(LOGIN), path
    # JSON callers get 401, not a redirect
    status = client.get(f"/board/{DAY}/status.json", headers={"Accept": "application/json"})
    assert status.status_code == 401


def test_home_sends_each_role_to_its_page(app: Flask, world: World) -> None:
    for role, target in (("dispatcher", "/board/"), ("technician", "/me/")):
        client = app.test_client()
        login(client, world.users[role])
        response = client.get("/")
        assert response.status_code == 302 and response.location.startswith(target), role


def test_an_office_account_without_a_route_is_sent_to_pick_one(app: Flask, world: World) -> None:
    client = app.test_client()
    login(client, world.users["dispatcher"])
    response = client.get("/me/")
    assert response.status_code == 302 and response.location.endswith("/staff/")
    page = client.get("/staff/").get_data(as_text=True)
    assert "Open a staff member to see their route." in page
    assert f'href="/staff/{world.staff["ana"]}"' in page


def test_one_trainer_cannot_read_or_change_anothers_data(
    app: Flask, world: World, sqlite_engine
) -> None:
    from domain.db import session_scope
    from domain.models import Visit

    # Bea (trainer) has visit 2 on PLAN_DAY; Ana (technician) has visit 1.
    ana = app.test_client()
    token = login(ana, world.users["technician"])
    own = ana.get(f"/me/?day={DAY}").get_data(as_text=True)
    assert f'id="stop-{world.visits[0]}"' in own and "Carmen Ruiz" in own
    assert f'id="stop-{world.visits[1]}"' not in own and "David Soler" not in own
    # Bea's route, by asking for it explicitly: refused
    assert ana.get(f"/me/?staff={world.staff['bea']}&day={DAY}").status_code == 403
    # reporting an outcome on Bea's visit: as if it did not exist, and nothing recorded
    response = ana.post(
        f"/me/visits/{world.visits[1]}/outcome",
        data={"csrf_token": token, "outcome": "done", "note": ""},
    )
    assert response.status_code == 404
    with session_scope(sqlite_engine) as s:
        assert s.get(Visit, world.visits[1]).status == "planned"  # type: ignore[union-attr]
    # staff pages and the board are office-only
    assert ana.get(f"/staff/{world.staff['bea']}").status_code == 403
    assert ana.get(f"/board/{DAY}").status_code == 403
    # and the API: Bea's visit does not exist for Ana's token
    from web.api_tokens import issue_api_token

    with session_scope(sqlite_engine) as s:
        from sqlmodel import select

        from domain.models import User

        ana_user = s.exec(select(User).where(User.email == world.users["technician"])).one()
        raw = issue_api_token(s, ana_user.id, "ana phone")  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {raw}"}
    assert ana.get(f"/api/v1/visits/{world.visits[1]}", headers=headers).status_code == 404
    assert ana.get(f"/api/v1/visits/{world.visits[0]}", headers=headers).status_code == 200
    listed = ana.get("/api/v1/visits", headers=headers).get_json()["items"]
    assert [v["id"] for v in listed] == [world.visits[0]]
    assert ana.get(f"/api/v1/staff/{world.staff['bea']}", headers=headers).status_code == 404


def test_numbers_beyond_the_database_are_not_found_not_errors(app: Flask, world: World) -> None:
    client = app.test_client()
    token = login(client, world.users["dispatcher"])
    huge = 2**63
    assert client.get(f"/sales/{huge}").status_code == 404
    assert client.get(f"/staff/{huge}").status_code == 404
    assert client.get(f"/visits/?staff_id={huge}&page={huge}").status_code == 200
    assert client.get(f"/board/{DAY}?plan={huge}").status_code == 200  # ignored: latest plan
    assert client.get(f"/me/?staff={huge}").status_code == 404
    r = client.post(
        f"/board/{DAY}/visits/{world.visits[0]}/pin",
        data={"csrf_token": token, "staff_id": str(huge)},
    )
    assert r.status_code == 302
    assert "Unknown staff member." in client.get(r.location).get_data(as_text=True)
    assert (
        client.post(f"/board/{DAY}/visits/{huge}/pin", data={"csrf_token": token}).status_code
        == 404
    )
