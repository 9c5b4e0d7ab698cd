"""JSON API: bearer tokens, validation (nothing written on bad input), JSON errors, plans."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from domain.db import session_scope
from domain.models import AuditEntry, Customer, Product, Sale, User
from posventa.config import Settings
from tests.web.conftest import make_app
from tests.web.factories import NEXT_DAY, PLAN_DAY, World, make_world
from web.api_tokens import issue_api_token, revoke_api_token
from web.sale_start import pending_sale_ids

DAY = PLAN_DAY.isoformat()


def token_for(engine: Engine, email: str) -> str:
    with session_scope(engine) as s:
        user = s.exec(select(User).where(User.email == email)).one()
        return issue_api_token(s, user.id, f"test {email}")  # type: ignore[arg-type]


@pytest.fixture
def api(app: Flask, world: World, sqlite_engine: Engine) -> Callable[..., FlaskClient]:
    client = app.test_client()
    raw = token_for(sqlite_engine, world.users["dispatcher"])
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(Sale)).one(),
            s.exec(select(func.count()).select_from(Customer)).one(),
        )


NEW_SALE = {
    "customer": {
        "name": "Laura Gómez",
        "phone": "612 345 678",
        "latitude": 39.47,
        "longitude": -0.37,
        "address": "Calle Colón 1, València",
    },
    "product_sku": "BOIL-1",
    "sold_on": "2026-11-20",
    "external_ref": "ERP-1001",
}


def test_openapi_document_is_public_and_lists_the_operations(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    ops = {op["operationId"] for path in doc["paths"].values() for op in path.values()}
    assert {"createSale", "getSale", "listVisits", "getPlan", "optimizePlan", "approvePlan",
            "listStaff"} <= ops  # fmt: skip
    assert "NewSale" in doc["components"]["schemas"]


def test_requests_without_a_valid_token_get_401(
    app: Flask, world: World, sqlite_engine: Engine
) -> None:
    client = app.test_client()
    assert client.get("/api/v1/sales").status_code == 401
    body = client.get("/api/v1/sales", headers={"Authorization": "Bearer pv_nope"}).get_json()
    assert body["error"] == "the API token is unknown or revoked"
    raw = token_for(sqlite_engine, world.users["dispatcher"])
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/sales", headers=headers).status_code == 200
    with session_scope(sqlite_engine) as s:
        revoke_api_token(s, 1)
    assert client.get("/api/v1/sales", headers=headers).status_code == 401
    with Session(sqlite_engine) as s:  # only the hash is stored
        from domain.models import ApiToken

        stored = s.exec(select(ApiToken)).one()
        assert raw not in stored.token_hash and len(stored.token_hash) == 64


def test_technician_tokens_may_not_register_sales(
    app: Flask, world: World, sqlite_engine: Engine
) -> None:
    raw = token_for(sqlite_engine, world.users["technician"])
    client = app.test_client()
    response = client.post(
        "/api/v1/sales", json=NEW_SALE, headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 403
    assert response.get_json()["error"] == "this token's account may not do this"


def test_create_sale_stores_it_even_when_temporal_is_down(
    api: FlaskClient, sqlite_engine: Engine
) -> None:
    before = counts(sqlite_engine)
    response = api.post("/api/v1/sales", json=NEW_SALE)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["stage"] == "registered" and body["product_sku"] == "BOIL-1"
    assert body["customer_name"] == "Laura Gómez" and body["visits"] == []
    # Temporal is not running in this test: the sale is kept and its start is pending
    assert body["workflow_started"] is False
    assert counts(sqlite_engine) == (before[0] + 1, before[1] + 1)
    with Session(sqlite_engine) as s:
        assert pending_sale_ids(s) == [body["id"]]
        customer = s.get(Customer, body["customer_id"])
        assert customer is not None and customer.phone == "+34612345678"
    got = api.get(f"/api/v1/sales/{body['id']}").get_json()
    assert got["id"] == body["id"] and got["external_ref"] == "ERP-1001"
    # the same external reference again: 409, nothing new written
    again = api.post("/api/v1/sales", json=NEW_SALE)
    assert again.status_code == 409
    assert "ERP-1001" in again.get_json()["error"]
    assert counts(sqlite_engine) == (before[0] + 1, before[1] + 1)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({**NEW_SALE, "product_sku": "NOPE"}, 404, "unknown product"),
        ({**NEW_SALE, "sold_on": "yesterday"}, 422, "sold_on"),
        ({**NEW_SALE, "customer": {**NEW_SALE["customer"], "phone": "12"}}, 422, "phone"),
        ({**NEW_SALE, "customer_id": 1}, 422, "either customer_id or customer"),
        ({**NEW_SALE, "surprise": True}, 422, "surprise"),
        (
            {"product_sku": "BOIL-1", "sold_on": "2026-11-20", "customer_id": 999},
            404,
            "unknown customer",
        ),
    ],
)
def test_invalid_sales_are_refused_and_nothing_is_written(
    api: FlaskClient, sqlite_engine: Engine, body: dict, status: int, fragment: str
) -> None:
    before = counts(sqlite_engine)
    response = api.post("/api/v1/sales", json=body)
    assert response.status_code == status
    text = str(response.get_json())
    assert fragment in text, text
    assert counts(sqlite_engine) == before


def test_malformed_requests_get_clear_json_errors(api: FlaskClient) -> None:
    r = api.post("/api/v1/sales", data="not json", content_type="text/plain")
    assert r.status_code == 415 and "JSON" in r.get_json()["error"]
    r = api.post("/api/v1/sales", data="[1, 2", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error"] == "the body must be a JSON object"
    r = api.get("/api/v1/sales?limit=0")
    assert r.status_code == 400
    r = api.get("/api/v1/nowhere")
    assert r.status_code == 404 and "error" in r.get_json()
    r = api.delete("/api/v1/sales")
    assert r.status_code == 405 and "error" in r.get_json()
    r = api.get("/api/v1/plans/2026-13-45")
    assert r.status_code == 400 and "not a date" in r.get_json()["error"]


def test_get_sale_lists_its_visits(api: FlaskClient, world: World) -> None:
    body = api.get(f"/api/v1/sales/{world.sales[0]}").get_json()
    assert [v["id"] for v in body["visits"]] == [world.visits[0]]
    assert body["visits"][0]["kind"] == "installation"
    assert api.get("/api/v1/sales/999").status_code == 404
    listed = api.get("/api/v1/sales?stage=registered").get_json()["items"]
    assert {s["id"] for s in listed} == set(world.sales)
    assert body["contract_months"] == 0 and body["contract_ends_on"] is None


def test_a_sale_says_when_its_contract_ends(
    api: FlaskClient, world: World, sqlite_engine: Engine
) -> None:
    from datetime import date

    from domain.db import session_scope
    from domain.models import Sale

    with session_scope(sqlite_engine) as s:
        sale = s.get(Sale, world.sales[0])
        assert sale is not None
        sale.sold_on, sale.contract_months = date(2026, 1, 31), 13
    body = api.get(f"/api/v1/sales/{world.sales[0]}").get_json()
    assert body["contract_ends_on"] == "2027-02-27"  # 31 Jan + 13 months = 28 Feb, the day before


def test_visits_and_staff(api: FlaskClient, world: World, sqlite_engine: Engine) -> None:
    from datetime import UTC, datetime

    from domain.models import Visit

    with session_scope(sqlite_engine) as s:  # checked in, not reported yet
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.arrived_at = datetime(2026, 12, 9, 8, 55, tzinfo=UTC)
    items = api.get(f"/api/v1/visits?staff_id={world.staff['ana']}").get_json()["items"]
    assert [v["id"] for v in items] == [world.visits[0]]
    assert (items[0]["arrived_at"], items[0]["finished_at"]) == ("2026-12-09T08:55:00+00:00", None)
    items = api.get("/api/v1/visits?status=requested").get_json()["items"]
    assert [v["id"] for v in items] == [world.unassigned_visit]
    assert api.get("/api/v1/visits?status=bogus").status_code == 400
    staff = api.get("/api/v1/staff").get_json()["items"]
    assert [m["name"] for m in staff] == ["Ana Técnica", "Bea Formadora"]
    ana = api.get(f"/api/v1/staff/{world.staff['ana']}").get_json()
    assert ana["skills"] == ["boiler"] and ana["absences"] == []


def test_get_plan_of_a_day(api: FlaskClient, world: World) -> None:
    body = api.get(f"/api/v1/plans/{DAY}").get_json()
    assert body["plan"]["id"] == world.plan_id and body["plan"]["status"] == "draft"
    routes = {r["staff_name"]: r for r in body["routes"]}
    assert [s["visit_id"] for s in routes["Ana Técnica"]["stops"]] == [world.visits[0], None]
    assert routes["Ana Técnica"]["stops"][1]["kind"] == "break"
    assert body["unassigned"][0]["visit_id"] == world.unassigned_visit
    assert body["figures"]["visits_planned"] == 2
    empty = api.get(f"/api/v1/plans/{NEXT_DAY}").get_json()
    assert empty["plan"] is None and empty["routes"] == []


def test_optimize_drafts_a_new_plan(api: FlaskClient, world: World) -> None:
    response = api.post(f"/api/v1/plans/{DAY}/optimize", json={"seconds": 1})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["plan_id"] != world.plan_id
    assert body["assigned"] + body["unassigned"] == 3
    assert body["via"] == "direct"  # Temporal is not running in this test
    plan = api.get(f"/api/v1/plans/{DAY}").get_json()
    assert plan["plan"]["id"] == body["plan_id"]
    assert api.post(f"/api/v1/plans/{DAY}/optimize", json={"seconds": 0}).status_code == 422


def test_approve_without_temporal_is_503_and_changes_nothing(
    api: FlaskClient, world: World, sqlite_engine: Engine
) -> None:
    assert api.post(f"/api/v1/plans/{DAY}/approve", json={"plan_id": 999}).status_code == 404
    response = api.post(f"/api/v1/plans/{DAY}/approve", json={"plan_id": world.plan_id})
    assert response.status_code == 503
    assert "Temporal" in response.get_json()["error"]
    with Session(sqlite_engine) as s:
        from domain.models import DailyPlan

        assert s.get(DailyPlan, world.plan_id).status == "draft"  # type: ignore[union-attr]


def test_api_works_on_postgresql_too(settings: Settings, engine: Engine) -> None:
    """The API's reads and writes on both databases (the ``engine`` fixture is parametrized)."""
    w = make_world(engine)
    app = make_app(settings, engine)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token_for(engine, w.users['admin'])}"
    created = client.post("/api/v1/sales", json=NEW_SALE)
    assert created.status_code == 201
    assert client.get(f"/api/v1/plans/{DAY}").get_json()["plan"]["id"] == w.plan_id
    with Session(engine) as s:
        actions = {a.action for a in s.exec(select(AuditEntry))}
    assert {"sale.register", "sale.workflow_pending", "api_token.issue"} <= actions


