"""PlanningActivities with the real planner, optimizer and calendar publisher (both DBs)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from activities.planning import PlanningActivities
from activities.sales import SaleActivities
from activities.types import ApprovePlanIn, DraftPlanIn, PublishIn, RequestVisitIn
from domain.db import session_scope
from domain.models import CalendarEntry, DailyPlan, Visit
from posventa.config import Settings

TUESDAY = date(2026, 11, 3)


def test_draft_heartbeats_then_approve_and_publish(
    engine: Engine, settings: Settings, company: dict[str, int]
) -> None:
    visit = ActivityEnvironment().run(
        SaleActivities(engine).request_visit,
        RequestVisitIn(
            sale_id=company["sale"],
            kind="installation",
            business_key="k",
            duration_minutes=90,
            earliest_date=TUESDAY.isoformat(),
            skill="install",
        ),
    )
    acts = PlanningActivities(engine, settings)
    env = ActivityEnvironment()
    beats: list[object] = []
    env.on_heartbeat = lambda *details: beats.extend(details)
    draft = env.run(
        acts.draft_plan, DraftPlanIn(TUESDAY.isoformat(), seconds=3, workflow_id="plan-x")
    )
    assert (draft.assigned, draft.unassigned, draft.plan_date) == (1, 0, TUESDAY.isoformat())
    assert beats and all(isinstance(b, str) for b in beats)
    approved = ActivityEnvironment().run(acts.approve_plan, ApprovePlanIn(draft.plan_id, "disp"))
    assert [v.visit_id for v in approved.visits] == [visit.visit_id]
    assert approved.visits[0].staff_id == company["staff"]
    published = ActivityEnvironment().run(acts.publish_calendars, PublishIn(draft.plan_id))
    assert published.changed == 1 and published.caldav_staff_ids == []
    with session_scope(engine) as s:
        plan = s.get(DailyPlan, draft.plan_id)
        row = s.get(Visit, visit.visit_id)
        entries = list(s.exec(select(CalendarEntry)))
    assert plan is not None and plan.workflow_id == "plan-x" and plan.status == "approved"
    assert row is not None and row.assigned_staff_id == company["staff"]
    assert [e.visit_id for e in entries] == [visit.visit_id]
