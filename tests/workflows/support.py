"""Test helpers for the workflow tests: a small company in the database, a worker on a real
Temporal server, and a driver that plays dispatcher, customer and technician."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.db import session_scope
from domain.models import OPEN_VISIT_STATUSES, SmsMessage, SurveyAnswer, Visit
from domain.schemas import CustomerIn, ProductIn, SaleIn, StaffIn
from domain.services import create_customer, create_product, create_staff, register_sale
from posventa.config import Settings
from sms.messenger import Messenger
from sms.outbox import OutboxGateway
from workflows import contracts as c
from workflows.schedules import ensure_search_attributes
from workflows.worker import build_worker

PHONE = "+34612345678"


def make_company(
    engine: Engine,
    *,
    sold_on: date,
    installation: bool = True,
    trainings: int = 2,
    interval_days: int | None = 180,
    contract_months: int = 60,
    warranty_months: int = 24,
    opted_out: bool = False,
    sku: str = "PRESS-1",
) -> dict[str, int]:
    """One customer, one all-round technician, one product and one sale; returns their ids."""
    with session_scope(engine) as s:
        customer = create_customer(
            s,
            CustomerIn(
                name="Ana Ruiz", phone=PHONE, latitude=40.4, longitude=-3.7, sms_opt_out=opted_out
            ),
        )
        staff = create_staff(
            s,
            StaffIn(
                name="Luis Gil",
                skills=["install", "train", "maint", "repair"],
                home_latitude=40.41,
                home_longitude=-3.69,
            ),
        )
        create_product(
            s,
            ProductIn(
                sku=sku,
                name="Prensa hidraulica",
                installation_minutes=120 if installation else 0,
                installation_skill="install" if installation else None,
                training_sessions=trainings,
                training_minutes=60 if trainings else 0,
                training_skill="train" if trainings else None,
                maintenance_interval_days=interval_days,
                maintenance_minutes=60 if interval_days else 0,
                maintenance_skill="maint" if interval_days else None,
                repair_skill="repair",
                warranty_months=warranty_months,
                contract_months=contract_months,
            ),
        )
        sale = register_sale(
            s,
            SaleIn(customer_id=customer.id, product_sku=sku, sold_on=sold_on),  # type: ignore[arg-type]
        )
        return {"customer": customer.id, "staff": staff.id, "sale": sale.id}  # type: ignore[dict-item]


def with_own_queue(settings: Settings) -> Settings:
    return settings.replace(temporal_task_queue=f"posventa-test-{uuid.uuid4().hex[:8]}")


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, engine: Engine, **options: Any
) -> AsyncIterator[Worker]:
    await ensure_search_attributes(client)
    messenger = Messenger(engine, OutboxGateway(engine, settings), settings)
    worker = build_worker(client, settings, engine, messenger=messenger, **options)
    async with worker:
        yield worker


async def start_sale(client: Client, settings: Settings, sale_id: int) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        c.SALE_WORKFLOW,
        c.SaleLifecycleInput(sale_id=sale_id),
        id=c.sale_workflow_id(sale_id),
        task_queue=settings.temporal_task_queue,
        result_type=c.SaleLifecycleResult,
    )


def sms_rows(engine: Engine, **where: Any) -> list[SmsMessage]:
    with session_scope(engine) as s:
        query = select(SmsMessage).order_by(SmsMessage.id)
        for name, value in where.items():
            query = query.where(getattr(SmsMessage, name) == value)
        return list(s.exec(query))


def open_visits(engine: Engine, sale_id: int | None = None) -> list[Visit]:
    with session_scope(engine) as s:
        query = select(Visit).where(
            Visit.status.in_([v.value for v in OPEN_VISIT_STATUSES])  # type: ignore[attr-defined]
        )
        if sale_id is not None:
            query = query.where(Visit.sale_id == sale_id)
        return list(s.exec(query.order_by(Visit.id)))


async def visit_state(client: Client, visit_id: int) -> dict[str, Any]:
    return await client.get_workflow_handle(c.visit_workflow_id(visit_id)).query(
        c.STATE_QUERY, result_type=dict
    )


async def until(predicate: Any, timeout: float = 10.0) -> Any:
    """Poll an async predicate until it returns something truthy (real time)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def plan_for(visit: Visit, staff_id: int, now: datetime, plan_id: int) -> c.VisitPlanned:
    """Where a dispatcher would put a visit: 09:00 UTC on its earliest day (tomorrow at best)."""
    day = max(visit.earliest_date, (now + timedelta(days=2)).date())
    start = datetime.combine(day, time(9), UTC)
    return c.VisitPlanned(
        plan_id=plan_id,
        plan_date=day.isoformat(),
        staff_id=staff_id,
        planned_start=start.isoformat(),
        window_start=start.isoformat(),
        window_end=(start + timedelta(hours=2)).isoformat(),
    )


