"""The domain on both databases: validation refuses bad input and writes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlmodel import Session, func, select

from domain.db import session_scope
from domain.errors import Conflict, NotFound
from domain.models import AuditEntry, Customer, Sale, Visit, VisitWindow
from domain.schemas import CustomerIn, ProductIn, SaleIn, StaffIn, VisitIn, WindowIn
from domain.services import (
    create_customer,
    create_product,
    create_staff,
    register_sale,
    request_visit,
)

BOILER = ProductIn(
    sku="BOIL-24",
    name="Caldera 24 kW",
    installation_minutes=180,
    installation_skill="gas",
    maintenance_interval_days=365,
    maintenance_minutes=60,
    maintenance_skill="gas",
    warranty_months=24,
    contract_months=60,
)


def _customer(**overrides: object) -> CustomerIn:
    data = dict(
        name="Lucía Martínez",
        phone="612 345 678",
        locale="es",
        address="Calle de Colón 12, Valencia",
        latitude=39.4699,
        longitude=-0.3763,
    )
    data.update(overrides)
    return CustomerIn(**data)  # type: ignore[arg-type]


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_phone_is_stored_in_e164(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        customer = create_customer(s, _customer())
    with Session(engine) as s:
        stored = s.get(Customer, customer.id)
        assert stored is not None
        assert stored.phone == "+34612345678"


@pytest.mark.parametrize("phone", ["12", "not a phone", "+34 000", ""])
def test_invalid_phone_is_refused(phone: str) -> None:
    with pytest.raises(ValidationError, match="phone"):
        _customer(phone=phone)


def test_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValidationError, match="before it starts"):
        WindowIn(start=time(12, 0), end=time(9, 0))


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValidationError, match="duration_minutes"):
        VisitIn(
            sale_id=1,
            kind="repair",
            business_key="sale-1/repair-1",
            duration_minutes=-30,
            earliest_date=date(2026, 1, 5),
        )


def test_staff_hours_and_time_zone_are_checked() -> None:
    with pytest.raises(ValidationError, match="end before they start"):
        StaffIn(
            name="Ana",
            home_latitude=39.47,
            home_longitude=-0.37,
            work_start=time(17, 0),
            work_end=time(8, 0),
        )
    with pytest.raises(ValidationError, match="unknown time zone"):
        StaffIn(name="Ana", home_latitude=39.47, home_longitude=-0.37, timezone="Mars/Base")


def test_unknown_product_writes_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        customer = create_customer(s, _customer())
    before_audit = _count(engine, AuditEntry)
    with pytest.raises(NotFound, match="unknown product 'NOPE'"):
        with session_scope(engine) as s:
            register_sale(
                s, SaleIn(customer_id=customer.id, product_sku="NOPE", sold_on=date(2026, 1, 2))
            )
    assert _count(engine, Sale) == 0
    assert _count(engine, AuditEntry) == before_audit


def test_sale_gets_workflow_id_from_its_id_and_an_audit_entry(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        create_product(s, BOILER)
        customer = create_customer(s, _customer())
        sale = register_sale(
            s, SaleIn(customer_id=customer.id, product_sku="BOIL-24", sold_on=date(2026, 1, 2))
        )
    assert sale.workflow_id == f"sale-{sale.id}"
    assert sale.contract_months == 60  # the product's default contract
    with Session(engine) as s:
        actions = s.exec(select(AuditEntry.action)).all()
    assert "sale.register" in actions


def test_duplicate_sku_and_external_ref_conflict(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        create_product(s, BOILER)
        customer = create_customer(s, _customer())
        register_sale(
            s,
            SaleIn(
                customer_id=customer.id,
                product_sku="BOIL-24",
                sold_on=date(2026, 1, 2),
                external_ref="ERP-1",
            ),
        )
    with pytest.raises(Conflict):
        with session_scope(engine) as s:
            create_product(s, BOILER)
    with pytest.raises(Conflict, match="ERP-1"):
        with session_scope(engine) as s:
            register_sale(
                s,
                SaleIn(
                    customer_id=customer.id,
                    product_sku="BOIL-24",
                    sold_on=date(2026, 1, 3),
                    external_ref="ERP-1",
                ),
            )
    assert _count(engine, Sale) == 1


def test_request_visit_is_idempotent_and_keeps_windows(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        create_product(s, BOILER)
        customer = create_customer(s, _customer())
        sale = register_sale(
            s, SaleIn(customer_id=customer.id, product_sku="BOIL-24", sold_on=date(2026, 1, 2))
        )
    data = VisitIn(
        sale_id=sale.id,
        kind="installation",
        business_key=f"sale-{sale.id}/installation",
        duration_minutes=180,
        required_skills=["Gas"],
        earliest_date=date(2026, 1, 5),
        windows=[WindowIn(start=time(9, 0), end=time(13, 0))],
    )
    with session_scope(engine) as s:
        first = request_visit(s, data)
    with session_scope(engine) as s:
        second = request_visit(s, data)
    assert first.id == second.id
    assert _count(engine, Visit) == 1
    assert _count(engine, VisitWindow) == 1
    with Session(engine) as s:
        stored = s.get(Visit, first.id)
        assert stored is not None and stored.required_skills == ["gas"]


def test_datetimes_come_back_aware_utc(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        create_product(s, BOILER)
        customer = create_customer(s, _customer())
        sale = register_sale(
            s, SaleIn(customer_id=customer.id, product_sku="BOIL-24", sold_on=date(2026, 1, 2))
        )
        visit = request_visit(
            s,
            VisitIn(
                sale_id=sale.id,
                kind="repair",
                business_key="k1",
                duration_minutes=60,
                earliest_date=date(2026, 1, 5),
            ),
        )
        madrid = timezone(timedelta(hours=1))
        visit.planned_start = datetime(2026, 1, 5, 10, 30, tzinfo=madrid)
    with Session(engine) as s:
        stored = s.get(Visit, visit.id)
        assert stored is not None
        assert stored.planned_start == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
        assert stored.planned_start.tzinfo is not None


def test_naive_datetime_is_refused(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception, match="naive datetime"):
        with session_scope(engine) as s:
            create_product(s, BOILER)
            customer = create_customer(s, _customer())
            sale = register_sale(
                s, SaleIn(customer_id=customer.id, product_sku="BOIL-24", sold_on=date(2026, 1, 2))
            )
            visit = request_visit(
                s,
                VisitIn(
                    sale_id=sale.id,
                    kind="repair",
                    business_key="k2",
                    duration_minutes=60,
                    earliest_date=date(2026, 1, 5),
                ),
            )
            visit.planned_start = datetime(2026, 1, 5, 10, 30)
    assert _count(engine, Sale) == 0


def test_staff_skills_are_normalized(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        staff = create_staff(
            s,
            StaffIn(
                name="Pau",
                skills=["Gas", "gas", "hvac"],
                home_latitude=39.47,
                home_longitude=-0.37,
                phone="+34 699 111 222",
            ),
        )
    assert staff.skills == ["gas", "hvac"]
    assert staff.phone == "+34699111222"
