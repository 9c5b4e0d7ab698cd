"""A visit the customer was absent for three times fails; the sale's lifecycle then waits for the
dispatcher's decision (request it again, or close the step) instead of going on as if it had
happened. Time-skipping server, real database (SQLite and PostgreSQL), real SMS outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import Client, WorkflowUpdateFailedError

from domain.db import session_scope
from domain.models import AuditEntry, Sale
from posventa.config import Settings
from tests.workflows.support import (
    absent_until_failed,
    first_visit,
    open_visits,
    query_state,
    run_sale_scenario,
    visit_row,
)
from workflows import contracts as c


async def _decide(
    client: Client, sale_id: int, visit_id: int, action: str, note: str = ""
) -> c.FailedVisitDecisionResult:
    return await client.get_workflow_handle(c.sale_workflow_id(sale_id)).execute_update(
        c.FAILED_VISIT_UPDATE,
        c.FailedVisitDecisionInput(visit_id, action, note=note, requested_by="ana@posventa"),
        result_type=c.FailedVisitDecisionResult,
    )


async def _failed_visits(client: Client, sale_id: int) -> dict[str, str]:
    state = await query_state(client.get_workflow_handle(c.sale_workflow_id(sale_id)))
    return state["failed_visits"]


def _decisions(engine: Engine) -> list[tuple[int | None, str, dict]]:
    with session_scope(engine) as s:
        rows = s.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "visit.failed_decision")
            .order_by(AuditEntry.id)  # type: ignore[arg-type]
        )
        return [(r.entity_id, r.actor, r.details) for r in rows]


def test_failed_installation_waits_for_the_dispatcher_then_retries_then_closes(
    engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    async def body(env, ids, sale, now):  # type: ignore[no-untyped-def]
        client, sale_id = env.client, ids["sale"]
        first = await first_visit(client, engine, sale_id, "installation")
        plan_id = await absent_until_failed(env, sale_id, first, ids["staff"])

        row = visit_row(engine, first)
        assert (row.status, row.needs_phone_call) == ("failed", True)
        assert await _failed_visits(client, sale_id) == {str(first): "installation"}
        # days go by: nothing happens without a decision (no training, no new visit)
        await env.sleep(timedelta(days=5))
        assert open_visits(engine, sale_id) == []
        with session_scope(engine) as s:
            assert s.get(Sale, sale_id).stage == "installation"  # type: ignore[union-attr]

        for bad in ((first, "postpone"), (first + 1000, "retry")):
            with pytest.raises(WorkflowUpdateFailedError):
                await _decide(client, sale_id, *bad)
        assert _decisions(engine) == []

        done = await _decide(client, sale_id, first, "retry", "she will be in on Friday")
        assert (done.visit_id, done.action) == (first, "retry")
        second = await first_visit(client, engine, sale_id, "installation")
        assert second != first
        assert visit_row(engine, second).business_key == f"sale-{sale_id}/installation-1/retry-1"
        assert visit_row(engine, first).needs_phone_call is False
        assert _decisions(engine) == [
            (first, "ana@posventa", {"decision": "retry", "note": "she will be in on Friday"})
        ]
        with pytest.raises(WorkflowUpdateFailedError):  # decided already
            await _decide(client, sale_id, first, "close")

        await absent_until_failed(env, sale_id, second, ids["staff"], plan_id)
        assert await _failed_visits(client, sale_id) == {str(second): "installation"}
        await _decide(client, sale_id, second, "close", "customer unreachable")
        training = await first_visit(client, engine, sale_id, "training")
        assert await _failed_visits(client, sale_id) == {}
        with session_scope(engine) as s:
            assert s.get(Sale, sale_id).stage == "training"  # type: ignore[union-attr]
        assert [v.id for v in open_visits(engine, sale_id)] == [training]
        assert [d[2]["decision"] for d in _decisions(engine)] == ["retry", "close"]

    run_sale_scenario(
        body, engine, wf_settings, test_server_path,
        trainings=1, interval_days=None, contract_months=0,
    )  # fmt: skip


def test_a_failed_repair_waits_and_a_cancellation_still_ends_the_sale(
    sqlite_engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    engine = sqlite_engine

    async def body(env, ids, sale, now):  # type: ignore[no-untyped-def]
        client, sale_id = env.client, ids["sale"]
        fault = await sale.execute_update(
            c.REPORT_FAULT_UPDATE,
            c.ReportFaultInput(description="no arranca"),
            result_type=c.ReportFaultResult,
        )
        assert await first_visit(client, engine, sale_id, "repair") == fault.visit_id
        await absent_until_failed(env, sale_id, fault.visit_id, ids["staff"])
        assert await _failed_visits(client, sale_id) == {str(fault.visit_id): "repair"}

        cancelled = await sale.execute_update(
            c.CANCEL_SALE_UPDATE,
            c.CancelSaleInput(reason="devuelto", kind="returned"),
            result_type=c.CancelSaleResult,
        )
        assert cancelled.status == "returned"
        assert (await sale.result()).status == "returned"
        row = visit_row(engine, fault.visit_id)
        assert row.status == "failed"  # a final status stays as it was

    run_sale_scenario(
        body, engine, wf_settings, test_server_path,
        installation=False, trainings=0, interval_days=None, contract_months=0,
    )  # fmt: skip