class Driver:
    """Plays the other people: plans each open visit, confirms it, reports it done, answers the
    survey; skips time (time-skipping server) when nobody has anything to do."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        engine: Engine,
        staff_id: int,
        *,
        answer_survey: bool = True,
        outcomes: dict[str, list[str]] | None = None,
    ) -> None:
        self.env = env
        self.client = env.client
        self.engine = engine
        self.staff_id = staff_id
        self.answer_survey = answer_survey
        self.outcomes = outcomes or {}  # kind -> outcomes to report first (then "done")
        self.plan_ids = 1000
        self.actions: list[str] = []

    async def act(self, sale_id: int) -> bool:
        acted = False
        now = await self.env.get_current_time()
        for visit in open_visits(self.engine, sale_id):
            assert visit.id is not None
            try:
                state = await visit_state(self.client, visit.id)
            except Exception:  # the child has not started yet
                continue
            status = state["status"]
            handle = self.client.get_workflow_handle(c.visit_workflow_id(visit.id))
            if status in ("requested", "declined"):
                self.plan_ids += 1
                await handle.signal(
                    c.VISIT_PLANNED_SIGNAL, plan_for(visit, self.staff_id, now, self.plan_ids)
                )
                await until(
                    lambda v=visit.id: _status_not(self.client, v, ("requested", "declined"))
                )
                self.actions.append(f"plan {visit.kind}")
                acted = True
            elif status == "awaiting_confirmation":
                await handle.execute_update(
                    c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput(answer="confirm")
                )
                self.actions.append(f"confirm {visit.kind}")
                acted = True
            elif status == "confirmed":
                queue = self.outcomes.get(visit.kind, [])
                outcome = queue.pop(0) if queue else "done"
                await handle.execute_update(
                    c.VISIT_OUTCOME_UPDATE, c.VisitOutcomeInput(outcome=outcome)
                )
                self.actions.append(f"{outcome} {visit.kind}")
                acted = True
        if self.answer_survey:
            # Decided from the database, not by querying the sale: the test server can lose a
            # query sent while a run continues as new (and then stops skipping time).
            waiting = survey_waiting(self.engine, sale_id)
            sale = self.client.get_workflow_handle(c.sale_workflow_id(sale_id))
            if waiting == "score":
                await sale.execute_update(c.SURVEY_ANSWER_UPDATE, c.SurveyAnswerInput(score=4))
                self.actions.append("survey score")
                acted = True
            elif waiting == "comment":
                await sale.execute_update(
                    c.SURVEY_ANSWER_UPDATE, c.SurveyAnswerInput(comment="Muy bien")
                )
                self.actions.append("survey comment")
                acted = True
        return acted

    async def run(self, sale_id: int, max_steps: int = 2000) -> None:
        """Act until the sale's lifecycle closes (skipping time while nothing happens)."""
        handle = self.client.get_workflow_handle(c.sale_workflow_id(sale_id))
        for _ in range(max_steps):
            desc = await handle.describe()
            if desc.status != WorkflowExecutionStatus.RUNNING:
                return
            if await self.act(sale_id):
                await asyncio.sleep(0.02)
                continue
            await asyncio.sleep(0.05)
            if not await self.act(sale_id):
                busy = bool(open_visits(self.engine, sale_id))
                await self.env.sleep(timedelta(hours=12) if busy else timedelta(days=20))
        raise AssertionError("the lifecycle did not finish")


def survey_waiting(engine: Engine, sale_id: int) -> str:
    """What the customer's survey is waiting for, as seen in the database ("" for nothing)."""
    with session_scope(engine) as s:
        templates = {
            m.template for m in s.exec(select(SmsMessage).where(SmsMessage.sale_id == sale_id))
        }
        answer = s.exec(select(SurveyAnswer).where(SurveyAnswer.sale_id == sale_id)).first()
    if "survey_request" in templates and (answer is None or answer.score is None):
        return "score"
    if "survey_comment_request" in templates and answer is not None and not answer.comment:
        return "comment"
    return ""