def test_out_of_range_input_is_a_4xx_not_a_crash(api: FlaskClient, sqlite_engine: Engine) -> None:
    assert api.get(f"/api/v1/sales/{2**63}").status_code == 404
    assert api.get(f"/api/v1/visits?sale_id={2**63}").status_code == 400
    assert api.get(f"/api/v1/sales?offset={2**63}").status_code == 400
    before = counts(sqlite_engine)
    nul = {**NEW_SALE, "customer": {**NEW_SALE["customer"], "name": "Ana\x00"}}
    assert api.post("/api/v1/sales", json=nul).status_code == 422
    assert (
        api.post(
            "/api/v1/sales", json={**NEW_SALE, "customer_id": 2**40, "customer": None}
        ).status_code
        == 422
    )
    assert counts(sqlite_engine) == before
    assert api.post("/api/v1/plans/2001-01-01/optimize", json={}).status_code == 409
    assert api.post("/api/v1/plans/2999-01-01/optimize", json={}).status_code == 422


def test_a_customer_sent_without_coordinates_is_located_from_the_address(
    settings: Settings, sqlite_engine: Engine, world: World
) -> None:
    from tests.domain.fake_nominatim import serve_nominatim

    found = (39.4669, -0.3774, "24, Carrer de Xàtiva, València")
    customer = {k: v for k, v in NEW_SALE["customer"].items() if k not in ("latitude", "longitude")}
    body = {**NEW_SALE, "customer": {**customer, "address": "Carrer de Xàtiva 24, València"}}
    with serve_nominatim({"Carrer de Xàtiva 24, València": found}) as fake:
        client = make_app(settings.replace(geocoder_url=fake.url), sqlite_engine).test_client()
        raw = token_for(sqlite_engine, world.users["dispatcher"])
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
        before = counts(sqlite_engine)
        unknown = client.post("/api/v1/sales", json={
            **body, "customer": {**body["customer"], "address": "Calle Inventada 0"}
        })  # fmt: skip
        created = client.post("/api/v1/sales", json=body)
    assert unknown.status_code == 422
    assert unknown.get_json()["details"] == [
        {"loc": ["customer", "address"], "message": "no place found for 'Calle Inventada 0'"}
    ]
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["address_located"] == "24, Carrer de Xàtiva, València"
    assert counts(sqlite_engine) == (before[0] + 1, before[1] + 1)
    with Session(sqlite_engine) as s:
        stored = s.get(Customer, created.get_json()["customer_id"])
        assert stored is not None and (stored.latitude, stored.longitude) == (39.4669, -0.3774)


