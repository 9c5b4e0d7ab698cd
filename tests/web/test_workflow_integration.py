"""The board and the sales pages with a real Temporal dev server and posventa's worker:
re-optimize through the day's planning workflow, pin, approve; start sale lifecycles."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from werkzeug.test import TestResponse

from domain.models import DailyPlan, Sale, Visit
from posventa.config import Settings
from tests.conftest import venv_binary
from tests.web.conftest import flashes, login, make_app
from tests.web.factories import PLAN_DAY, World, at, make_world
from tests.web.test_api import token_for
from tests.workflows.support import (
    planned_at,
    running_worker,
    visit_state,
    wait_status,
    with_own_queue,
)
from web.sale_start import pending_sale_ids, start_pending_workflows
from workflows import contracts as c
from workflows.client import WorkflowGateway

DAY = PLAN_DAY.isoformat()


def post_outcome(
    client: FlaskClient, csrf: str, visit_id: int, outcome: str, note: str, appointment: str = "",
    finished_at: str = "",
) -> TestResponse:  # fmt: skip
    """The phone page's outcome form, sent."""
    return client.post(
        f"/me/visits/{visit_id}/outcome",
        data={"csrf_token": csrf, "outcome": outcome, "note": note, "appointment": appointment,
              "finished_at": finished_at},
    )  # fmt: skip


def report(
    client: FlaskClient, csrf: str, visit_id: int, outcome: str, note: str, appointment: str = "",
    finished_at: str = "",
) -> list[str]:  # fmt: skip
    """Report a visit's outcome from the phone page; the messages the next page shows."""
    r = post_outcome(client, csrf, visit_id, outcome, note, appointment, finished_at)
    return flashes(client.get(r.location, follow_redirects=True).get_data(True))


@asynccontextmanager
async def live_posventa(
    settings: Settings, engine: Engine
) -> AsyncIterator[tuple[WorkflowEnvironment, Settings, Flask]]:
    """A Temporal dev server, posventa's worker on a queue of its own, and the web app wired to
    both (its workflow gateway closed on the way out)."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"), ui=False
    ) as env:
        cfg = with_own_queue(settings)
        async with running_worker(env.client, cfg, engine):
            target = env.client.service_client.config.target_host
            app = make_app(cfg, engine, temporal_address=target)
            try:
                yield env, cfg, app
            finally:
                if gateway := app.extensions.get("posventa.workflows"):
                    gateway.close()


async def visit_awaiting_confirmation(
    env: WorkflowEnvironment, cfg: Settings, world: World, **visit_input: object
) -> int:
    """The world's first visit as its own workflow, planned for Ana at 9:00 on the plan day,
    once it waits for the customer's confirmation."""
    visit_id = world.visits[0]
    handle = await env.client.start_workflow(
        c.VISIT_WORKFLOW,
        c.VisitWorkflowInput(visit_id, world.sales[0], **visit_input),  # type: ignore[arg-type]
        id=c.visit_workflow_id(visit_id),
        task_queue=cfg.temporal_task_queue,
    )
    await handle.signal(c.VISIT_PLANNED_SIGNAL, planned_at(at(PLAN_DAY, 9), world.staff["ana"]))
    await wait_status(env.client, visit_id, "awaiting_confirmation", timeout=30)
    return visit_id


