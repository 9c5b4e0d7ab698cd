"""The Temporal Schedules: each working day's planning at ``settings.planning_hour``, and the
daily housekeeping when texts have a retention period.

``await ensure_planning_schedule(client, settings)`` creates the schedule, or updates it to the
current settings when it exists (hour, time zone, task queue): safe to call at every start.
"""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from posventa.config import Settings
from workflows import contracts as c

WORKING_DAYS = ScheduleRange(1, 5)  # Monday (1) to Friday (5); Sunday is 0 for schedules


def _daily(
    action: ScheduleActionStartWorkflow, settings: Settings, hour: int, comment: str,
    days: list[ScheduleRange] | None = None,
) -> Schedule:  # fmt: skip
    """``action`` at ``hour``:00 in ``settings.timezone`` (on ``days`` of the week, or every
    day); a run still going when the next is due makes that one skip."""
    return Schedule(
        action=action,
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    second=[ScheduleRange(0)],
                    minute=[ScheduleRange(0)],
                    hour=[ScheduleRange(hour)],
                    day_of_week=days or [ScheduleRange(0, 6)],
                    comment=comment,
                )
            ],
            time_zone_name=settings.timezone,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def _create_or_update(client: Client, schedule_id: str, schedule: Schedule) -> str:
    """Create the schedule, or bring an existing one to ``schedule``: safe at every start."""
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(update)
    return schedule_id


def planning_schedule(settings: Settings, draft_seconds: float = 20.0) -> Schedule:
    """The schedule: Monday to Friday at ``planning_hour``:00 in ``settings.timezone``."""
    action = ScheduleActionStartWorkflow(
        c.PLANNING_KICKOFF_WORKFLOW,
        c.PlanningKickoffInput(timezone=settings.timezone, draft_seconds=draft_seconds),
        id="plan-kickoff",
        task_queue=settings.temporal_task_queue,
    )
    return _daily(
        action, settings, settings.planning_hour, "posventa daily planning", [WORKING_DAYS]
    )


async def ensure_planning_schedule(
    client: Client, settings: Settings, draft_seconds: float = 20.0
) -> str:
    """Create or update the daily planning schedule; returns its id."""
    schedule = planning_schedule(settings, draft_seconds)
    return await _create_or_update(client, c.PLANNING_SCHEDULE_ID, schedule)


HOUSEKEEPING_HOUR = 3  # local time: nobody is planning or texting


def housekeeping_schedule(settings: Settings) -> Schedule:
    """Every day at ``HOUSEKEEPING_HOUR``:00 in ``settings.timezone``: texts older than the
    retention period lose their words and numbers."""
    action = ScheduleActionStartWorkflow(
        c.HOUSEKEEPING_WORKFLOW,
        c.HousekeepingInput(sms_retention_days=settings.sms_retention_days),
        id="housekeeping",
        task_queue=settings.temporal_task_queue,
    )
    return _daily(action, settings, HOUSEKEEPING_HOUR, "posventa housekeeping")


async def ensure_housekeeping_schedule(client: Client, settings: Settings) -> str | None:
    """Create or update the housekeeping schedule when texts have a retention period; remove
    it when they are kept (``POSVENTA_SMS_RETENTION_DAYS`` 0). Its id, or None."""
    if settings.sms_retention_days <= 0:
        try:
            await client.get_schedule_handle(c.HOUSEKEEPING_SCHEDULE_ID).delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        return None
    schedule = housekeeping_schedule(settings)
    return await _create_or_update(client, c.HOUSEKEEPING_SCHEDULE_ID, schedule)


async def ensure_search_attributes(client: Client) -> None:
    """Register the ``PosventaStage`` (Keyword) search attribute if the server lacks it."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.service import RPCError, RPCStatusCode

    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        if c.STAGE_SEARCH_ATTRIBUTE in listed.custom_attributes:
            return
    except RPCError as exc:  # the time-skipping test server cannot list; adding still works
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={
                    c.STAGE_SEARCH_ATTRIBUTE: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                },
            )
        )
    except RPCError as exc:
        if exc.status != RPCStatusCode.ALREADY_EXISTS:
            raise
