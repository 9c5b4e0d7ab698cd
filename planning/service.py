"""Daily planning entry points: draft a day's plan, compare it, approve it.

- :func:`draft_plan` reads the day's pool (one read transaction), solves it outside any
  transaction, and stores a DRAFT plan (one write transaction);
- :func:`plan_difference` says what a draft changes compared with another plan;
- :func:`approve_plan` makes a plan the day's plan and writes it onto the visits (idempotent);
- :func:`latest_plan` finds the day's newest plan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain import audit
from domain.db import session_scope
from domain.errors import Conflict, DomainError, NotFound
from domain.models import (
    DailyPlan,
    PlanStatus,
    PlanStop,
    PlanUnassigned,
    Staff,
    Visit,
    VisitStatus,
)
from domain.types import utcnow
from domain.visits import forget_arrival
from optimizer.model import Solution, SolveParams, Totals
from optimizer.travel import TravelError
from planning.build import BuiltProblem, build_problem, travel_provider, with_matrix
from planning.candidates import (
    CLOSED_STATUSES,
    POOL_STATUSES,
    SCHEDULED_STATUSES,
    gather,
    latest_plan,
    resolve_base_plan,
)
from planning.clock import DayClock
from planning.diff import PlanDiff, plan_difference
from planning.store import store_draft
from posventa.config import Settings

__all__ = [
    "ApprovedPlan",
    "DraftResult",
    "PlanDiff",
    "PlannedVisit",
    "approve_plan",
    "draft_plan",
    "latest_plan",
    "plan_difference",
]

SYSTEM_ACTOR = "system"
HEARTBEAT_SECONDS = 2.0
_VERSION_RETRIES = 3


@dataclass
class DraftResult:
    """The stored draft: its id, the day (ISO), counts of visits, and the solver's summary."""

    plan_id: int
    plan_date: str
    assigned: int
    unassigned: int
    moved: int
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlannedVisit:
    """A visit's place in an approved plan (ISO strings, UTC)."""

    visit_id: int
    staff_id: int
    planned_start: str
    window_start: str
    window_end: str
    moved: bool = False
    locked: bool = False


@dataclass
class ApprovedPlan:
    """An approved plan: the visits it places and those that left the previous approved plan."""

    plan_id: int
    plan_date: str
    visits: list[PlannedVisit] = field(default_factory=list)
    removed_visit_ids: list[int] = field(default_factory=list)
    superseded_plan_id: int | None = None