async def query_state(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """The ``state`` query; retried once (the test server can lose a query sent to a run that
    has just continued as new)."""
    for attempt in range(3):
        try:
            return await handle.query(
                c.STATE_QUERY, result_type=dict, rpc_timeout=timedelta(seconds=3)
            )
        except RPCError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _status_not(client: Client, visit_id: int, statuses: tuple[str, ...]) -> bool:
    return (await visit_state(client, visit_id))["status"] not in statuses


async def history_lengths(client: Client, workflow_id: str) -> list[int]:
    """Event counts of every run of a workflow, following continue-as-new from the first run."""
    handle = client.get_workflow_handle(workflow_id)
    desc = await handle.describe()
    run_id = desc.raw_description.workflow_execution_info.first_run_id or desc.run_id
    lengths = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        lengths.append(len(history.events))
        last = history.events[-1]
        if last.HasField("workflow_execution_continued_as_new_event_attributes"):
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        else:
            run_id = ""
    return lengths


async def first_visit(client: Client, engine: Engine, sale_id: int, kind: str | None = None) -> int:
    """The id of the sale's newest open visit (of ``kind``) once its workflow answers."""

    async def found() -> int | None:
        visits = [v for v in open_visits(engine, sale_id) if kind is None or v.kind == kind]
        if not visits:
            return None
        visit_id = visits[-1].id
        assert visit_id is not None
        try:
            await visit_state(client, visit_id)
        except Exception:
            return None
        return visit_id

    return await until(found)


async def wait_status(
    client: Client, visit_id: int, status: str, timeout: float = 10.0
) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        state = await visit_state(client, visit_id)
        return state if state["status"] == status else None

    return await until(reached, timeout=timeout)


def planned_at(start: datetime, staff_id: int, plan_id: int = 1) -> c.VisitPlanned:
    return c.VisitPlanned(
        plan_id=plan_id,
        plan_date=start.date().isoformat(),
        staff_id=staff_id,
        planned_start=start.isoformat(),
        window_start=start.isoformat(),
        window_end=(start + timedelta(hours=2)).isoformat(),
    )


def visit_row(engine: Engine, visit_id: int) -> Visit:
    with session_scope(engine) as s:
        visit = s.get(Visit, visit_id)
        assert visit is not None
        return visit


async def absent_until_failed(
    env: WorkflowEnvironment, sale_id: int, visit_id: int, staff_id: int, plan_id: int = 0
) -> int:
    """Plan the visit two days ahead, have the customer confirm it and be absent, three times
    over: the visit fails. Returns (with the last plan id used) once the sale's lifecycle waits
    for the dispatcher's decision on it."""
    client = env.client
    handle = client.get_workflow_handle(c.visit_workflow_id(visit_id))
    for _ in range(3):
        now = await env.get_current_time()
        start = datetime.combine((now + timedelta(days=2)).date(), time(9), UTC)
        plan_id += 1
        await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(start, staff_id, plan_id))
        await wait_status(client, visit_id, "awaiting_confirmation")
        await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("confirm"))
        await handle.execute_update(c.VISIT_OUTCOME_UPDATE, c.VisitOutcomeInput("absent"))
    assert (await handle.result())["outcome"] == "failed"
    sale = client.get_workflow_handle(c.sale_workflow_id(sale_id))

    async def sale_waits() -> bool:
        # the parent learns of its child's end a moment after the child ends
        return str(visit_id) in (await query_state(sale))["failed_visits"]

    await until(sale_waits, timeout=30)
    return plan_id


def run_sale_scenario(
    body: Any, engine: Engine, settings: Settings, server: str, **company: Any
) -> None:
    """``await body(env, ids, sale, now)`` on the time-skipping server with a worker, after
    :func:`make_company` (``company``: its options) and the start of the sale's lifecycle."""

    async def scenario() -> None:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=server
        ) as env:
            now = await env.get_current_time()
            ids = make_company(engine, sold_on=now.date(), **company)
            async with running_worker(env.client, settings, engine):
                sale = await start_sale(env.client, settings, ids["sale"])
                await body(env, ids, sale, now)

    asyncio.run(scenario())
