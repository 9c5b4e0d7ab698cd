"""VisitWorkflow: one visit from request to completion (a child of its sale's lifecycle).

requested -> planned (the day's plan is approved: ``planned`` signal) -> awaiting_confirmation
(SMS sent) -> confirmed / declined -> completed or failed. Declined visits and visits the customer
was absent for go back into the pool (status declined / requested, unplanned) and wait for the
next plan; after ``max_absences`` absences the visit fails, flagged for a phone call (the sale's
lifecycle then waits for the dispatcher's decision). The customer's answer is the
``customer_reply`` update, whose validator refuses what makes no sense now (nothing is written to
history for a refused answer).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from activities.messaging import SmsActivities
    from activities.types import (
        PinVisitIn,
        SlotOut,
        SlotsIn,
        SmsOut,
        VisitPlannedIn,
        VisitSmsIn,
        VisitStatusIn,
    )
    from activities.visits import VisitActivities
    from workflows import contracts as c
    from workflows import options

AWAITING = "awaiting_confirmation"
REPLYABLE = (AWAITING, "confirmed")
OUTCOME_STATES = ("planned", AWAITING, "confirmed")
# Versioning: histories recorded before the notice of a removal existed replay without it.
UNPLANNED_NOTICE_PATCH = "unplanned-notice"
# ...and before a second report that waited for the first one was refused (it counted twice).
ONE_OUTCOME_PATCH = "one-outcome"
# ...and before a new start inside the window the customer was given was kept quiet.
SAME_WINDOW_PATCH = "same-window-quiet"
# ...and before a confirmed visit moved later the same day was told, not asked again.
DELAY_NOTICE_PATCH = "delay-notice"
#: A confirmed visit moved later on its day by the same staff member, to start within this time:
#: the route runs late; the customer is told the new window, not asked to confirm again.
DELAY_NOTICE_WITHIN = timedelta(hours=12)


@dataclass
class VisitState:
    visit_id: int
    status: str
    plan_id: int | None = None
    staff_id: int | None = None
    planned_start: str | None = None
    needs_phone_call: bool = False
    offered_slots: list[str] = field(default_factory=list)
    reminders: list[str] = field(default_factory=list)
    absences: int = 0


@workflow.defn(name=c.VISIT_WORKFLOW)
class VisitWorkflow:
    def __init__(self) -> None:
        self.visit_id = 0
        self.status = "requested"
        self.plan: c.VisitPlanned | None = None
        self.pending_plan: c.VisitPlanned | None = None
        self.epoch = 0  # grows with every change of plan (new plan, removed from plan)
        self.offered: list[SlotOut] = []
        self.chosen_start: str | None = None
        self.delayed = False  # the pending plan moves a confirmed visit later today
        self.needs_phone_call = False
        self.reminders: list[str] = []
        self.absences = 0
        self.outcome: c.VisitOutcomeInput | None = None
        self.replies: dict[int, c.CustomerReplyResult] = {}
        self.offers = 0
        self.removed_after_telling = False  # taken off the plan after the customer was told
        self.lock = asyncio.Lock()

    # -- run ----------------------------------------------------------------------------------

    @workflow.run
    async def run(self, data: c.VisitWorkflowInput) -> c.VisitResult:
        self.visit_id = data.visit_id
        self.input = data
        try:
            while True:
                await workflow.wait_condition(lambda: self.pending_plan is not None)
                result = await self._planned_cycle()
                if result is not None:
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    return result
        except asyncio.CancelledError:
            await self._cleanup_cancelled()
            raise

    async def _planned_cycle(self) -> c.VisitResult | None:
        """One plan: ask for confirmation, remind, wait for the outcome. None: back to pool."""
        plan = self.pending_plan
        assert plan is not None
        self.pending_plan = None
        self.plan = plan
        self.outcome = None
        epoch = self.epoch
        await self._db_planned(plan)
        self.status = "planned"

        def changed() -> bool:
            return self.epoch != epoch

        chosen, self.chosen_start = self.chosen_start, None
        delayed, self.delayed = self.delayed, False
        if chosen and _same_moment(chosen, plan.planned_start):
            # The customer picked this very slot: no need to ask again, just tell them it holds.
            await self._set_status("confirmed")
            await self._sms("visit_rescheduled", f"rescheduled/{plan.plan_id}-{self.epoch}")
        elif delayed and workflow.patched(DELAY_NOTICE_PATCH):
            # Confirmed, and the technician runs late today: tell them when, ask nothing.
            await self._set_status("confirmed")
            await self._sms("visit_delayed", f"delayed/{plan.plan_id}-{self.epoch}")
        else:
            await self._ask_confirmation(plan)
            await self._wait_for_reply(plan, changed)
        if changed():
            await self._back_to_pool_if_removed()
            return None
        if self.status == "confirmed":
            await self._day_before_reminder(plan, changed)
        await workflow.wait_condition(
            lambda: changed() or self.outcome is not None or self.status not in OUTCOME_STATES
        )
        if self.outcome is not None:
            return await self._finish(self.outcome)
        await self._back_to_pool_if_removed()
        return None

    async def _back_to_pool_if_removed(self) -> None:
        told, self.removed_after_telling = self.removed_after_telling, False
        if self.status == "requested" and self.pending_plan is None and self.chosen_start is None:
            plan = self.plan
            if told and plan is not None and workflow.patched(UNPLANNED_NOTICE_PATCH):
                # The customer expects someone in the window they were given: say it is off.
                # (A visit moved to another time instead gets that time's confirmation.)
                await self._sms(
                    "visit_unplanned",
                    f"unplanned/{plan.plan_id}-{self.epoch}",
                    told_window=[plan.window_start, plan.window_end],
                )
            await self._set_status("requested", unplan=True)

    async def _ask_confirmation(self, plan: c.VisitPlanned) -> None:
        self.status = AWAITING
        await self._set_status(AWAITING)
        sent = await self._sms("visit_confirmation", f"confirm/{plan.plan_id}-{self.epoch}")
        if not sent.delivered:
            await self._flag_phone_call()

    async def _wait_for_reply(self, plan: c.VisitPlanned, changed: object) -> None:
        timeout = timedelta(hours=self.input.reply_timeout_hours)

        def answered() -> bool:
            return changed() or self.status != AWAITING  # type: ignore[operator]

        if await _wait(answered, timeout):
            return
        await self._sms("visit_no_answer_reminder", f"noanswer/{plan.plan_id}-{self.epoch}")
        self.reminders.append("no_answer")
        if await _wait(answered, timeout):
            return
        await self._flag_phone_call()
        await workflow.wait_condition(answered)

    async def _day_before_reminder(self, plan: c.VisitPlanned, changed: object) -> None:
        remind_at = datetime.fromisoformat(plan.planned_start) - timedelta(days=1)
        delay = remind_at - workflow.now()
        if delay <= timedelta(0):
            return

        def interrupted() -> bool:
            return changed() or self.outcome is not None or self.status != "confirmed"  # type: ignore[operator]

        if not await _wait(interrupted, delay):
            await self._sms("visit_day_before_reminder", f"daybefore/{plan.plan_id}-{self.epoch}")
            self.reminders.append("day_before")

    async def _finish(self, outcome: c.VisitOutcomeInput) -> c.VisitResult | None:
        plan = self.plan
        result = c.VisitResult(
            visit_id=self.visit_id,
            outcome=outcome.outcome,
            staff_id=plan.staff_id if plan else None,
            visit_date=plan.planned_start[:10] if plan else None,
            note=outcome.note,
        )
        if outcome.outcome in ("done", "follow_up"):
            return result
        if self.absences >= self.input.max_absences:
            result.outcome = "failed"
            return result
        return None  # absent: back into the pool, the next plan reschedules it

    # -- messages -----------------------------------------------------------------------------

    @workflow.signal(name=c.VISIT_PLANNED_SIGNAL)
    def planned(self, data: c.VisitPlanned) -> None:
        if self.status in ("completed", "failed", "cancelled"):
            return
        current = self.plan
        if (
            current is not None
            and self.pending_plan is None
            and self.status in ("planned", AWAITING, "confirmed")
            and current.staff_id == data.staff_id
            and (
                _same_moment(current.planned_start, data.planned_start)
                or (_same_window(current, data) and workflow.patched(SAME_WINDOW_PATCH))
            )
        ):
            # same place in a newer version of the plan, or another start inside the window the
            # customer was given (by the same staff member): nothing to tell, nothing to ask
            self.plan = data
            return
        self.delayed = (
            current is not None
            and self.pending_plan is None
            and self.status == "confirmed"
            and current.staff_id == data.staff_id
            and current.plan_date == data.plan_date
            and _later_soon(current, data, workflow.now())
        )
        self.pending_plan = data
        self.epoch += 1

    @workflow.signal(name=c.VISIT_UNPLANNED_SIGNAL)
    def unplanned(self, data: c.VisitUnplanned) -> None:
        if (
            self.plan is not None
            and self.plan.plan_id <= data.plan_id
            and self.pending_plan is None
        ):
            if self.status in ("planned", AWAITING, "confirmed"):
                self.removed_after_telling = self.status in (AWAITING, "confirmed")
                self.epoch += 1
                self.status = "requested"

    @workflow.update(name=c.CUSTOMER_REPLY_UPDATE)
    async def customer_reply(self, data: c.CustomerReplyInput) -> c.CustomerReplyResult:
        if data.message_id is not None and data.message_id in self.replies:
            return self.replies[data.message_id]
        async with self.lock:
            result = await self._apply_reply(data)
        if data.message_id is not None:
            self.replies[data.message_id] = result
        return result

    @customer_reply.validator
    def validate_reply(self, data: c.CustomerReplyInput) -> None:
        if data.message_id is not None and data.message_id in self.replies:
            return
        if data.answer not in c.REPLY_ANSWERS:
            raise ValueError(f"unknown answer {data.answer!r}")
        if data.answer == "choose_slot":
            if not self.offered:
                raise ValueError("no alternative times have been offered for this visit")
            if data.slot is None or not 1 <= data.slot <= len(self.offered):
                raise ValueError(f"choose a time from 1 to {len(self.offered)}")
            return
        if self.status not in REPLYABLE:
            raise ValueError(f"the visit is {self.status.replace('_', ' ')}; no answer expected")

    async def _apply_reply(self, data: c.CustomerReplyInput) -> c.CustomerReplyResult:
        epoch = self.epoch
        if data.answer == "confirm":
            self.offered = []
            await self._set_status("confirmed", needs_phone_call=False)
            self.needs_phone_call = False
        elif data.answer == "decline":
            self.offered = []
            await self._set_status("declined", unplan=True)
            await self._ask_replan("visit declined")
            self.epoch += 1
        elif data.answer == "reschedule":
            found = await workflow.execute_activity_method(
                VisitActivities.alternative_slots,
                SlotsIn(visit_id=self.visit_id, after=workflow.now().isoformat()),
                **options.DB,
            )
            self.offered = found.slots
            self.offers += 1
            if self.offered:
                await self._sms(
                    "reschedule_offer",
                    f"offer/{self.offers}",
                    slots=[s.start for s in self.offered],
                )
            else:
                await self._flag_phone_call()
        else:  # choose_slot (validated)
            assert data.slot is not None
            slot = self.offered[data.slot - 1]
            self.offered = []
            await workflow.execute_activity_method(
                VisitActivities.pin_visit,
                PinVisitIn(visit_id=self.visit_id, staff_id=slot.staff_id, start=slot.start),
                **options.DB,
            )
            self.chosen_start = slot.start
            await self._ask_replan("visit rescheduled by the customer")
            if epoch == self.epoch:
                self.epoch += 1
            self.status = "requested"
        return c.CustomerReplyResult(
            accepted=True, status=self.status, offered_slots=[s.start for s in self.offered]
        )

    @workflow.update(name=c.VISIT_OUTCOME_UPDATE)
    async def report_outcome(self, data: c.VisitOutcomeInput) -> c.VisitOutcomeResult:
        async with self.lock:
            # the validator ran before an earlier report that held the lock had finished
            if (refusal := self._outcome_refusal()) and workflow.patched(ONE_OUTCOME_PATCH):
                raise ApplicationError(refusal, non_retryable=True)
            note = data.note or None
            # the audit names who reported (the signed-in user), as the web app's own changes do
            by = data.reported_by.strip() or None
            ended = data.finished_at
            if data.outcome in ("done", "follow_up"):
                await self._set_status("completed", note=note, actor=by, finished_at=ended)
            else:
                self.absences += 1
                if self.absences >= self.input.max_absences:
                    # the dispatcher phones the customer, then decides on the sale's page
                    await self._set_status(
                        "failed", note=note or "customer absent", needs_phone_call=True,
                        actor=by, finished_at=ended,
                    )  # fmt: skip
                    self.needs_phone_call = True
                else:
                    await self._set_status(
                        "requested", note=note or "customer absent", unplan=True, actor=by
                    )
            self.outcome = data
        return c.VisitOutcomeResult(accepted=True, status=self.status)

    @report_outcome.validator
    def validate_outcome(self, data: c.VisitOutcomeInput) -> None:
        if data.outcome not in c.VISIT_OUTCOMES:
            raise ValueError(f"unknown outcome {data.outcome!r}: done, follow_up or absent")
        if data.finished_at:
            try:
                ended = datetime.fromisoformat(data.finished_at)
            except ValueError:
                raise ValueError(f"finished_at {data.finished_at!r} is not a time") from None
            if ended.tzinfo is None:
                raise ValueError(f"finished_at {data.finished_at!r} has no UTC offset")
            if ended > workflow.now() + timedelta(minutes=5):
                raise ValueError(f"finished_at {data.finished_at!r} is in the future")
        if refusal := self._outcome_refusal():
            raise ValueError(refusal)

    def _outcome_refusal(self) -> str:
        """Why no outcome can be reported now ("" when one can)."""
        if self.status not in OUTCOME_STATES or self.outcome is not None:
            return f"the visit is {self.status.replace('_', ' ')}; no outcome expected"
        return ""

    @workflow.query(name=c.STATE_QUERY)
    def state(self) -> VisitState:
        plan = self.plan
        return VisitState(
            visit_id=self.visit_id,
            status=self.status,
            plan_id=plan.plan_id if plan else None,
            staff_id=plan.staff_id if plan else None,
            planned_start=plan.planned_start if plan else None,
            needs_phone_call=self.needs_phone_call,
            offered_slots=[s.start for s in self.offered],
            reminders=list(self.reminders),
            absences=self.absences,
        )

    # -- helpers ------------------------------------------------------------------------------

    def _actor(self) -> str:
        """How the audit names this workflow (``AuditEntry.actor``)."""
        return f"workflow:{workflow.info().workflow_id}"

    async def _db_planned(self, plan: c.VisitPlanned) -> None:
        await workflow.execute_activity_method(
            VisitActivities.mark_visit_planned,
            VisitPlannedIn(
                visit_id=self.visit_id,
                staff_id=plan.staff_id,
                planned_start=plan.planned_start,
                window_start=plan.window_start,
                window_end=plan.window_end,
                actor=self._actor(),
            ),
            **options.DB,
        )

    async def _set_status(
        self,
        status: str,
        *,
        note: str | None = None,
        needs_phone_call: bool | None = None,
        unplan: bool = False,
        actor: str | None = None,
        finished_at: str = "",
    ) -> None:
        """The visit's new status, in the database and here; ``actor`` (default: this
        workflow) is who the audit names; ``finished_at`` when a reported visit ended."""
        await workflow.execute_activity_method(
            VisitActivities.set_visit_status,
            VisitStatusIn(
                visit_id=self.visit_id,
                status=status,
                note=note,
                needs_phone_call=needs_phone_call,
                unplan=unplan,
                actor=actor or self._actor(),
                finished_at=finished_at,
            ),
            **options.DB,
        )
        self.status = status

    async def _flag_phone_call(self) -> None:
        if self.needs_phone_call:
            return
        self.needs_phone_call = True
        await workflow.execute_activity_method(
            VisitActivities.set_visit_status,
            VisitStatusIn(
                visit_id=self.visit_id,
                status=self.status,
                needs_phone_call=True,
                actor=self._actor(),
            ),
            **options.DB,
        )

    async def _sms(
        self,
        template: str,
        step: str,
        slots: list[str] | None = None,
        told_window: list[str] | None = None,
    ) -> SmsOut:
        """Text the customer; the key (workflow id + step) makes a retried send a no-op."""
        try:
            return await workflow.execute_activity_method(
                SmsActivities.send_visit_sms,
                VisitSmsIn(
                    visit_id=self.visit_id,
                    template=template,
                    idempotency_key=f"{workflow.info().workflow_id}/{step}",
                    slots=slots or [],
                    told_window=told_window or [],
                ),
                **options.SMS,
            )
        except ActivityError as exc:
            if isinstance(exc.cause, ApplicationError) and exc.cause.non_retryable:
                workflow.logger.warning(
                    "SMS %s for visit %s not delivered", template, self.visit_id
                )
                return SmsOut(message_id=None, status="failed", skipped_reason="undeliverable")
            raise

    async def _ask_replan(self, reason: str) -> None:
        """Tell the planning workflow of the visit's day that the plan needs another look."""
        plan = self.plan
        if plan is None or not plan.plan_date:
            return
        handle = workflow.get_external_workflow_handle(f"plan-{plan.plan_date}")
        try:
            await handle.signal(c.REPLAN_SIGNAL, c.ReplanInput(reason=reason))
        except FailureError:
            workflow.logger.info("planning workflow of %s has ended", plan.plan_date)

    async def _cleanup_cancelled(self) -> None:
        told = self.status in ("planned", AWAITING, "confirmed")
        await self._set_status("cancelled", note="cancelled with its sale")
        if told:
            await self._sms("visit_cancelled", "cancelled")


