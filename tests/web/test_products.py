"""The product catalogue: dispatchers add and change what each product owes its customers."""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.db import session_scope
from domain.models import AuditEntry, Product
from tests.web.conftest import csrf_from
from tests.web.factories import World

SOLAR = {
    "sku": "SOLAR-3", "name": "Kit solar 3 kW", "name_en": "Solar kit 3 kW",
    "installation_minutes": "240", "installation_skill": " Solar ",
    "maintenance_interval_days": "365", "maintenance_minutes": "60",
    "maintenance_skill": "solar", "repair_minutes": "", "repair_skill": "",
    "warranty_months": "60", "contract_months": "", "active": "1",
}  # fmt: skip


BOILER = {  # the world's boiler as its edit form holds it
    "sku": "BOIL-1", "name": "Boiler", "installation_minutes": "90",
    "installation_skill": "boiler", "training_sessions": "1", "training_minutes": "60",
    "training_skill": "boiler_training", "warranty_months": "24", "active": "1",
}  # fmt: skip


def boiler_id(engine: Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(Product.id).where(Product.sku == "BOIL-1")).one()  # type: ignore[return-value]


def problems(html: str) -> list[str]:
    return [p.replace("&#39;", "'") for p in re.findall(r"<li>([^<]*)</li>", html)]


def test_a_dispatcher_adds_a_product_and_is_told_nobody_can_install_it(
    client_for, sqlite_engine: Engine, world: World
) -> None:
    client, token = client_for("dispatcher")
    assert "BOIL-1" in client.get("/products/").get_data(as_text=True)
    response = client.post("/products/new", data={"csrf_token": token, **SOLAR})
    assert response.status_code == 302
    listing = client.get(response.location).get_data(as_text=True)
    assert "Product added." in listing
    assert "No active staff member has the skill solar" in listing
    assert "Solar kit 3 kW" in listing and "nobody has: solar" in listing
    with Session(sqlite_engine) as s:
        product = s.exec(select(Product).where(Product.sku == "SOLAR-3")).one()
    # empty fields take the defaults: repairs of an hour, no contract, any skill for repairs
    assert (product.installation_minutes, product.maintenance_interval_days) == (240, 365)
    assert (product.repair_minutes, product.repair_skill, product.contract_months) == (60, None, 0)
    assert (product.name_for("en"), product.name_for("es")) == ("Solar kit 3 kW", "Kit solar 3 kW")


def test_a_product_that_cannot_be_planned_is_refused_and_nothing_is_saved(
    client_for, sqlite_engine: Engine, world: World
) -> None:
    client, token = client_for("dispatcher")
    no_skill = client.post(
        "/products/new", data={"csrf_token": token, **SOLAR, "installation_skill": ""}
    )
    taken = client.post("/products/new", data={"csrf_token": token, **SOLAR, "sku": "BOIL-1"})
    bad_number = client.post(
        "/products/new", data={"csrf_token": token, **SOLAR, "warranty_months": "-1"}
    )
    assert no_skill.status_code == taken.status_code == bad_number.status_code == 422
    assert any(
        "installation needs installation_skill" in p for p in problems(no_skill.get_data(True))
    )
    assert problems(taken.get_data(True)) == ["a product with SKU 'BOIL-1' already exists"]
    assert any("warranty_months" in p for p in problems(bad_number.get_data(True)))
    assert 'value="Kit solar 3 kW"' in bad_number.get_data(True)  # what was typed is kept
    with Session(sqlite_engine) as s:
        assert s.exec(select(Product).where(Product.sku == "SOLAR-3")).first() is None


def test_editing_a_product_changes_it_and_audits_what_changed(
    client_for, sqlite_engine: Engine, world: World
) -> None:
    client, token = client_for("dispatcher")
    boiler = boiler_id(sqlite_engine)
    page = client.get(f"/products/{boiler}/edit").get_data(as_text=True)
    assert 'name="installation_minutes" placeholder="0" value="90"' in page
    form = {**BOILER, "csrf_token": token, "name": "Caldera", "name_en": "Boiler",
            "installation_minutes": "120"}  # fmt: skip
    response = client.post(f"/products/{boiler}/edit", data=form)
    assert response.status_code == 302
    assert "Product saved." in client.get(response.location).get_data(as_text=True)
    assert client.get("/products/999/edit").status_code == 404
    with Session(sqlite_engine) as s:
        boiler = s.exec(select(Product).where(Product.sku == "BOIL-1")).one()
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "product.update")).one()
    assert (boiler.name, boiler.name_en, boiler.installation_minutes) == ("Caldera", "Boiler", 120)
    assert audit.actor == world.users["dispatcher"]
    assert audit.details["changed"] == {
        "name": ["Boiler", "Caldera"], "name_en": [None, "Boiler"],
        "installation_minutes": [90, 120],
    }  # fmt: skip


