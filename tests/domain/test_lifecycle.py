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
