"""Storing a solved day: a DRAFT DailyPlan with its stops, unassigned visits and summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from domain.models import DailyPlan, PlanStatus, PlanStop, PlanUnassigned, Visit
from optimizer.model import Solution
from planning.build import BuiltProblem
from planning.candidates import CLOSED_STATUSES
from planning.diff import is_moved


def next_version(session: Session, plan: DailyPlan) -> int:
    """The day's next plan version (1 for the first plan of a day)."""
    current = session.exec(
        select(func.max(DailyPlan.version)).where(DailyPlan.plan_date == plan.plan_date)
    ).one()
    return int(current or 0) + 1


def _iso(at: datetime) -> str:
    return at.isoformat()


def _json_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A reason's facts as JSON (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


@dataclass(frozen=True)
class StoredCounts:
    assigned: int
    unassigned: int
    moved: int
    removed: list[int]


def store_draft(
    session: Session,
    built: BuiltProblem,
    solution: Solution,
    *,
    arrival_window_minutes: int,
    travel: str,
) -> tuple[DailyPlan, StoredCounts]:
    """Add the draft plan, its stops and unassigned rows to ``session`` (the caller commits).

    A visit that was completed, cancelled or failed while the solver ran is left out of the plan;
    one already done or failed when the day was gathered stays where the base plan had it.
    """
    clock = built.clock
    base = built.candidates.base_plan
    planned_ids = [s.visit_id for r in solution.routes for s in r.stops]
    closed: set[int] = set()
    if planned_ids:
        closed = {
            v.id
            for v in session.exec(
                select(Visit).where(
                    col(Visit.id).in_(planned_ids), col(Visit.status).in_(CLOSED_STATUSES)
                )
            )
            if v.id is not None
        } - built.history_ids
    plan = DailyPlan(
        plan_date=clock.plan_date,
        status=PlanStatus.DRAFT.value,
        based_on_plan_id=base.id if base is not None else None,
    )
    plan.version = next_version(session, plan)
    session.add(plan)
    session.flush()
    assert plan.id is not None

    assigned: set[int] = set()
    moved: list[int] = []
    routes_summary = []
    for route in solution.routes:
        staff_id = int(route.staff_id)
        rows: list[PlanStop] = []
        for stop in route.stops:
            visit_id = int(stop.visit_id)
            if visit_id in closed:
                continue
            prior = built.priors.get(visit_id)
            start = clock.datetime(stop.start)
            window_start = clock.datetime(stop.promised_window.start)
            window_end = clock.datetime(stop.promised_window.end)
            if (
                prior is not None
                and prior.staff_id == staff_id
                and prior.window_start is not None
                and prior.window_end is not None
                and prior.window_start <= start <= prior.window_end
            ):
                # Still inside what the customer was told: keep that promise, not a new one.
                window_start, window_end = prior.window_start, prior.window_end
            was_moved = prior is not None and is_moved(
                (prior.staff_id, prior.start, prior.window_start, prior.window_end),
                (staff_id, start, window_start, window_end),
            )
            if was_moved:
                moved.append(visit_id)
            assigned.add(visit_id)
            rows.append(
                PlanStop(
                    plan_id=plan.id,
                    staff_id=staff_id,
                    visit_id=visit_id,
                    kind="visit",
                    sequence=0,
                    arrival=clock.datetime(stop.arrival),
                    start=start,
                    end=clock.datetime(stop.end),
                    travel_seconds=stop.travel_seconds,
                    travel_metres=stop.travel_metres,
                    window_start=window_start,
                    window_end=window_end,
                    locked=visit_id in built.locked_ids,
                    moved=was_moved,
                )
            )
        for placed in route.breaks:
            if placed.kind != "break":
                continue  # busy time comes from the staff member's calendar; not a plan step
            if not route.stops or not route.start_time < placed.end <= route.end_time:
                continue  # a break outside the working span is the staff member's own time
            at = clock.datetime(placed.start)
            rows.append(
                PlanStop(
                    plan_id=plan.id,
                    staff_id=staff_id,
                    visit_id=None,
                    kind="break",
                    sequence=0,
                    arrival=at,
                    start=at,
                    end=clock.datetime(placed.end),
                )
            )
        rows.sort(key=lambda r: (r.start, r.kind != "break"))
        for number, row in enumerate(rows, start=1):
            row.sequence = number
            session.add(row)
        if route.stops:
            routes_summary.append(
                {
                    "staff_id": staff_id,
                    "visits": sum(1 for r in rows if r.kind == "visit"),
                    "start": _iso(clock.datetime(route.start_time)),
                    "end": _iso(clock.datetime(route.end_time)),
                    "travel_seconds": route.travel_seconds,
                    "travel_metres": route.travel_metres,
                    "return_travel_seconds": route.return_travel_seconds,
                    "return_travel_metres": route.return_travel_metres,
                    "service_seconds": route.service_seconds,
                    "working_seconds": route.working_seconds,
                    "utilisation": route.utilisation,
                }
            )

    unassigned: dict[int, tuple[str, str, Mapping[str, Any]]] = {}
    for u in solution.unassigned:
        unassigned[int(u.visit_id)] = (u.reason_code, u.reason, u.params)
    for e in built.excluded:
        unassigned.setdefault(e.visit_id, (e.reason_code, e.reason, e.params))
    for visit_id in sorted(closed | built.history_ids):
        unassigned.pop(visit_id, None)
    for visit_id, (code, reason, params) in sorted(unassigned.items()):
        session.add(
            PlanUnassigned(
                plan_id=plan.id,
                visit_id=visit_id,
                reason_code=code[:40],
                reason=reason[:1000],
                reason_params=_json_params(params),
            )
        )
    removed = sorted(
        v for v in built.candidates.base_visit_ids | set(built.priors) if v not in assigned
    )

    plan.solver_summary = {
        "status": solution.status,
        "objective": solution.objective,
        "solve_seconds": round(solution.solve_seconds, 3),
        "time_limit_seconds": solution.params.time_limit_seconds,
        "timezone": str(clock.tz.key),
        "origin": _iso(clock.origin),
        "travel": travel,
        "arrival_window_minutes": arrival_window_minutes,
        "totals": asdict(solution.totals),
        "rules": list(solution.rules_checked),
        "staff_available": len(built.problem.staff),
        "kept_before": _iso(built.kept_before) if built.kept_before is not None else None,
        # today: routes planned with their delay (staff id -> minutes), and those whose delay
        # did not fit their day (kept as planned)
        "running_late": {str(k): v for k, v in sorted(built.route_delays.items())},
        "late_kept_as_planned": sorted(built.delays_ignored),
        "staff_off": {str(k): v for k, v in sorted(built.candidates.staff_off.items())},
        "visits_considered": len(built.problem.visits) + len(built.excluded),
        "assigned": len(assigned),
        "unassigned": len(unassigned),
        "moved": len(moved),
        "moved_visit_ids": sorted(moved),
        "removed_visit_ids": removed,
        "locked": len(built.locked_ids),
        "released_locks": {str(k): v for k, v in sorted(built.released_locks.items())},
        "routes": routes_summary,
        "explanation": solution.explain(),
    }
    session.add(plan)
    session.flush()
    return plan, StoredCounts(len(assigned), len(unassigned), len(moved), removed)
