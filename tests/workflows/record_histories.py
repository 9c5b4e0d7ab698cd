"""Record the workflow histories that ``test_replay.py`` replays on every run.

Run after a deliberate, compatible change of a workflow (new histories are added, old ones kept):

    .venv/bin/python -m tests.workflows.record_histories               # every scenario
    .venv/bin/python -m tests.workflows.record_histories failed_visit  # only the ones named

Recording a scenario again overwrites its files with the current code's history; name only new
scenarios, so that the old histories keep testing that old runs still replay.

It drives real scenarios on the time-skipping test server with a throwaway SQLite database.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.db import make_engine
from domain.lifecycle import next_working_day
from domain.migrate import upgrade
from posventa.config import Settings
from tests.workflows.support import (
    Driver,
    absent_until_failed,
    first_visit,
    make_company,
    planned_at,
    running_worker,
    start_sale,
    until,
    wait_status,
    with_own_queue,
)
from workflows import contracts as c

HISTORIES = Path(__file__).parent / "histories"


async def save_all_runs(client: Client, workflow_id: str, name: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    desc = await handle.describe()
    run_id = desc.raw_description.workflow_execution_info.first_run_id or desc.run_id
    number = 1
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        (HISTORIES / f"{name}-run{number}.json").write_text(history.to_json())
        last = history.events[-1]
        attrs = last.workflow_execution_continued_as_new_event_attributes
        run_id = (
            attrs.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else ""
        )
        number += 1


async def full_sale(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> None:
    now = await env.get_current_time()
    ids = make_company(
        engine, sold_on=now.date(), trainings=1, interval_days=180, contract_months=12, sku="A"
    )
    await start_sale(env.client, settings, ids["sale"])
    driver = Driver(env, engine, ids["staff"])
    fault_reported = False
    handle = env.client.get_workflow_handle(c.sale_workflow_id(ids["sale"]))
    for _ in range(400):
        if (await handle.describe()).status.name != "RUNNING":
            break
        if await driver.act(ids["sale"]):
            continue
        if not fault_reported and driver.actions.count("survey comment"):
            await handle.execute_update(
                c.REPORT_FAULT_UPDATE, c.ReportFaultInput(description="ruido", fault_ref="f1")
            )
            fault_reported = True
            continue
        await asyncio.sleep(0.05)
        if not await driver.act(ids["sale"]):
            await env.sleep(timedelta(days=10))
    await save_all_runs(env.client, c.sale_workflow_id(ids["sale"]), "sale-full")
    await save_all_runs(env.client, "visit-1", "visit-simple")


async def visit_conversation(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> int:
    now = await env.get_current_time()
    ids = make_company(
        engine, sold_on=now.date(), trainings=0, interval_days=None, contract_months=0, sku="B"
    )
    await start_sale(env.client, settings, ids["sale"])
    visit_id = await first_visit(env.client, engine, ids["sale"])
    handle = env.client.get_workflow_handle(c.visit_workflow_id(visit_id))

    def morning(days: int) -> datetime:
        return datetime.combine((now + timedelta(days=days)).date(), time(9), UTC)

    await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(morning(5), ids["staff"], 1))
    await wait_status(env.client, visit_id, "awaiting_confirmation")
    await env.sleep(timedelta(hours=50))  # reminder, then flagged for a phone call
    offer = await handle.execute_update(
        c.CUSTOMER_REPLY_UPDATE,
        c.CustomerReplyInput("reschedule"),
        result_type=c.CustomerReplyResult,
    )
    await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("choose_slot", 1))
    slot = datetime.fromisoformat(offer.offered_slots[0])
    await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(slot, ids["staff"], 2))
    await wait_status(env.client, visit_id, "confirmed")
    await handle.execute_update(c.VISIT_OUTCOME_UPDATE, c.VisitOutcomeInput("absent"))
    await wait_status(env.client, visit_id, "requested")
    await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(morning(12), ids["staff"], 3))
    await wait_status(env.client, visit_id, "awaiting_confirmation")
    await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("decline"))
    await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(morning(13), ids["staff"], 4))
    await wait_status(env.client, visit_id, "awaiting_confirmation")
    await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("confirm"))
    await env.sleep(timedelta(days=13))  # the day-before reminder
    await handle.execute_update(c.VISIT_OUTCOME_UPDATE, c.VisitOutcomeInput("follow_up"))
    await handle.result()
    await save_all_runs(env.client, c.visit_workflow_id(visit_id), "visit-conversation")
    # the sale is then returned while the follow-up is pending: cancels it
    follow = await first_visit(env.client, engine, ids["sale"])
    sale = env.client.get_workflow_handle(c.sale_workflow_id(ids["sale"]))
    await sale.execute_update(
        c.CANCEL_SALE_UPDATE, c.CancelSaleInput(reason="devolucion", kind="returned")
    )
    await sale.result()
    await save_all_runs(env.client, c.sale_workflow_id(ids["sale"]), "sale-returned")
    await save_all_runs(env.client, c.visit_workflow_id(follow), "visit-cancelled")
    return ids["staff"]


async def planning_day(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> None:
    now = await env.get_current_time()
    ids = make_company(
        engine, sold_on=now.date(), trainings=0, interval_days=None, contract_months=0, sku="C"
    )
    await start_sale(env.client, settings, ids["sale"])
    await first_visit(env.client, engine, ids["sale"])
    await _approve_a_day_twice(env, settings, now, "planning-day")


async def running_late_day(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> None:
    """A day re-planned over the plan the staff had (texted at 07:00 on the day), and a
    confirmed visit retimed inside its window (quiet), then moved later the same day (told)."""
    now = await env.get_current_time()
    ids = make_company(
        engine, sold_on=now.date(), trainings=0, interval_days=None, contract_months=0, sku="F"
    )
    await start_sale(env.client, settings, ids["sale"])
    visit_id = await first_visit(env.client, engine, ids["sale"])
    visit = env.client.get_workflow_handle(c.visit_workflow_id(visit_id))
    start = (now + timedelta(hours=2)).replace(microsecond=0)
    told = planned_at(start, ids["staff"], 1)
    await visit.signal(c.VISIT_PLANNED_SIGNAL, told)
    await wait_status(env.client, visit_id, "awaiting_confirmation")
    await visit.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("confirm"))
    await wait_status(env.client, visit_id, "confirmed")
    retimed = planned_at(start + timedelta(minutes=20), ids["staff"], 2)
    retimed.window_start, retimed.window_end = told.window_start, told.window_end
    await visit.signal(c.VISIT_PLANNED_SIGNAL, retimed)
    later = planned_at(start + timedelta(hours=1), ids["staff"], 3)
    later.plan_date = told.plan_date
    await visit.signal(c.VISIT_PLANNED_SIGNAL, later)
    await until(lambda: _state_plan(visit, 3))
    await visit.execute_update(c.VISIT_OUTCOME_UPDATE, c.VisitOutcomeInput("done"))
    await visit.result()
    await save_all_runs(env.client, c.visit_workflow_id(visit_id), "visit-running-late")

    await _approve_a_day_twice(env, settings, now, "planning-replanned")


async def _state_plan(handle: WorkflowHandle, plan_id: int) -> bool:  # type: ignore[type-arg]
    state = await handle.query(c.STATE_QUERY, result_type=dict)
    return bool(state["plan_id"] == plan_id and state["status"] == "confirmed")


async def _approve_a_day_twice(
    env: WorkflowEnvironment, settings: Settings, now: datetime, name: str
) -> None:
    """A day a month ahead: its draft approved, then re-planned and approved again."""
    day = next_working_day(now.date() + timedelta(days=30))
    handle = await env.client.start_workflow(
        c.PLANNING_WORKFLOW,
        c.PlanningInput(plan_date=day.isoformat(), draft_seconds=1),
        id=c.planning_workflow_id(day),
        task_queue=settings.temporal_task_queue,
    )

    async def awaiting(n: int) -> dict | None:  # type: ignore[type-arg]
        state = await handle.query(c.STATE_QUERY, result_type=dict)
        return state if state["status"] == "awaiting_approval" and state["drafts"] == n else None

    state = await until(lambda: awaiting(1), timeout=60)
    await handle.execute_update(
        c.APPROVE_PLAN_UPDATE, c.ApprovePlanInput(state["draft_plan_id"], "disp")
    )
    await handle.signal(c.REPLAN_SIGNAL, c.ReplanInput(reason="cambio"))
    state = await until(lambda: awaiting(2), timeout=60)
    await handle.execute_update(
        c.APPROVE_PLAN_UPDATE, c.ApprovePlanInput(state["draft_plan_id"], "disp")
    )
    await handle.result()
    await save_all_runs(env.client, c.planning_workflow_id(day), name)


async def failed_visit(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> None:
    """The installation fails (customer absent three times); requested again, then done."""
    now = await env.get_current_time()
    ids = make_company(
        engine, sold_on=now.date(), trainings=0, interval_days=None, contract_months=0, sku="D"
    )
    await start_sale(env.client, settings, ids["sale"])
    visit_id = await first_visit(env.client, engine, ids["sale"])
    await absent_until_failed(env, ids["sale"], visit_id, ids["staff"])
    sale = env.client.get_workflow_handle(c.sale_workflow_id(ids["sale"]))
    await sale.execute_update(
        c.FAILED_VISIT_UPDATE, c.FailedVisitDecisionInput(visit_id, "retry", note="viernes")
    )
    await Driver(env, engine, ids["staff"]).run(ids["sale"])
    await save_all_runs(env.client, c.sale_workflow_id(ids["sale"]), "sale-failed-visit")


async def contract_change(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> None:
    """A 12-month contract renewed to 24 months after its first maintenance round, while the
    lifecycle sleeps until the second."""
    from tests.workflows.test_sale_contract import drive_until, maintenance_done

    now = await env.get_current_time()
    ids = make_company(engine, sold_on=now.date(), installation=False, trainings=0,
                       interval_days=180, contract_months=12, sku="E")  # fmt: skip
    await start_sale(env.client, settings, ids["sale"])
    driver = Driver(env, engine, ids["staff"], answer_survey=False)
    await drive_until(driver, ids["sale"], lambda: maintenance_done(engine, ids["sale"]) == 1)
    sale = env.client.get_workflow_handle(c.sale_workflow_id(ids["sale"]))
    await sale.execute_update(c.CHANGE_CONTRACT_UPDATE, c.ChangeContractInput(24, "ana@x.es"))
    await driver.run(ids["sale"])
    await save_all_runs(env.client, c.sale_workflow_id(ids["sale"]), "sale-contract")


async def sold_on_correction(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> None:
    """A sale whose date is corrected 100 days earlier while the lifecycle waits for its first
    maintenance round."""
    from datetime import timedelta

    now = await env.get_current_time()
    ids = make_company(engine, sold_on=now.date(), installation=False, trainings=0,
                       interval_days=180, contract_months=12, warranty_months=12,
                       sku="F")  # fmt: skip
    await start_sale(env.client, settings, ids["sale"])
    driver = Driver(env, engine, ids["staff"], answer_survey=False)
    await env.sleep(timedelta(days=10))
    sale = env.client.get_workflow_handle(c.sale_workflow_id(ids["sale"]))
    earlier = (now.date() - timedelta(days=100)).isoformat()
    await sale.execute_update(c.CORRECT_SOLD_ON_UPDATE, c.CorrectSoldOnInput(earlier, "ana@x.es"))
    await driver.run(ids["sale"])
    await save_all_runs(env.client, c.sale_workflow_id(ids["sale"]), "sale-sold-on")


async def housekeeping(env: WorkflowEnvironment, engine: Engine, settings: Settings) -> None:
    """A housekeeping run that blanks one old text."""
    from domain.db import session_scope
    from domain.models import SmsMessage

    with session_scope(engine) as s:
        s.add(SmsMessage(direction="outbound", body="old", status="delivered",
                         to_number="+34600000001", from_number="+34600000002",
                         created_at=datetime.now(UTC) - timedelta(days=400)))  # fmt: skip
    await env.client.execute_workflow(
        c.HOUSEKEEPING_WORKFLOW, c.HousekeepingInput(sms_retention_days=365),
        id="housekeeping-record", task_queue=settings.temporal_task_queue,
    )  # fmt: skip
    await save_all_runs(env.client, "housekeeping-record", "housekeeping")


SCENARIOS = {
    "full_sale": full_sale,
    "visit_conversation": visit_conversation,
    "planning_day": planning_day,
    "failed_visit": failed_visit,
    "running_late_day": running_late_day,
    "contract_change": contract_change,
    "sold_on_correction": sold_on_correction,
    "housekeeping": housekeeping,
}


async def main(names: list[str]) -> None:
    HISTORIES.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'record.db'}"
    upgrade(url)
    engine = make_engine(url)
    settings = with_own_queue(Settings(data_dir=tmp, secret_key="x", testing=True))
    server = str(Path(sys.executable).parent / "temporal-test-server")
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=server
    ) as env:
        async with running_worker(env.client, settings, engine):
            for name in names or list(SCENARIOS):
                await SCENARIOS[name](env, engine, settings)
    for path in sorted(HISTORIES.glob("*.json")):
        print(path.name)


if __name__ == "__main__":
    unknown = set(sys.argv[1:]) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenarios {sorted(unknown)}; choose from {list(SCENARIOS)}")
    asyncio.run(main(sys.argv[1:]))
