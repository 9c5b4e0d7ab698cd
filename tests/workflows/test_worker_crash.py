"""A worker process killed with SIGKILL in the middle of an activity and started again: every
lifecycle completes, no SMS is stored or handed to the gateway twice, nothing is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from domain.db import session_scope
from domain.models import Sale, SmsMessage, Visit
from domain.schemas import CustomerIn, SaleIn
from domain.services import create_customer, register_sale
from posventa.config import Settings
from tests.workflows.support import Driver, make_company, start_sale, until
from workflows import contracts as c
from workflows.options import STAGE_KEY

pytestmark = pytest.mark.slow
SALES = 6
ROOT = Path(__file__).resolve().parents[2]


def _spawn(address: str, queue: str, url: str, log_dir: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.workflows.worker_process",
            address,
            queue,
            url,
            str(log_dir),
            "1.5",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_killed_worker_loses_nothing_and_sends_nothing_twice(
    sqlite_engine: Engine, wf_settings: Settings, dev_server_path: str, tmp_path: Path
) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    log = tmp_path / "sms.log"

    async def scenario() -> None:
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=dev_server_path, search_attributes=[STAGE_KEY], ui=False
        ) as env:
            address = env.client.service_client.config.target_host
            queue = wf_settings.temporal_task_queue
            today = (await env.get_current_time()).date()
            sold = today - timedelta(days=5)  # no warranty, no contract: ends after the survey
            ids = make_company(
                sqlite_engine,
                sold_on=sold,
                trainings=0,
                interval_days=None,
                contract_months=0,
                warranty_months=0,
            )
            sale_ids = [ids["sale"]]
            with session_scope(sqlite_engine) as s:
                for n in range(SALES - 1):
                    customer = create_customer(
                        s,
                        CustomerIn(
                            name=f"C{n}", phone=f"+3461234{n:04d}", latitude=40.4, longitude=-3.7
                        ),
                    )
                    sale = register_sale(
                        s, SaleIn(customer_id=customer.id, product_sku="PRESS-1", sold_on=sold)
                    )
                    sale_ids.append(sale.id)
            worker = _spawn(address, queue, url, tmp_path)
            killed = False
            try:
                for sale_id in sale_ids:
                    await start_sale(env.client, wf_settings, sale_id)
                driver = Driver(env, sqlite_engine, ids["staff"])

                async def all_requested() -> bool:
                    with session_scope(sqlite_engine) as s:
                        return len(list(s.exec(select(Visit)))) == SALES

                await until(all_requested, timeout=30)
                # plan every visit: confirmation SMS go out, slowly
                for sale_id in sale_ids:
                    await driver.act(sale_id)

                async def sending() -> bool:
                    return log.exists() and "start" in log.read_text()

                await until(sending, timeout=30)
                os.kill(worker.pid, signal.SIGKILL)  # in the middle of send_visit_sms
                worker.wait()
                killed = True
                worker = _spawn(address, queue, url, tmp_path)

                async def everything_done() -> bool:
                    open_runs = 0
                    for sale_id in sale_ids:
                        handle = env.client.get_workflow_handle(c.sale_workflow_id(sale_id))
                        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                            open_runs += 1
                            await driver.act(sale_id)
                    return open_runs == 0

                await until(everything_done, timeout=120)
                results = [
                    await env.client.get_workflow_handle(c.sale_workflow_id(s)).result()
                    for s in sale_ids
                ]
            finally:
                worker.kill()
                worker.wait()
            assert killed
            assert [r["status"] for r in results] == ["completed"] * SALES

    asyncio.run(scenario())
    with session_scope(sqlite_engine) as s:
        rows = list(s.exec(select(SmsMessage)))
        sales = list(s.exec(select(Sale)))
        visits = list(s.exec(select(Visit)))
    per_template = Counter(r.template for r in rows)
    assert per_template == {
        "visit_confirmation": SALES,
        "survey_request": SALES,
        "survey_comment_request": SALES,
        "survey_thanks": SALES,
    }
    assert len({r.idempotency_key for r in rows}) == len(rows)
    assert all(s.status == "completed" for s in sales)
    assert all(v.status == "completed" for v in visits) and len(visits) == SALES
    lines = log.read_text().splitlines()
    sent = Counter(line.split(" ", 2)[2] for line in lines if line.startswith("sent"))
    started = [line for line in lines if line.startswith("start")]
    assert sum(sent.values()) == len(rows)  # each stored message handed to the gateway once
    assert len(started) > len(rows)  # the killed send was started once more after the restart
