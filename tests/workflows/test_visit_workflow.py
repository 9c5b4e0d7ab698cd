"""One visit's conversation and outcomes, on the time-skipping server with the real database,
the real SMS messenger (outbox gateway) and the real slot finder."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from domain.db import session_scope
from domain.models import AuditEntry, Visit
from domain.visits import set_status
from posventa.config import Settings
from sms.templates import format_clock
from tests.workflows.support import (
    first_visit,
    open_visits,
    planned_at,
    run_sale_scenario,
    sms_rows,
    until,
    visit_row,
    visit_state,
    wait_status,
)
from workflows import contracts as c


async def _has_sms(engine: Engine, template: str) -> bool:
    return bool(sms_rows(engine, template=template))


def _status_actors(engine: Engine, visit_id: int) -> list[tuple[str, str]]:
    """(status, actor) of the visit's audited status changes, oldest first."""
    with session_scope(engine) as s:
        rows = s.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "visit.status", AuditEntry.entity_id == visit_id)
            .order_by(AuditEntry.id)  # type: ignore[arg-type]
        )
        return [(r.details["status"], r.actor) for r in rows]


def _morning(now: datetime, days: int) -> datetime:
    return datetime.combine((now + timedelta(days=days)).date(), time(9), UTC)


ONE_VISIT = {"trainings": 0, "interval_days": None, "contract_months": 0, "warranty_months": 12}


def test_invalid_reply_is_refused_without_trace_and_silence_gets_a_reminder_then_a_call(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    async def body(env, ids, sale, now):  # type: ignore[no-untyped-def]
        client = env.client
        visit_id = await first_visit(client, sqlite_engine, ids["sale"])
        handle = client.get_workflow_handle(c.visit_workflow_id(visit_id))
        start = _morning(now, 6)
        await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(start, ids["staff"]))
        await wait_status(client, visit_id, "awaiting_confirmation")
        await until(lambda: _has_sms(sqlite_engine, "visit_confirmation"))
        await asyncio.sleep(0.5)
        before = len((await handle.fetch_history()).events)
        for bad in (
            c.CustomerReplyInput(answer="maybe"),
            c.CustomerReplyInput(answer="choose_slot", slot=1),
        ):
            with pytest.raises(WorkflowUpdateFailedError) as err:
                await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, bad)
            assert str(err.value.cause)
        # (the time-skipping server records empty workflow tasks for refused updates; the dev
        # server records nothing at all: see test_dev_server.py)
        events = (await handle.fetch_history()).events
        added = {EventType.Name(e.event_type) for e in events[before:]}
        assert added <= {
            "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
            "EVENT_TYPE_WORKFLOW_TASK_STARTED",
            "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
        }
        assert [m.template for m in sms_rows(sqlite_engine)] == ["visit_confirmation"]

        await env.sleep(timedelta(hours=25))
        await asyncio.sleep(0.3)
        assert [m.template for m in sms_rows(sqlite_engine)][-1] == "visit_no_answer_reminder"
        assert not visit_row(sqlite_engine, visit_id).needs_phone_call
        await env.sleep(timedelta(hours=25))
        await asyncio.sleep(0.3)
        assert visit_row(sqlite_engine, visit_id).needs_phone_call
        assert (await visit_state(client, visit_id))["needs_phone_call"]

        result = await handle.execute_update(
            c.CUSTOMER_REPLY_UPDATE,
            c.CustomerReplyInput(answer="confirm", message_id=77),
            result_type=c.CustomerReplyResult,
        )
        assert result.status == "confirmed"
        again = await handle.execute_update(
            c.CUSTOMER_REPLY_UPDATE,
            c.CustomerReplyInput(answer="confirm", message_id=77),
            result_type=c.CustomerReplyResult,
        )
        assert again == result
        row = visit_row(sqlite_engine, visit_id)
        assert row.status == "confirmed" and not row.needs_phone_call
        # the day before the visit: one reminder
        await env.sleep(start - timedelta(hours=20) - await env.get_current_time())
        await asyncio.sleep(0.3)
        templates = [m.template for m in sms_rows(sqlite_engine)]
        assert templates.count("visit_day_before_reminder") == 1
        for wrong in ("2026-12-07T10:00:00", "at ten", (await env.get_current_time()
                      + timedelta(hours=1)).isoformat()):  # fmt: skip
            with pytest.raises(WorkflowUpdateFailedError):  # no offset, no time, the future
                await handle.execute_update(
                    c.VISIT_OUTCOME_UPDATE, c.VisitOutcomeInput("done", finished_at=wrong)
                )
        ended = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=40)
        done = await handle.execute_update(
            c.VISIT_OUTCOME_UPDATE,
            c.VisitOutcomeInput(
                outcome="done", reported_by=" tecnica@example.com ", finished_at=ended.isoformat()
            ),
            result_type=c.VisitOutcomeResult,
        )
        assert done.status == "completed"
        assert visit_row(sqlite_engine, visit_id).finished_at == ended  # reported from the van
        assert (await handle.result())["outcome"] == "done"
        assert visit_row(sqlite_engine, visit_id).status == "completed"
        # the audit names who reported the outcome; the workflow's own changes name it
        actors = _status_actors(sqlite_engine, visit_id)
        assert actors[-1] == ("completed", "tecnica@example.com")
        assert {a for _, a in actors[:-1]} == {f"workflow:{c.visit_workflow_id(visit_id)}"}

    run_sale_scenario(body, sqlite_engine, wf_settings, test_server_path, **ONE_VISIT)