@pytest.mark.slow
def test_board_drafts_pins_and_approves_through_the_planning_workflow(
    sqlite_engine: Engine, settings: Settings
) -> None:
    engine = sqlite_engine
    world = make_world(engine, with_plan=False)

    async def scenario() -> None:
        async with live_posventa(settings, engine) as (env, cfg, app):
            client = app.test_client()
            token = await asyncio.to_thread(login, client, world.users["dispatcher"])

            def post(path: str, **data: object):  # type: ignore[no-untyped-def]
                return client.post(path, data={"csrf_token": token, **data})

            # 1. re-optimize: starts plan-<day>, which drafts; the board shows its draft
            r = await asyncio.to_thread(post, f"/board/{DAY}/optimize")
            first = int(r.location.rsplit("plan=", 1)[1])
            html = await asyncio.to_thread(lambda: client.get(r.location).get_data(True))
            assert any(m.startswith("New draft plan") for m in flashes(html)), flashes(html)
            state = await env.client.get_workflow_handle(c.planning_workflow_id(PLAN_DAY)).query(
                c.STATE_QUERY, result_type=dict
            )
            assert state["draft_plan_id"] == first

            # 2. pin the third visit to Ana at 15:00: the workflow drafts again
            r = await asyncio.to_thread(
                post, f"/board/{DAY}/visits/{world.visits[2]}/pin",
                staff_id=world.staff["ana"], start="15:00",
            )  # fmt: skip
            second = int(r.location.rsplit("plan=", 1)[1])
            assert second != first
            # approving the stale draft is refused by the workflow's validator, in words
            r = await asyncio.to_thread(post, f"/board/{DAY}/approve", plan_id=first)
            html = await asyncio.to_thread(lambda: client.get(r.location).get_data(True))
            assert any(f"approve plan {second}" in m for m in flashes(html)), flashes(html)

            # 3. review, then approve the current draft
            review = await asyncio.to_thread(
                lambda: client.get(f"/board/{DAY}/approve?plan={second}").get_data(True)
            )
            assert "New in this plan" in review and "Eva Pons" in review
            assert 'id="workflow-note"' not in review
            stale = await asyncio.to_thread(
                lambda: client.get(f"/board/{DAY}/approve?plan={first}").get_data(True)
            )
            assert f"waits for the approval of plan #{second}" in stale
            r = await asyncio.to_thread(post, f"/board/{DAY}/approve", plan_id=second)
            html = await asyncio.to_thread(lambda: client.get(r.location).get_data(True))
            assert any(m.startswith("Plan approved") for m in flashes(html)), flashes(html)
        with Session(engine) as s:
            plans = {p.id: p.status for p in s.exec(select(DailyPlan))}
            assert plans[second] == "approved" and plans[first] != "approved"
            pinned = s.get(Visit, world.visits[2])
            assert pinned is not None and pinned.assigned_staff_id == world.staff["ana"]

    asyncio.run(scenario())


@pytest.mark.slow
def test_sales_start_their_lifecycle_and_pending_starts_are_retried(
    sqlite_engine: Engine, settings: Settings
) -> None:
    engine = sqlite_engine
    world = make_world(engine, with_plan=False)
    # a sale registered while Temporal was down: stored, its start pending
    down = make_app(settings, engine)
    client = down.test_client()
    token = login(client, world.users["dispatcher"])
    body = {"csrf_token": token, "product_sku": "BOIL-1", "sold_on": "2026-11-20",
            "customer_id": str(world.customers[0])}  # fmt: skip
    r = client.post("/sales/new", data=body)
    waiting = int(r.location.rsplit("/", 1)[1])
    with Session(engine) as s:
        assert pending_sale_ids(s) == [waiting]

    async def scenario() -> None:
        async with live_posventa(settings, engine) as (env, cfg, app):
            up = app.test_client()
            csrf = await asyncio.to_thread(login, up, world.users["dispatcher"])
            form = {**body, "csrf_token": csrf}
            r = await asyncio.to_thread(up.post, "/sales/new", data=form)
            fresh = int(r.location.rsplit("/", 1)[1])
            page = await asyncio.to_thread(lambda: up.get(r.location).get_data(True))
            assert "its after-sales lifecycle has started" in page
            listing = await asyncio.to_thread(lambda: up.get("/sales/").get_data(True))
            assert "1 sale is waiting for its lifecycle to start" in listing
            r = await asyncio.to_thread(up.post, "/sales/start-pending", data={"csrf_token": csrf})
            listing = await asyncio.to_thread(lambda: up.get(r.location).get_data(True))
            assert "1 lifecycle started." in flashes(listing)
            gateway = app.extensions["posventa.workflows"]
            assert await asyncio.to_thread(start_pending_workflows, engine, gateway) == 0
            for sale_id in (fresh, waiting):
                desc = await env.client.get_workflow_handle(c.sale_workflow_id(sale_id)).describe()
                assert desc.status == WorkflowExecutionStatus.RUNNING
        with Session(engine) as s:
            assert pending_sale_ids(s) == []
            assert s.get(Sale, waiting) is not None

    asyncio.run(scenario())


