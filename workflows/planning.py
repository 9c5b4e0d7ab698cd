"""DailyPlanning: one day's plan, from draft to approval to the changes that follow.

Started by the daily Schedule (through :class:`DailyPlanningKickoff`, which names it
``plan-<date>``) or by a dispatcher. Drafts with the optimizer (a heartbeating activity), waits for
the dispatcher's ``approve_plan`` update (the plan id must be the current draft), then tells every
visit workflow where it stands and publishes the staff calendars; CalDAV pushes run in the
background and are retried without ever holding up the plan. A ``replan`` signal (a declined
visit, a technician off sick) drafts again on top of the approved plan, with confirmed visits
locked, and waits for the dispatcher to approve the difference. The workflow closes when its day
is over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, FailureError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.messaging import SmsActivities
    from activities.planning import PlanningActivities
    from activities.types import (
        ApprovedPlanOut,
        ApprovePlanIn,
        CaldavPushIn,
        DraftPlanIn,
        PublishIn,
        RouteChangeSmsIn,
    )
    from domain.lifecycle import local_date, local_day_start, next_working_day
    from workflows import contracts as c
    from workflows import options


# Versioning: histories recorded before technicians were texted of their route's changes.
ROUTE_SMS_PATCH = "route-change-sms"
# Staff are not texted at night: a plan approved earlier on its day waits until this hour.
STAFF_TEXTS_FROM = timedelta(hours=7)


@dataclass
class PlanningState:
    plan_date: str
    status: str  # drafting, awaiting_approval, approved, closed
    draft_plan_id: int | None = None
    approved_plan_id: int | None = None
    drafts: int = 0
    pending_replans: list[str] = field(default_factory=list)
    caldav_failed_staff: list[int] = field(default_factory=list)
    last_draft: dict[str, int] = field(default_factory=dict)
    last_error: str = ""
    staff_told_plan_id: int | None = None  # the plan the staff last had (calendar or text)


@workflow.defn(name=c.PLANNING_WORKFLOW)
class DailyPlanning:
    def __init__(self) -> None:
        self.plan_date = ""
        self.status = "drafting"
        self.draft_plan_id: int | None = None
        self.approved_plan_id: int | None = None
        self.drafts = 0
        self.replans: list[str] = []
        self.caldav_failed: set[int] = set()
        self.background: set[asyncio.Task[None]] = set()
        self.last_draft: dict[str, int] = {}
        self.seconds = 20.0
        self.last_error = ""
        self.timezone = "UTC"
        self.staff_told_plan_id: int | None = None

    @workflow.run
    async def run(self, data: c.PlanningInput) -> c.PlanningResult:
        self.seconds = data.draft_seconds
        self.timezone = data.timezone
        today = local_date(workflow.now(), data.timezone)
        self.plan_date = data.plan_date or next_working_day(today).isoformat()
        day_over = local_day_start(
            date.fromisoformat(self.plan_date) + timedelta(days=1), data.timezone
        )
        await self._draft()
        while True:
            remaining = day_over - workflow.now()
            if remaining <= timedelta(0):
                break
            try:
                await workflow.wait_condition(
                    lambda: bool(self.replans) and self.status != "approving", timeout=remaining
                )
            except TimeoutError:
                break
            self.replans.clear()
            await self._draft()
        self.status = "closed"
        await workflow.wait_condition(
            lambda: not self.background and workflow.all_handlers_finished()
        )
        return c.PlanningResult(self.plan_date, self.approved_plan_id, self.drafts)

    async def _draft(self) -> None:
        """Draft (again); a failed draft is reported in the state and leaves the last one."""
        previous = self.status if self.draft_plan_id is not None else "draft_failed"
        self.status = "drafting"
        try:
            draft = await workflow.execute_activity_method(
                PlanningActivities.draft_plan,
                DraftPlanIn(
                    plan_date=self.plan_date,
                    seconds=self.seconds,
                    base_plan_id=self.approved_plan_id,
                    workflow_id=workflow.info().workflow_id,
                ),
                **options.draft_options(self.seconds),
            )
        except ActivityError as exc:
            self.last_error = str(exc.cause or exc)[:300]
            workflow.logger.error("drafting the plan of %s failed", self.plan_date)
            self.status = previous if previous != "drafting" else "draft_failed"
            return
        self.last_error = ""
        self.drafts += 1
        self.draft_plan_id = draft.plan_id
        self.last_draft = {
            "plan_id": draft.plan_id,
            "assigned": draft.assigned,
            "unassigned": draft.unassigned,
            "moved": draft.moved,
        }
        self.status = "awaiting_approval"

    # -- approval -----------------------------------------------------------------------------

    @workflow.update(name=c.APPROVE_PLAN_UPDATE)
    async def approve_plan(self, data: c.ApprovePlanInput) -> c.ApprovePlanResult:
        self.status = "approving"
        self.draft_plan_id = None
        approved = await workflow.execute_activity_method(
            PlanningActivities.approve_plan,
            ApprovePlanIn(plan_id=data.plan_id, approved_by=data.approved_by),
            **options.DB,
        )
        self.approved_plan_id = approved.plan_id
        notified = await self._tell_visits(approved)
        await self._publish(approved.plan_id)
        on_the_day = local_date(workflow.now(), self.timezone).isoformat() == self.plan_date
        # On the day, or changing a plan they already had: tell them (on the day, from 07:00).
        if (on_the_day or self.staff_told_plan_id is not None) and workflow.patched(
            ROUTE_SMS_PATCH
        ):
            self._in_background(self._tell_staff(approved.plan_id))
        else:  # the day's first plan, the day before: their calendars and phone pages have it
            self.staff_told_plan_id = approved.plan_id
        if self.status == "approving":
            self.status = "approved"
        return c.ApprovePlanResult(plan_id=approved.plan_id, visits_notified=notified)

    @approve_plan.validator
    def validate_approval(self, data: c.ApprovePlanInput) -> None:
        if self.status != "awaiting_approval" or self.draft_plan_id is None:
            raise ValueError(f"no draft is waiting for approval (the plan is {self.status})")
        if data.plan_id != self.draft_plan_id:
            raise ValueError(
                f"plan {data.plan_id} is not the current draft; approve plan {self.draft_plan_id}"
            )
        if not data.approved_by.strip():
            raise ValueError("say who approves the plan")

    async def _tell_visits(self, approved: ApprovedPlanOut) -> int:
        async def tell(workflow_id: str, name: str, arg: object) -> bool:
            try:
                await workflow.get_external_workflow_handle(workflow_id).signal(name, arg)
                return True
            except FailureError:
                workflow.logger.warning("visit workflow %s is not running", workflow_id)
                return False

        sends = [
            tell(
                c.visit_workflow_id(v.visit_id),
                c.VISIT_PLANNED_SIGNAL,
                c.VisitPlanned(
                    plan_id=approved.plan_id,
                    plan_date=self.plan_date,
                    staff_id=v.staff_id,
                    planned_start=v.planned_start,
                    window_start=v.window_start,
                    window_end=v.window_end,
                ),
            )
            for v in approved.visits
        ] + [
            tell(
                c.visit_workflow_id(visit_id),
                c.VISIT_UNPLANNED_SIGNAL,
                c.VisitUnplanned(plan_id=approved.plan_id),
            )
            for visit_id in approved.removed_visit_ids
        ]
        results = await asyncio.gather(*sends)
        return sum(1 for ok in results[: len(approved.visits)] if ok)

    async def _tell_staff(self, plan_id: int) -> None:
        """Text the technicians whose route for today is new or changed since the plan they
        last had; not before ``STAFF_TEXTS_FROM`` (a plan approved at night waits, and one
        approved after it meanwhile texts instead). A failure is logged, no more."""
        wake = local_day_start(date.fromisoformat(self.plan_date), self.timezone) + STAFF_TEXTS_FROM
        if workflow.now() < wake:
            await workflow.sleep(wake - workflow.now())
        if self.approved_plan_id != plan_id:
            return  # approved over meanwhile: that plan tells them
        previous, self.staff_told_plan_id = self.staff_told_plan_id, plan_id
        try:
            await workflow.execute_activity_method(
                SmsActivities.send_route_change_sms,
                RouteChangeSmsIn(plan_id=plan_id, previous_plan_id=previous),
                **options.SMS,
            )
        except ActivityError:
            workflow.logger.error("staff of plan %s could not be texted", plan_id)

    async def _publish(self, plan_id: int) -> None:
        try:
            published = await workflow.execute_activity_method(
                PlanningActivities.publish_calendars, PublishIn(plan_id), **options.DB
            )
        except ActivityError:
            workflow.logger.error("calendars of plan %s could not be published", plan_id)
            return
        for staff_id in published.caldav_staff_ids:
            self._in_background(self._push_caldav(staff_id))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` without holding up the plan (the day waits for it before closing)."""
        task = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _push_caldav(self, staff_id: int) -> None:
        """Push one calendar, retrying in rounds; a server that stays down is reported, no more."""
        for attempt in range(options.CALDAV_ROUNDS):
            try:
                await workflow.execute_activity_method(
                    PlanningActivities.push_caldav, CaldavPushIn(staff_id), **options.CALDAV
                )
                self.caldav_failed.discard(staff_id)
                return
            except ActivityError:
                self.caldav_failed.add(staff_id)
                if attempt + 1 < options.CALDAV_ROUNDS:
                    await workflow.sleep(options.CALDAV_PAUSE)
        workflow.logger.warning("CalDAV push for staff %s failed; the feed is up to date", staff_id)

    # -- changes ------------------------------------------------------------------------------

    @workflow.signal(name=c.REPLAN_SIGNAL)
    def replan(self, data: c.ReplanInput) -> None:
        self.replans.append(data.reason[:200] or "replan")

    @workflow.query(name=c.STATE_QUERY)
    def state(self) -> PlanningState:
        return PlanningState(
            plan_date=self.plan_date,
            status=self.status,
            draft_plan_id=self.draft_plan_id,
            approved_plan_id=self.approved_plan_id,
            drafts=self.drafts,
            pending_replans=list(self.replans),
            caldav_failed_staff=sorted(self.caldav_failed),
            last_draft=dict(self.last_draft),
            last_error=self.last_error,
            staff_told_plan_id=self.staff_told_plan_id,
        )


@workflow.defn(name=c.PLANNING_KICKOFF_WORKFLOW)
class DailyPlanningKickoff:
    """What the Schedule starts: names the day's planning workflow ``plan-<date>`` and leaves."""

    @workflow.run
    async def run(self, data: c.PlanningKickoffInput) -> str:
        today = local_date(workflow.now(), data.timezone)
        plan_date = next_working_day(today)
        workflow_id = c.planning_workflow_id(plan_date)
        try:
            await workflow.start_child_workflow(
                DailyPlanning.run,
                c.PlanningInput(
                    plan_date=plan_date.isoformat(),
                    draft_seconds=data.draft_seconds,
                    timezone=data.timezone,
                ),
                id=workflow_id,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("planning of %s already running", plan_date)
        return workflow_id
