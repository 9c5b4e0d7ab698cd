"""Tiny records for calendar tests: a customer, product, sale, staff, visits and approved plans."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from domain.models import (
    Customer,
    DailyPlan,
    PlanStatus,
    PlanStop,
    Product,
    Sale,
    Staff,
    Visit,
    VisitKind,
)


def customer(session: Session, name: str = "Lucía Fernández Ruiz", **kw: object) -> Customer:
    row = Customer(
        name=name,
        phone=kw.pop("phone", "+34612345678"),
        address=kw.pop("address", "Calle Mayor 12, 28013 Madrid"),
        latitude=40.4168,
        longitude=-3.7038,
        **kw,
    )
    session.add(row)
    session.flush()
    return row


def product(session: Session, sku: str = "OVEN-1", **kw: object) -> Product:
    row = Product(
        sku=sku,
        name=kw.pop("name", "Horno Combi 10"),
        installation_minutes=90,
        training_sessions=kw.pop("training_sessions", 2),
        training_minutes=60,
        **kw,
    )
    session.add(row)
    session.flush()
    return row


def staff(
    session: Session, name: str = "Marta Gil", tz: str = "Europe/Madrid", **kw: object
) -> Staff:
    row = Staff(name=name, home_latitude=40.4, home_longitude=-3.7, timezone=tz, **kw)
    session.add(row)
    session.flush()
    return row


def sale(session: Session, cust: Customer, prod: Product) -> Sale:
    assert cust.id is not None and prod.id is not None
    row = Sale(customer_id=cust.id, product_id=prod.id, sold_on=date(2026, 3, 1))
    session.add(row)
    session.flush()
    return row


def visit(
    session: Session,
    sale_row: Sale,
    key: str,
    kind: str = VisitKind.INSTALLATION.value,
    minutes: int = 90,
    **kw: object,
) -> Visit:
    assert sale_row.id is not None
    row = Visit(
        sale_id=sale_row.id,
        business_key=key,
        kind=kind,
        duration_minutes=minutes,
        earliest_date=date(2026, 3, 1),
        **kw,
    )
    session.add(row)
    session.flush()
    return row


def approved_plan(
    session: Session,
    plan_date: date,
    stops: list[tuple[Staff, Visit, datetime, int]],
) -> DailyPlan:
    """An APPROVED plan for the day with one stop per (staff, visit, start, minutes); the day's
    previous approved plan becomes SUPERSEDED (as planning's approve_plan does)."""
    previous = session.exec(select(DailyPlan).where(DailyPlan.plan_date == plan_date)).all()
    for old in previous:
        if old.status == PlanStatus.APPROVED:
            old.status = PlanStatus.SUPERSEDED.value
            session.add(old)
    plan = DailyPlan(
        plan_date=plan_date,
        version=len(previous) + 1,
        status=PlanStatus.APPROVED.value,
        approved_at=stops[0][2] if stops else None,
        approved_by="dispatcher@example.com",
    )
    session.add(plan)
    session.flush()
    for n, (st, vi, start, minutes) in enumerate(stops):
        assert plan.id is not None and st.id is not None and vi.id is not None
        session.add(
            PlanStop(
                plan_id=plan.id,
                staff_id=st.id,
                visit_id=vi.id,
                kind="visit",
                sequence=n,
                arrival=start,
                start=start,
                end=start + timedelta(minutes=minutes),
            )
        )
        vi.assigned_staff_id, vi.planned_start = st.id, start
        session.add(vi)
    session.commit()
    return plan