def test_reschedule_absent_decline_and_follow_up(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    async def body(env, ids, sale, now):  # type: ignore[no-untyped-def]
        client = env.client
        visit_id = await first_visit(client, sqlite_engine, ids["sale"])
        handle = client.get_workflow_handle(c.visit_workflow_id(visit_id))
        await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(_morning(now, 3), ids["staff"]))
        await wait_status(client, visit_id, "awaiting_confirmation")

        offer = await handle.execute_update(
            c.CUSTOMER_REPLY_UPDATE,
            c.CustomerReplyInput(answer="reschedule"),
            result_type=c.CustomerReplyResult,
        )
        assert len(offer.offered_slots) == 3
        days = [datetime.fromisoformat(s).date() for s in offer.offered_slots]
        assert len(set(days)) == 3 and all(d.weekday() < 5 for d in days)
        assert sms_rows(sqlite_engine)[-1].template == "reschedule_offer"
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput(answer="choose_slot", slot=4)
            )
        chosen = await handle.execute_update(
            c.CUSTOMER_REPLY_UPDATE,
            c.CustomerReplyInput(answer="choose_slot", slot=2),
            result_type=c.CustomerReplyResult,
        )
        assert chosen.status == "requested"
        row = visit_row(sqlite_engine, visit_id)
        slot = datetime.fromisoformat(offer.offered_slots[1])
        assert row.pinned_start == slot and row.status == "requested"
        assert row.assigned_staff_id is None

        # the next plan puts it where the customer chose: confirmed without asking again
        confirmations = len(sms_rows(sqlite_engine, template="visit_confirmation"))
        await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(slot, ids["staff"], plan_id=2))
        await wait_status(client, visit_id, "confirmed")
        await until(lambda: _has_sms(sqlite_engine, "visit_rescheduled"))
        assert len(sms_rows(sqlite_engine, template="visit_confirmation")) == confirmations

        # customer absent: back into the pool. The report arrives twice at once (two phones,
        # a double tap): one is carried out, the other refused, the absence counted once.
        absent = c.VisitOutcomeInput(outcome="absent")
        sent = await asyncio.gather(
            *(handle.execute_update(c.VISIT_OUTCOME_UPDATE, absent) for _ in range(2)),
            return_exceptions=True,
        )
        refused = [r for r in sent if isinstance(r, WorkflowUpdateFailedError)]
        assert len(refused) == 1, sent
        state = await wait_status(client, visit_id, "requested")
        assert state["absences"] == 1
        row = visit_row(sqlite_engine, visit_id)
        assert row.status == "requested" and row.planned_start is None
        # reported without a name: the audit names the visit's workflow
        own = f"workflow:{c.visit_workflow_id(visit_id)}"
        assert _status_actors(sqlite_engine, visit_id)[-1] == ("requested", own)

        # planned again, declined: back into the pool as declined
        await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(_morning(now, 8), ids["staff"], 3))
        await wait_status(client, visit_id, "awaiting_confirmation")
        await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("decline"))
        row = visit_row(sqlite_engine, visit_id)
        assert row.status == "declined" and row.assigned_staff_id is None

        # planned again, confirmed, needs a follow-up: the sale requests another visit
        await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(_morning(now, 9), ids["staff"], 4))
        await wait_status(client, visit_id, "awaiting_confirmation")
        await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("confirm"))
        await handle.execute_update(
            c.VISIT_OUTCOME_UPDATE, c.VisitOutcomeInput(outcome="follow_up", note="falta pieza")
        )
        assert (await handle.result())["outcome"] == "follow_up"
        follow = await first_visit(client, sqlite_engine, ids["sale"])
        assert follow != visit_id
        assert visit_row(sqlite_engine, follow).business_key.endswith("/installation-1/followup-1")
        assert [v.id for v in open_visits(sqlite_engine, ids["sale"])] == [follow]

    run_sale_scenario(body, sqlite_engine, wf_settings, test_server_path, **ONE_VISIT)


