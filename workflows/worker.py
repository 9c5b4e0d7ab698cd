"""posventa's Temporal worker: every workflow and activity on the task queue.

``build_worker`` wires the activity classes to their dependencies (database engine, settings, SMS
messenger); ``run_worker`` connects, builds and runs until SIGINT/SIGTERM (``posventa worker``).
Activities are synchronous (SQLAlchemy, the SMS SDK, the solver) and run in a thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.housekeeping import HousekeepingActivities
from activities.messaging import SmsActivities
from activities.planning import PlanningActivities
from activities.sales import SaleActivities
from activities.visits import VisitActivities
from posventa.config import Settings
from workflows.housekeeping import Housekeeping
from workflows.planning import DailyPlanning, DailyPlanningKickoff
from workflows.sale import SaleLifecycle
from workflows.visit import VisitWorkflow

log = logging.getLogger(__name__)

WORKFLOWS = [SaleLifecycle, VisitWorkflow, DailyPlanning, DailyPlanningKickoff, Housekeeping]


def activities_for(engine: Engine, settings: Settings, messenger: Any = None) -> list[Any]:
    """The activity callables, bound to their dependencies."""
    if messenger is None:
        from sms.gateway import gateway_from_settings
        from sms.messenger import Messenger

        messenger = Messenger(engine, gateway_from_settings(settings, engine), settings)
    sales = SaleActivities(engine)
    visits = VisitActivities(engine)
    sms = SmsActivities(messenger)
    planning = PlanningActivities(engine, settings)
    housekeeping = HousekeepingActivities(engine)
    return [
        sales.load_sale,
        sales.request_visit,
        sales.set_sale_stage,
        sales.end_sale,
        sales.change_contract,
        sales.correct_sold_on,
        sales.record_survey,
        sales.record_failed_visit_decision,
        visits.set_visit_status,
        visits.mark_visit_planned,
        visits.alternative_slots,
        visits.pin_visit,
        sms.send_visit_sms,
        sms.send_sale_sms,
        sms.send_route_change_sms,
        planning.draft_plan,
        planning.approve_plan,
        planning.publish_calendars,
        planning.push_caldav,
        housekeeping.redact_old_sms,
    ]


def build_worker(
    client: Client,
    settings: Settings,
    engine: Engine,
    *,
    messenger: Any = None,
    max_concurrent_activities: int = 16,
    **worker_options: Any,
) -> Worker:
    """A worker for posventa's task queue (not yet running: ``await worker.run()``)."""
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=WORKFLOWS,
        activities=activities_for(engine, settings, messenger),
        activity_executor=ThreadPoolExecutor(max_workers=max_concurrent_activities),
        max_concurrent_activities=max_concurrent_activities,
        **worker_options,
    )


async def run_worker(settings: Settings, ensure_schedule: bool = False) -> None:
    """Connect, optionally create/update the daily planning Schedule, and work until stopped."""
    from domain.db import get_engine
    from workflows.client import connect
    from workflows.log_redaction import install as install_log_redaction

    install_log_redaction()
    from workflows.schedules import (
        ensure_housekeeping_schedule,
        ensure_planning_schedule,
        ensure_search_attributes,
    )

    client = await connect(settings)
    try:
        await ensure_search_attributes(client)
    except RPCError as exc:  # e.g. no operator permission: an admin registers it instead
        log.warning("could not register search attribute PosventaStage: %s", exc.message)
    if ensure_schedule:
        await ensure_planning_schedule(client, settings)
        await ensure_housekeeping_schedule(client, settings)
    engine = get_engine(settings.resolved_database_url)
    worker = build_worker(client, settings, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    log.info("worker on task queue %s", settings.temporal_task_queue)
    async with worker:
        await stop.wait()
