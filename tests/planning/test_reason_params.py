"""The facts of every reason reach ``PlanUnassigned.reason_params`` (to be worded by the web)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from domain.db import session_scope
from domain.models import PlanUnassigned, Staff, VisitStatus
from planning.build import build_problem
from planning.candidates import gather, resolve_base_plan
from planning.clock import DayClock
from planning.service import approve_plan, draft_plan
from tests.planning.conftest import MONDAY, World, utc

SECONDS = 1.0


def built_for(world: World, names: dict[int, str] | None = None, day: date = MONDAY):  # type: ignore[no-untyped-def]
    with Session(world.engine) as session:
        clock = DayClock.for_day(day, "Europe/Madrid")
        candidates = gather(session, clock, resolve_base_plan(session, day, None))
    return build_problem(candidates, "Europe/Madrid", names)


def stored(world: World, plan_id: int) -> dict[str, PlanUnassigned]:
    with Session(world.engine) as session:
        rows = session.exec(select(PlanUnassigned).where(PlanUnassigned.plan_id == plan_id))
        return {world.name_of(r.visit_id): r for r in rows}


def pinned_to_ana(world: World) -> int:
    ana = world.add_staff("ana", ["repair"])
    world.add_customer("north", "north")
    world.add_visit("north", "north", ["repair"])
    world.update_visit("north", pinned_staff_id=ana, pinned_start=utc(2026, 12, 7, 9))
    return ana


def test_pinned_to_someone_off_keeps_the_name_and_the_absence(world: World) -> None:
    ana = pinned_to_ana(world)
    world.absent("ana", MONDAY, reason="holiday")
    (excluded,) = built_for(world, {ana: "Ana Ruiz"}).excluded
    assert excluded.reason == "it is pinned to Ana Ruiz, who is off that day (holiday)"
    assert dict(excluded.params) == {
        "variant": "pinned_off",
        "staff": "Ana Ruiz",
        "staff_id": ana,
        "absence": "holiday",
    }
    (unnamed,) = built_for(world).excluded  # no names given: the id only
    assert unnamed.reason == f"it is pinned to staff member {ana}, who is off that day (holiday)"
    assert (unnamed.params["staff"], unnamed.params["staff_id"]) == ("", ana)


def test_pinned_to_someone_who_does_not_work_that_day(world: World) -> None:
    ana = pinned_to_ana(world)
    world.add_staff("ben", ["repair"], working_days=[1, 2])  # not on Mondays
    world.update_visit("north", pinned_staff_id=world.staff["ben"])
    (excluded,) = built_for(world, {ana: "Ana", world.staff["ben"]: "Ben"}).excluded
    assert excluded.reason == "it is pinned to Ben, who does not work that day"
    assert dict(excluded.params) == {
        "variant": "pinned_not_working",
        "staff": "Ben",
        "staff_id": world.staff["ben"],
        "absence": "",
    }


def test_pinned_to_someone_who_left(world: World) -> None:
    ana = pinned_to_ana(world)
    ben = world.add_staff("ben", ["repair"])
    world.update_visit("north", pinned_staff_id=ben)
    with session_scope(world.engine) as s:
        member = s.get(Staff, ben)
        assert member is not None
        member.active = False
    (excluded,) = built_for(world, {ana: "Ana", ben: "Ben"}).excluded
    assert excluded.reason == "it is pinned to Ben, who no longer works here"
    assert excluded.params["variant"] == "pinned_inactive"


def test_a_draft_stores_the_facts_of_each_reason(tiny_world: World, plan_settings) -> None:  # type: ignore[no-untyped-def]
    w = tiny_world
    result = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    west = stored(w, result.plan_id)["west"]
    assert (west.reason_code, west.reason) == ("missing_skill", "no staff member has skill laser")
    assert west.reason_params == {"variant": "none_has", "skills": ["laser"]}


def test_a_declined_visit_is_stored_with_empty_facts(tiny_world: World, plan_settings) -> None:  # type: ignore[no-untyped-def]
    w = tiny_world
    base = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    approve_plan(w.engine, base.plan_id, "d@example.com")
    w.update_visit("north", status=VisitStatus.DECLINED.value)
    replan = draft_plan(w.engine, plan_settings, MONDAY, SECONDS)
    north = stored(w, replan.plan_id)["north"]
    assert north.reason_code == "declined"
    assert north.reason_params == {}
