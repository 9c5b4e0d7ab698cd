"""On the real dev server (temporal CLI): the daily Schedule, the PosventaStage search attribute,
refused updates that leave no trace, encrypted payloads, and the sync WorkflowGateway."""

from __future__ import annotations

import asyncio
import base64
import os
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from domain.lifecycle import local_date, next_working_day
from domain.models import Sale
from posventa.config import Settings
from tests.workflows.support import (
    first_visit,
    make_company,
    planned_at,
    running_worker,
    until,
    wait_status,
)
from workflows import contracts as c
from workflows.client import (
    WorkflowGateway,
    WorkflowPending,
    WorkflowRejected,
    WorkflowUnavailable,
)
from workflows.codec import ENCODING, data_converter
from workflows.options import STAGE_KEY
from workflows.schedules import ensure_planning_schedule

pytestmark = pytest.mark.slow


def _dev_env(path: str, **kwargs):  # type: ignore[no-untyped-def]
    return WorkflowEnvironment.start_local(
        dev_server_existing_path=path, search_attributes=[STAGE_KEY], ui=False, **kwargs
    )


def test_schedule_is_created_updated_and_starts_the_days_planning(
    sqlite_engine: Engine, wf_settings: Settings, dev_server_path: str
) -> None:
    settings = wf_settings.replace(planning_hour=17, timezone="Europe/Madrid")

    async def scenario() -> None:
        async with await _dev_env(dev_server_path) as env:
            schedule_id = await ensure_planning_schedule(env.client, settings, draft_seconds=1)
            handle = env.client.get_schedule_handle(schedule_id)
            desc = await handle.describe()
            spec = desc.schedule.spec
            assert spec.time_zone_name == "Europe/Madrid"
            cal = spec.calendars[0]
            assert [r.start for r in cal.hour] == [17]
            assert [(r.start, r.end) for r in cal.day_of_week] == [(1, 5)]
            action = desc.schedule.action
            assert isinstance(action, ScheduleActionStartWorkflow)
            assert action.workflow == c.PLANNING_KICKOFF_WORKFLOW
            # calling again with other settings updates, not duplicates
            await ensure_planning_schedule(
                env.client, settings.replace(planning_hour=16), draft_seconds=1
            )
            desc = await handle.describe()
            assert [r.start for r in desc.schedule.spec.calendars[0].hour] == [16]
            # a run names the next working day's planning workflow plan-<date>
            async with running_worker(env.client, settings, sqlite_engine):
                now = await env.get_current_time()
                day = next_working_day(local_date(now, settings.timezone))
                await handle.trigger()
                plan = env.client.get_workflow_handle(c.planning_workflow_id(day))

                async def drafted() -> bool:
                    try:
                        state = await plan.query(c.STATE_QUERY, result_type=dict)
                    except Exception:
                        return False
                    return state["status"] in ("awaiting_approval", "draft_failed")

                await until(drafted, timeout=60)
                await plan.terminate("test over")
            await handle.delete()

    asyncio.run(scenario())


