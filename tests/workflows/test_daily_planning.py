"""The day's planning on the time-skipping server with the real planner, optimizer and calendars:
draft, approval (only of the current draft), visits told, calendars published, CalDAV failures
retried without blocking, re-planning after a decline and a sick technician."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.db import session_scope
from domain.lifecycle import local_day_start, next_working_day
from domain.models import CalendarEntry, DailyPlan, Staff
from domain.schemas import AbsenceIn
from domain.services import add_absence
from posventa.config import Settings
from tests.workflows.support import (
    first_visit,
    make_company,
    running_worker,
    sms_rows,
    start_sale,
    until,
    visit_row,
    wait_status,
)
from workflows import contracts as c


async def _plan_state(handle) -> dict:  # type: ignore[no-untyped-def]
    return await handle.query(c.STATE_QUERY, result_type=dict)


def test_draft_approve_publish_and_replan(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    async def scenario() -> None:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=test_server_path
        ) as env:
            now = await env.get_current_time()
            ids = make_company(
                sqlite_engine,
                sold_on=now.date(),
                trainings=0,
                interval_days=None,
                contract_months=0,
            )
            with session_scope(sqlite_engine) as s:
                staff = s.get(Staff, ids["staff"])
                assert staff is not None
                staff.caldav_url = "http://127.0.0.1:9/nowhere/"  # nothing listens there
                staff.caldav_username = "luis"
                staff.caldav_password = "x"
                staff.phone = "+34611000009"
                s.add(staff)
            plan_day = next_working_day(now.date())
            async with running_worker(env.client, wf_settings, sqlite_engine):
                await start_sale(env.client, wf_settings, ids["sale"])
                visit_id = await first_visit(env.client, sqlite_engine, ids["sale"])
                handle = await env.client.start_workflow(
                    c.PLANNING_WORKFLOW,
                    c.PlanningInput(
                        plan_date=plan_day.isoformat(), draft_seconds=1, timezone="Europe/Madrid"
                    ),
                    id=c.planning_workflow_id(plan_day),
                    task_queue=wf_settings.temporal_task_queue,
                    result_type=c.PlanningResult,
                )

                async def drafted(n: int):  # type: ignore[no-untyped-def]
                    state = await _plan_state(handle)
                    ok = state["status"] == "awaiting_approval" and state["drafts"] == n
                    return state if ok else None

                state = await until(lambda: drafted(1), timeout=60)
                draft_id = state["draft_plan_id"]
                assert state["last_draft"]["assigned"] == 1
                with pytest.raises(WorkflowUpdateFailedError) as refused:
                    await handle.execute_update(
                        c.APPROVE_PLAN_UPDATE, c.ApprovePlanInput(draft_id + 99, "disp@x.es")
                    )
                assert "not the current draft" in str(refused.value.cause)
                approved = await handle.execute_update(
                    c.APPROVE_PLAN_UPDATE,
                    c.ApprovePlanInput(draft_id, "disp@x.es"),
                    result_type=c.ApprovePlanResult,
                )
                assert approved == c.ApprovePlanResult(plan_id=draft_id, visits_notified=1)
                await wait_status(env.client, visit_id, "awaiting_confirmation")
                row = visit_row(sqlite_engine, visit_id)
                assert row.assigned_staff_id == ids["staff"]
                assert row.planned_start is not None
                with session_scope(sqlite_engine) as s:
                    entries = list(s.exec(select(CalendarEntry)))
                assert [(e.visit_id, e.staff_id) for e in entries] == [(visit_id, ids["staff"])]

                # the CalDAV server is down: retried in the background, the plan is not held up
                async def caldav_failed():  # type: ignore[no-untyped-def]
                    return (await _plan_state(handle))["caldav_failed_staff"] == [ids["staff"]]

                await env.sleep(timedelta(minutes=2))  # skip the push's retry back-off
                await until(caldav_failed, timeout=30)

                # the customer declines: the visit asks its day's planning for another look
                visit = env.client.get_workflow_handle(c.visit_workflow_id(visit_id))
                await visit.execute_update(
                    c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput(answer="decline")
                )
                state = await until(lambda: drafted(2), timeout=60)
                assert state["draft_plan_id"] != draft_id

                # the technician falls ill: the dispatcher records it and asks for a new plan
                with session_scope(sqlite_engine) as s:
                    add_absence(
                        s,
                        AbsenceIn(
                            staff_id=ids["staff"],
                            starts_on=plan_day,
                            ends_on=plan_day,
                            reason="baja",
                        ),
                    )
                await handle.signal(
                    c.REPLAN_SIGNAL, c.ReplanInput(reason="sick", staff_id=ids["staff"])
                )
                state = await until(lambda: drafted(3), timeout=60)
                assert state["last_draft"]["assigned"] == 0
                assert not sms_rows(sqlite_engine, template="staff_route_cleared")

                # approved the day before, over the plan the technician already has: he is told
                # his route has changed on the day, at 07:00 (nobody is texted at night)
                await handle.execute_update(
                    c.APPROVE_PLAN_UPDATE, c.ApprovePlanInput(state["draft_plan_id"], "disp@x.es")
                )
                await asyncio.sleep(1)
                assert not await _staff_told(sqlite_engine)
                assert (await _plan_state(handle))["staff_told_plan_id"] == draft_id
                six = local_day_start(plan_day, "Europe/Madrid") + timedelta(hours=6, minutes=59)
                await env.sleep(six - await env.get_current_time())
                await asyncio.sleep(1)
                assert not await _staff_told(sqlite_engine)
                await env.sleep(timedelta(minutes=2))
                await until(lambda: _staff_told(sqlite_engine), timeout=30)
                assert (await _plan_state(handle))["staff_told_plan_id"] == state["draft_plan_id"]
                (told,) = sms_rows(sqlite_engine, template="staff_route_cleared")
                assert told.to_number == "+34611000009"
                result = await handle.result()
        assert result.plan_date == plan_day.isoformat()
        assert result.approved_plan_id == state["draft_plan_id"] and result.drafts == 3
        with session_scope(sqlite_engine) as s:
            plans = list(s.exec(select(DailyPlan).order_by(DailyPlan.id)))
        assert [p.workflow_id for p in plans] == [c.planning_workflow_id(plan_day)] * 3
        assert isinstance(plan_day, date)

    asyncio.run(scenario())


async def _staff_told(engine: Engine) -> bool:
    return bool(sms_rows(engine, template="staff_route_cleared"))
