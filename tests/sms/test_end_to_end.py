"""A customer's SMS reply, typed into the phone simulator, confirms their visit in its workflow.

Real pieces only: a Temporal dev server from the venv, posventa's worker (VisitWorkflow and its
activities, SMS through the outbox), the Flask app with its WorkflowGateway, the database.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from domain.db import session_scope
from domain.models import Visit
from posventa.config import Settings
from tests.sms.conftest import make_company, messages
from tests.sms.test_webhooks import dispatcher
from tests.web.conftest import make_app
from tests.workflows.support import running_worker, until, visit_state, with_own_queue
from workflows import contracts as c


@pytest.mark.slow
def test_reply_in_the_simulator_confirms_the_visit(
    sqlite_engine: Engine, settings: Settings, dev_server_path: str
) -> None:
    engine = sqlite_engine
    company = make_company(engine)
    with session_scope(engine) as s:  # a visit waiting for the day's plan
        visit = s.get(Visit, company.visit_id)
        visit.status = "requested"
        visit.assigned_staff_id = visit.planned_start = None
        visit.promised_window_start = visit.promised_window_end = None

    async def scenario() -> None:
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=dev_server_path, ui=False
        ) as env:
            target = env.client.service_client.config.target_host
            cfg = with_own_queue(settings).replace(temporal_address=target)
            async with running_worker(env.client, cfg, engine):
                handle = await env.client.start_workflow(
                    c.VISIT_WORKFLOW,
                    c.VisitWorkflowInput(visit_id=company.visit_id, sale_id=company.sale_id),
                    id=c.visit_workflow_id(company.visit_id),
                    task_queue=cfg.temporal_task_queue,
                )
                day = (datetime.now(UTC) + timedelta(days=3)).date()
                start = datetime.combine(day, time(8), UTC)
                await handle.signal(
                    c.VISIT_PLANNED_SIGNAL,
                    c.VisitPlanned(
                        plan_id=1,
                        plan_date=day.isoformat(),
                        staff_id=company.staff_id,
                        planned_start=start.isoformat(),
                        window_start=start.isoformat(),
                        window_end=(start + timedelta(hours=2)).isoformat(),
                    ),
                )

                async def asked() -> bool:
                    return bool(messages(engine, template="visit_confirmation"))

                await until(asked, timeout=30)
                app = make_app(cfg, engine)
                app.config["POSVENTA_SETTINGS"] = app.config["POSVENTA_SETTINGS"].replace(
                    temporal_address=target
                )
                client, csrf = await asyncio.to_thread(dispatcher, app, engine)
                response = await asyncio.to_thread(
                    client.post,
                    f"/sms/simulator/{company.customer_id}/reply",
                    data={"body": "Sí", "csrf_token": csrf},
                )
                assert response.status_code == 302

                async def confirmed() -> bool:
                    state = await visit_state(env.client, company.visit_id)
                    return state["status"] == "confirmed"

                await until(confirmed, timeout=30)
                app.extensions["posventa.workflows"].close()
        with Session(engine) as s:
            assert s.get(Visit, company.visit_id).status == "confirmed"
        [inbound] = messages(engine, direction="inbound")
        assert inbound.processed and inbound.visit_id == company.visit_id
        [thanks] = messages(engine, template="reply_confirmed")
        assert thanks.body.startswith("Gracias, su instalación del")

    asyncio.run(scenario())