def _solve_with_heartbeat(
    problem: Any, params: SolveParams, on_progress: Callable[[str], None] | None
) -> Solution:
    """Run the solver; while it works, report progress every few seconds (activity heartbeat)."""
    from optimizer.solver import solve

    if on_progress is None:
        return solve(problem, params)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["solution"] = solve(problem, params)
        except BaseException as exc:  # handed to the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="planning-solve", daemon=True)
    worker.start()
    waited = 0.0
    while worker.is_alive():
        worker.join(HEARTBEAT_SECONDS)
        if worker.is_alive():
            waited += HEARTBEAT_SECONDS
            on_progress(f"solving: {waited:.0f}s of {params.time_limit_seconds:.0f}s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["solution"]


def _nothing_to_plan(params: SolveParams) -> Solution:
    """The solution of a day with no visit to plan (the solver needs at least one place)."""
    from optimizer.solver import RULES

    totals = Totals(0, 0, 0, 0, 0.0, 0, 0, 0, 0)
    return Solution(
        routes=(),
        unassigned=(),
        moved=(),
        totals=totals,
        rules_checked=RULES,
        objective=0,
        status="empty",
        solve_seconds=0.0,
        params=params,
    )


def draft_plan(
    engine: Engine,
    settings: Settings,
    plan_date: date,
    seconds: float,
    base_plan_id: int | None = None,
    on_progress: Callable[[str], None] | None = None,
    now: datetime | None = None,
) -> DraftResult:
    """Solve the day and store a DRAFT plan (version = the day's last version + 1).

    ``base_plan_id`` is the plan to stay close to; when None, the day's approved plan (if any).
    Visits the customer confirmed in the base plan are locked to their staff member and
    promised window; the others may move at a cost, and the plan flags those that moved.
    Re-planning the day itself (``now``, default the time now), the part of it under way stays
    as it is (see :func:`planning.build.build_problem`).
    """
    if seconds <= 0:
        raise DomainError("the solver needs a positive time limit")
    progress = on_progress or (lambda _message: None)
    progress("gathering visits and staff")
    with session_scope(engine) as session:
        base = resolve_base_plan(session, plan_date, base_plan_id)
        clock = DayClock.for_day(plan_date, settings.timezone)
        candidates = gather(session, clock, base)
        names = {s.id: s.name for s in session.exec(select(Staff)) if s.id is not None}
    now = now or utcnow()
    built = build_problem(candidates, settings.timezone, names, now=now)
    travel = "osrm" if settings.osrm_url else "haversine"
    params = SolveParams(
        time_limit_seconds=float(seconds),
        arrival_window_seconds=settings.arrival_window_minutes * 60,
    )

    def solve_built(built: BuiltProblem) -> Solution:
        nonlocal travel
        progress(f"travel times ({travel}) for {len(built.problem.visits)} visits")
        try:
            problem = with_matrix(built.problem, travel_provider(settings.osrm_url))
        except TravelError as exc:
            if not settings.osrm_url:
                raise
            # A plan on estimated travel times beats no plan; the summary tells the dispatcher.
            travel = f"haversine estimate (OSRM unavailable: {exc})"
            progress(travel)
            problem = with_matrix(built.problem, travel_provider(""))
        progress(f"solving {len(problem.visits)} visits for {len(problem.staff)} staff")
        if problem.visits:
            return _solve_with_heartbeat(problem, params, on_progress)
        return _nothing_to_plan(params)

    solution = solve_built(built)
    late = frozenset(built.slipped[u.visit_id] for u in solution.unassigned
                     if u.visit_id in built.slipped)  # fmt: skip
    if late:
        # Following a route's delay leaves out what is under way: keep that route as planned.
        progress("a route's delay does not fit its day: keeping it as planned")
        built = build_problem(candidates, settings.timezone, names, now=now, delays_ignored=late)
        solution = solve_built(built)
    progress("storing the draft plan")
    for attempt in range(_VERSION_RETRIES):
        try:
            with session_scope(engine) as session:
                plan, counts = store_draft(
                    session,
                    built,
                    solution,
                    arrival_window_minutes=settings.arrival_window_minutes,
                    travel=travel,
                )
                assert plan.id is not None
                audit.record(
                    session,
                    SYSTEM_ACTOR,
                    "plan.draft",
                    "dailyplan",
                    plan.id,
                    plan_date=plan_date.isoformat(),
                    version=plan.version,
                    base_plan_id=plan.based_on_plan_id,
                    assigned=counts.assigned,
                    unassigned=counts.unassigned,
                    moved=counts.moved,
                )
                result = DraftResult(
                    plan_id=plan.id,
                    plan_date=plan_date.isoformat(),
                    assigned=counts.assigned,
                    unassigned=counts.unassigned,
                    moved=counts.moved,
                    summary=dict(plan.solver_summary),
                )
            break
        except IntegrityError:
            # Another draft of the same day took this version number meanwhile: take the next.
            if attempt == _VERSION_RETRIES - 1:
                raise
    progress(f"draft plan {result.plan_id} stored")
    return result


def _visit_stops(session: Session, plan_id: int) -> list[PlanStop]:
    return list(
        session.exec(
            select(PlanStop)
            .where(PlanStop.plan_id == plan_id, col(PlanStop.visit_id).is_not(None))
            .order_by(col(PlanStop.staff_id), col(PlanStop.sequence))
        )
    )


def _planned_visit(row: PlanStop) -> PlannedVisit:
    assert row.visit_id is not None
    return PlannedVisit(
        visit_id=row.visit_id,
        staff_id=row.staff_id,
        planned_start=row.start.isoformat(),
        window_start=(row.window_start or row.start).isoformat(),
        window_end=(row.window_end or row.end).isoformat(),
        moved=row.moved,
        locked=row.locked,
    )


def _approved_result(session: Session, plan: DailyPlan) -> ApprovedPlan:
    assert plan.id is not None
    approval = plan.solver_summary.get("approval", {})
    skipped = set(approval.get("skipped_closed_visit_ids", []))
    return ApprovedPlan(
        plan_id=plan.id,
        plan_date=plan.plan_date.isoformat(),
        visits=[
            _planned_visit(row)
            for row in _visit_stops(session, plan.id)
            if row.visit_id not in skipped
        ],
        removed_visit_ids=list(approval.get("removed_visit_ids", [])),
        superseded_plan_id=approval.get("superseded_plan_id"),
    )


def _left_out_for_another_day(
    session: Session, row: PlanStop, planned_start: datetime, clock: DayClock
) -> None:
    """Take a draft's stop out of the plan being approved: its visit went to another day."""
    day = planned_start.astimezone(clock.tz).date().isoformat()
    session.delete(row)
    session.add(
        PlanUnassigned(
            plan_id=row.plan_id,
            visit_id=row.visit_id,
            reason_code="planned_elsewhere",
            reason=f"the plan of {day}, approved meanwhile, has it",
            reason_params={"day": day},
        )
    )


def approve_plan(engine: Engine, plan_id: int, approved_by: str) -> ApprovedPlan:
    """Make plan ``plan_id`` the day's plan and write it onto its visits.

    The day's previously approved plan (and older drafts) become SUPERSEDED; visits of the
    previous approved plan that this one leaves out lose their assignment and go back to the pool
    (``removed_visit_ids``); not those done, failed or cancelled meanwhile (their staff member
    and time are their history). Approving an approved plan again returns the same result and writes
    nothing. A superseded plan, or a draft not based on the day's current approved plan (it could
    break what that plan promised), is refused with :class:`~domain.errors.Conflict`.
    """
    if not approved_by or not approved_by.strip():
        raise DomainError("say who approves the plan")
    with session_scope(engine) as session:
        found = session.get(DailyPlan, plan_id)
        if found is None:
            raise NotFound(f"unknown plan {plan_id}")
        # Lock every plan of the day, always in id order: concurrent approvals of the same day
        # queue up instead of deadlocking, and the second one sees the first one's result.
        locked = list(
            session.exec(
                select(DailyPlan)
                .where(DailyPlan.plan_date == found.plan_date)
                .order_by(col(DailyPlan.id))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        plan = next(p for p in locked if p.id == plan_id)
        if plan.status == PlanStatus.APPROVED.value:
            return _approved_result(session, plan)
        if plan.status == PlanStatus.SUPERSEDED.value:
            raise Conflict(
                f"plan {plan_id} (version {plan.version}) was superseded; approve a newer plan"
            )
        day_plans = [p for p in locked if p.id != plan_id]
        previous = next((p for p in day_plans if p.status == PlanStatus.APPROVED.value), None)
        if previous is not None and plan.based_on_plan_id != previous.id:
            # The draft never saw what the approved plan promised (locks, confirmations).
            drafted_from = (
                f"from plan {plan.based_on_plan_id}" if plan.based_on_plan_id else "from scratch"
            )
            raise Conflict(
                f"plan {plan_id} (version {plan.version}) was drafted {drafted_from}, but plan "
                f"{previous.id} (version {previous.version}) has been approved since; "
                "draft a new plan instead"
            )
        stops = _visit_stops(session, plan_id)
        in_plan = {row.visit_id for row in stops}
        removed: list[int] = []
        if previous is not None:
            assert previous.id is not None
            old_ids = {
                row.visit_id
                for row in session.exec(
                    select(PlanStop).where(
                        PlanStop.plan_id == previous.id, col(PlanStop.visit_id).is_not(None)
                    )
                )
            }
            left_out = sorted(i for i in old_ids if i is not None and i not in in_plan)
            # a visit done, failed or cancelled meanwhile is left out of every new plan, but
            # who did it and when is its history, not a place to take back
            removed = [i for i in left_out
                       if (v := session.get(Visit, i)) is not None
                       and v.status not in CLOSED_STATUSES]  # fmt: skip
        clock = DayClock.for_day(plan.plan_date, plan.solver_summary.get("timezone", "UTC"))
        for visit_id in removed:
            visit = session.get(Visit, visit_id)
            if visit is None or visit.planned_start is None:
                continue
            if not clock.origin <= visit.planned_start < clock.day_end:
                continue  # already placed on another day meanwhile
            forget_arrival(visit)
            visit.assigned_staff_id = None
            visit.planned_start = None
            visit.promised_window_start = None
            visit.promised_window_end = None
            if visit.status in SCHEDULED_STATUSES:
                visit.status = VisitStatus.REQUESTED.value
            session.add(visit)
        skipped: list[int] = []
        elsewhere: list[int] = []
        for row in stops:
            visit = session.get(Visit, row.visit_id)
            if visit is None or visit.status in CLOSED_STATUSES:
                skipped.append(row.visit_id)  # finished meanwhile: never planned
                continue
            if (
                visit.status in SCHEDULED_STATUSES
                and visit.planned_start is not None
                and not clock.origin <= visit.planned_start < clock.day_end
            ):
                # another day's plan, approved since this draft was made, has it: that plan
                # keeps it (its customer may have been told); here it is listed as left out
                elsewhere.append(row.visit_id)
                _left_out_for_another_day(session, row, visit.planned_start, clock)
                continue
            if visit.assigned_staff_id != row.staff_id:
                forget_arrival(visit)  # someone else's check-in is not this one's
            visit.assigned_staff_id = row.staff_id
            visit.planned_start = row.start
            visit.promised_window_start = row.window_start or row.start
            visit.promised_window_end = row.window_end or row.end
            if visit.status in POOL_STATUSES:
                visit.status = VisitStatus.PLANNED.value
            session.add(visit)
        for other in day_plans:
            if other.status == PlanStatus.APPROVED.value or (
                other.status == PlanStatus.DRAFT.value and other.version < plan.version
            ):
                other.status = PlanStatus.SUPERSEDED.value
                session.add(other)
        # A day has one approved plan: supersede before approving (PostgreSQL checks as it goes).
        session.flush()
        plan.status = PlanStatus.APPROVED.value
        plan.approved_at = utcnow()
        plan.approved_by = approved_by.strip()[:200]
        plan.solver_summary = {
            **plan.solver_summary,
            "approval": {
                "superseded_plan_id": previous.id if previous is not None else None,
                "removed_visit_ids": removed,
                "skipped_closed_visit_ids": skipped,
                "planned_elsewhere_visit_ids": elsewhere,
            },
        }
        session.add(plan)
        audit.record(
            session,
            approved_by.strip()[:200],
            "plan.approve",
            "dailyplan",
            plan_id,
            plan_date=plan.plan_date.isoformat(),
            version=plan.version,
            superseded_plan_id=previous.id if previous is not None else None,
            visits=len(stops) - len(skipped) - len(elsewhere),
            removed_visit_ids=removed,
            planned_elsewhere_visit_ids=elsewhere,
        )
        session.flush()
        return _approved_result(session, plan)