def test_technicians_do_not_see_the_catalogue(client_for, world: World) -> None:
    client, _ = client_for("technician")
    assert client.get("/products/").status_code == 403


def test_the_sale_form_points_to_the_catalogue_when_it_is_empty(
    settings, sqlite_engine: Engine
) -> None:
    from domain.models import UserRole
    from domain.users import UserIn, create_user
    from tests.web.conftest import login, make_app
    from tests.web.factories import PASSWORD

    with session_scope(sqlite_engine) as s:
        create_user(s, UserIn(email="d@example.com", name="D", role=UserRole.DISPATCHER,
                              password=PASSWORD, locale="en"))  # fmt: skip
    client = make_app(settings, sqlite_engine).test_client()
    login(client, "d@example.com")
    page = client.get("/sales/new").get_data(as_text=True)
    assert 'id="no-products"' in page and 'href="/products/new"' in page
    assert "No products yet: add the first one" in client.get("/products/").get_data(True)


def test_the_sale_form_has_no_catalogue_hint_once_there_are_products(
    client_for, world: World
) -> None:
    client, _ = client_for("dispatcher")
    assert 'id="no-products"' not in client.get("/sales/new").get_data(as_text=True)


def test_a_product_no_longer_sold_leaves_the_sale_form_and_keeps_its_sales(
    client_for, sqlite_engine: Engine, world: World
) -> None:
    client, token = client_for("dispatcher")
    boiler = boiler_id(sqlite_engine)
    form = client.get(f"/products/{boiler}/edit").get_data(as_text=True)
    assert 'name="active" value="1" checked' in form
    assert client.post("/products/new", data={"csrf_token": token, **SOLAR}).status_code == 302
    not_sold = {k: v for k, v in BOILER.items() if k != "active"}  # the box cleared
    assert (
        client.post(f"/products/{boiler}/edit", data={**not_sold, "csrf_token": token}).status_code
        == 302
    )
    sale_form = client.get("/sales/new").get_data(as_text=True)
    assert 'value="SOLAR-3"' in sale_form and 'value="BOIL-1"' not in sale_form
    listing = client.get("/products/").get_data(as_text=True)
    assert "not sold" in listing and "BOIL-1" in listing
    sale = client.get(f"/sales/{world.sales[0]}")  # its sales go on
    assert sale.status_code == 200 and "Boiler" in sale.get_data(as_text=True)
    with Session(sqlite_engine) as s:
        assert s.get(Product, boiler).active is False  # type: ignore[union-attr]


def test_a_products_sales_are_one_click_away(
    client_for, sqlite_engine: Engine, world: World
) -> None:
    """A recall or a campaign starts from the product: its sale count links to its sales."""
    from domain.schemas import SaleIn
    from domain.services import register_sale

    client, token = client_for("dispatcher")
    assert client.post("/products/new", data={"csrf_token": token, **SOLAR}).status_code == 302
    with session_scope(sqlite_engine) as s:
        register_sale(s, SaleIn(customer_id=world.customers[2], product_sku="SOLAR-3",
                                sold_on="2026-11-30"))  # fmt: skip
    listing = client.get("/products/").get_data(as_text=True)
    assert 'href="/sales/?product=SOLAR-3">1</a>' in listing
    assert 'href="/sales/?product=BOIL-1">3</a>' in listing
    solar = client.get("/sales/?product=SOLAR-3").get_data(as_text=True)
    table = solar[solar.index('id="sales"') :]
    assert "Eva Pons" in table and "Carmen Ruiz" not in table
    assert '<option value="SOLAR-3" selected>' in solar
    nothing = client.get("/sales/?product=NOPE").get_data(as_text=True)
    assert "Eva Pons" not in nothing[nothing.index('id="sales"') :]


def test_pages_in_english_name_products_by_their_english_name(
    client_for, sqlite_engine: Engine, world: World
) -> None:
    with session_scope(sqlite_engine) as s:
        boiler = s.exec(select(Product).where(Product.sku == "BOIL-1")).one()
        boiler.name, boiler.name_en = "Caldera", "Boiler (EN)"
    client, _ = client_for("dispatcher")  # the test accounts read English
    for path in ("/sales/", f"/sales/{world.sales[0]}", "/sales/new",
                 f"/customers/{world.customers[0]}/edit"):  # fmt: skip
        page = client.get(path).get_data(as_text=True)
        assert "Boiler (EN)" in page and "Caldera" not in page, path
    client.post("/account/locale", data={"locale": "es", "csrf_token": csrf_from(client, "/")})
    assert "Caldera" in client.get("/sales/").get_data(as_text=True)
