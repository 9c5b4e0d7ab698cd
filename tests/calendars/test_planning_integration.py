"""End to end: a dentist appointment in the trainer's own CalDAV calendar keeps the optimizer away
from that time, and the approved session then appears in the same calendar."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from calendars.caldav_sync import pull_busy, push_staff
from calendars.publish import publish_plan
from domain.db import session_scope
from domain.models import CalendarEntry, PlanStop, Staff, StaffBusy, VisitKind
from planning.service import approve_plan, draft_plan
from posventa.config import Settings
from tests.calendars.conftest import Radicale
from tests.planning.conftest import MONDAY, World, utc, window

pytestmark = pytest.mark.slow


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)


@pytest.fixture
def plan_settings(settings: Settings) -> Settings:
    return settings.replace(timezone="Europe/Madrid", arrival_window_minutes=120, osrm_url="")


DENTIST = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//x//EN\r\nBEGIN:VEVENT\r\n"
    "UID:dentist@example.com\r\nDTSTAMP:20261201T000000Z\r\n"
    "DTSTART:20261207T080000Z\r\nDTEND:20261207T100000Z\r\n"  # 09:00-11:00 in Madrid
    "SUMMARY:Dentista\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _visit_stop(world: World, plan_id: int) -> PlanStop:
    with Session(world.engine) as session:
        return session.exec(
            select(PlanStop).where(PlanStop.plan_id == plan_id, PlanStop.kind == "visit")
        ).one()


def test_dentist_in_caldav_is_planned_around_and_the_session_is_pushed_back(
    world: World, plan_settings: Settings, radicale: Radicale
) -> None:
    calendar = radicale.new_calendar()
    calendar.add_event(DENTIST)
    tere = world.add_staff(
        "tere", ["training"], lunch_earliest=None, lunch_latest=None, lunch_minutes=0
    )
    with session_scope(world.engine) as session:
        staff = session.get(Staff, tere)
        assert staff is not None
        staff.caldav_url = str(calendar.url)
        staff.caldav_username, staff.caldav_password = radicale.username, radicale.password
    world.add_customer("north", "north")
    world.add_visit(
        "training-1",
        "north",
        ["training"],
        windows=[window("09:00", "12:00")],
        kind=VisitKind.TRAINING,
    )

    assert pull_busy(world.engine, tere, MONDAY) == 1
    draft = draft_plan(world.engine, plan_settings, MONDAY, 1.0)
    stop = _visit_stop(world, draft.plan_id)
    assert stop.staff_id == tere
    assert stop.start >= utc(2026, 12, 7, 10), "after the dentist (11:00 Madrid)"
    assert stop.start <= utc(2026, 12, 7, 11), "inside the customer's window"

    approve_plan(world.engine, draft.plan_id, approved_by="dispatcher@example.com")
    assert publish_plan(world.engine, draft.plan_id).staff_ids == [tere]
    assert push_staff(world.engine, tere).created == 1
    with Session(world.engine) as session:
        entry = session.exec(select(CalendarEntry)).one()
    pushed = calendar.event_by_uid(entry.uid).icalendar_component
    assert pushed.decoded("dtstart").astimezone(UTC) == stop.start
    assert pushed.decoded("dtend").astimezone(UTC) == stop.start + timedelta(minutes=60)

    # the pushed session is ours: reading busy time again still finds only the dentist
    assert pull_busy(world.engine, tere, MONDAY) == 1
    with Session(world.engine) as session:
        (busy,) = session.exec(select(StaffBusy)).all()
    assert busy.source_uid == "dentist@example.com"

    # and without the dentist the same session would have started earlier
    with session_scope(world.engine) as session:
        session.delete(busy)
    free = _visit_stop(world, draft_plan(world.engine, plan_settings, MONDAY, 1.0).plan_id)
    assert free.start < utc(2026, 12, 7, 10)


def test_draft_activity_reads_caldav_busy_time_and_survives_a_dead_server(
    world: World, plan_settings: Settings, radicale: Radicale
) -> None:
    from temporalio.testing import ActivityEnvironment

    from activities.planning import PlanningActivities
    from activities.types import DraftPlanIn

    calendar = radicale.new_calendar()
    calendar.add_event(DENTIST)
    tere = world.add_staff(
        "tere", ["training"], lunch_earliest=None, lunch_latest=None, lunch_minutes=0
    )
    ana = world.add_staff("ana", ["other"], lunch_earliest=None, lunch_latest=None, lunch_minutes=0)
    with session_scope(world.engine) as session:
        for staff_id, url in ((tere, str(calendar.url)), (ana, "http://127.0.0.1:9/nothing/")):
            staff = session.get(Staff, staff_id)
            assert staff is not None
            staff.caldav_url = url
            staff.caldav_username, staff.caldav_password = radicale.username, radicale.password
    world.add_customer("north", "north")
    world.add_visit(
        "training-1",
        "north",
        ["training"],
        windows=[window("09:00", "12:00")],
        kind=VisitKind.TRAINING,
    )

    acts = PlanningActivities(world.engine, plan_settings)
    draft = ActivityEnvironment().run(acts.draft_plan, DraftPlanIn(MONDAY.isoformat(), seconds=1.0))

    stop = _visit_stop(world, draft.plan_id)
    assert stop.staff_id == tere
    assert stop.start >= utc(2026, 12, 7, 10), "the activity read the dentist before planning"
    with Session(world.engine) as session:
        dead = session.get(Staff, ana)
        assert dead is not None and dead.caldav_last_error  # shown to the dispatcher
        assert [b.source_uid for b in session.exec(select(StaffBusy))] == ["dentist@example.com"]
