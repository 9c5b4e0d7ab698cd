"""Texting technicians whose route for today a newly approved plan changed: the real planner,
database and messenger (outbox gateway)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domain.db import session_scope
from domain.models import PlanStop, UserRole
from domain.users import UserIn, create_user
from domain.visits import set_status
from planning.service import approve_plan, draft_plan
from posventa.config import Settings
from sms.inbound import InboundPipeline, InboundSms
from sms.messenger import Messenger
from sms.office_replies import count_to_handle
from sms.staff_notices import tell_staff_of_route_changes
from sms.templates import format_clock
from tests.planning.conftest import MONDAY, World, window
from tests.sms.conftest import RecordingWorkflows, messages

SECONDS = 1.0


def _approve(w: World, settings: Settings) -> int:
    plan = draft_plan(w.engine, settings, MONDAY, SECONDS)
    approve_plan(w.engine, plan.plan_id, "d@example.com")
    return plan.plan_id


def _route(engine: Engine, plan_id: int, staff_id: int) -> list[PlanStop]:
    with Session(engine) as session:
        return list(session.exec(
            select(PlanStop)
            .where(PlanStop.plan_id == plan_id, PlanStop.staff_id == staff_id,
                   col(PlanStop.visit_id).is_not(None))
            .order_by(col(PlanStop.sequence))
        ))  # fmt: skip


def test_technicians_whose_route_for_today_changed_are_texted_once(
    engine: Engine, messenger: Messenger
) -> None:
    """Ana repairs, Ben installs (his user reads English). Ana falls ill: the re-plan leaves
    her nothing (she is told), Ben's route (two installs at set times) is the same (not
    texted). Then Ben finishes one
    install and a new one comes in: he is told how many are left and where the next is. The
    same plan never texts twice; a technician's answer is for the office."""
    settings = messenger.settings.replace(arrival_window_minutes=120, osrm_url="")
    w = World(engine)
    w.add_staff("ana", ["repair"], phone="+34611000001")
    w.add_staff("ben", ["install"], phone="+34611000002")
    with session_scope(engine) as session:
        create_user(session, UserIn(email="ben@example.com", name="Ben", role=UserRole.TECHNICIAN,
                                    password="a long password", staff_id=w.staff["ben"],
                                    locale="en"))  # fmt: skip
    for place in ("north", "south", "east", "west"):
        w.add_customer(place, place)
    w.add_visit("north", "north", ["install"], windows=[window("09:00", "09:05")])
    w.add_visit("south", "south", ["install"], windows=[window("11:00", "11:05")])
    w.add_visit("east", "east", ["repair"])
    first = _approve(w, settings)
    assert [s.visit_id for s in _route(engine, first, w.staff["ana"])] == [w.visits["east"]]

    w.absent("ana", MONDAY)
    second = _approve(w, settings)
    assert tell_staff_of_route_changes(messenger, second, first) == [w.staff["ana"]]
    (cleared,) = messages(engine, to_number="+34611000001")
    assert cleared.template == "staff_route_cleared" and cleared.customer_id is None
    assert cleared.body == "Tu ruta de hoy ha cambiado: no te quedan visitas hoy."

    with session_scope(engine) as session:
        set_status(session, w.visits["north"], "completed", "ben@example.com")
    w.add_visit("west", "west", ["install"])
    third = _approve(w, settings)
    assert tell_staff_of_route_changes(messenger, third, second) == [w.staff["ben"]]
    to_go = [s for s in _route(engine, third, w.staff["ben"]) if s.visit_id != w.visits["north"]]
    assert {s.visit_id for s in to_go} == {w.visits["south"], w.visits["west"]}
    customer = "south" if to_go[0].visit_id == w.visits["south"] else "west"
    (told,) = messages(engine, to_number="+34611000002")
    assert (told.template, told.visit_id) == ("staff_route_changed", to_go[0].visit_id)
    assert told.body.startswith(
        f"Your route for today changed (visits to go: 2). Next at "
        f"{format_clock(to_go[0].start, settings.timezone)}: {customer}, "
    )
    # the same approval told again (a retried activity): nothing new
    assert tell_staff_of_route_changes(messenger, third, second) == [w.staff["ben"]]
    assert len(messages(engine, to_number="+34611000002")) == 1

    # Ben answers: for the office to read (not "unknown number"); a plain "ok" needs nobody
    pipeline = InboundPipeline(engine, messenger.settings, messenger, RecordingWorkflows())
    _, handoff = pipeline.receive_and_hand_off(InboundSms(
        provider_sid="SM1", from_number="+34611000002", to_number="+15005550006",
        body="The van broke down, I cannot make it to the next one",
    ))  # fmt: skip
    assert (handoff.action, handoff.reply_message_id) == ("for_the_office", None)
    _, handoff = pipeline.receive_and_hand_off(InboundSms(
        provider_sid="SM2", from_number="+34611000002", to_number="+15005550006", body="ok",
    ))  # fmt: skip
    assert (handoff.action, handoff.reply_message_id) == ("for_the_office:thanks", None)
    with Session(engine) as session:
        assert count_to_handle(session) == 1


def test_the_days_first_plan_approved_on_the_day_gives_each_technician_their_route(
    engine: Engine, messenger: Messenger
) -> None:
    """Nobody approved Monday's plan the day before: approved on the morning itself, each
    technician with visits is texted how many and the first one; one with none is not."""
    settings = messenger.settings.replace(arrival_window_minutes=120, osrm_url="")
    w = World(engine)
    w.add_staff("ana", ["repair"], phone="+34611000001")
    w.add_staff("ben", ["install"], phone="+34611000002")
    w.add_customer("east", "east")
    w.add_visit("east", "east", ["repair"], windows=[window("10:00", "10:05")])
    first = _approve(w, settings)
    assert tell_staff_of_route_changes(messenger, first, None) == [w.staff["ana"]]
    (told,) = messages(engine, to_number="+34611000001")
    (stop,) = _route(engine, first, w.staff["ana"])
    assert (told.template, told.visit_id) == ("staff_route_new", w.visits["east"])
    assert told.body.startswith(
        f"Tu ruta de hoy (visitas: 1). Primera a las "
        f"{format_clock(stop.start, settings.timezone)}: east, "
    )
    assert messages(engine, to_number="+34611000002") == []
