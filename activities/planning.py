"""Activities of the daily planning: draft (heartbeating while the solver runs), approve, publish.

They call :mod:`planning.service` and :mod:`calendars` (imported when first used, so a worker
starts even while an optional part is being deployed).
"""

from __future__ import annotations

import queue
import threading
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import bad_data_is_final
from activities.types import (
    ApprovedPlanOut,
    ApprovePlanIn,
    CaldavPushIn,
    CaldavPushOut,
    DraftPlanIn,
    DraftPlanOut,
    PlannedVisitOut,
    PublishIn,
    PublishOut,
)
from domain.db import session_scope
from domain.models import DailyPlan
from posventa.config import Settings

HEARTBEAT_EVERY = 2.0


def _iso(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


class PlanningActivities:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    @activity.defn(name="draft_plan")
    @bad_data_is_final
    def draft_plan(self, data: DraftPlanIn) -> DraftPlanOut:
        """Run the optimizer in a thread and heartbeat (with its latest progress) until done."""
        from planning.service import draft_plan

        progress: queue.SimpleQueue[str] = queue.SimpleQueue()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                plan_day = date.fromisoformat(data.plan_date)
                progress.put(refresh_busy_times(self.engine, plan_day))
                outcome["result"] = draft_plan(
                    self.engine,
                    self.settings,
                    date.fromisoformat(data.plan_date),
                    data.seconds,
                    base_plan_id=data.base_plan_id,
                    on_progress=progress.put,
                )
            except BaseException as exc:  # handed to the activity thread below
                outcome["error"] = exc

        thread = threading.Thread(target=work, name=f"draft-{data.plan_date}", daemon=True)
        thread.start()
        last = "started"
        while thread.is_alive():
            thread.join(HEARTBEAT_EVERY)
            while not progress.empty():
                last = progress.get()
            activity.heartbeat(last)
        if "error" in outcome:
            raise outcome["error"]
        result = outcome["result"]
        if data.workflow_id:
            with session_scope(self.engine) as session:
                plan = session.get(DailyPlan, result.plan_id)
                if plan is not None and plan.workflow_id != data.workflow_id:
                    plan.workflow_id = data.workflow_id
                    session.add(plan)
        return DraftPlanOut(
            plan_id=result.plan_id,
            plan_date=_iso(result.plan_date),
            assigned=_count(result.assigned),
            unassigned=_count(result.unassigned),
            moved=_count(result.moved),
        )

    @activity.defn(name="approve_plan")
    @bad_data_is_final
    def approve_plan(self, data: ApprovePlanIn) -> ApprovedPlanOut:
        from planning.service import approve_plan

        approved = approve_plan(self.engine, data.plan_id, data.approved_by)
        return ApprovedPlanOut(
            plan_id=approved.plan_id,
            plan_date=_iso(approved.plan_date),
            visits=[
                PlannedVisitOut(
                    visit_id=v.visit_id,
                    staff_id=v.staff_id,
                    planned_start=_iso(v.planned_start),
                    window_start=_iso(v.window_start),
                    window_end=_iso(v.window_end),
                )
                for v in approved.visits
            ],
            removed_visit_ids=list(getattr(approved, "removed_visit_ids", []) or []),
            superseded_plan_id=approved.superseded_plan_id,
        )

    @activity.defn(name="publish_calendars")
    @bad_data_is_final
    def publish_calendars(self, data: PublishIn) -> PublishOut:
        """Update the staff feeds of an approved plan; say whose CalDAV calendars need a push."""
        from calendars.caldav_sync import staff_with_caldav
        from calendars.publish import publish_plan

        result = publish_plan(self.engine, data.plan_id)
        caldav = sorted(set(result.staff_ids) & set(staff_with_caldav(self.engine)))
        return PublishOut(caldav_staff_ids=caldav, changed=_count(result.changed))

    @activity.defn(name="push_caldav")
    def push_caldav(self, data: CaldavPushIn) -> CaldavPushOut:
        """Push one staff member's entries to their CalDAV server (retried by the workflow)."""
        from calendars.caldav_sync import CalDavError, push_staff

        try:
            result = push_staff(self.engine, data.staff_id)
        except CalDavError as exc:
            # Bad credentials or a wrong URL will not fix themselves: fail at once (the workflow
            # tries again in its next round and the dispatcher sees the error meanwhile).
            raise ApplicationError(
                exc.message, type="CalDavError", non_retryable=not exc.retryable
            ) from exc
        return CaldavPushOut(staff_id=data.staff_id, pushed=_count(getattr(result, "pushed", 0)))


def refresh_busy_times(engine: Engine, plan_day: date) -> str:
    """Read every CalDAV user's busy time for the day before planning it.

    A calendar that cannot be read never holds up planning: its error is recorded on the staff
    member (``caldav_last_error``, shown to the dispatcher) and the busy times read last time stay.
    """
    from calendars.caldav_sync import CalDavError, pull_busy, staff_with_caldav

    read, failed = 0, 0
    for staff_id in staff_with_caldav(engine):
        try:
            pull_busy(engine, staff_id, plan_day)
            read += 1
        except CalDavError:
            failed += 1
    return f"busy times read from {read} calendars ({failed} unreachable)"


def _count(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    try:
        return len(value)
    except TypeError:
        return 0
