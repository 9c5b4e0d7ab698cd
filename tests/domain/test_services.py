"""Changing stored records on both databases: products, staff and customers are corrected
field by field (audited), and what depends on them follows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domain.db import session_scope
from domain.errors import Conflict, DomainError, NotFound
from domain.models import (
    AuditEntry,
    Customer,
    Product,
    Staff,
    StaffAbsence,
    User,
    UserRole,
    Visit,
)
from domain.schemas import AbsenceIn, CustomerIn, ProductIn, SaleIn, StaffIn, VisitIn
from domain.services import (
    add_absence,
    create_customer,
    create_product,
    create_staff,
    register_sale,
    request_visit,
    update_customer,
    update_product,
    update_staff,
    withdraw_absence,
)
from domain.users import UserIn, create_user
from domain.visits import upcoming_visit_days

OVEN = ProductIn(sku="OVEN-1", name="Horno", installation_minutes=60, installation_skill="ovens")
ANA = StaffIn(name="Ana", skills=["ovens"], home_latitude=39.47, home_longitude=-0.38)
LUCIA = CustomerIn(name="Lucía", phone="612 345 678", latitude=39.46, longitude=-0.37)


def changes(engine: Engine, action: str) -> list[dict]:
    with Session(engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.action == action)).all()
        return [r.details["changed"] for r in rows]


def test_a_product_is_changed_field_by_field_and_keeps_its_sku_unique(engine: Engine) -> None:
    with session_scope(engine) as s:
        oven = create_product(s, OVEN).id
        create_product(s, OVEN.model_copy(update={"sku": "OVEN-2"}))
    with session_scope(engine) as s:
        update_product(s, oven, OVEN.model_copy(update={"name_en": "Oven", "active": False}))  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="OVEN-2"), session_scope(engine) as s:
        update_product(s, oven, OVEN.model_copy(update={"sku": "OVEN-2"}))  # type: ignore[arg-type]
    with pytest.raises(NotFound), session_scope(engine) as s:
        update_product(s, 999, OVEN)
    with Session(engine) as s:
        stored = s.get(Product, oven)
        assert stored is not None and (stored.sku, stored.name_en, stored.active) == (
            "OVEN-1", "Oven", False
        )  # fmt: skip
    assert changes(engine, "product.update") == [
        {"name_en": [None, "Oven"], "active": [True, False]}
    ]


def test_a_staff_member_who_leaves_loses_sign_in_and_pins_but_keeps_history(
    engine: Engine,
) -> None:
    pinned_at = datetime(2026, 12, 8, 9, tzinfo=UTC)
    with session_scope(engine) as s:
        ana = create_staff(s, ANA).id
        create_user(s, UserIn(email="ana@example.com", name="Ana", role=UserRole.TECHNICIAN,
                              password="a long password", staff_id=ana))  # fmt: skip
        customer = create_customer(s, LUCIA).id
        create_product(s, OVEN)
        sale = register_sale(s, SaleIn(customer_id=customer, product_sku="OVEN-1",  # type: ignore[arg-type]
                                       sold_on=date(2026, 12, 1))).id  # fmt: skip
        visit = request_visit(s, VisitIn(sale_id=sale, kind="installation",  # type: ignore[arg-type]
                                         business_key="k", duration_minutes=60,
                                         earliest_date=date(2026, 12, 8)))  # fmt: skip
        visit.status, visit.assigned_staff_id, visit.planned_start = "planned", ana, pinned_at
        visit.pinned_staff_id, visit.pinned_start = ana, pinned_at
        visit_id = visit.id
    with session_scope(engine) as s:
        assert upcoming_visit_days(s, date(2026, 12, 7), "Europe/Madrid", staff_id=ana) == [
            date(2026, 12, 8)
        ]
        assert upcoming_visit_days(s, date(2026, 12, 9), "Europe/Madrid", staff_id=ana) == []
        later = ANA.model_copy(update={"work_end": time(16, 0)})
        update_staff(s, ana, later, active=False, actor="d@example.com")  # type: ignore[arg-type]
    with Session(engine) as s:
        member, user = s.get(Staff, ana), s.exec(select(User)).one()
        visit_row = s.get(Visit, visit_id)
        assert member is not None and visit_row is not None
        assert (member.active, member.work_end, user.active) == (False, time(16, 0), False)
        assert (visit_row.pinned_staff_id, visit_row.pinned_start) == (None, pinned_at)
        assert visit_row.assigned_staff_id == ana  # what was planned stays on record
    assert changes(engine, "staff.update") == [
        {"work_end": ["17:00:00", "16:00:00"], "active": [True, False]}
    ]
    with session_scope(engine) as s:
        update_staff(s, ana, later, active=True)  # type: ignore[arg-type]
    with Session(engine) as s:
        assert s.exec(select(User)).one().active is True


def test_a_customers_details_are_corrected_but_not_their_sms_opt_out(engine: Engine) -> None:
    with session_scope(engine) as s:
        lucia = create_customer(s, LUCIA)
        lucia.sms_opt_out = True
        lucia_id = lucia.id
    moved = LUCIA.model_copy(update={"address": "Calle Nueva 1", "latitude": 39.5})
    with session_scope(engine) as s:
        update_customer(s, lucia_id, moved, actor="d@example.com")  # type: ignore[arg-type]
    with Session(engine) as s:
        stored = s.get(Customer, lucia_id)
        assert stored is not None
        assert (stored.address, stored.latitude, stored.sms_opt_out) == (
            "Calle Nueva 1",
            39.5,
            True,
        )
    assert changes(engine, "customer.update") == [
        {"address": ["", "Calle Nueva 1"], "latitude": [39.46, 39.5]}
    ]


def test_a_day_off_is_taken_back_ended_early_or_kept_once_past(engine: Engine) -> None:
    today = date(2026, 12, 9)
    with session_scope(engine) as s:
        ana = create_staff(s, ANA).id
        assert ana is not None
        ids = [
            add_absence(s, AbsenceIn(staff_id=ana, starts_on=lo, ends_on=hi)).id
            for lo, hi in (
                (date(2026, 12, 1), date(2026, 12, 2)),  # past
                (date(2026, 12, 7), date(2026, 12, 11)),  # under way: sick since Monday
                (date(2026, 12, 9), date(2026, 12, 9)),  # today
                (date(2026, 12, 24), date(2026, 12, 26)),  # to come
            )
        ]
    with session_scope(engine) as s:
        ended = withdraw_absence(s, ana, ids[1], today, actor="disp@example.com")
        assert ended is not None and ended.ends_on == date(2026, 12, 8)
        assert withdraw_absence(s, ana, ids[2], today) is None
        assert withdraw_absence(s, ana, ids[3], today) is None
    with pytest.raises(Conflict, match="stays on record"), session_scope(engine) as s:
        withdraw_absence(s, ana, ids[0], today)
    with pytest.raises(NotFound), session_scope(engine) as s:
        withdraw_absence(s, ana + 1, ids[0], today)  # another staff member's
    with Session(engine) as s:
        left = s.exec(select(StaffAbsence).order_by(StaffAbsence.starts_on)).all()
        assert [(a.starts_on.day, a.ends_on.day) for a in left] == [(1, 2), (7, 8)]
        audit = s.exec(
            select(AuditEntry).where(AuditEntry.entity == "staff").order_by(col(AuditEntry.id))
        ).all()
        kinds = [
            (e.action, e.details.get("starts_on")) for e in audit if e.action != "staff.create"
        ]
    assert kinds[-3:] == [
        ("staff.absence_end", "2026-12-07"),
        ("staff.absence_remove", "2026-12-09"),
        ("staff.absence_remove", "2026-12-24"),
    ]


def test_a_contract_is_renewed_or_corrected_but_never_ended_in_the_past(engine: Engine) -> None:
    from domain.lifecycle import change_contract
    from domain.models import Sale

    with session_scope(engine) as s:
        create_product(s, OVEN)
        lucia = create_customer(s, LUCIA).id
        sale = register_sale(
            s, SaleIn(customer_id=lucia, product_sku="OVEN-1", sold_on=date(2026, 1, 15),
                      contract_months=12)  # type: ignore[arg-type]
        ).id  # fmt: skip
    today = date(2026, 12, 7)
    with session_scope(engine) as s:
        change_contract(s, sale, 36, today, "ana@x.es")  # renewed for two more years
        change_contract(s, sale, 36, today, "ana@x.es")  # the same again: nothing to record
    for months, problem in ((241, "0 to 240 months"), (10, "ended on 2026-11-14")):
        with pytest.raises(DomainError, match=problem), session_scope(engine) as s:
            change_contract(s, sale, months, today, "ana@x.es")
    with session_scope(engine) as s:
        stored = s.get(Sale, sale)
        assert stored is not None
        stored.status = "cancelled"
    with pytest.raises(DomainError, match="cancelled"), session_scope(engine) as s:
        change_contract(s, sale, 48, today, "ana@x.es")
    with Session(engine) as s:
        stored = s.get(Sale, sale)
        assert stored is not None and stored.contract_months == 36
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "sale.contract")).all()
    assert [(a.actor, a.details) for a in audit] == [("ana@x.es", {"contract_months": [12, 36]})]
    with pytest.raises(NotFound), session_scope(engine) as s:
        change_contract(s, 999, 12, today, "ana@x.es")


def test_a_sale_reference_is_corrected_and_stays_unique(engine: Engine) -> None:
    from domain.models import Sale
    from domain.services import set_sale_reference

    with session_scope(engine) as s:
        create_product(s, OVEN)
        lucia = create_customer(s, LUCIA).id
        first, second = (
            register_sale(s, SaleIn(customer_id=lucia, product_sku="OVEN-1",
                                    sold_on=date(2026, 1, 15), external_ref=ref)).id  # type: ignore[arg-type]
            for ref in ("ERP-1", "ERP-2")
        )  # fmt: skip
    with session_scope(engine) as s:
        set_sale_reference(s, first, " ERP-10 ", "ana@x.es")  # the typo fixed
        set_sale_reference(s, first, "ERP-10", "ana@x.es")  # the same again: nothing to record
    with pytest.raises(Conflict, match=f"sale {second} already"), session_scope(engine) as s:
        set_sale_reference(s, first, "ERP-2", "ana@x.es")
    with session_scope(engine) as s:
        set_sale_reference(s, second, "", "ana@x.es")  # none
    with Session(engine) as s:
        refs = [s.get(Sale, i).external_ref for i in (first, second)]  # type: ignore[union-attr]
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "sale.reference")).all()
    assert refs == ["ERP-10", None]
    assert [a.details["external_ref"] for a in audit] == [["ERP-1", "ERP-10"], ["ERP-2", None]]