def test_housekeeping_schedule_follows_the_retention_setting_and_blanks_old_texts(
    sqlite_engine: Engine, wf_settings: Settings, dev_server_path: str
) -> None:
    """With a retention period the daily schedule exists (03:00 local) and a run blanks the
    texts older than it; with none (0) the schedule is removed, and removing twice is fine."""
    from datetime import UTC, datetime, timedelta

    from temporalio.service import RPCError, RPCStatusCode

    from domain.db import session_scope
    from domain.models import SmsMessage
    from workflows.schedules import ensure_housekeeping_schedule

    settings = wf_settings.replace(sms_retention_days=365, timezone="Europe/Madrid")
    with session_scope(sqlite_engine) as s:
        for days_ago in (400, 10):
            s.add(SmsMessage(direction="outbound", body=f"{days_ago} days", status="delivered",
                             to_number="+34600000001", from_number="+34600000002",
                             created_at=datetime.now(UTC) - timedelta(days=days_ago)))  # fmt: skip

    async def scenario() -> None:
        async with await _dev_env(dev_server_path) as env:
            schedule_id = await ensure_housekeeping_schedule(env.client, settings)
            assert schedule_id == c.HOUSEKEEPING_SCHEDULE_ID
            handle = env.client.get_schedule_handle(schedule_id)
            desc = await handle.describe()
            assert [r.start for r in desc.schedule.spec.calendars[0].hour] == [3]
            assert desc.schedule.spec.time_zone_name == "Europe/Madrid"
            action = desc.schedule.action
            assert isinstance(action, ScheduleActionStartWorkflow)
            assert action.workflow == c.HOUSEKEEPING_WORKFLOW
            await ensure_housekeeping_schedule(env.client, settings)  # again: updated, one
            async with running_worker(env.client, settings, sqlite_engine):
                result = await env.client.execute_workflow(
                    c.HOUSEKEEPING_WORKFLOW, c.HousekeepingInput(sms_retention_days=365),
                    id="housekeeping-test", task_queue=settings.temporal_task_queue,
                    result_type=c.HousekeepingResult,
                )  # fmt: skip
            assert result == c.HousekeepingResult(sms_redacted=1)
            off = settings.replace(sms_retention_days=0)
            assert await ensure_housekeeping_schedule(env.client, off) is None
            assert await ensure_housekeeping_schedule(env.client, off) is None
            with pytest.raises(RPCError) as gone:
                await handle.describe()
            assert gone.value.status == RPCStatusCode.NOT_FOUND

    asyncio.run(scenario())
    with session_scope(sqlite_engine) as s:
        bodies = sorted(m.body for m in s.exec(select(SmsMessage)))
    assert bodies == ["", "10 days"]


def test_stage_search_attribute_refused_update_and_gateway(
    sqlite_engine: Engine, wf_settings: Settings, dev_server_path: str
) -> None:
    key = base64.b64encode(os.urandom(32)).decode()

    async def scenario() -> None:
        async with await _dev_env(dev_server_path) as env:
            target = env.client.service_client.config.target_host
            settings = wf_settings.replace(temporal_address=target, payload_key=key)
            client = await Client.connect(target, data_converter=data_converter(key))
            now = await env.get_current_time()
            ids = make_company(sqlite_engine, sold_on=now.date(), trainings=0, interval_days=None)
            gateway = WorkflowGateway(settings)
            try:
                async with running_worker(client, settings, sqlite_engine):
                    started = await asyncio.to_thread(gateway.start_sale, ids["sale"])
                    assert started == c.sale_workflow_id(ids["sale"])
                    again = await asyncio.to_thread(gateway.start_sale, ids["sale"])
                    assert again == started

                    async def listed() -> list[str]:
                        query = f'{c.STAGE_SEARCH_ATTRIBUTE} = "installation"'
                        return [w.id async for w in client.list_workflows(query)]

                    assert await until(listed, timeout=20) == [started]

                    visit_id = await first_visit(client, sqlite_engine, ids["sale"])
                    visit = client.get_workflow_handle(c.visit_workflow_id(visit_id))
                    start = now + timedelta(days=3)
                    await visit.signal(c.VISIT_PLANNED_SIGNAL, planned_at(start, ids["staff"]))
                    await wait_status(client, visit_id, "awaiting_confirmation")
                    await asyncio.sleep(1)
                    before = len((await visit.fetch_history()).events)
                    with pytest.raises(WorkflowRejected, match="unknown answer"):
                        await asyncio.to_thread(
                            gateway.customer_reply, visit_id, c.CustomerReplyInput("quizas")
                        )
                    with pytest.raises(WorkflowRejected, match="no alternative times"):
                        await asyncio.to_thread(
                            gateway.customer_reply,
                            visit_id,
                            c.CustomerReplyInput("choose_slot", slot=1),
                        )
                    events = (await visit.fetch_history()).events
                    assert len(events) == before  # a refused answer leaves no trace

                    reply = await asyncio.to_thread(
                        gateway.customer_reply,
                        visit_id,
                        c.CustomerReplyInput("confirm", message_id=5),
                    )
                    assert reply.status == "confirmed"
                    state = await asyncio.to_thread(gateway.visit_state, visit_id)
                    assert state["status"] == "confirmed"
                    sale_state = await asyncio.to_thread(gateway.sale_state, ids["sale"])
                    assert sale_state["stage"] == "installation"
                    assert sale_state["open_visits"] == {str(visit_id): "installation"}
                    with pytest.raises(WorkflowRejected):
                        await asyncio.to_thread(gateway.visit_state, 99999)

                    # payloads are encrypted at rest: a client without the key sees ciphertext
                    raw = await env.client.get_workflow_handle(started).fetch_history()
                    first = raw.events[0].workflow_execution_started_event_attributes
                    assert first.input.payloads[0].metadata["encoding"] == ENCODING
                    assert b"sale_id" not in first.input.payloads[0].data
                    names = {EventType.Name(e.event_type) for e in events}
                    assert "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED" not in names

                    result = await asyncio.to_thread(
                        gateway.cancel_sale, ids["sale"], c.CancelSaleInput(reason="baja")
                    )
                    assert result.status == "cancelled" and result.visits_cancelled == 1
            finally:
                gateway.close()

    asyncio.run(scenario())