def test_an_erp_keeps_the_catalogue_in_step(api: FlaskClient, sqlite_engine: Engine) -> None:
    """PUT /products/{sku} creates the product, then changes it; a sale can name it at once."""
    oven = {
        "sku": "OVEN-9", "name": "Horno mixto", "name_en": "Combi oven",
        "installation_minutes": 120, "installation_skill": "Ovens",
        "maintenance_interval_days": 180, "maintenance_minutes": 60, "maintenance_skill": "ovens",
    }  # fmt: skip
    created = api.put("/api/v1/products/OVEN-9", json=oven)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["installation_skill"] == "ovens"
    changed = api.put("/api/v1/products/OVEN-9", json={**oven, "warranty_months": 36})
    assert changed.status_code == 200 and changed.get_json()["warranty_months"] == 36
    assert changed.get_json()["id"] == created.get_json()["id"]
    listed = api.get("/api/v1/products").get_json()["items"]
    assert [p["sku"] for p in listed] == ["BOIL-1", "OVEN-9"]
    sale = api.post("/api/v1/sales", json={**NEW_SALE, "product_sku": "OVEN-9"})
    assert sale.status_code == 201 and sale.get_json()["product_name"] == "Horno mixto"
    # refused, nothing written: a new product named differently in the path and the body,
    # a rename onto another product's SKU, a product whose maintenance has no skill
    assert api.put("/api/v1/products/NEW-1", json={**oven, "sku": "NEW-2"}).status_code == 422
    assert api.put("/api/v1/products/OVEN-9", json={**oven, "sku": "BOIL-1"}).status_code == 409
    no_skill = {**oven, "maintenance_skill": None}
    assert api.put("/api/v1/products/OVEN-9", json=no_skill).status_code == 422
    with Session(sqlite_engine) as s:
        skus = sorted(s.exec(select(Product.sku)).all())
        oven_row = s.exec(select(Product).where(Product.sku == "OVEN-9")).one()
    assert skus == ["BOIL-1", "OVEN-9"] and oven_row.maintenance_skill == "ovens"


def test_technician_tokens_may_not_change_the_catalogue(
    app: Flask, sqlite_engine: Engine, world: World
) -> None:
    client = app.test_client()
    raw = token_for(sqlite_engine, world.users["technician"])
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    assert client.put("/api/v1/products/X", json={"sku": "X", "name": "X"}).status_code == 403
