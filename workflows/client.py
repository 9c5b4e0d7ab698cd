"""Talking to posventa's workflows from outside: ``connect`` and the sync :class:`WorkflowGateway`.

Flask views, the SMS webhook and the CLI are synchronous; the gateway runs one asyncio event loop in
a background thread and hands each call to it. Errors come back as exceptions callers can act
on: :class:`WorkflowUnavailable` (Temporal cannot be reached: try again later),
:class:`WorkflowPending` (an update was accepted but not finished in time: it will be carried
out) and :class:`WorkflowRejected` (the workflow refused: the message says why, in words).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from posventa.config import Settings
from workflows import contracts as c
from workflows.codec import data_converter

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorkflowUnavailable(RuntimeError):
    """Temporal cannot be reached right now (the request was not delivered)."""


class WorkflowPending(WorkflowUnavailable):
    """The workflow accepted an update but had not finished it in time (a busy worker, or an
    activity it waits on being retried): it will be carried out, nothing needs doing again.
    Callers that only retry may treat it as :class:`WorkflowUnavailable`: the same update id
    sent again returns the update's result once it is done."""


class WorkflowRejected(ValueError):
    """A workflow refused the request (a validator said no, or the workflow has ended)."""


async def connect(settings: Settings) -> Client:
    """A Temporal client for posventa (payloads encrypted when ``settings.payload_key`` is set)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.payload_key),
    )


def _reason(exc: BaseException) -> str:
    """The innermost human-readable message of a Temporal failure chain."""
    cause: BaseException | None = exc
    message = str(exc)
    while cause is not None:
        if isinstance(cause, ApplicationError) or str(cause):
            message = getattr(cause, "message", None) or str(cause) or message
        cause = cause.__cause__
    return message


class WorkflowGateway:
    """Synchronous facade over posventa's workflows (one per process is plenty; thread-safe)."""

    def __init__(
        self, settings: Settings, *, client: Client | None = None, timeout: float = 30.0
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self._client = client
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="posventa-workflow-gateway", daemon=True
        )
        self._thread.start()
        self._connecting: asyncio.Lock | None = None  # created inside the loop's thread

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, fn: Callable[[Client], Awaitable[T]], timeout: float | None = None) -> T:
        async def run() -> T:
            return await fn(await self._get_client())

        future = asyncio.run_coroutine_threadsafe(run(), self._loop)
        try:
            return future.result(timeout or self.timeout)
        except FutureTimeout as exc:
            future.cancel()
            raise WorkflowUnavailable("Temporal did not answer in time") from exc
        except (WorkflowUnavailable, WorkflowRejected):
            raise
        except WorkflowUpdateFailedError as exc:
            raise WorkflowRejected(_reason(exc)) from exc
        except WorkflowQueryFailedError as exc:
            raise WorkflowRejected(_reason(exc)) from exc
        except WorkflowFailureError as exc:
            raise WorkflowRejected(_reason(exc)) from exc
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            raise WorkflowUnavailable("Temporal did not answer in time") from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise WorkflowRejected(
                    "no running workflow for this record (it has ended or never started)"
                ) from exc
            if exc.status in (
                RPCStatusCode.UNAVAILABLE,
                RPCStatusCode.DEADLINE_EXCEEDED,
                RPCStatusCode.RESOURCE_EXHAUSTED,
            ):
                raise WorkflowUnavailable(f"Temporal unavailable: {exc.message}") from exc
            if exc.status == RPCStatusCode.FAILED_PRECONDITION:
                raise WorkflowRejected(exc.message) from exc
            raise

    def _update(
        self,
        workflow_id: str,
        update: str,
        data: Any,
        result_type: type[T],
        update_id: str | None = None,
        timeout: float | None = None,
    ) -> T:
        """Run an update and wait for its result; ``WorkflowPending`` when the workflow accepted
        it (its validator passed) but the result did not come in time."""
        accepted = threading.Event()

        async def go(client: Client) -> T:
            handle = await self._handle(client, workflow_id).start_update(
                update,
                data,
                id=update_id,
                result_type=result_type,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            )
            accepted.set()
            return await handle.result()  # type: ignore[no-any-return]

        try:
            return self._call(go, timeout)
        except WorkflowUnavailable as exc:
            if accepted.is_set():
                raise WorkflowPending(
                    "the workflow accepted the request and is still carrying it out"
                ) from exc
            raise

    async def _get_client(self) -> Client:
        if self._client is None:
            if self._connecting is None:
                self._connecting = asyncio.Lock()
            async with self._connecting:  # concurrent first calls share one connection
                if self._client is None:
                    try:
                        self._client = await connect(self.settings)
                    except RuntimeError as exc:  # the core raises this when it cannot connect
                        raise WorkflowUnavailable(f"cannot reach Temporal: {exc}") from exc
        return self._client

    def close(self) -> None:
        """Stop the background loop (the client's connections close with it)."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    def _handle(self, client: Client, workflow_id: str) -> WorkflowHandle[Any, Any]:
        return client.get_workflow_handle(workflow_id)

    # -- sales ------------------------------------------------------------------------------

    def start_sale(self, sale_id: int) -> str:
        """Start a sale's lifecycle (idempotent: a running or finished one is left alone)."""

        async def go(client: Client) -> str:
            try:
                handle = await client.start_workflow(
                    c.SALE_WORKFLOW,
                    c.SaleLifecycleInput(sale_id=sale_id),
                    id=c.sale_workflow_id(sale_id),
                    task_queue=self.settings.temporal_task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                )
                return handle.id
            except WorkflowAlreadyStartedError:
                return c.sale_workflow_id(sale_id)

        return self._call(go)

    def report_fault(self, sale_id: int, data: c.ReportFaultInput) -> c.ReportFaultResult:
        return self._update(
            c.sale_workflow_id(sale_id),
            c.REPORT_FAULT_UPDATE,
            data,
            c.ReportFaultResult,
            update_id=f"fault-{data.fault_ref}" if data.fault_ref else None,
        )

    def cancel_sale(self, sale_id: int, data: c.CancelSaleInput) -> c.CancelSaleResult:
        return self._update(
            c.sale_workflow_id(sale_id),
            c.CANCEL_SALE_UPDATE,
            data,
            c.CancelSaleResult,
            update_id=f"cancel-{sale_id}",
        )

    def change_contract(self, sale_id: int, data: c.ChangeContractInput) -> c.ChangeContractResult:
        return self._update(
            c.sale_workflow_id(sale_id),
            c.CHANGE_CONTRACT_UPDATE,
            data,
            c.ChangeContractResult,
        )

    def correct_sold_on(self, sale_id: int, data: c.CorrectSoldOnInput) -> c.CorrectSoldOnResult:
        return self._update(
            c.sale_workflow_id(sale_id),
            c.CORRECT_SOLD_ON_UPDATE,
            data,
            c.CorrectSoldOnResult,
        )

    def decide_failed_visit(
        self, sale_id: int, data: c.FailedVisitDecisionInput
    ) -> c.FailedVisitDecisionResult:
        return self._update(
            c.sale_workflow_id(sale_id),
            c.FAILED_VISIT_UPDATE,
            data,
            c.FailedVisitDecisionResult,
            update_id=f"failed-visit-{data.visit_id}",
        )

    def survey_answer(self, sale_id: int, data: c.SurveyAnswerInput) -> c.SurveyAnswerResult:
        return self._update(
            c.sale_workflow_id(sale_id),
            c.SURVEY_ANSWER_UPDATE,
            data,
            c.SurveyAnswerResult,
            update_id=f"survey-sms-{data.message_id}" if data.message_id else None,
        )

    def sale_state(self, sale_id: int) -> dict[str, Any]:
        return self._call(
            lambda client: self._handle(client, c.sale_workflow_id(sale_id)).query(
                c.STATE_QUERY, result_type=dict
            )
        )

    # -- visits -----------------------------------------------------------------------------

    def customer_reply(self, visit_id: int, data: c.CustomerReplyInput) -> c.CustomerReplyResult:
        return self._update(
            c.visit_workflow_id(visit_id),
            c.CUSTOMER_REPLY_UPDATE,
            data,
            c.CustomerReplyResult,
            update_id=f"reply-sms-{data.message_id}" if data.message_id else None,
        )

    def report_outcome(self, visit_id: int, data: c.VisitOutcomeInput) -> c.VisitOutcomeResult:
        return self._update(
            c.visit_workflow_id(visit_id),
            c.VISIT_OUTCOME_UPDATE,
            data,
            c.VisitOutcomeResult,
            update_id=f"outcome-{visit_id}-{data.report_ref}" if data.report_ref else None,
        )

    def visit_state(self, visit_id: int) -> dict[str, Any]:
        return self._call(
            lambda client: self._handle(client, c.visit_workflow_id(visit_id)).query(
                c.STATE_QUERY, result_type=dict
            )
        )

    # -- planning ---------------------------------------------------------------------------

    def start_planning(self, plan_date: date, draft_seconds: float = 20.0) -> str:
        """Start (or find the running) planning workflow of a day."""

        async def go(client: Client) -> str:
            try:
                handle = await client.start_workflow(
                    c.PLANNING_WORKFLOW,
                    c.PlanningInput(
                        plan_date=plan_date.isoformat(),
                        draft_seconds=draft_seconds,
                        timezone=self.settings.timezone,
                    ),
                    id=c.planning_workflow_id(plan_date),
                    task_queue=self.settings.temporal_task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                )
                return handle.id
            except WorkflowAlreadyStartedError:
                return c.planning_workflow_id(plan_date)

        return self._call(go)

    def approve_plan(self, plan_date: date, data: c.ApprovePlanInput) -> c.ApprovePlanResult:
        return self._update(
            c.planning_workflow_id(plan_date),
            c.APPROVE_PLAN_UPDATE,
            data,
            c.ApprovePlanResult,
            update_id=f"approve-{data.plan_id}",
            timeout=max(self.timeout, 180.0),  # tells every visit and publishes the calendars
        )

    def replan(self, plan_date: date, data: c.ReplanInput) -> None:
        return self._call(
            lambda client: self._handle(client, c.planning_workflow_id(plan_date)).signal(
                c.REPLAN_SIGNAL, data
            )
        )

    def plan_state(self, plan_date: date) -> dict[str, Any]:
        return self._call(
            lambda client: self._handle(client, c.planning_workflow_id(plan_date)).query(
                c.STATE_QUERY, result_type=dict
            )
        )

    def worker_pollers(self, timeout: float = 3.0) -> int:
        """How many workers poll posventa's workflow task queue (0: no worker is running).

        Temporal remembers a poller for a short while after it stops, so this answers "is some
        worker there", not "exactly how many are alive this second".
        """
        from temporalio.api.enums.v1 import TaskQueueType
        from temporalio.api.taskqueue.v1 import TaskQueue
        from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

        async def go(client: Client) -> int:
            response = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self.settings.temporal_namespace,
                    task_queue=TaskQueue(name=self.settings.temporal_task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
            return len(response.pollers)

        return self._call(go, timeout=timeout)

    def is_running(self, workflow_id: str) -> bool:
        """Whether a workflow (e.g. ``sale-7``) is running now."""

        async def go(client: Client) -> bool:
            try:
                desc = await client.get_workflow_handle(workflow_id).describe()
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    return False
                raise
            return desc.status == WorkflowExecutionStatus.RUNNING

        return self._call(go)
