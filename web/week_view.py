"""The planning week at a glance: for each of seven days, its plan (approved, a draft waiting,
none), how many visits it places, leaves out and has confirmed, and who works (and who is off),
so a dispatcher sees which days still need a plan or are short of staff."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, func, select

from domain.models import DailyPlan, PlanStatus, PlanStop, PlanUnassigned, Visit, VisitStatus
from planning.candidates import staff_for_day
from planning.clock import DayClock
from web.board_view import choose_plan

DAYS = 7
REPORTED = (VisitStatus.COMPLETED.value, VisitStatus.FAILED.value)


@dataclass(frozen=True)
class DayOverview:
    day: date
    plan: DailyPlan | None  # the day's current plan (the newest draft, else the approved one)
    waiting: bool  # a draft waits for approval
    planned: int = 0
    unassigned: int = 0
    confirmed: int = 0
    done: int = 0  # reported done or failed
    working: int = 0  # staff working that day
    off: int = 0  # staff whose working day it is, absent


def week_overview(session: Session, first: date, tzid: str) -> list[DayOverview]:
    """``DAYS`` days from ``first``, each as :class:`DayOverview`."""
    days = [first + timedelta(days=i) for i in range(DAYS)]
    by_day: dict[date, list[DailyPlan]] = {d: [] for d in days}
    for plan in session.exec(
        select(DailyPlan)
        .where(col(DailyPlan.plan_date).in_(days))
        .order_by(col(DailyPlan.version).desc())
    ):
        by_day[plan.plan_date].append(plan)
    current = {d: choose_plan(plans, None) for d, plans in by_day.items()}
    plan_ids = [p.id for p in current.values() if p is not None and p.id is not None]
    planned, confirmed, done, unassigned = Counter(), Counter(), Counter(), Counter()
    if plan_ids:
        stops = session.exec(
            select(PlanStop.plan_id, Visit.status, func.count())
            .join(Visit, col(Visit.id) == col(PlanStop.visit_id))
            .where(col(PlanStop.plan_id).in_(plan_ids))
            .group_by(col(PlanStop.plan_id), col(Visit.status))
        )
        for plan_id, status, count in stops:
            planned[plan_id] += count
            confirmed[plan_id] += count if status == VisitStatus.CONFIRMED.value else 0
            done[plan_id] += count if status in REPORTED else 0
        for plan_id, count in session.exec(
            select(PlanUnassigned.plan_id, func.count())
            .where(col(PlanUnassigned.plan_id).in_(plan_ids))
            .group_by(col(PlanUnassigned.plan_id))
        ):
            unassigned[plan_id] = count
    overview = []
    for day in days:
        plan = current[day]
        available, off = staff_for_day(session, DayClock.for_day(day, tzid))
        pid = plan.id if plan is not None else None
        overview.append(
            DayOverview(
                day=day, plan=plan,
                waiting=plan is not None and plan.status == PlanStatus.DRAFT.value,
                planned=planned[pid], unassigned=unassigned[pid], confirmed=confirmed[pid],
                done=done[pid], working=len(available), off=len(off),
            )
        )  # fmt: skip
    return overview
