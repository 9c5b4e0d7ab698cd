"""SaleLifecycle: one sale's whole after-sales life (workflow id ``sale-<id>``).

installation (when the product needs one) -> training sessions in order, on different days, the
same trainer preferred -> satisfaction survey by SMS -> maintenance every product interval for the
contract's length -> ends when contract and warranty are over. Repairs arrive at any time through
the ``report_fault`` update; ``cancel_sale`` ends every pending visit cleanly. Every visit is a
child :class:`~workflows.visit.VisitWorkflow`; a visit that fails (the customer absent too often)
holds its step until the dispatcher decides (``decide_failed_visit``): request it again or close
the step. After each maintenance round (or when Temporal suggests it) the workflow continues as
new, carrying a small :class:`SaleCarry`, so a contract of many years never grows a large history.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.workflow import ChildWorkflowCancellationType, ChildWorkflowHandle

with workflow.unsafe.imports_passed_through():
    from activities.messaging import SmsActivities
    from activities.sales import SaleActivities
    from activities.types import (
        ContractIn,
        EndSaleIn,
        FailedVisitDecisionIn,
        RequestVisitIn,
        SaleOutlineOut,
        SaleRef,
        SaleSmsIn,
        SaleStageIn,
        SmsOut,
        SoldOnIn,
        SurveyIn,
    )
    from domain import lifecycle
    from workflows import contracts as c
    from workflows import options
    from workflows.visit import VisitWorkflow

MAINTENANCE_LEAD = timedelta(days=14)  # request a maintenance visit this long before it is due
SURVEY_REMINDER_AFTER = timedelta(days=2)
SURVEY_GIVE_UP_AFTER = timedelta(days=3)  # after the reminder
SURVEY_COMMENT_WAIT = timedelta(days=2)
REPAIR_DUE_DAYS = 3
# Versioning: histories recorded before failed visits waited for a decision replay without it.
FAILED_VISIT_PATCH = "failed-visit-decision"
# Histories recorded before contracts could change slept until each maintenance round unwoken.
CONTRACT_CHANGE_PATCH = "contract-change"


@dataclass
class SaleState:
    sale_id: int
    stage: str
    status: str
    open_visits: dict[str, int] = field(default_factory=dict)  # visit id -> kind
    trainings_done: int = 0
    next_maintenance_round: int = 1
    maintenance_rounds: int = 0
    survey: str = ""
    survey_score: int | None = None
    faults: int = 0
    run: int = 1
    failed_visits: dict[str, str] = field(default_factory=dict)  # awaiting a decision: id -> kind


@workflow.defn(name=c.SALE_WORKFLOW)
class SaleLifecycle:
    def __init__(self) -> None:
        self.sale_id = 0
        self.carry = c.SaleCarry()
        self.outline: SaleOutlineOut | None = None
        self.status = "active"
        self.cancel: c.CancelSaleInput | None = None
        self.cancel_result: c.CancelSaleResult | None = None
        self.children: dict[int, ChildWorkflowHandle] = {}
        self.open_kinds: dict[int, str] = {}
        self.repairs: set[asyncio.Task[None]] = set()
        self.survey = ""
        self.survey_score: int | None = None
        self.survey_comment: str | None = None
        self.survey_lock = asyncio.Lock()  # one answer recorded at a time, in arrival order
        self.visits_started = 0
        self.failed: dict[int, str] = {}  # failed visits awaiting the dispatcher: id -> kind
        self.decisions: dict[int, c.FailedVisitDecisionInput] = {}
        self.contract_changes = 0  # grows with every change of the contract's length

    # -- run ----------------------------------------------------------------------------------

    @workflow.run
    async def run(self, data: c.SaleLifecycleInput) -> c.SaleLifecycleResult:
        self.sale_id = data.sale_id
        carry = getattr(data, "carry", None)
        if carry is not None:
            self.carry = carry
        self.outline = await workflow.execute_activity_method(
            SaleActivities.load_sale, SaleRef(self.sale_id), **options.DB
        )
        if self.outline.status != "active":
            self.status = self.outline.status
            return c.SaleLifecycleResult(self.sale_id, self.outline.status)
        if carry is None:
            self._adopt_history(self.outline)
        main = asyncio.create_task(self._lifecycle())
        await workflow.wait_condition(lambda: main.done() or self.cancel is not None)
        if self.cancel is not None and not main.done():
            return await self._end_cancelled(main)
        return main.result()  # a ContinueAsNewError raised inside propagates from here

    def _adopt_history(self, o: SaleOutlineOut) -> None:
        """First run for a sale with a past: start after its last completed step."""
        carry = self.carry
        carry.installation_done = carry.installation_done or o.installation_done
        carry.trainings_done = max(carry.trainings_done, o.trainings_done)
        carry.last_training_date = carry.last_training_date or o.last_training_date
        carry.trainer_id = carry.trainer_id or o.trainer_id
        carry.survey_done = carry.survey_done or o.survey_done
        carry.next_maintenance_round = max(
            carry.next_maintenance_round, o.maintenance_rounds_done + 1
        )

    async def _lifecycle(self) -> c.SaleLifecycleResult:
        o = self.outline
        assert o is not None
        carry = self.carry
        if o.installation_minutes > 0 and not carry.installation_done:
            await self._set_stage("installation")
            await self._visit_until_done(
                "installation", 1, o.installation_minutes, o.installation_skill
            )
            carry.installation_done = True
        while carry.trainings_done < o.training_sessions:
            await self._set_stage("training")
            number = carry.trainings_done + 1
            earliest = self._today()
            if carry.last_training_date:
                earliest = max(
                    earliest, date.fromisoformat(carry.last_training_date) + timedelta(1)
                )
            result = await self._visit_until_done(
                "training",
                number,
                o.training_minutes,
                o.training_skill,
                earliest=earliest,
                preferred_staff_id=carry.trainer_id,
            )
            if carry.trainer_id is None and result.staff_id is not None:
                carry.trainer_id = result.staff_id
            carry.last_training_date = result.visit_date or self._today().isoformat()
            carry.trainings_done = number
        if not carry.survey_done:
            if o.installation_minutes > 0 or o.training_sessions > 0:
                await self._set_stage("survey")
                await self._run_survey()
            carry.survey_done = True
        while True:  # a contract renewed (or shortened) while waiting: plan its rounds again
            await self._maintenance()
            o = self.outline
            end = lifecycle.lifecycle_end(
                date.fromisoformat(o.sold_on), o.contract_months, o.warranty_months
            )
            if not await self._wait_for_the_end(end + timedelta(days=1)):
                break
        await workflow.execute_activity_method(
            SaleActivities.end_sale,
            EndSaleIn(self.sale_id, "completed", "contract and warranty over", self._actor()),
            **options.DB,
        )
        await self._set_stage("ended", db=False)
        self.status = "completed"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return c.SaleLifecycleResult(self.sale_id, "completed", self.visits_started)

    def _rounds(self) -> int:
        """Maintenance rounds in the whole contract, as it stands now."""
        o = self.outline
        assert o is not None
        return lifecycle.maintenance_rounds(
            date.fromisoformat(o.sold_on), o.maintenance_interval_days, o.contract_months
        )

    async def _maintenance(self) -> None:
        o = self.outline
        assert o is not None
        carry = self.carry
        while carry.next_maintenance_round <= self._rounds():
            assert o.maintenance_interval_days
            await self._set_stage("maintenance")
            number = carry.next_maintenance_round
            # the sale date as it stands now (a correction wakes the wait below)
            sold_on = date.fromisoformat(self.outline.sold_on)
            due = lifecycle.maintenance_due(sold_on, o.maintenance_interval_days, number)
            if workflow.patched(CONTRACT_CHANGE_PATCH):
                seen, delay = self.contract_changes, _until(due - MAINTENANCE_LEAD)
                if delay > timedelta(0) and await _wait(
                    lambda seen=seen: self.contract_changes != seen, delay
                ):
                    continue  # a shorter contract may have dropped this round
            else:
                await self._sleep_until(due - MAINTENANCE_LEAD)
            earliest = max(self._today(), due - timedelta(days=7))
            await self._visit_until_done(
                "maintenance",
                number,
                o.maintenance_minutes,
                o.maintenance_skill,
                earliest=earliest,
                due=max(earliest, due + timedelta(days=14)),
            )
            carry.next_maintenance_round = number + 1
            if carry.next_maintenance_round <= self._rounds():
                await self._continue_as_new()
        if workflow.info().is_continue_as_new_suggested():
            await self._continue_as_new()

    async def _continue_as_new(self) -> None:
        """Start a fresh run carrying the state (nothing in flight is lost: we wait for it)."""
        await workflow.wait_condition(
            lambda: not self.repairs and not self.children and workflow.all_handlers_finished()
        )
        self.carry.runs += 1
        workflow.continue_as_new(c.SaleLifecycleInput(sale_id=self.sale_id, carry=self.carry))

    # -- visits -------------------------------------------------------------------------------

    async def _visit_until_done(
        self,
        kind: str,
        number: int,
        minutes: int,
        skill: str | None,
        *,
        earliest: date | None = None,
        due: date | None = None,
        preferred_staff_id: int | None = None,
        billable: bool = False,
        description: str = "",
        key: str | None = None,
    ) -> c.VisitResult:
        """Run a visit; a visit that needs a follow-up gets one, until it is done. A failed
        visit waits for the dispatcher: "retry" requests another, "close" ends the step."""
        base = key or f"sale-{self.sale_id}/{kind}-{number}"
        business_key = base
        follow_up = 0
        retries = 0
        while True:
            result = await self._run_visit(
                RequestVisitIn(
                    sale_id=self.sale_id,
                    kind=kind,
                    business_key=business_key,
                    duration_minutes=max(minutes, 1),
                    earliest_date=(earliest or self._today()).isoformat(),
                    sequence=number,
                    skill=skill,
                    due_date=due.isoformat() if due else None,
                    preferred_staff_id=preferred_staff_id,
                    billable=billable,
                    priority=80 if kind == "repair" else 50,
                    description=description,
                    actor=self._actor(),
                )
            )
            if result.outcome == "failed" and workflow.patched(FAILED_VISIT_PATCH):
                decision = await self._decision_on(result.visit_id, kind)
                if decision.action == "close":
                    return result
                retries += 1
                business_key = f"{base}/retry-{retries}"
                earliest = self._today()
                due = None
                continue
            if result.outcome != "follow_up":
                return result
            follow_up += 1
            self.carry.follow_ups += 1
            business_key = f"{base}/followup-{follow_up}"
            earliest = self._today() + timedelta(days=1)
            due = None
            preferred_staff_id = result.staff_id or preferred_staff_id

    async def _decision_on(self, visit_id: int, kind: str) -> c.FailedVisitDecisionInput:
        self.failed[visit_id] = kind
        await workflow.wait_condition(lambda: visit_id in self.decisions)
        return self.decisions.pop(visit_id)

    @workflow.update(name=c.FAILED_VISIT_UPDATE)
    async def decide_failed_visit(
        self, data: c.FailedVisitDecisionInput
    ) -> c.FailedVisitDecisionResult:
        # taken off the waiting list at once: a second decision meanwhile is refused
        kind = self.failed.pop(data.visit_id)
        try:
            await workflow.execute_activity_method(
                SaleActivities.record_failed_visit_decision,
                FailedVisitDecisionIn(
                    data.visit_id, data.action, data.note.strip()[:400], data.requested_by
                ),
                **options.DB,
            )
        except ActivityError:
            self.failed[data.visit_id] = kind  # not recorded: still waiting
            raise
        self.decisions[data.visit_id] = data
        return c.FailedVisitDecisionResult(data.visit_id, data.action)

    @decide_failed_visit.validator
    def validate_failed_visit(self, data: c.FailedVisitDecisionInput) -> None:
        if data.action not in c.FAILED_VISIT_ACTIONS:
            raise ValueError("action is 'retry' (request the visit again) or 'close'")
        if self.cancel is not None or self.status != "active":
            raise ValueError("the sale has ended")
        if data.visit_id not in self.failed:
            raise ValueError(f"visit {data.visit_id} is not waiting for a decision")

    async def _run_visit(self, request: RequestVisitIn) -> c.VisitResult:
        created = await workflow.execute_activity_method(
            SaleActivities.request_visit, request, **options.DB
        )
        visit_id = created.visit_id
        handle = await workflow.start_child_workflow(
            VisitWorkflow.run,
            c.VisitWorkflowInput(visit_id=visit_id, sale_id=self.sale_id, kind=request.kind),
            id=c.visit_workflow_id(visit_id),
            cancellation_type=ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        self.visits_started += 1
        self.children[visit_id] = handle
        self.open_kinds[visit_id] = request.kind
        try:
            return await handle
        finally:
            self.children.pop(visit_id, None)
            self.open_kinds.pop(visit_id, None)

    # -- survey -------------------------------------------------------------------------------

    async def _run_survey(self) -> None:
        self.survey = "awaiting_score"
        sent = await self._sms("survey_request", "survey/request")
        if not sent.delivered:
            self.survey = "skipped"
            return
        if not await _wait(lambda: self.survey_score is not None, SURVEY_REMINDER_AFTER):
            await self._sms("survey_reminder", "survey/reminder")
            if not await _wait(lambda: self.survey_score is not None, SURVEY_GIVE_UP_AFTER):
                self.survey = "gave_up"
                return
        if self.survey_comment is None:
            self.survey = "awaiting_comment"
            # The SMS pipeline answers a score with the same keys: only one message goes out.
            await self._sms("survey_comment_request", "survey-comment")
            if not await _wait(lambda: self.survey_comment is not None, SURVEY_COMMENT_WAIT):
                self.survey = "answered"
                return
        await self._sms("survey_thanks", "survey-thanks")
        self.survey = "answered"

    @workflow.update(name=c.SURVEY_ANSWER_UPDATE)
    async def survey_answer(self, data: c.SurveyAnswerInput) -> c.SurveyAnswerResult:
        async with self.survey_lock:
            # Two replies at once (the customer sends "5", then "4"): both passed the validator
            # before either was recorded; the first score counts, the later one is not stored
            # over it, so the database and the workflow keep the same score.
            taking_score = self.survey == "awaiting_score" and self.survey_score is None
            score = data.score if taking_score else None
            comment = (data.comment or "").strip() or None
            if score is not None or comment is not None:
                await workflow.execute_activity_method(
                    SaleActivities.record_survey,
                    SurveyIn(self.sale_id, score=score, comment=comment, actor=self._actor()),
                    **options.DB,
                )
            if score is not None:
                self.survey_score = score
            if comment is not None:
                self.survey_comment = comment
        return c.SurveyAnswerResult(accepted=True, wants_comment=comment is None)

    @survey_answer.validator
    def validate_survey(self, data: c.SurveyAnswerInput) -> None:
        if self.survey == "awaiting_score":
            scored = self.survey_score is not None or self.survey_lock.locked()
            if scored and data.score is None and (data.comment or "").strip():
                return  # the comment, sent before the score's reply asked for it
            if data.score is None or not 1 <= data.score <= 5:
                raise ValueError("answer with a score from 1 to 5")
        elif self.survey == "awaiting_comment":
            if not (data.comment or "").strip():
                raise ValueError("a comment is expected")
        else:
            raise ValueError("no survey is waiting for an answer")

    # -- repairs ------------------------------------------------------------------------------

    @workflow.update(name=c.REPORT_FAULT_UPDATE)
    async def report_fault(self, data: c.ReportFaultInput) -> c.ReportFaultResult:
        await workflow.wait_condition(lambda: self.outline is not None)
        o = self.outline
        assert o is not None
        ref = _fault_ref(data.fault_ref) if data.fault_ref else str(self.carry.fault_count + 1)
        seen = self.carry.faults_seen.get(ref)
        if seen is not None:
            return c.ReportFaultResult(visit_id=seen[0], billable=bool(seen[1]))
        self.carry.fault_count += 1
        today = self._today()
        billable = not lifecycle.under_warranty(
            date.fromisoformat(o.sold_on), o.warranty_months, today
        )
        request = RequestVisitIn(
            sale_id=self.sale_id,
            kind="repair",
            business_key=f"sale-{self.sale_id}/repair-{ref}",
            duration_minutes=o.repair_minutes,
            earliest_date=today.isoformat(),
            skill=o.repair_skill,
            due_date=(today + timedelta(days=REPAIR_DUE_DAYS)).isoformat(),
            billable=billable,
            priority=80,
            description=data.description[:1000],
            actor=self._actor(),
        )
        created = await workflow.execute_activity_method(
            SaleActivities.request_visit, request, **options.DB
        )
        self.carry.faults_seen[ref] = [created.visit_id, int(billable)]
        task = asyncio.create_task(self._repair(request, created.visit_id))
        self.repairs.add(task)
        task.add_done_callback(self.repairs.discard)
        return c.ReportFaultResult(visit_id=created.visit_id, billable=billable)

    @report_fault.validator
    def validate_fault(self, data: c.ReportFaultInput) -> None:
        if self.cancel is not None or self.status != "active":
            raise ValueError("the sale has ended; no repairs can be requested")
        if not data.description.strip():
            raise ValueError("describe the fault")

    async def _repair(self, request: RequestVisitIn, visit_id: int) -> None:
        try:
            await self._visit_until_done(
                "repair",
                1,
                request.duration_minutes,
                request.skill,
                billable=request.billable,
                description=request.description,
                key=request.business_key,
            )
        except ChildWorkflowError:
            workflow.logger.warning("repair visit %s ended without completion", visit_id)

    # -- contract -----------------------------------------------------------------------------

    @workflow.update(name=c.CHANGE_CONTRACT_UPDATE)
    async def change_contract(self, data: c.ChangeContractInput) -> c.ChangeContractResult:
        await workflow.wait_condition(lambda: self.outline is not None)
        if problem := self._contract_problem(data):  # sent before the sale was read
            raise ApplicationError(problem, non_retryable=True)
        o = self.outline
        assert o is not None
        await workflow.execute_activity_method(
            SaleActivities.change_contract,
            ContractIn(
                sale_id=self.sale_id,
                contract_months=data.contract_months,
                today=self._today().isoformat(),
                actor=data.requested_by.strip() or self._actor(),
            ),
            **options.DB,
        )
        end = self._outline_changed(dataclasses.replace(o, contract_months=data.contract_months))
        return c.ChangeContractResult(
            contract_months=data.contract_months, maintenance_rounds=self._rounds(),
            ends_on=end.isoformat(),
        )  # fmt: skip

    def _outline_changed(self, outline: SaleOutlineOut) -> date:
        """Take the sale as it now stands (contract or date changed) and wake the waits for a
        round or for the end, which plan again from it; the lifecycle's last day."""
        self.outline = outline
        self.contract_changes += 1
        return lifecycle.lifecycle_end(
            date.fromisoformat(outline.sold_on), outline.contract_months, outline.warranty_months
        )

    @workflow.update(name=c.CORRECT_SOLD_ON_UPDATE)
    async def correct_sold_on(self, data: c.CorrectSoldOnInput) -> c.CorrectSoldOnResult:
        """The sale's date corrected: warranty, contract end and the rounds still to come run
        from the new date (a wait for a round or for the end is woken, as for a contract)."""
        await workflow.wait_condition(lambda: self.outline is not None)
        o = self.outline
        assert o is not None
        day = date.fromisoformat(data.sold_on).isoformat()  # one spelling (20260525 too)
        await workflow.execute_activity_method(
            SaleActivities.correct_sold_on,
            SoldOnIn(
                sale_id=self.sale_id,
                sold_on=day,
                today=self._today().isoformat(),
                actor=data.requested_by.strip() or self._actor(),
            ),
            **options.DB,
        )
        end = self._outline_changed(dataclasses.replace(o, sold_on=day))
        return c.CorrectSoldOnResult(
            sold_on=day, maintenance_rounds=self._rounds(), ends_on=end.isoformat()
        )

    @correct_sold_on.validator
    def validate_sold_on(self, data: c.CorrectSoldOnInput) -> None:
        if self.cancel is not None or self.status != "active":
            raise ValueError("the sale has ended; its date cannot change")
        try:
            date.fromisoformat(data.sold_on)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{data.sold_on!r} is not a date (YYYY-MM-DD)") from exc

    @change_contract.validator
    def validate_contract(self, data: c.ChangeContractInput) -> None:
        if self.cancel is not None or self.status != "active":
            raise ValueError("the sale has ended; its contract cannot change")
        if problem := self._contract_problem(data):
            raise ValueError(problem)

    def _contract_problem(self, data: c.ChangeContractInput) -> str:
        """Why the contract cannot change so ("" when it can, or before the sale is read)."""
        o = self.outline
        if o is None:
            return lifecycle.contract_change_problem(date.min, data.contract_months, date.min)
        return lifecycle.contract_change_problem(
            date.fromisoformat(o.sold_on), data.contract_months, self._today()
        )

    # -- cancellation -------------------------------------------------------------------------

    @workflow.update(name=c.CANCEL_SALE_UPDATE)
    async def cancel_sale(self, data: c.CancelSaleInput) -> c.CancelSaleResult:
        if self.cancel is None:
            self.cancel = data
        await workflow.wait_condition(lambda: self.cancel_result is not None)
        assert self.cancel_result is not None
        return self.cancel_result

    @cancel_sale.validator
    def validate_cancel(self, data: c.CancelSaleInput) -> None:
        if data.kind not in ("cancelled", "returned"):
            raise ValueError("kind is 'cancelled' or 'returned'")
        if self.status != "active" and self.cancel_result is None:
            raise ValueError(f"the sale has already ended ({self.status})")
        if not data.reason.strip():
            raise ValueError("give a reason")

    async def _end_cancelled(
        self, main: asyncio.Task[c.SaleLifecycleResult]
    ) -> c.SaleLifecycleResult:
        assert self.cancel is not None
        # Records first (every open visit cancelled, the sale ended), then the workflows.
        ended = await workflow.execute_activity_method(
            SaleActivities.end_sale,
            EndSaleIn(
                self.sale_id,
                self.cancel.kind,
                self.cancel.reason or self.cancel.kind,
                self._actor(),
            ),
            **options.DB,
        )
        children = list(self.children.values())
        for handle in children:
            handle.cancel()
        main.cancel()
        for task in list(self.repairs):
            task.cancel()
        await asyncio.gather(main, *self.repairs, *children, return_exceptions=True)
        self.status = self.cancel.kind
        await self._set_stage("ended", db=False)
        self.cancel_result = c.CancelSaleResult(self.cancel.kind, ended.visits_cancelled)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return c.SaleLifecycleResult(self.sale_id, self.cancel.kind, self.visits_started)

    # -- query --------------------------------------------------------------------------------

    @workflow.query(name=c.STATE_QUERY)
    def state(self) -> SaleState:
        o = self.outline
        rounds = 0
        if o is not None:
            rounds = lifecycle.maintenance_rounds(
                date.fromisoformat(o.sold_on), o.maintenance_interval_days, o.contract_months
            )
        return SaleState(
            sale_id=self.sale_id,
            stage=self.carry.stage,
            status=self.status,
            open_visits={str(k): v for k, v in self.open_kinds.items()},
            trainings_done=self.carry.trainings_done,
            next_maintenance_round=self.carry.next_maintenance_round,
            maintenance_rounds=rounds,
            survey=self.survey,
            survey_score=self.survey_score,
            faults=self.carry.fault_count,
            run=self.carry.runs,
            failed_visits={str(k): v for k, v in self.failed.items()},
        )

    # -- helpers ------------------------------------------------------------------------------

    def _today(self) -> date:
        return workflow.now().date()

    def _actor(self) -> str:
        return f"workflow:{workflow.info().workflow_id}"

    async def _set_stage(self, stage: str, db: bool = True) -> None:
        if stage == self.carry.stage:
            return
        self.carry.stage = stage
        workflow.upsert_search_attributes([options.STAGE_KEY.value_set(stage)])
        if db:
            await workflow.execute_activity_method(
                SaleActivities.set_sale_stage,
                SaleStageIn(self.sale_id, stage, self._actor()),
                **options.DB,
            )

    async def _wait_for_the_end(self, day: date) -> bool:
        """Until ``day`` only repairs can happen; a long wait with many repairs starts afresh.
        True when the contract changed meanwhile (the caller plans again)."""
        wake = datetime.combine(day, datetime.min.time(), workflow.now().tzinfo)
        seen = self.contract_changes

        def woken() -> bool:
            return self.contract_changes != seen or workflow.info().is_continue_as_new_suggested()

        while (remaining := wake - workflow.now()) > timedelta(0):
            if not await _wait(woken, remaining):
                break
            if self.contract_changes != seen:
                return True
            await self._continue_as_new()
        await workflow.wait_condition(lambda: not self.repairs and not self.children)
        return False

    async def _sleep_until(self, day: date) -> None:
        wake = datetime.combine(day, datetime.min.time(), workflow.now().tzinfo)
        delay = wake - workflow.now()
        if delay > timedelta(0):
            await workflow.sleep(delay)

    async def _sms(self, template: str, step: str) -> SmsOut:
        try:
            return await workflow.execute_activity_method(
                SmsActivities.send_sale_sms,
                SaleSmsIn(
                    sale_id=self.sale_id,
                    template=template,
                    idempotency_key=f"{workflow.info().workflow_id}/{step}",
                ),
                **options.SMS,
            )
        except ActivityError as exc:
            if isinstance(exc.cause, ApplicationError) and exc.cause.non_retryable:
                return SmsOut(message_id=None, status="failed", skipped_reason="undeliverable")
            raise


def _fault_ref(raw: str) -> str:
    """A caller's fault reference as a short, safe part of a business key."""
    if re.fullmatch(r"[A-Za-z0-9_.:-]{1,40}", raw):
        return raw
    return "h" + hashlib.sha256(raw.encode()).hexdigest()[:20]


def _until(day: date) -> timedelta:
    """How long from now until ``day`` starts (negative once it has)."""
    return datetime.combine(day, datetime.min.time(), workflow.now().tzinfo) - workflow.now()


async def _wait(condition: object, timeout: timedelta) -> bool:
    try:
        await workflow.wait_condition(condition, timeout=timeout)  # type: ignore[arg-type]
        return True
    except TimeoutError:
        return False
