"""Whose route a newly approved plan changed, for what is still to do: on the day itself, the
technicians out on the road are told (they may not have the phone page open)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from domain.models import PlanStop, Visit
from planning.candidates import CLOSED_STATUSES

#: A visit still to do moved by less than this is not news to its technician.
MOVE_TOLD_FROM = timedelta(minutes=15)


@dataclass(frozen=True)
class RouteChange:
    """A staff member whose visits still to do differ between two plans of the day.

    ``to_go``: visits left on the new route (not done, failed or cancelled, not checked in);
    ``next_visit_id``/``next_start``: the first of them (None: nothing left for the day)."""

    staff_id: int
    to_go: int
    next_visit_id: int | None
    next_start: datetime | None


def _still_to_do(session: Session, plan_id: int) -> dict[int, list[tuple[int, datetime]]]:
    """Staff id -> (visit id, start) of their stops still to do on a plan, in route order."""
    rows = session.exec(
        select(PlanStop.staff_id, PlanStop.visit_id, PlanStop.start, Visit.status,
               Visit.arrived_at)
        .join(Visit, col(Visit.id) == col(PlanStop.visit_id))
        .where(PlanStop.plan_id == plan_id)
        .order_by(col(PlanStop.staff_id), col(PlanStop.sequence))
    )  # fmt: skip
    routes: dict[int, list[tuple[int, datetime]]] = {}
    for staff_id, visit_id, start, status, arrived_at in rows:
        route = routes.setdefault(staff_id, [])
        if status not in CLOSED_STATUSES and arrived_at is None:
            route.append((visit_id, start))
    return routes


def changed_routes(
    session: Session, plan_id: int, previous_plan_id: int | None
) -> list[RouteChange]:
    """The staff members whose visits still to do plan ``plan_id`` changed from
    ``previous_plan_id`` (another visit, another order, or one moved by ``MOVE_TOLD_FROM`` or
    more; None: the day's first plan, every route is new), by staff id."""
    before = _still_to_do(session, previous_plan_id) if previous_plan_id is not None else {}
    after = _still_to_do(session, plan_id)
    changes = []
    for staff_id in sorted(set(before) | set(after)):
        old, new = before.get(staff_id, []), after.get(staff_id, [])
        if [v for v, _ in old] == [v for v, _ in new] and all(
            abs(a - b) < MOVE_TOLD_FROM for (_, a), (_, b) in zip(old, new, strict=True)
        ):
            continue
        first = new[0] if new else (None, None)
        changes.append(RouteChange(staff_id, len(new), *first))
    return changes
