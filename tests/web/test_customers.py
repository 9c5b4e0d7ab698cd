"""Correcting a customer's details: phone, language, address (where the visits go)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.db import session_scope
from domain.models import AuditEntry, Customer
from tests.web.conftest import flashes
from tests.web.factories import PLAN_DAY, World


def _form(token: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": token, "name": "Carmen Ruiz", "phone": "+34612345670", "email": "",
        "locale": "es", "address": "Calle 1, València", "latitude": "39.46",
        "longitude": "-0.37",
    }  # fmt: skip
    return {**form, **changes}


def test_a_dispatcher_corrects_a_customers_phone_and_language(
    client_for, sqlite_engine: Engine, world: World
) -> None:
    client, token = client_for("dispatcher")
    carmen, sale = world.customers[0], world.sales[0]
    with session_scope(sqlite_engine) as s:
        s.get(Customer, carmen).sms_opt_out = True  # type: ignore[union-attr]
    sale_page = client.get(f"/sales/{sale}").get_data(as_text=True)
    assert f'href="/customers/{carmen}/edit?sale={sale}"' in sale_page
    page = client.get(f"/customers/{carmen}/edit").get_data(as_text=True)
    assert 'name="phone" required value="+34612345670"' in page and "answered STOP" in page
    response = client.post(
        f"/customers/{carmen}/edit?sale={sale}",
        data=_form(token, phone="611 22 33 44", locale="en"),
    )
    assert response.status_code == 302 and response.location.endswith(f"/sales/{sale}")
    assert "Customer saved." in client.get(response.location).get_data(as_text=True)
    with Session(sqlite_engine) as s:
        customer = s.get(Customer, carmen)
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "customer.update")).one()
    assert customer is not None
    assert (customer.phone, customer.locale) == ("+34611223344", "en")
    assert customer.sms_opt_out is True  # only the customer's own START changes it
    assert audit.details["changed"] == {
        "phone": ["+34612345670", "+34611223344"], "locale": ["es", "en"]
    }  # fmt: skip
    bad = client.post(f"/customers/{carmen}/edit", data=_form(token, phone="12"))
    assert bad.status_code == 422 and 'value="12"' in bad.get_data(as_text=True)
    with Session(sqlite_engine) as s:
        assert s.get(Customer, carmen).phone == "+34611223344"  # type: ignore[union-attr]
    assert client.get("/customers/999/edit").status_code == 404


def test_a_corrected_address_is_located_and_its_planned_days_named(
    settings, sqlite_engine: Engine, world: World
) -> None:
    """Carmen's installation is planned on PLAN_DAY at the old address: the dispatcher is told
    to re-optimize that day so that the route goes to the new one."""
    from tests.domain.fake_nominatim import serve_nominatim
    from tests.web.conftest import login, make_app

    carmen = world.customers[0]
    places = {"Carrer de Xàtiva 24, València": (39.4669, -0.3774, "24, Carrer de Xàtiva")}
    with serve_nominatim(places) as fake:
        client = make_app(settings.replace(geocoder_url=fake.url), sqlite_engine).test_client()
        token = login(client, world.users["dispatcher"])
        response = client.post(
            f"/customers/{carmen}/edit",
            data=_form(token, address="Carrer de Xàtiva 24, València"),
        )
        page = client.get(response.location).get_data(as_text=True)
    assert response.status_code == 302
    assert "Address located: 24, Carrer de Xàtiva" in page
    link = f'<a href="/board/{PLAN_DAY.isoformat()}">{PLAN_DAY:%a} {PLAN_DAY.day} {PLAN_DAY:%b}</a>'
    assert f"Visits are planned at their address on {link}" in page
    with Session(sqlite_engine) as s:
        customer = s.get(Customer, carmen)
    assert customer is not None and (customer.latitude, customer.longitude) == (39.4669, -0.3774)


def test_technicians_cannot_edit_customers(client_for, world: World) -> None:
    client, _ = client_for("technician")
    assert client.get(f"/customers/{world.customers[0]}/edit").status_code == 403


def test_an_admin_erases_a_customer_who_asked_and_a_dispatcher_cannot(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from domain.models import Sale

    carmen = world.customers[0]
    admin, token = client_for("admin")
    url = f"/customers/{carmen}/erase"

    def erase(**form: str) -> list[str]:
        r = admin.post(url, data={"csrf_token": token, **form})
        page = admin.get(r.location).get_data(as_text=True)
        return flashes(page)

    assert 'id="erase-form"' in admin.get(f"/customers/{carmen}/edit").get_data(as_text=True)
    assert erase() == ["Tick the box to confirm the customer asked to be erased."]
    assert erase(confirm="1") == [
        f"sale {world.sales[0]} is still active: cancel it before erasing the customer"
    ]
    with session_scope(sqlite_engine) as s:
        sale = s.get(Sale, world.sales[0])
        assert sale is not None
        sale.status = "cancelled"
    dispatcher, dispatcher_token = client_for("dispatcher")
    assert (
        dispatcher.post(url, data={"csrf_token": dispatcher_token, "confirm": "1"}).status_code
        == 403
    )
    assert 'id="erase-form"' not in dispatcher.get(f"/customers/{carmen}/edit").get_data(True)
    assert erase(confirm="1") == [
        "The customer&#39;s personal data is erased; their sales and visits stay."
    ]
    with Session(sqlite_engine) as s:
        customer = s.get(Customer, carmen)
        assert customer is not None and (customer.name, customer.phone) == (
            f"(erased #{carmen})", ""
        )  # fmt: skip
    assert (
        admin.post("/customers/999/erase", data={"csrf_token": token, "confirm": "1"}).status_code
        == 404
    )
