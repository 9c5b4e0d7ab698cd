"""A sale's calendar: months, warranty, contract and maintenance rounds."""

from __future__ import annotations

from datetime import date

import pytest

from domain.lifecycle import (
    add_months,
    contract_end,
    lifecycle_end,
    maintenance_due,
    maintenance_rounds,
    next_working_day,
    under_warranty,
    warranty_end,
)


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 12, 15), 2) == date(2028, 2, 15)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("on", "covered"),
    [
        (date(2026, 3, 10), True),
        (date(2028, 3, 9), True),  # last day of a 24-month warranty
        (date(2028, 3, 10), False),
        (date(2026, 3, 9), False),  # before the sale
    ],
)
def test_warranty_decides_billable(on: date, covered: bool) -> None:
    assert warranty_end(date(2026, 3, 10), 24) == date(2028, 3, 9)
    assert under_warranty(date(2026, 3, 10), 24, on) is covered


def test_no_warranty_covers_nothing() -> None:
    assert not under_warranty(date(2026, 3, 10), 0, date(2026, 3, 10))


def test_maintenance_rounds_fit_inside_the_contract() -> None:
    sold = date(2026, 1, 1)
    assert contract_end(sold, 60) == date(2030, 12, 31)
    assert maintenance_rounds(sold, 180, 60) == 10
    assert maintenance_due(sold, 180, 10) <= contract_end(sold, 60)
    assert maintenance_rounds(sold, 365, 12) == 0  # due on day 365, the contract ends day 364
    assert maintenance_rounds(sold, None, 60) == 0
    assert maintenance_rounds(sold, 90, 0) == 0
    assert lifecycle_end(sold, 12, 24) == date(2027, 12, 31)
    assert lifecycle_end(sold, 0, 0) == sold


def test_next_working_day_skips_the_weekend() -> None:
    assert next_working_day(date(2026, 11, 27)) == date(2026, 11, 30)  # Friday -> Monday
    assert next_working_day(date(2026, 11, 23)) == date(2026, 11, 24)


def test_a_sale_date_is_corrected_within_what_its_visits_and_contract_allow(engine) -> None:  # type: ignore[no-untyped-def]
    """2026-11-02 typed for 2026-10-02: corrected, audited, the open repair reported on
    2026-11-20 billed again by the warranty as it now stands (12 months from 2026-10-02: still
    covered). Refused: a date in the future, a date after a visit already done, a date so early
    that the contract and warranty are over, and any change to an ended sale."""
    from datetime import UTC, datetime

    from sqlmodel import select

    from domain.db import session_scope
    from domain.errors import DomainError
    from domain.lifecycle import correct_sold_on, end_sale
    from domain.models import AuditEntry, Sale, Visit, VisitKind, VisitStatus
    from domain.schemas import VisitIn
    from domain.services import request_visit
    from tests.workflows.support import make_company

    today = date(2026, 12, 7)
    ids = make_company(engine, sold_on=date(2026, 11, 2), contract_months=12, warranty_months=12)
    with session_scope(engine) as s:
        repair = request_visit(s, VisitIn(
            sale_id=ids["sale"], kind=VisitKind.REPAIR, business_key="repair-1",
            duration_minutes=60, earliest_date=date(2026, 11, 20), billable=True,
        ))  # fmt: skip
        done = request_visit(s, VisitIn(
            sale_id=ids["sale"], kind=VisitKind.INSTALLATION, business_key="inst-1",
            duration_minutes=120, earliest_date=date(2026, 11, 5),
        ))  # fmt: skip
        done.status = VisitStatus.COMPLETED.value
        done.planned_start = datetime(2026, 11, 5, 9, tzinfo=UTC)
        s.flush()
        repair_id = repair.id

    def correct(day: date) -> None:
        with session_scope(engine) as s:
            correct_sold_on(s, ids["sale"], day, today, "ana@x.es")

    for day, message in (
        (date(2026, 12, 8), "cannot be in the future"),
        (date(2026, 11, 6), "a visit was done on 2026-11-05"),
        (date(2025, 11, 1), "ended on 2026-10-31; cancel the sale instead"),
    ):
        with pytest.raises(DomainError, match=message):
            correct(day)
    correct(date(2026, 10, 2))
    correct(date(2026, 10, 2))  # the same date again: nothing more recorded
    with session_scope(engine) as s:
        sale = s.get(Sale, ids["sale"])
        assert sale is not None and sale.sold_on == date(2026, 10, 2)
        rebilled = s.get(Visit, repair_id)
        assert rebilled is not None and rebilled.billable is False  # under warranty after all
        [entry] = s.exec(select(AuditEntry).where(AuditEntry.action == "sale.sold_on")).all()
        assert (entry.actor, entry.details) == (
            "ana@x.es", {"sold_on": ["2026-11-02", "2026-10-02"], "repairs_rebilled": [repair_id]}
        )  # fmt: skip
        end_sale(s, ids["sale"], "cancelled", "returned to the shop", "ana@x.es")
    with pytest.raises(DomainError, match="its date cannot change"):
        correct(date(2026, 10, 3))