def test_opted_out_customer_is_flagged_for_a_phone_call(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    async def body(env, ids, sale, now):  # type: ignore[no-untyped-def]
        client = env.client
        visit_id = await first_visit(client, sqlite_engine, ids["sale"])
        handle = client.get_workflow_handle(c.visit_workflow_id(visit_id))
        await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(_morning(now, 3), ids["staff"]))
        state = await wait_status(client, visit_id, "awaiting_confirmation")

        async def flagged() -> bool:
            return visit_row(sqlite_engine, visit_id).needs_phone_call

        await until(flagged)
        assert sms_rows(sqlite_engine) == []
        assert state["status"] == "awaiting_confirmation"
        # the dispatcher phones and records the answer
        await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("confirm"))
        assert visit_row(sqlite_engine, visit_id).status == "confirmed"

    run_sale_scenario(
        body, sqlite_engine, wf_settings, test_server_path, opted_out=True, **ONE_VISIT
    )


def test_customer_told_of_a_visit_taken_off_the_plan(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    """A confirmed visit that a re-plan drops: the customer hears that the promised window is
    off (once, with that window), and the visit goes back into the pool."""

    async def body(env, ids, sale, now):  # type: ignore[no-untyped-def]
        client = env.client
        visit_id = await first_visit(client, sqlite_engine, ids["sale"])
        handle = client.get_workflow_handle(c.visit_workflow_id(visit_id))
        start = _morning(now, 4)
        await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(start, ids["staff"]))
        await wait_status(client, visit_id, "awaiting_confirmation")
        await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("confirm"))
        await wait_status(client, visit_id, "confirmed")
        assert not sms_rows(sqlite_engine, template="visit_unplanned")

        # the dispatcher approves a re-plan without it: approval clears the row, then signals
        with session_scope(sqlite_engine) as session:
            set_status(session, visit_id, "requested", "dispatcher", unplan=True)
        await handle.signal(c.VISIT_UNPLANNED_SIGNAL, c.VisitUnplanned(plan_id=2))
        await wait_status(client, visit_id, "requested")
        await until(lambda: _has_sms(sqlite_engine, "visit_unplanned"))
        (notice,) = sms_rows(sqlite_engine, template="visit_unplanned")
        assert format_clock(start, wf_settings.timezone) in notice.body
        end = start + timedelta(hours=2)
        assert format_clock(end, wf_settings.timezone) in notice.body
        row = visit_row(sqlite_engine, visit_id)
        assert row.status == "requested" and row.planned_start is None

        # planned again and declined by the customer: they know already, no notice
        await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(_morning(now, 6), ids["staff"], 3))
        await wait_status(client, visit_id, "awaiting_confirmation")
        await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("decline"))
        await wait_status(client, visit_id, "declined")
        await asyncio.sleep(0.5)
        assert len(sms_rows(sqlite_engine, template="visit_unplanned")) == 1

    run_sale_scenario(body, sqlite_engine, wf_settings, test_server_path, **ONE_VISIT)


