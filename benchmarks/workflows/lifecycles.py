"""Start 1,000 sale lifecycles on the Temporal dev server and measure the workers.

    .venv/bin/python -m benchmarks.workflows.lifecycles --sales 1000 --workers 1
    .venv/bin/python -m benchmarks.workflows.lifecycles --sales 1000 --workers 2

Each run gets a fresh dev server (in memory) and a scratch PostgreSQL database with one product
(installation visit), one technician and N customers with one sale each. It prints: starts per
second (client-side, 50 starts in flight), the time from the first start until every sale has
its installation visit requested (visit row stored and its VisitWorkflow child running), and each
worker process's peak resident memory (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg
from sqlalchemy import func
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from domain.db import make_engine, session_scope
from domain.migrate import upgrade
from domain.models import Customer, Product, Sale, Staff, Visit
from workflows import contracts as c
from workflows.options import STAGE_KEY

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def scratch_database() -> str:
    name = f"posventa_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rpartition("/")[0] + f"/{name}"


def drop_database(url: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


def seed(url: str, sales: int) -> list[int]:
    engine = make_engine(url)
    with session_scope(engine) as s:
        product = Product(
            sku="BENCH",
            name="Compresor",
            installation_minutes=90,
            installation_skill="install",
            warranty_months=24,
        )
        s.add(product)
        s.add(Staff(name="Tecnico", skills=["install"], home_latitude=40.4, home_longitude=-3.7))
        s.flush()
        customers = [
            Customer(name=f"Cliente {n}", phone=f"+3461{n:07d}", latitude=40.4, longitude=-3.7)
            for n in range(sales)
        ]
        s.add_all(customers)
        s.flush()
        rows = [
            Sale(customer_id=cu.id, product_id=product.id, sold_on=date.today())  # type: ignore[arg-type]
            for cu in customers
        ]
        s.add_all(rows)
        s.flush()
        ids = [r.id for r in rows]
    engine.dispose()
    return ids  # type: ignore[return-value]


def spawn_worker(address: str, queue: str, url: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.workflows.worker_proc", address, queue, url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=open(f"/tmp/bench-worker-{queue}.log", "a"),  # noqa: SIM115
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


async def run(sales: int, workers: int, in_flight: int) -> dict[str, float]:
    url = scratch_database()
    try:
        upgrade(url)
        sale_ids = seed(url, sales)
        engine = make_engine(url)
        server = str(Path(sys.executable).parent / "temporal")
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=server,
            search_attributes=[STAGE_KEY],
            ui=False,
            dev_server_log_level="error",
        ) as env:
            address = env.client.service_client.config.target_host
            queue = f"bench-{uuid.uuid4().hex[:6]}"
            procs = [spawn_worker(address, queue, url) for _ in range(workers)]
            try:
                gate = asyncio.Semaphore(in_flight)

                async def start(sale_id: int) -> None:
                    async with gate:
                        await env.client.start_workflow(
                            c.SALE_WORKFLOW,
                            c.SaleLifecycleInput(sale_id=sale_id),
                            id=c.sale_workflow_id(sale_id),
                            task_queue=queue,
                        )

                t0 = time.perf_counter()
                await asyncio.gather(*(start(s) for s in sale_ids))
                started = time.perf_counter() - t0
                while True:
                    with session_scope(engine) as s:
                        visits = s.exec(select(func.count()).select_from(Visit)).one()
                    if visits >= sales:
                        break
                    await asyncio.sleep(0.2)
                # every VisitWorkflow child is running too
                while True:
                    count = await env.client.count_workflows(
                        f"WorkflowType = '{c.VISIT_WORKFLOW}' AND ExecutionStatus = 'Running'"
                    )
                    if count.count >= sales:
                        break
                    await asyncio.sleep(0.2)
                requested = time.perf_counter() - t0
            finally:
                peaks = []
                for proc in procs:
                    proc.terminate()
                    out, _ = proc.communicate(timeout=60)
                    peaks += [
                        float(line.split()[1])
                        for line in out.splitlines()
                        if line.startswith("peak_rss_mib")
                    ]
        engine.dispose()
    finally:
        drop_database(url)
    return {
        "sales": sales,
        "workers": workers,
        "starts_per_s": sales / started,
        "start_seconds": started,
        "all_requested_seconds": requested,
        "peak_rss_mib": max(peaks) if peaks else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--in-flight", type=int, default=50)
    args = parser.parse_args()
    result = asyncio.run(run(args.sales, args.workers, args.in_flight))
    print(
        f"sales={result['sales']} workers={result['workers']} "
        f"starts/s={result['starts_per_s']:.0f} (all started in {result['start_seconds']:.1f}s) "
        f"all installation visits requested after {result['all_requested_seconds']:.1f}s "
        f"worker peak RSS {result['peak_rss_mib']:.0f} MiB (max over workers)"
    )


if __name__ == "__main__":
    main()
