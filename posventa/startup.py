"""Bring workflows in line with the database: start the lifecycle of every active sale that has
none running (after seeding, an import or a restore) and, for the demo, its first faults and plan.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from domain.models import Sale, SaleStatus, Visit, VisitStatus
from workflows.contracts import ReportFaultInput, ReportFaultResult

log = logging.getLogger(__name__)


class LifecycleStarter(Protocol):
    """What this module needs from :class:`workflows.client.WorkflowGateway`."""

    def start_sale(self, sale_id: int) -> str: ...

    def report_fault(self, sale_id: int, data: ReportFaultInput) -> ReportFaultResult: ...

    def start_planning(self, plan_date: date, draft_seconds: float = 20.0) -> str: ...


@dataclass
class StartupReport:
    lifecycles_started: int = 0
    faults_reported: int = 0
    planning_started: str | None = None


def active_sale_ids(engine: Engine) -> list[int]:
    with Session(engine) as s:
        rows = s.exec(
            select(Sale.id).where(Sale.status == SaleStatus.ACTIVE.value).order_by(Sale.id)
        ).all()
    return [int(r) for r in rows if r is not None]


def start_missing_lifecycles(engine: Engine, gateway: LifecycleStarter) -> int:
    """Start (idempotently) the lifecycle of every active sale; returns how many were asked."""
    ids = active_sale_ids(engine)
    for sale_id in ids:
        gateway.start_sale(sale_id)
    return len(ids)


def report_demo_faults(
    gateway: LifecycleStarter, sale_ids: Iterable[int], descriptions: list[str]
) -> int:
    count = 0
    for i, sale_id in enumerate(sale_ids):
        gateway.report_fault(
            sale_id,
            ReportFaultInput(
                description=descriptions[i % len(descriptions)],
                reported_by="demo",
                fault_ref=f"demo-{sale_id}",
            ),
        )
        count += 1
    return count


def open_visit_count(engine: Engine) -> int:
    with Session(engine) as s:
        return s.exec(
            select(func.count())
            .select_from(Visit)
            .where(Visit.status == VisitStatus.REQUESTED.value)
        ).one()


def wait_for_quiet(engine: Engine, seconds: float = 30.0, settle: float = 3.0) -> int:
    """Wait until the number of requested visits stops growing (lifecycles have caught up)."""
    deadline = time.monotonic() + seconds
    last, last_change = open_visit_count(engine), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = open_visit_count(engine)
        if now != last:
            last, last_change = now, time.monotonic()
        elif now and time.monotonic() - last_change >= settle:
            break
    return last