def test_a_new_start_inside_the_promised_window_asks_the_customer_nothing(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    """A confirmed visit re-planned 30 min later by the same technician, inside the window the
    customer was given (the route runs late): no new question, still confirmed. Moved out of
    that window, the customer is asked again, with the new window."""

    async def body(env, ids, sale, now):  # type: ignore[no-untyped-def]
        client = env.client
        visit_id = await first_visit(client, sqlite_engine, ids["sale"])
        handle = client.get_workflow_handle(c.visit_workflow_id(visit_id))
        start = _morning(now, 4)
        told = planned_at(start, ids["staff"])
        await handle.signal(c.VISIT_PLANNED_SIGNAL, told)
        await wait_status(client, visit_id, "awaiting_confirmation")
        await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("confirm"))
        await wait_status(client, visit_id, "confirmed")

        later = start + timedelta(minutes=30)
        retimed = c.VisitPlanned(
            plan_id=2, plan_date=told.plan_date, staff_id=ids["staff"],
            planned_start=later.isoformat(), window_start=told.window_start,
            window_end=told.window_end,
        )  # fmt: skip
        await handle.signal(c.VISIT_PLANNED_SIGNAL, retimed)
        await until(lambda: _plan_id(client, visit_id, 2))
        await asyncio.sleep(0.5)
        assert len(sms_rows(sqlite_engine, template="visit_confirmation")) == 1
        assert (await visit_state(client, visit_id))["status"] == "confirmed"
        assert visit_row(sqlite_engine, visit_id).status == "confirmed"

        elsewhere = planned_at(start + timedelta(hours=3), ids["staff"], 3)
        await handle.signal(c.VISIT_PLANNED_SIGNAL, elsewhere)
        await wait_status(client, visit_id, "awaiting_confirmation")
        await until(lambda: _confirmations(sqlite_engine, 2))
        last = sms_rows(sqlite_engine, template="visit_confirmation")[-1]
        assert format_clock(start + timedelta(hours=3), wf_settings.timezone) in last.body

    run_sale_scenario(body, sqlite_engine, wf_settings, test_server_path, **ONE_VISIT)


async def _plan_id(client, visit_id: int, plan_id: int) -> bool:  # type: ignore[no-untyped-def]
    return (await visit_state(client, visit_id))["plan_id"] == plan_id


async def _confirmations(engine: Engine, count: int) -> bool:
    return len(sms_rows(engine, template="visit_confirmation")) == count


def test_a_confirmed_visit_moved_later_today_is_told_not_asked_again(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    """The technician runs an hour late today: the re-plan moves a confirmed visit, due in two
    hours, an hour later. Its customer is told the new window (a notice: a reply is for the
    office) and the visit stays confirmed; nobody asks "does it suit you?" again."""

    async def body(env, ids, sale, now):  # type: ignore[no-untyped-def]
        client = env.client
        visit_id = await first_visit(client, sqlite_engine, ids["sale"])
        handle = client.get_workflow_handle(c.visit_workflow_id(visit_id))
        start = (now + timedelta(hours=2)).replace(microsecond=0)
        await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(start, ids["staff"]))
        await wait_status(client, visit_id, "awaiting_confirmation")
        await handle.execute_update(c.CUSTOMER_REPLY_UPDATE, c.CustomerReplyInput("confirm"))
        await wait_status(client, visit_id, "confirmed")

        later = start + timedelta(hours=1)
        with session_scope(sqlite_engine) as session:  # what approving the re-plan writes
            row = session.get(Visit, visit_id)
            row.planned_start, row.promised_window_start = later, later
            row.promised_window_end = later + timedelta(hours=2)
        moved = planned_at(later, ids["staff"], 2)
        moved.plan_date = planned_at(start, ids["staff"]).plan_date  # (at any hour CI runs)
        await handle.signal(c.VISIT_PLANNED_SIGNAL, moved)
        await until(lambda: _has_sms(sqlite_engine, "visit_delayed"))
        (told,) = sms_rows(sqlite_engine, template="visit_delayed")
        assert format_clock(later, wf_settings.timezone) in told.body
        assert format_clock(later + timedelta(hours=2), wf_settings.timezone) in told.body
        await asyncio.sleep(0.5)
        assert len(sms_rows(sqlite_engine, template="visit_confirmation")) == 1
        assert (await visit_state(client, visit_id))["status"] == "confirmed"
        assert visit_row(sqlite_engine, visit_id).status == "confirmed"
        # put on another day's plan (even if soon): that is another appointment, asked again
        other_day = planned_at(later + timedelta(minutes=30), ids["staff"], 3)
        other_day.plan_date = (date.fromisoformat(moved.plan_date) + timedelta(1)).isoformat()
        await handle.signal(c.VISIT_PLANNED_SIGNAL, other_day)
        await wait_status(client, visit_id, "awaiting_confirmation")
        assert len(sms_rows(sqlite_engine, template="visit_delayed")) == 1

    run_sale_scenario(body, sqlite_engine, wf_settings, test_server_path, **ONE_VISIT)