def test_an_accepted_update_that_cannot_finish_in_time_is_pending_not_unavailable(
    pg_engine: Engine, wf_settings: Settings, dev_server_path: str
) -> None:
    """The sale's table is locked (a long migration, a stuck transaction): the cancellation is
    accepted but its activity waits. The caller hears "pending", not "nothing was changed", a
    refused request is still refused at once, and sending it again returns the result."""
    ids = make_company(pg_engine, sold_on=date.today(), trainings=0, interval_days=None)

    async def scenario() -> None:
        async with await _dev_env(dev_server_path) as env:
            target = env.client.service_client.config.target_host
            settings = wf_settings.replace(temporal_address=target)
            gateway = WorkflowGateway(settings, timeout=3)
            try:
                async with running_worker(env.client, settings, pg_engine):
                    await asyncio.to_thread(gateway.start_sale, ids["sale"])
                    await first_visit(env.client, pg_engine, ids["sale"])
                    with pg_engine.connect() as locker:
                        locker.execute(text("LOCK TABLE sale IN EXCLUSIVE MODE"))
                        with pytest.raises(WorkflowRejected, match="give a reason"):
                            await asyncio.to_thread(
                                gateway.cancel_sale, ids["sale"], c.CancelSaleInput(reason=" ")
                            )
                        with pytest.raises(WorkflowPending):
                            await asyncio.to_thread(
                                gateway.cancel_sale, ids["sale"], c.CancelSaleInput(reason="baja")
                            )
                        with Session(pg_engine) as s:
                            assert s.get(Sale, ids["sale"]).status == "active"  # type: ignore[union-attr]
                        locker.rollback()
                    gateway.timeout = 30
                    result = await asyncio.to_thread(
                        gateway.cancel_sale, ids["sale"], c.CancelSaleInput(reason="baja")
                    )
                    assert result.status == "cancelled"
            finally:
                gateway.close()

    asyncio.run(scenario())
    with Session(pg_engine) as s:
        assert s.get(Sale, ids["sale"]).status == "cancelled"  # type: ignore[union-attr]


def test_gateway_reports_an_unreachable_server(wf_settings: Settings) -> None:
    gateway = WorkflowGateway(wf_settings.replace(temporal_address="127.0.0.1:9"), timeout=20)
    try:
        with pytest.raises(WorkflowUnavailable):
            gateway.start_sale(1)
    finally:
        gateway.close()
