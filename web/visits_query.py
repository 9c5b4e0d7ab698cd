"""The visits list's filters as one query, for the page and for its CSV export (the billable
repairs of a month, say, for invoicing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from werkzeug.datastructures import MultiDict

from domain.models import Customer, Product, Sale, Visit, VisitKind, VisitStatus
from domain.visits import AWAY_FROM_M, overdue
from web.params import db_id, iso_day


@dataclass(frozen=True)
class VisitsFilter:
    status: str | None = None
    kind: str | None = None
    staff_id: int | None = None
    open_on: date | None = None  # could be planned that day (earliest date to due date)
    call: bool = False  # the customer must be phoned
    overdue: bool = False  # open after its due date, most late first
    billable: bool = False  # repairs out of warranty
    late: bool = False  # the technician arrived after the promised window
    away: bool = False  # the check-in was away from the customer's address
    since: date | None = None  # planned from this day...
    until: date | None = None  # ...to this one (local dates)

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> VisitsFilter:
        status, kind = args.get("status") or None, args.get("kind") or None
        return cls(
            status=status if status in {v.value for v in VisitStatus} else None,
            kind=kind if kind in {k.value for k in VisitKind} else None,
            staff_id=args.get("staff_id", type=db_id),
            open_on=args.get("day", type=iso_day),
            call=args.get("call") == "1",
            overdue=args.get("overdue") == "1",
            billable=args.get("billable") == "1",
            late=args.get("late") == "1",
            away=args.get("away") == "1",
            since=args.get("since", type=iso_day),
            until=args.get("until", type=iso_day),
        )

    def args(self) -> dict[str, Any]:
        """The filter as URL arguments (for links to other pages and to the export)."""
        found = {
            "status": self.status, "kind": self.kind, "staff_id": self.staff_id,
            "day": self.open_on, "since": self.since, "until": self.until,
            "call": "1" if self.call else None, "overdue": "1" if self.overdue else None,
            "billable": "1" if self.billable else None, "late": "1" if self.late else None,
            "away": "1" if self.away else None,
        }  # fmt: skip
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in found.items() if v}


def visits_query(f: VisitsFilter, today: date, tzid: str) -> tuple[Any, Any]:
    """(rows, count): rows of (Visit, Customer, Product) in the list's order, and their
    number."""
    conds: list[Any] = []
    if f.status is not None:
        conds.append(Visit.status == f.status)
    if f.kind is not None:
        conds.append(Visit.kind == f.kind)
    if f.staff_id is not None:
        conds.append(Visit.assigned_staff_id == f.staff_id)
    if f.call:
        conds.append(col(Visit.needs_phone_call).is_(True))
    if f.overdue:
        conds.append(overdue(today))
    if f.billable:
        conds.append(col(Visit.billable).is_(True))
    if f.late:
        conds.append(col(Visit.arrived_at) > col(Visit.promised_window_end))
    if f.away:  # as domain.visits.away_metres reads it
        conds.append(col(Visit.arrival_distance_m)
                     > AWAY_FROM_M + func.coalesce(col(Visit.arrival_accuracy_m), 0))  # fmt: skip
    if f.open_on is not None:
        conds.append(col(Visit.earliest_date) <= f.open_on)
        conds.append(col(Visit.due_date).is_(None) | (col(Visit.due_date) >= f.open_on))
    tz = ZoneInfo(tzid)
    if f.since is not None:
        start = datetime.combine(f.since, time(0), tz).astimezone(UTC)
        conds.append(col(Visit.planned_start) >= start)
    if f.until is not None:
        end = datetime.combine(f.until + timedelta(days=1), time(0), tz).astimezone(UTC)
        conds.append(col(Visit.planned_start) < end)
    rows = (
        select(Visit, Customer, Product)
        .join(Sale, col(Sale.id) == col(Visit.sale_id))
        .join(Customer, col(Customer.id) == col(Sale.customer_id))
        .join(Product, col(Product.id) == col(Sale.product_id))
        .where(*conds)
    )
    order = [col(Visit.due_date).asc(), col(Visit.id)] if f.overdue else [col(Visit.id).desc()]
    count = select(func.count()).select_from(Visit).where(*conds)
    return rows.order_by(*order), count