async def _wait(condition: object, timeout: timedelta) -> bool:
    """Wait for a condition; False when the timeout passed first."""
    try:
        await workflow.wait_condition(condition, timeout=timeout)  # type: ignore[arg-type]
        return True
    except TimeoutError:
        return False


def _later_soon(before: c.VisitPlanned, after: c.VisitPlanned, now: datetime) -> bool:
    """Whether ``after`` starts later than ``before``, within ``DELAY_NOTICE_WITHIN`` of now."""
    try:
        old, new = (datetime.fromisoformat(p.planned_start) for p in (before, after))
        return old < new and new - now < DELAY_NOTICE_WITHIN
    except (TypeError, ValueError):
        return False


def _same_window(a: c.VisitPlanned, b: c.VisitPlanned) -> bool:
    """Whether both plans promise the customer the same arrival window."""
    ends = (a.window_start, a.window_end, b.window_start, b.window_end)
    if any(not e for e in ends):
        return False
    return _same_moment(ends[0], ends[2]) and _same_moment(ends[1], ends[3])


def _same_moment(a: str, b: str) -> bool:
    try:
        return datetime.fromisoformat(a) == datetime.fromisoformat(b)
    except ValueError:
        return a == b


__all__ = ["VisitWorkflow", "VisitState", "asdict"]