@pytest.mark.slow
def test_technician_reports_a_visit_done_from_the_phone_page(
    sqlite_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reported at noon (yesterday, as the page's clock says) for a visit begun at 11:00, ended
    at 11:30: the visit keeps 11:30."""
    from tests.web.factories import TZ
    from web.blueprints import mobile

    engine = sqlite_engine
    world = make_world(engine)
    visit_id = world.visits[0]
    noon = datetime.now(TZ).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(1)
    monkeypatch.setattr(mobile, "local_now", lambda tz: noon.astimezone(tz))

    async def scenario() -> None:
        async with live_posventa(settings, engine) as (env, cfg, app):
            await visit_awaiting_confirmation(env, cfg, world)
            ana = app.test_client()
            csrf = await asyncio.to_thread(login, ana, world.users["technician"])
            page = await asyncio.to_thread(lambda: ana.get(f"/me/?day={DAY}").get_data(True))
            assert f'id="stop-{visit_id}"' in page
            # a follow-up without a note is refused before reaching the workflow
            said = await asyncio.to_thread(report, ana, csrf, visit_id, "follow_up", "")
            assert "Add a note saying what happened." in said
            with Session(engine) as s:
                visit = s.get(Visit, visit_id)
                assert visit is not None
                visit.arrived_at = noon - timedelta(hours=1)
                s.add(visit)
                s.commit()
            said = await asyncio.to_thread(
                report, ana, csrf, visit_id, "done", "Installed, tested", finished_at="11:30"
            )
            assert f"Visit #{visit_id} reported." in said
            state = await visit_state(env.client, visit_id)
            assert state["status"] == "completed"
            # a second report is refused, in words
            said = await asyncio.to_thread(report, ana, csrf, visit_id, "done", "")
            assert "This visit has already been reported." in said
        with Session(engine) as s:
            visit = s.get(Visit, visit_id)
            assert visit is not None and visit.status == "completed"
            assert visit.finished_at == noon - timedelta(minutes=30)

    asyncio.run(scenario())


@pytest.mark.slow
def test_dispatcher_decides_on_a_failed_visit_from_the_sale_page_and_the_api(
    sqlite_engine: Engine, settings: Settings
) -> None:
    """Three absences fail the installation; the sale's page offers the decision, the lifecycle
    waits for it: "retry" requests a new visit, "close" (through the API) moves on to training."""
    from tests.web.test_api import token_for
    from tests.workflows.support import absent_until_failed, first_visit, make_company, start_sale

    engine = sqlite_engine
    world = make_world(engine, with_plan=False)
    ids = make_company(
        engine,
        sold_on=PLAN_DAY,
        trainings=1,
        interval_days=None,
        contract_months=0,
        sku="PRESS-9",
    )
    sale_id = ids["sale"]

    async def scenario() -> None:
        async with live_posventa(settings, engine) as (env, cfg, app):
            await start_sale(env.client, cfg, sale_id)
            first = await first_visit(env.client, engine, sale_id, "installation")
            await absent_until_failed(env, sale_id, first, ids["staff"])

            client = app.test_client()
            token = await asyncio.to_thread(login, client, world.users["dispatcher"])

            def page() -> str:
                return client.get(f"/sales/{sale_id}").get_data(True)

            def decide(visit_id: int, **data: object) -> list[str]:
                r = client.post(
                    f"/sales/{sale_id}/visits/{visit_id}/decision",
                    data={"csrf_token": token, **data},
                )
                return flashes(client.get(r.location, follow_redirects=True).get_data(True))

            html = await asyncio.to_thread(page)
            assert f'id="decision-{first}"' in html and "call the customer" in html
            calls = await asyncio.to_thread(lambda: client.get("/visits/?call=1").get_data(True))
            assert f'href="/sales/{sale_id}#decision-{first}"' in calls
            said = await asyncio.to_thread(decide, first, action="later")
            assert any("request the visit again or to close it" in m for m in said), said
            said = await asyncio.to_thread(decide, first, action="retry", note="Friday")
            assert f"Visit #{first} will be requested again." in said, said
            second = await first_visit(env.client, engine, sale_id, "installation")
            assert second != first
            html = await asyncio.to_thread(page)
            assert f'id="decision-{first}"' not in html
            said = await asyncio.to_thread(decide, first, action="close")
            assert said == [f"Visit #{first} was already decided: requested again."], said

            # the second visit fails too; an integration closes the step through the API
            await absent_until_failed(env, sale_id, second, ids["staff"], 3)
            api = app.test_client()
            raw = token_for(engine, world.users["dispatcher"])
            api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
            url = f"/api/v1/sales/{sale_id}/visits/{second}/decision"
            r = await asyncio.to_thread(api.post, url, json={"action": "skip"})
            assert r.status_code == 422
            r = await asyncio.to_thread(
                api.post, f"/api/v1/sales/{world.sales[0]}/visits/{second}/decision",
                json={"action": "close"},
            )  # fmt: skip
            assert r.status_code == 404
            r = await asyncio.to_thread(
                api.post, url, json={"action": "close", "note": "no answer"}
            )
            assert r.status_code == 202, r.get_json()
            assert r.get_json() == {"visit_id": second, "action": "close"}
            await first_visit(env.client, engine, sale_id, "training")
            again = await asyncio.to_thread(api.post, url, json={"action": "close"})
            assert again.status_code == 202  # a retried request: the same answer
            r = await asyncio.to_thread(api.post, url, json={"action": "retry"})
            assert r.status_code == 409
            assert r.get_json()["error"] == f"visit {second} was already decided: close"
        with Session(engine) as s:
            sale = s.get(Sale, sale_id)
            assert sale is not None and sale.stage == "training"
            statuses = [
                (v.kind, v.status, v.needs_phone_call)
                for v in s.exec(select(Visit).where(Visit.sale_id == sale_id).order_by(Visit.id))
            ]
        assert statuses == [
            ("installation", "failed", False),
            ("installation", "failed", False),
            ("training", "requested", False),
        ]

    asyncio.run(scenario())


@pytest.mark.slow
def test_technician_reporting_the_last_absence_is_told_the_office_will_call(
    sqlite_engine: Engine, settings: Settings
) -> None:
    engine = sqlite_engine
    world = make_world(engine)

    async def scenario() -> None:
        async with live_posventa(settings, engine) as (env, cfg, app):
            visit_id = await visit_awaiting_confirmation(env, cfg, world, max_absences=1)
            ana = app.test_client()
            csrf = await asyncio.to_thread(login, ana, world.users["technician"])
            said = await asyncio.to_thread(report, ana, csrf, visit_id, "absent", "Nobody home")
            assert (
                f"Visit #{visit_id} reported. The customer was absent too often: the office "
                "will call them." in said
            ), said
        with Session(engine) as s:
            visit = s.get(Visit, visit_id)
            assert visit is not None and (visit.status, visit.needs_phone_call) == ("failed", True)

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_report_of_absence_sent_again_is_answered_not_a_404(
    sqlite_engine: Engine, settings: Settings
) -> None:
    """A first absence puts the visit back into the pool, off Ana's route; the phone sends
    the form again (reload, back button): she is told it was reported, and another
    technician's form for it still finds nothing."""
    engine = sqlite_engine
    world = make_world(engine)

    async def scenario() -> None:
        async with live_posventa(settings, engine) as (env, cfg, app):
            visit_id = await visit_awaiting_confirmation(env, cfg, world)
            ana = app.test_client()
            csrf = await asyncio.to_thread(login, ana, world.users["technician"])
            said = await asyncio.to_thread(report, ana, csrf, visit_id, "absent", "Nobody home")
            assert f"Visit #{visit_id} reported." in said, said
            with Session(engine) as s:
                visit = s.get(Visit, visit_id)
                assert visit is not None and visit.assigned_staff_id is None
            said = await asyncio.to_thread(report, ana, csrf, visit_id, "absent", "Nobody home")
            assert "This visit has already been reported." in said, said
            state = await visit_state(env.client, visit_id)
            assert (state["status"], state["absences"]) == ("requested", 1)
            bea = app.test_client()
            bea_csrf = await asyncio.to_thread(login, bea, world.users["trainer"])
            r = await asyncio.to_thread(post_outcome, bea, bea_csrf, visit_id, "absent", "x")
            assert r.status_code == 404

    asyncio.run(scenario())


@pytest.mark.slow
def test_a_report_sent_again_while_the_first_is_carried_out_counts_once(
    pg_engine: Engine, settings: Settings
) -> None:
    """The visit table is locked (a slow database), so the technician's "customer absent" is
    accepted but not finished in time; the phone sends the form again. Both answers say it is
    being carried out, the customer is counted absent once, and the same form sent once the
    database is back gets the first report's answer instead of a refusal."""
    engine = pg_engine
    world = make_world(engine)

    async def scenario() -> None:
        async with live_posventa(settings, engine) as (env, cfg, app):
            visit_id = await visit_awaiting_confirmation(env, cfg, world)
            ana, office = app.test_client(), app.test_client()
            csrf = await asyncio.to_thread(login, ana, world.users["technician"])
            office_csrf = await asyncio.to_thread(login, office, world.users["dispatcher"])
            page = await asyncio.to_thread(lambda: ana.get(f"/me/?day={DAY}").get_data(True))
            found = re.search(r'name="appointment" value="([^"]+)"', page)
            assert found is not None, page
            form = ("absent", "Nobody home", found.group(1))
            gateway = WorkflowGateway(app.config["POSVENTA_SETTINGS"], timeout=3)
            app.extensions["posventa.workflows"] = gateway
            with engine.connect() as locker:
                locker.execute(text("LOCK TABLE visit IN EXCLUSIVE MODE"))
                for _ in range(2):
                    said = await asyncio.to_thread(report, ana, csrf, visit_id, *form)
                    assert any("still being carried out" in m for m in said), said
                locker.rollback()
            await wait_status(env.client, visit_id, "requested", timeout=30)
            gateway.timeout = 30
            said = await asyncio.to_thread(report, office, office_csrf, visit_id, *form)
            assert f"Visit #{visit_id} reported." in said, said
            state = await visit_state(env.client, visit_id)
            assert (state["status"], state["absences"]) == ("requested", 1)
            # a form with a made-up appointment is refused before reaching the workflow
            r = await asyncio.to_thread(
                post_outcome, office, office_csrf, visit_id, "done", "", "9 h"
            )
            assert r.status_code == 400

    asyncio.run(scenario())


def test_dispatcher_renews_a_contract_from_the_sale_page(
    sqlite_engine: Engine, settings: Settings
) -> None:
    engine = sqlite_engine
    world = make_world(engine, with_plan=False)

    async def scenario() -> None:
        async with live_posventa(settings, engine) as (_env, _cfg, app):
            client = app.test_client()
            csrf = await asyncio.to_thread(login, client, world.users["dispatcher"])
            body = {"csrf_token": csrf, "product_sku": "BOIL-1", "sold_on": "2026-06-01",
                    "customer_id": str(world.customers[0])}  # fmt: skip
            r = await asyncio.to_thread(client.post, "/sales/new", data=body)
            sale_page = r.location
            registered = await asyncio.to_thread(lambda: client.get(sale_page).get_data(True))
            assert "its after-sales lifecycle has started" in registered

            def change(months: str) -> list[str]:
                r = client.post(f"{sale_page}/contract",
                                data={"csrf_token": csrf, "contract_months": months})  # fmt: skip
                return flashes(client.get(r.location).get_data(True))

            assert await asyncio.to_thread(change, "36") == [
                "Contract changed to 36 months: 0 maintenance visits in all; the after-sales "
                "service runs until 2029-05-31."
            ]
            for bad in ("abc", "241", "-3"):
                assert await asyncio.to_thread(change, bad) == [
                    "The contract is a whole number of months, 0 to 240."
                ]
            page = await asyncio.to_thread(lambda: client.get(sale_page).get_data(True))
            assert "36-month maintenance contract (until 2029-05-31)" in page
            sale_id = int(sale_page.rsplit("/", 1)[1])
            headers = {"Authorization": f"Bearer {token_for(engine, world.users['admin'])}"}

            def api(body: object) -> tuple[int, dict]:
                r = app.test_client().post(f"/api/v1/sales/{sale_id}/contract", json=body,
                                           headers=headers)  # fmt: skip
                return r.status_code, r.get_json()

            assert await asyncio.to_thread(api, {"contract_months": 48}) == (200, {
                "sale_id": sale_id, "contract_months": 48, "maintenance_rounds": 0,
                "ends_on": "2030-05-31",
            })  # fmt: skip
            assert (await asyncio.to_thread(api, {"contract_months": "60"}))[0] == 422
            status, body = await asyncio.to_thread(api, {"contract_months": 1})
            assert status == 409 and "cancel the sale instead" in body["error"]

            # the sale date, corrected: the lifecycle plans from it; the domain's refusals show
            def correct(day: str) -> list[str]:
                r = client.post(f"{sale_page}/sold-on", data={"csrf_token": csrf, "sold_on": day})
                return flashes(client.get(r.location).get_data(True))

            assert await asyncio.to_thread(correct, "2026-05-20") == [
                "Sale date corrected to 2026-05-20: 0 maintenance visits in all; the after-sales "
                "service runs until 2030-05-19."
            ]
            assert await asyncio.to_thread(correct, "2026-05-20") == [
                "The sale date is already 2026-05-20."
            ]
            assert await asyncio.to_thread(correct, "someday") == [
                "Give the sale date (YYYY-MM-DD)."
            ]
            [refused] = await asyncio.to_thread(correct, "2099-01-01")
            assert "the sale date cannot be in the future" in refused

            def api_sold_on(body: object) -> tuple[int, dict]:
                r = app.test_client().post(f"/api/v1/sales/{sale_id}/sold-on", json=body,
                                           headers=headers)  # fmt: skip
                return r.status_code, r.get_json()

            assert await asyncio.to_thread(api_sold_on, {"sold_on": "2026-05-25"}) == (200, {
                "sale_id": sale_id, "sold_on": "2026-05-25", "maintenance_rounds": 0,
                "ends_on": "2030-05-24",
            })  # fmt: skip
            assert (await asyncio.to_thread(api_sold_on, {"sold_on": "May 25"}))[0] == 422
            status, body = await asyncio.to_thread(api_sold_on, {"sold_on": "2099-01-01"})
            assert status == 409 and "cannot be in the future" in body["error"]
        with Session(engine) as s:
            sale = s.get(Sale, sale_id)
            assert sale is not None and sale.contract_months == 48
            assert sale.sold_on.isoformat() == "2026-05-25"

    asyncio.run(scenario())
