"""Field work over a period: were the technicians on time, and how long did the work take?

From the visits reported done or failed in the period (by their planned day): how many were
checked in ("I'm here"; how many of them away from the customer's address), how many of those
arrived within the window the customer was promised and how late the others were, and the time
on site (arrival to report) against the time planned — by staff member, and by product and kind
of visit (to correct a product's planned minutes when the work always takes longer)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from domain.models import Product, Sale, Staff, Visit, VisitStatus
from domain.visits import away_metres, lateness_minutes
from web.periods import period_from_args, utc_bounds

DEFAULT_DAYS = 30
REPORTED = (VisitStatus.COMPLETED.value, VisitStatus.FAILED.value)
MIN_TIMED_FOR_ADVICE = 5  # visits timed on site before a product's minutes are called off
OFF_BY = 0.2  # on site 20 % longer or shorter than planned: worth correcting


@dataclass(frozen=True)
class FieldFilter:
    since: date
    until: date
    staff_id: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str], today: date) -> FieldFilter:
        """The filter in a request's arguments (the last ``DEFAULT_DAYS`` days by default);
        raises :class:`web.periods.BadPeriod`."""
        since, until = period_from_args(args, today, DEFAULT_DAYS)
        raw = (args.get("staff") or "").strip()
        return cls(since, until, int(raw) if raw.isdigit() and len(raw) < 10 else None)


@dataclass
class Tally:
    """One group's visits: reported, checked in, on time, and time on site against plan."""

    reported: int = 0
    failed: int = 0
    checked_in: int = 0
    away: int = 0  # checked in away from the customer's address
    with_window: int = 0  # checked in, and a window had been promised
    late: int = 0
    late_minutes: int = 0  # summed over the late arrivals
    timed: int = 0  # checked in and reported: time on site known
    on_site_minutes: float = 0.0
    planned_minutes: int = 0  # of the timed visits

    def add(self, visit: Visit) -> None:
        self.reported += 1
        self.failed += visit.status == VisitStatus.FAILED.value
        if visit.arrived_at is None:
            return
        self.checked_in += 1
        self.away += away_metres(visit) is not None
        late = lateness_minutes(visit)
        if late is not None:
            self.with_window += 1
            if late > 0:
                self.late += 1
                self.late_minutes += late
        if visit.finished_at is not None and visit.finished_at >= visit.arrived_at:
            self.timed += 1
            self.on_site_minutes += (visit.finished_at - visit.arrived_at).total_seconds() / 60
            self.planned_minutes += visit.duration_minutes

    @property
    def check_in_share(self) -> float | None:
        return self.checked_in / self.reported if self.reported else None

    @property
    def on_time_share(self) -> float | None:
        return (self.with_window - self.late) / self.with_window if self.with_window else None

    @property
    def mean_late_minutes(self) -> float | None:
        return self.late_minutes / self.late if self.late else None

    @property
    def mean_on_site(self) -> float | None:
        return self.on_site_minutes / self.timed if self.timed else None

    @property
    def mean_planned(self) -> float | None:
        return self.planned_minutes / self.timed if self.timed else None

    @property
    def on_site_ratio(self) -> float | None:
        """Time on site over time planned (1.0: as planned; 1.3: 30 % longer)."""
        return self.on_site_minutes / self.planned_minutes if self.planned_minutes else None

    @property
    def needs_new_minutes(self) -> bool:
        """Enough visits timed, and on site far from the plan: the planned minutes are off."""
        ratio = self.on_site_ratio
        return self.timed >= MIN_TIMED_FOR_ADVICE and ratio is not None and abs(ratio - 1) > OFF_BY


@dataclass
class FieldSummary:
    total: Tally = field(default_factory=Tally)
    by_staff: list[tuple[int, str, Tally]] = field(default_factory=list)
    by_product: list[tuple[Product, str, Tally]] = field(default_factory=list)  # and kind


def reported_visits(f: FieldFilter, tzid: str):  # type: ignore[no-untyped-def]
    """The query of the period's reported visits with their product (planned day in the
    period, local days)."""
    start, end = utc_bounds(f.since, f.until, tzid)
    query = (
        select(Visit, Product)
        .join(Sale, col(Sale.id) == col(Visit.sale_id))
        .join(Product, col(Product.id) == col(Sale.product_id))
        .where(
            col(Visit.status).in_(REPORTED),
            col(Visit.planned_start) >= start,
            col(Visit.planned_start) < end,
        )
    )
    if f.staff_id is not None:
        query = query.where(Visit.assigned_staff_id == f.staff_id)
    return query


def summarise(session: Session, f: FieldFilter, tzid: str) -> FieldSummary:
    """The period's figures: overall, by staff member (least punctual first) and by product
    and kind (furthest from the planned minutes first)."""
    summary = FieldSummary()
    staff: dict[int | None, Tally] = defaultdict(Tally)
    products: dict[tuple[int, str], Tally] = defaultdict(Tally)
    catalogue: dict[int, Product] = {}
    for visit, product in session.exec(reported_visits(f, tzid)):
        summary.total.add(visit)
        staff[visit.assigned_staff_id].add(visit)
        assert product.id is not None
        catalogue[product.id] = product
        products[(product.id, visit.kind)].add(visit)
    names = {m.id: m.name for m in session.exec(select(Staff))}
    summary.by_staff = sorted(
        ((sid, names.get(sid, "?"), tally) for sid, tally in staff.items() if sid is not None),
        key=lambda row: (row[2].on_time_share if row[2].on_time_share is not None else 2, row[1]),
    )
    summary.by_product = sorted(
        ((catalogue[pid], kind, tally) for (pid, kind), tally in products.items()),
        key=lambda row: (
            -abs((row[2].on_site_ratio or 1) - 1),
            row[0].name,
            row[1],
        ),
    )
    return summary
