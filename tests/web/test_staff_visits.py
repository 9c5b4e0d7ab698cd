"""Staff pages (days off, calendar feed link) and the visits list."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domain.db import session_scope
from domain.models import DailyPlan, PlanStatus, Staff, StaffAbsence, Visit
from tests.web.conftest import board_banner, flashes
from tests.web.factories import World, at


def test_add_a_day_off_and_refuse_a_backwards_one(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    client, token = client_for("dispatcher")
    ana = world.staff["ana"]
    r = client.post(f"/staff/{ana}/absences",
                    data={"csrf_token": token, "starts_on": "2026-12-24", "ends_on": "2026-12-26",
                          "reason": "Navidad"})  # fmt: skip
    assert r.status_code == 302
    r = client.post(
        f"/staff/{ana}/absences",
        data={"csrf_token": token, "starts_on": "2026-12-10", "ends_on": "2026-12-01"},
    )
    page = client.get(r.location).get_data(as_text=True)
    assert "absence ends before it starts" in page
    with Session(sqlite_engine) as s:
        rows = list(s.exec(select(StaffAbsence)))
    assert [(a.starts_on.isoformat(), a.reason) for a in rows] == [("2026-12-24", "Navidad")]
    assert "Navidad" in page


def test_feed_link_is_shown_once_and_rotating_replaces_it(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from calendars.tokens import staff_for_token

    client, token = client_for("dispatcher")
    ana = world.staff["ana"]
    first = client.post(f"/staff/{ana}/feed", data={"csrf_token": token})
    assert first.headers["Cache-Control"] == "no-store"
    links = re.findall(r'value="(http[^"]+/calendars/([^"/]+)\.ics)"', first.get_data(as_text=True))
    assert len(links) == 1
    token1 = links[0][1]
    second = client.post(f"/staff/{ana}/feed", data={"csrf_token": token})
    token2 = re.findall(r'/calendars/([^"/]+)\.ics"', second.get_data(as_text=True))[0]
    assert token1 != token2
    with Session(sqlite_engine) as s:
        assert staff_for_token(s, token1) is None
        member = staff_for_token(s, token2)
        assert member is not None and member.id == ana
    # the page afterwards says a link exists but does not show it
    page = client.get(f"/staff/{ana}").get_data(as_text=True)
    assert token2 not in page and "A feed link is active" in page


def test_add_staff_member(client_for, sqlite_engine: Engine, world: World) -> None:
    client, token = client_for("admin")
    r = client.post("/staff/new", data={
        "csrf_token": token, "name": "Carla Nueva", "role": "technician",
        "skills": "Boiler, ac", "home_latitude": "39.5", "home_longitude": "-0.4",
        "work_start": "07:30", "work_end": "15:30", "working_days": ["0", "1", "2"],
    })  # fmt: skip
    assert r.status_code == 302
    with Session(sqlite_engine) as s:
        member = s.exec(select(Staff).where(Staff.name == "Carla Nueva")).one()
    assert member.skills == ["ac", "boiler"] and member.working_days == [0, 1, 2]
    bad = client.post(
        "/staff/new",
        data={"csrf_token": token, "name": "X", "home_latitude": "200", "home_longitude": "0"},
    )
    assert bad.status_code == 422


def test_a_staff_member_s_home_is_located_from_the_address(
    settings, sqlite_engine: Engine, world: World
) -> None:
    from tests.domain.fake_nominatim import serve_nominatim
    from tests.web.conftest import login, make_app

    with serve_nominatim({"Avenida del Puerto 300, València": (39.459, -0.337, "Puerto")}) as fake:
        client = make_app(settings.replace(geocoder_url=fake.url), sqlite_engine).test_client()
        token = login(client, world.users["admin"])
        r = client.post("/staff/new", data={
            "csrf_token": token, "name": "Carla Nueva", "role": "technician", "skills": "ac",
            "home_address": "Avenida del Puerto 300, València", "home_latitude": "",
            "home_longitude": "", "working_days": ["0"],
        })  # fmt: skip
    assert r.status_code == 302
    with Session(sqlite_engine) as s:
        member = s.exec(select(Staff).where(Staff.name == "Carla Nueva")).one()
    assert (member.home_latitude, member.home_longitude) == (39.459, -0.337)


def test_visits_list_filters(client_for, world: World, sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as s:
        v = s.get(Visit, world.visits[2])
        assert v is not None
        v.needs_phone_call = True
    client, _ = client_for("dispatcher")
    flagged = client.get("/visits/?call=1").get_data(as_text=True)
    assert "Eva Pons" in flagged and "Carmen Ruiz" not in flagged
    training = client.get("/visits/?kind=training").get_data(as_text=True)
    assert "David Soler" in training and "Eva Pons" not in training
    by_staff = client.get(f"/visits/?staff_id={world.staff['ana']}").get_data(as_text=True)
    assert "Carmen Ruiz" in by_staff and "David Soler" not in by_staff


def test_the_board_counts_the_customers_to_phone(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from tests.web.factories import PLAN_DAY

    client, _ = client_for("dispatcher")

    def banner() -> str | None:
        return board_banner(client, PLAN_DAY, "calls")

    assert banner() is None
    for visit_id in world.visits[1:]:
        with session_scope(sqlite_engine) as s:
            v = s.get(Visit, visit_id)
            assert v is not None
            v.needs_phone_call = True
    assert banner() == ("2 customers to phone: no answer to the SMS, or it could not be delivered.")
    with session_scope(sqlite_engine) as s:
        v = s.get(Visit, world.visits[2])
        assert v is not None
        v.status = "failed"  # a failed visit is a decision to take, announced on its own
    assert banner() == "1 customer to phone: no answer to the SMS, or it could not be delivered."


def test_visits_past_their_due_date_are_listed_most_late_first_and_counted_on_the_board(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from tests.web.factories import PLAN_DAY, TZ

    today = datetime.now(TZ).date()
    carmen, david, eva = world.visits
    with session_scope(sqlite_engine) as s:
        for visit_id, due, status in (
            (carmen, today - timedelta(days=1), "planned"),  # late by a day
            (david, today - timedelta(days=5), "completed"),  # done: not late any more
            (eva, today - timedelta(days=3), "requested"),  # late by three days
        ):
            v = s.get(Visit, visit_id)
            assert v is not None
            v.due_date, v.status = due, status
    client, _ = client_for("dispatcher")
    page = client.get("/visits/?overdue=1").get_data(as_text=True)
    assert re.findall(r"<tr><td>(\d+)</td>", page) == [str(eva), str(carmen)]
    assert page.count('class="tag failed overdue"') == 2
    board = client.get(f"/board/{PLAN_DAY}").get_data(as_text=True)
    assert "2 visits are past their due date." in board
    with session_scope(sqlite_engine) as s:
        for visit_id in (carmen, eva):
            v = s.get(Visit, visit_id)
            assert v is not None
            v.due_date = today  # due today: not late yet
    assert 'id="overdue"' not in client.get(f"/board/{PLAN_DAY}").get_data(as_text=True)


def test_phone_answers_and_outcomes_say_when_temporal_is_down(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from tests.web.factories import PLAN_DAY

    office, token = client_for("dispatcher")
    r = office.post(
        f"/visits/{world.visits[0]}/reply", data={"csrf_token": token, "answer": "confirm"}
    )
    assert any("Temporal" in m for m in flashes(office.get(r.location).get_data(as_text=True)))
    assert (
        office.post(
            f"/visits/{world.visits[0]}/reply", data={"csrf_token": token, "answer": "maybe"}
        ).status_code
        == 400
    )
    ana, token = client_for("technician")
    r = ana.post(
        f"/me/visits/{world.visits[0]}/outcome",
        data={"csrf_token": token, "outcome": "done", "note": ""},
    )
    page = ana.get(f"/me/?day={PLAN_DAY}").get_data(as_text=True)
    assert any("Temporal" in m for m in flashes(page))
    with Session(sqlite_engine) as s:
        assert s.get(Visit, world.visits[0]).status == "planned"  # type: ignore[union-attr]
    assert (
        ana.post(
            f"/me/visits/{world.visits[0]}/outcome",
            data={"csrf_token": token, "outcome": "exploded"},
        ).status_code
        == 400
    )


def test_admin_issues_and_revokes_api_tokens(client_for, world: World) -> None:
    admin, token = client_for("admin")
    page = admin.post("/admin/tokens", data={"csrf_token": token, "name": "ERP", "user_id": "2"})
    assert page.headers["Cache-Control"] == "no-store"
    raw = re.search(r'id="new-token".*?value="(pv_[^"]+)"', page.get_data(as_text=True), re.S)
    assert raw is not None
    headers = {"Authorization": f"Bearer {raw.group(1)}"}
    assert admin.get("/api/v1/sales", headers=headers).status_code == 200
    admin.post("/admin/tokens/1/revoke", data={"csrf_token": token})
    assert admin.get("/api/v1/sales", headers=headers).status_code == 401
    listing = admin.get("/admin/tokens").get_data(as_text=True)
    assert "ERP" in listing and raw.group(1) not in listing


def on_anas_route(engine: Engine, world: World, start: datetime, approve: bool = True) -> None:
    """The world's first visit planned for Ana at ``start`` (its plan approved, unless not)."""
    with session_scope(engine) as s:
        if approve:
            plan = s.get(DailyPlan, world.plan_id)
            assert plan is not None
            plan.status = PlanStatus.APPROVED.value
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.status, visit.planned_start = "planned", start
        visit.assigned_staff_id = world.staff["ana"]


def test_phone_page_says_when_the_days_plan_is_not_approved_yet(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """A draft does not put visits on anyone's route: the technician is told the day is not
    planned yet instead of "no visits", and told when an approved route is being changed."""
    from tests.web.factories import PLAN_DAY

    def note() -> str | None:
        page = ana.get(f"/me/?day={PLAN_DAY}").get_data(as_text=True)
        found = re.search(r'id="plan-note">([^<]*)<', page)
        return found.group(1).replace("&#39;", "'") if found else None

    ana, _ = client_for("technician")
    with session_scope(sqlite_engine) as s:  # the world's draft, before anyone approved it
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.status, visit.planned_start, visit.assigned_staff_id = "requested", None, None
    assert note() == (
        "This day's plan is still a draft: your visits appear here once the office approves it."
    )
    on_anas_route(sqlite_engine, world, at(PLAN_DAY, 9))  # approved: the route, without a note
    assert note() is None
    with session_scope(sqlite_engine) as s:  # re-optimized: a new draft waits for approval
        s.add(DailyPlan(plan_date=PLAN_DAY, version=2, status=PlanStatus.DRAFT.value))
    assert note() == (
        "The office is reviewing changes to this day's plan: the route below may still change."
    )
    assert 'id="stop-' in ana.get(f"/me/?day={PLAN_DAY}").get_data(as_text=True)
    next_day = (PLAN_DAY + timedelta(days=1)).isoformat()
    assert "No visits on this day." in ana.get(f"/me/?day={next_day}").get_data(as_text=True)


def test_phone_page_names_the_day_and_points_to_the_next_visits(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """A day without visits points to the next day that has some; the day reads as a date
    people say, in the user's language."""
    from domain.models import User
    from tests.web.factories import PLAN_DAY

    def page(day: date) -> str:
        return ana.get(f"/me/?day={day.isoformat()}").get_data(as_text=True)

    def next_link(day: date) -> str | None:
        found = re.search(r'id="next-route-day">[^<]*<a href="\?day=([0-9-]+)">([^<]*)<', page(day))
        return f"{found.group(1)} {found.group(2)}" if found else None

    ana, _ = client_for("technician")
    on_anas_route(sqlite_engine, world, at(PLAN_DAY, 9))
    before = PLAN_DAY - timedelta(days=3)
    long_day = f"{PLAN_DAY:%A}, {PLAN_DAY:%B} {PLAN_DAY.day}, {PLAN_DAY.year}"
    assert next_link(before) == f"{PLAN_DAY.isoformat()} {long_day}"
    assert f'id="route-day">{before:%A}, ' in page(before)
    assert next_link(PLAN_DAY) is None  # the day has its route
    assert next_link(PLAN_DAY + timedelta(days=1)) is None  # nothing later
    with session_scope(sqlite_engine) as s:  # a completed visit is not a next visit
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.status = "completed"
    assert next_link(before) is None
    with session_scope(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.status = "confirmed"
        user = s.exec(select(User).where(User.email == world.users["technician"])).one()
        user.locale = "es"
    spanish = next_link(before)
    assert spanish is not None and spanish.startswith(PLAN_DAY.isoformat() + " martes, ")
    assert "Tus próximas visitas:" in page(before)


def test_visits_of_a_day_still_to_come_are_reported_only_on_purpose(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """Browsing tomorrow's route, the outcome buttons sit behind "Report before the day", so a
    tap meant for today's visit does not complete one that has not happened; today's route
    shows them at once."""
    from tests.web.factories import PLAN_DAY, TZ

    def stop_html(day: date) -> str:
        page = ana.get(f"/me/?day={day.isoformat()}").get_data(as_text=True)
        found = re.search(
            r'<div class="stop .*?value="absent".*?</form>\s*(?:</details>)?', page, flags=re.S
        )
        assert found is not None, page
        return found.group(0)

    ana, _ = client_for("technician")
    on_anas_route(sqlite_engine, world, at(PLAN_DAY, 9), approve=False)
    early = stop_html(PLAN_DAY)
    assert '<details class="early"><summary>Report before the day</summary>' in early
    assert early.rstrip().endswith("</details>")
    today = datetime.now(TZ).date()
    with session_scope(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.planned_start = at(today, 23, 30)
    on_the_day = stop_html(today)
    assert "<details" not in on_the_day and 'value="done"' in on_the_day


def _ana_form(token: str, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": token, "name": "Ana Técnica", "role": "technician", "skills": "boiler",
        "home_address": "", "home_latitude": "39.47", "home_longitude": "-0.38",
        "work_start": "08:00", "work_end": "17:00", "lunch_minutes": "45",
        "lunch_earliest": "13:00", "lunch_latest": "15:00",
        "working_days": ["0", "1", "2", "3", "4"], "active": "1",
    }  # fmt: skip
    form.update(changes)
    return form


def test_editing_a_staff_member_shows_what_is_stored_and_changes_it(
    client_for, sqlite_engine: Engine, world: World
) -> None:
    from domain.models import AuditEntry
    from tests.web.factories import PLAN_DAY

    client, token = client_for("dispatcher")
    ana = world.staff["ana"]
    page = client.get(f"/staff/{ana}/edit").get_data(as_text=True)
    assert 'name="skills" value="boiler"' in page and 'name="work_end" value="17:00"' in page
    assert page.count('name="working_days" value="') == 7 and page.count("checked>") == 6
    response = client.post(f"/staff/{ana}/edit", data=_ana_form(
        token, skills="boiler, gas", work_end="16:00", lunch_minutes="30",
        lunch_earliest="12:00", lunch_latest="14:00", working_days=["0", "1", "2", "3"],
    ))  # fmt: skip
    assert response.status_code == 302
    shown = client.get(response.location).get_data(as_text=True)
    assert "Staff member saved." in shown
    # Ana has a planned visit: the dispatcher is told which day to re-optimize
    link = f'<a href="/board/{PLAN_DAY.isoformat()}">{PLAN_DAY:%a} {PLAN_DAY.day} {PLAN_DAY:%b}</a>'
    assert f"Visits are planned for them on {link}: re-optimize" in shown  # a link to its board
    with Session(sqlite_engine) as s:
        member = s.get(Staff, ana)
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "staff.update")).one()
    assert member is not None and member.skills == ["boiler", "gas"]
    assert (member.work_end.isoformat(), member.lunch_minutes) == ("16:00:00", 30)
    assert (member.lunch_earliest.isoformat(), member.working_days) == ("12:00:00", [0, 1, 2, 3])  # type: ignore[union-attr]
    assert sorted(audit.details["changed"]) == [
        "lunch_earliest", "lunch_latest", "lunch_minutes", "skills", "work_end", "working_days"
    ]  # fmt: skip
    assert audit.details["changed"]["work_end"] == ["17:00:00", "16:00:00"]
    bad = client.post(f"/staff/{ana}/edit", data=_ana_form(token, home_latitude="200"))
    assert bad.status_code == 422 and 'value="200"' in bad.get_data(as_text=True)
    assert client.get("/staff/999/edit").status_code == 404


def test_a_staff_member_who_leaves_stops_being_planned_and_signing_in(
    client_for, sqlite_engine: Engine, world: World
) -> None:
    from tests.web.conftest import csrf_from
    from tests.web.factories import PASSWORD

    client, token = client_for("dispatcher")
    ana = world.staff["ana"]
    assert client.post(f"/staff/{ana}/edit", data=_ana_form(token, active="")).status_code == 302
    detail = client.get(f"/staff/{ana}").get_data(as_text=True)
    assert "inactive" in detail
    with Session(sqlite_engine) as s:
        assert s.get(Staff, ana).active is False  # type: ignore[union-attr]
    phone = client.application.test_client()

    def sign_in() -> int:
        form = {"email": world.users["technician"], "password": PASSWORD}
        return phone.post("/login", data={**form, "csrf_token": csrf_from(phone)}).status_code

    assert sign_in() != 302  # her account stopped with her
    assert client.post(f"/staff/{ana}/edit", data=_ana_form(token)).status_code == 302
    assert sign_in() == 302


def test_a_staff_member_who_moves_house_is_located_at_the_new_address(
    settings, sqlite_engine: Engine, world: World
) -> None:
    """The edit form carries the old coordinates: when only the address changes they belong
    to the old home, so the geocoder locates the new one; typed coordinates are kept."""
    from tests.domain.fake_nominatim import serve_nominatim
    from tests.web.conftest import login, make_app

    ana = world.staff["ana"]
    with serve_nominatim({"Avenida del Puerto 300, València": (39.459, -0.337, "Puerto")}) as fake:
        client = make_app(settings.replace(geocoder_url=fake.url), sqlite_engine).test_client()
        token = login(client, world.users["dispatcher"])
        same = client.post(f"/staff/{ana}/edit", data=_ana_form(token, skills="boiler, gas"))
        moved = client.post(f"/staff/{ana}/edit", data=_ana_form(
            token, home_address="Avenida del Puerto 300, València"
        ))  # fmt: skip
        with Session(sqlite_engine) as s:
            located = s.get(Staff, ana)
            assert located is not None
            assert (located.home_latitude, located.home_longitude) == (39.459, -0.337)
        typed = client.post(f"/staff/{ana}/edit", data=_ana_form(
            token, home_address="Calle Nueva 1", home_latitude="39.5", home_longitude="-0.4"
        ))  # fmt: skip
    assert same.status_code == moved.status_code == typed.status_code == 302
    assert [params["q"] for params, _ in fake.requests] == ["Avenida del Puerto 300, València"]
    with Session(sqlite_engine) as s:
        member = s.get(Staff, ana)
    assert member is not None and (member.home_latitude, member.home_longitude) == (39.5, -0.4)


def test_each_stop_offers_directions_that_open_on_any_phone(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """``geo:`` opens the map app on Android only; the directions link works on iPhones too."""
    from tests.web.factories import PLAN_DAY

    ana, _ = client_for("technician")
    on_anas_route(sqlite_engine, world, at(PLAN_DAY, 9))
    page = ana.get(f"/me/?day={PLAN_DAY.isoformat()}").get_data(as_text=True)
    assert 'href="geo:39.46,-0.37"' in page  # Carmen Ruiz's place
    assert 'href="https://www.google.com/maps/dir/?api=1&amp;destination=39.46,-0.37"' in page


def test_a_public_holiday_is_a_day_off_for_everyone_active(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    client, token = client_for("dispatcher")
    with session_scope(sqlite_engine) as s:
        bea = s.get(Staff, world.staff["bea"])
        assert bea is not None
        bea.active = False  # she left: no absence for her
    holiday = {"csrf_token": token, "starts_on": "2026-12-08", "reason": "Inmaculada"}
    response = client.post("/staff/absences", data=holiday)
    assert response.status_code == 302
    assert "Day off recorded for 1 staff member." in client.get(response.location).get_data(True)
    backwards = client.post("/staff/absences", data={**holiday, "ends_on": "2026-12-01"})
    assert "absence ends before it starts" in client.get(backwards.location).get_data(True)
    with Session(sqlite_engine) as s:
        rows = s.exec(select(StaffAbsence)).all()
    assert [(a.staff_id, a.starts_on, a.ends_on, a.reason) for a in rows] == [
        (world.staff["ana"], date(2026, 12, 8), date(2026, 12, 8), "Inmaculada")
    ]


def test_visits_pinned_to_someone_who_left_are_released_keeping_their_time(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from domain.models import AuditEntry
    from tests.web.factories import PLAN_DAY

    client, token = client_for("dispatcher")
    pinned_at = at(PLAN_DAY, 10)
    with session_scope(sqlite_engine) as s:
        open_visit, done_visit = (s.get(Visit, world.visits[i]) for i in (0, 2))
        assert open_visit is not None and done_visit is not None
        open_visit.pinned_staff_id, open_visit.pinned_start = world.staff["ana"], pinned_at
        done_visit.pinned_staff_id, done_visit.status = world.staff["ana"], "completed"
    ana = world.staff["ana"]
    assert client.post(f"/staff/{ana}/edit", data=_ana_form(token, active="")).status_code == 302
    with Session(sqlite_engine) as s:
        released, done = (s.get(Visit, world.visits[i]) for i in (0, 2))
        audit = s.exec(select(AuditEntry).where(AuditEntry.action == "visit.unpin")).one()
    assert released is not None and done is not None
    assert (released.pinned_staff_id, released.pinned_start) == (None, pinned_at)
    assert done.pinned_staff_id == ana  # history is left as it was
    assert (audit.entity_id, audit.details["reason"]) == (world.visits[0], "staff left")


def _board_link(day: date) -> str:
    return f'<a href="/board/{day.isoformat()}">{day:%a} {day.day} {day:%b}</a>'


def test_a_day_off_names_the_days_whose_plans_it_changes(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from tests.web.factories import PLAN_DAY

    client, token = client_for("dispatcher")
    on_anas_route(sqlite_engine, world, at(PLAN_DAY, 9))
    ana = world.staff["ana"]

    def add(url: str, first: date, last: date) -> str:
        form = {"csrf_token": token, "starts_on": first.isoformat(), "ends_on": last.isoformat()}
        return client.get(client.post(url, data=form).location).get_data(as_text=True)

    page = add(f"/staff/{ana}/absences", PLAN_DAY - timedelta(days=1), PLAN_DAY)
    assert "Day off recorded." in page
    assert f"Visits are planned for them on {_board_link(PLAN_DAY)}" in page
    page = add(f"/staff/{ana}/absences", PLAN_DAY + timedelta(days=1), PLAN_DAY + timedelta(3))
    assert "Day off recorded." in page and "Visits are planned" not in page
    page = add("/staff/absences", PLAN_DAY, PLAN_DAY)  # a holiday for everyone
    assert f"Visits are planned on {_board_link(PLAN_DAY)}" in page


def test_a_day_off_is_taken_back_or_ended_today_and_the_planned_days_named(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from domain.models import AuditEntry
    from tests.web.factories import PLAN_DAY, TZ

    client, token = client_for("dispatcher")
    today = datetime.now(TZ).date()
    ana = world.staff["ana"]
    with session_scope(sqlite_engine) as s:
        spans = [
            (today - timedelta(days=9), today - timedelta(days=8), "past"),
            (today - timedelta(days=2), today + timedelta(days=2), "flu"),
            (PLAN_DAY, PLAN_DAY + timedelta(days=1), "holiday"),
        ]
        rows = [StaffAbsence(staff_id=ana, starts_on=a, ends_on=b, reason=r) for a, b, r in spans]
        s.add_all(rows)
        s.flush()
        past, flu, holiday = (r.id for r in rows)
    page = client.get(f"/staff/{ana}").get_data(as_text=True)
    forms = re.findall(r'action="/staff/\d+/absences/(\d+)/withdraw">\s*<input[^>]*>\s*'
                       r"<button[^>]*>([^<]+)<", page)  # fmt: skip
    assert sorted(forms) == sorted([(str(flu), "Back today"), (str(holiday), "Remove")])

    def withdraw(absence_id: int | None) -> str:
        r = client.post(f"/staff/{ana}/absences/{absence_id}/withdraw", data={"csrf_token": token})
        assert r.status_code == 302
        return client.get(r.location).get_data(as_text=True)

    page = withdraw(flu)
    assert "Day off ended: back at work from today." in page
    assert "available again" not in page  # no plan in those days
    page = withdraw(holiday)  # PLAN_DAY has the world's plan: it can give Ana visits now
    assert "Day off removed." in page
    assert f"available again on days that already have a plan ({_board_link(PLAN_DAY)})" in page
    assert "stays on record" in withdraw(past)
    assert client.post(f"/staff/{ana}/absences/{holiday}/withdraw",
                       data={"csrf_token": token}).status_code == 404  # fmt: skip
    with Session(sqlite_engine) as s:
        left = s.exec(select(StaffAbsence).order_by(col(StaffAbsence.starts_on))).all()
        actions = s.exec(select(AuditEntry.action).where(AuditEntry.entity == "staff")).all()
    assert [(a.reason, a.ends_on) for a in left] == [
        ("past", today - timedelta(days=8)),
        ("flu", today - timedelta(days=1)),
    ]
    assert ["staff.absence_end", "staff.absence_remove"] == [
        a for a in actions if a.startswith("staff.absence_")
    ]


def test_phone_page_shows_what_was_done_before_at_each_stop(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """A technician arriving for a maintenance round sees the sale's latest closed visits and
    their notes (newest first, three at most); other sales' visits are not shown."""
    from domain.models import VisitKind
    from domain.schemas import VisitIn
    from domain.services import request_visit
    from tests.web.factories import PLAN_DAY

    ana, _ = client_for("technician")
    on_anas_route(sqlite_engine, world, at(PLAN_DAY, 9))
    carmen, david = world.sales[0], world.sales[1]
    with session_scope(sqlite_engine) as s:
        for n, (sale, weeks_ago, status, note) in enumerate([
            (carmen, 40, "completed", "Instalada en la cocina"),
            (carmen, 30, "completed", "Cambiado el filtro"),
            (carmen, 20, "failed", "Nadie en casa"),
            (carmen, 10, "completed", "Presión baja: vigilar"),
            (david, 5, "completed", "Otra venta"),
        ]):  # fmt: skip
            v = request_visit(s, VisitIn(
                sale_id=sale, kind=VisitKind.MAINTENANCE, business_key=f"old-{n}",
                duration_minutes=60, earliest_date=PLAN_DAY - timedelta(weeks=weeks_ago),
            ))  # fmt: skip
            v.status, v.outcome_note = status, note
            v.planned_start = at(PLAN_DAY - timedelta(weeks=weeks_ago), 10)
            v.assigned_staff_id = world.staff["ana"]
    page = ana.get(f"/me/?day={PLAN_DAY}").get_data(as_text=True)
    history = re.search(r'<details class="history"><summary>([^<]*)</summary>(.*?)</details>',
                        page, re.S)  # fmt: skip
    assert history is not None and history.group(1) == "Latest 3 earlier visits"
    notes = re.findall(r'<span class="muted">([^<]*)</span>', history.group(2))
    assert notes == ["Presión baja: vigilar", "Nadie en casa", "Cambiado el filtro"]
    assert "(failed)" in history.group(2) and "Ana Técnica" in history.group(2)
    assert "Otra venta" not in page and "Instalada en la cocina" not in page


def test_a_technician_on_the_way_tells_the_customer_when_they_arrive(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from domain.models import Customer, SmsMessage
    from tests.web.factories import PLAN_DAY, TZ

    today = datetime.now(TZ).date()
    on_anas_route(sqlite_engine, world, at(today, 16))
    ana, token = client_for("technician")
    page = ana.get("/me/").get_data(as_text=True)
    nonce = re.search(r'name="nonce" value="([0-9a-f]{32})"', page)
    assert nonce is not None and "On my way, arriving in" in page
    url = f"/me/visits/{world.visits[0]}/on-the-way"
    form = {"csrf_token": token, "nonce": nonce.group(1), "minutes": "30"}

    def tell(**changes: str) -> list[str]:
        r = ana.post(url, data={**form, **changes})
        assert r.status_code == 302
        return flashes(ana.get(r.location).get_data(as_text=True))

    [told] = tell()
    eta = re.fullmatch(r"The customer knows you arrive around (\d\d:\d\d)\.", told)
    assert eta is not None
    with Session(sqlite_engine) as s:  # the board reads the route's delay from it
        visit = s.get(Visit, world.visits[0])
        assert visit is not None and visit.expected_at is not None
        assert visit.expected_at.astimezone(TZ).strftime("%H:%M") == eta.group(1)
    page = ana.get("/me/").get_data(as_text=True)  # and the technician sees what was said
    assert f"You told the customer you arrive around {eta.group(1)}." in page
    assert tell() == [told]  # the same tap again: one message
    with Session(sqlite_engine) as s:
        [sms] = s.exec(select(SmsMessage)).all()
    assert sms.template == "visit_on_the_way" and sms.visit_id == world.visits[0]
    assert sms.body == f"Ana va de camino para su instalación: llegará hacia las {eta.group(1)}."
    assert ana.post(url, data={**form, "minutes": "20"}).status_code == 400
    bea, bea_token = client_for("trainer")
    assert bea.post(url, data={**form, "csrf_token": bea_token}).status_code == 404
    with session_scope(sqlite_engine) as s:
        customer = s.get(Customer, world.customers[0])
        assert customer is not None
        customer.sms_opt_out = True
    assert tell(nonce="c" * 32) == ["The customer takes no SMS: call them."]
    on_anas_route(sqlite_engine, world, at(PLAN_DAY, 9))  # next week: nothing to announce yet
    assert tell(nonce="d" * 32) == [
        "Only a visit of today&#39;s route that is still to happen can be announced."
    ]
    assert "On my way" not in ana.get(f"/me/?day={PLAN_DAY}").get_data(as_text=True)


def test_the_billable_repairs_of_a_month_export_for_invoicing(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    import csv
    import io

    from domain.models import VisitKind
    from domain.schemas import VisitIn
    from domain.services import request_visit

    with session_scope(sqlite_engine) as s:
        for n, (day, billable) in enumerate([(date(2026, 11, 3), True), (date(2026, 10, 30), True),
                                              (date(2026, 11, 20), False)]):  # fmt: skip
            v = request_visit(s, VisitIn(
                sale_id=world.sales[0], kind=VisitKind.REPAIR, business_key=f"repair-{n}",
                duration_minutes=60, earliest_date=day, billable=billable,
                description="Fuga de agua",
            ))  # fmt: skip
            v.status, v.planned_start, v.outcome_note = "completed", at(day, 9), "Junta cambiada"
            v.assigned_staff_id = world.staff["ana"]
    client, _ = client_for("dispatcher")
    query = "status=completed&kind=repair&billable=1&since=2026-11-01&until=2026-11-30"
    page = client.get(f"/visits/?{query}").get_data(as_text=True)
    assert "1 visit" in page
    link = re.search(r'id="export" href="([^"]+)"', page)
    assert link is not None
    export = client.get(link.group(1).replace("&amp;", "&"))
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["kind"], r["planned_start"], r["staff"], r["billable"], r["customer_name"],
             r["description"], r["outcome_note"]) for r in rows] == [
        ("repair", "2026-11-03 09:00", "Ana Técnica", "yes", "Carmen Ruiz", "Fuga de agua",
         "Junta cambiada"),
    ]  # fmt: skip


def test_a_technician_checks_in_at_the_customers_and_lateness_is_kept(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    import csv
    import io

    from domain.models import AuditEntry
    from tests.web.factories import PLAN_DAY, TZ

    now = datetime.now(TZ).replace(second=0, microsecond=0)
    on_anas_route(sqlite_engine, world, now)
    with session_scope(sqlite_engine) as s:  # promised until 90 minutes ago
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.promised_window_start = now - timedelta(minutes=210)
        visit.promised_window_end = now - timedelta(minutes=90)
    ana, token = client_for("technician")
    url = f"/me/visits/{world.visits[0]}/arrived"
    assert ">I'm here</button>" in ana.get("/me/").get_data(as_text=True)

    def check_in() -> list[str]:
        r = ana.post(url, data={"csrf_token": token})
        assert r.status_code == 302 and r.location.endswith(f"#stop-{world.visits[0]}")
        return flashes(ana.get(r.location).get_data(as_text=True))

    [said] = check_in()
    found = re.fullmatch(r"Arrival at (\d\d:\d\d) recorded, (\d+) min after the promised window\.",
                         said)  # fmt: skip
    assert found is not None and 90 <= int(found.group(2)) <= 92
    page = ana.get("/me/").get_data(as_text=True)
    assert f"Arrived at {found.group(1)}" in page and "I'm here" not in page
    assert re.search(r'<span class="tag late">9\d min late</span>', page)
    check_in()  # a second tap keeps the first time
    office, _ = client_for("dispatcher")  # the office sees it in the visits list and export
    listed = office.get("/visits/").get_data(as_text=True)
    assert (
        f'<small class="muted arrival">arrived {found.group(1)}</small> <span class="tag late">'
        in listed
    )
    export = office.get("/visits/export.csv").get_data(as_text=True)
    [row] = [r for r in csv.DictReader(io.StringIO(export.lstrip("\ufeff")))
             if r["visit_id"] == str(world.visits[0])]  # fmt: skip
    assert row["arrived_at"].endswith(found.group(1)) and row["late_minutes"] == found.group(2)
    assert row["finished_at"] == ""
    with Session(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None and visit.arrived_at is not None
        assert visit.arrived_at.astimezone(TZ).strftime("%H:%M") == found.group(1)
        entries = s.exec(select(AuditEntry).where(AuditEntry.action == "visit.arrived")).all()
    assert [(e.actor, e.entity_id) for e in entries] == [(world.users["technician"], visit.id)]
    bea, bea_token = client_for("trainer")
    assert bea.post(url, data={"csrf_token": bea_token}).status_code == 404
    on_anas_route(sqlite_engine, world, at(PLAN_DAY, 9))  # next week: not yet
    with session_scope(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.arrived_at = None
    assert check_in() == [
        "Only a visit of today&#39;s route that is still to happen can be checked in."
    ]
    with Session(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None and visit.arrived_at is None


def test_on_my_way_offers_the_drive_the_plan_expects_first(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """Today's approved plan drives 22 min 10 s to the visit: "25 min" comes first and is
    accepted; a time the page did not offer is not."""
    from domain.models import PlanStop
    from tests.web.factories import TZ

    today = datetime.now(TZ).date()
    on_anas_route(sqlite_engine, world, at(today, 16))
    with session_scope(sqlite_engine) as s:
        plan = DailyPlan(plan_date=today, version=1, status=PlanStatus.APPROVED.value)
        s.add(plan)
        s.flush()
        s.add(PlanStop(plan_id=plan.id, staff_id=world.staff["ana"], visit_id=world.visits[0],
                       kind="visit", sequence=1, arrival=at(today, 15, 50), start=at(today, 16),
                       end=at(today, 17), travel_seconds=1330, travel_metres=18000))  # fmt: skip
    ana, token = client_for("technician")
    page = ana.get("/me/").get_data(as_text=True)
    offered = re.findall(r'<button type="submit" name="minutes" value="(\d+)"', page)
    assert offered == ["25", "15", "30", "45", "60"]
    assert 'value="25" class="primary planned-drive"' in page
    nonce = re.search(r'name="nonce" value="([0-9a-f]{32})"', page)
    assert nonce is not None
    url = f"/me/visits/{world.visits[0]}/on-the-way"
    form = {"csrf_token": token, "nonce": nonce.group(1)}
    r = ana.post(url, data={**form, "minutes": "25"})
    assert r.status_code == 302
    [told] = flashes(ana.get(r.location).get_data(as_text=True))
    assert told.startswith("The customer knows you arrive around ")
    assert ana.post(url, data={**form, "minutes": "20"}).status_code == 400


def test_the_times_a_visit_may_have_ended_run_from_now_back_to_the_arrival() -> None:
    """Five-minute steps, newest first, "just now" aside; only for a visit begun today."""
    from zoneinfo import ZoneInfo

    from web.blueprints.mobile import finish_choices

    tz = ZoneInfo("Europe/Madrid")
    visit = Visit(sale_id=1, kind="repair", business_key="k", duration_minutes=30,
                  arrived_at=datetime(2026, 12, 9, 9, 12, tzinfo=tz))  # fmt: skip
    ten_past = datetime(2026, 12, 9, 10, 7, 40, tzinfo=tz)
    assert finish_choices(visit, ten_past, tz) == [
        "10:05", "10:00", "09:55", "09:50", "09:45", "09:40", "09:35", "09:30", "09:25",
        "09:20", "09:15",
    ]  # fmt: skip
    assert finish_choices(visit, ten_past.replace(minute=5), tz)[0] == "10:00"
    assert finish_choices(visit, ten_past + timedelta(days=1), tz) == []  # begun yesterday
    visit.arrived_at = None
    assert finish_choices(visit, ten_past, tz) == []  # neither arrived nor planned
    visit.planned_start = datetime(2026, 12, 9, 9, 50, tzinfo=tz)
    assert finish_choices(visit, ten_past, tz) == ["10:05", "10:00", "09:55", "09:50"]


def test_a_technician_reporting_later_picks_when_the_visit_ended(
    client_for, world: World, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arrived at 10:37, reporting at 12:00: the report form offers 11:55 back to 10:40; a
    time it did not offer is refused in words and nothing is reported."""
    from tests.web.factories import TZ
    from web.blueprints import mobile

    noon = datetime.now(TZ).replace(hour=12, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(mobile, "local_now", lambda tz: noon.astimezone(tz))
    on_anas_route(sqlite_engine, world, noon - timedelta(minutes=90))
    with session_scope(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.arrived_at = noon - timedelta(minutes=83)
    ana, token = client_for("technician")
    page = ana.get("/me/").get_data(as_text=True)
    offered = re.search(r'<select name="finished_at">(.*?)</select>', page)
    assert offered is not None
    times = re.findall(r"<option[^>]*>([^<]*)</option>", offered.group(1))
    assert (times[:3], times[-1], len(times)) == (["just now", "11:55", "11:50"], "10:40", 17)
    for wrong in ("10:35", "12:05", "25:00", "soon"):  # before the arrival, the future, nonsense
        form = {"csrf_token": token, "outcome": "done", "finished_at": wrong}
        r = ana.post(f"/me/visits/{world.visits[0]}/outcome", data=form)
        assert flashes(ana.get(r.location).get_data(as_text=True)) == [
            "Pick when the visit ended from the times offered."
        ]
    with Session(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None and (visit.status, visit.finished_at) == ("planned", None)


def test_a_check_in_away_from_the_address_is_told_and_the_office_sees_it(
    client_for, world: World, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Carmen lives at 39.46, -0.37; Ana's phone places her check-in 0.02° north (2.2 km): she
    is told, and the office finds it in the visits list (tag, filter), its CSV, the API and the
    field work report. A form whose position is not one is refused."""
    import csv
    import io

    from tests.web.factories import TZ
    from tests.web.test_api import token_for
    from web.blueprints import mobile

    noon = datetime.now(TZ).replace(hour=12, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(mobile, "local_now", lambda tz: noon.astimezone(tz))
    on_anas_route(sqlite_engine, world, noon)
    ana, token = client_for("technician")
    url = f"/me/visits/{world.visits[0]}/arrived"
    page = ana.get("/me/").get_data(as_text=True)
    assert re.search(r'class="arrive" data-position>.*?name="lat".*?name="lon".*?'
                     r'name="accuracy"', page, re.S)  # fmt: skip
    for wrong in ({"lat": "39.48"}, {"lat": "north", "lon": "-0.37", "accuracy": "25"},
                  {"lat": "39.48", "lon": "-0.37", "accuracy": "nan"}):  # fmt: skip
        assert ana.post(url, data={"csrf_token": token, **wrong}).status_code == 400
    r = ana.post(url, data={"csrf_token": token, "lat": "39.48", "lon": "-0.37", "accuracy": "25"})
    assert flashes(ana.get(r.location).get_data(as_text=True)) == [
        "Arrival at 12:00 recorded.",
        "Your phone places you 2.2 km from the customer&#39;s address: if the address is wrong, "
        "tell the office.",
    ]
    office, _ = client_for("dispatcher")
    tag = '<span class="tag away" title="where the phone placed the check-in">2.2 km from'
    assert tag in office.get("/visits/").get_data(as_text=True)
    away = office.get("/visits/?away=1").get_data(as_text=True)
    assert re.findall(r"<tr><td>(\d+)</td>", away) == [str(world.visits[0])]
    export = office.get("/visits/export.csv").get_data(as_text=True)
    [row] = [r for r in csv.DictReader(io.StringIO(export.lstrip("\ufeff")))
             if r["visit_id"] == str(world.visits[0])]  # fmt: skip
    assert (row["arrival_distance_m"], row["arrival_accuracy_m"]) == ("2224", "25")
    bearer = {"Authorization": f"Bearer {token_for(sqlite_engine, world.users['dispatcher'])}"}
    found = office.get(f"/api/v1/visits/{world.visits[0]}", headers=bearer).get_json()
    assert (found["arrival_distance_m"], found["arrival_accuracy_m"]) == (2224, 25)
    with session_scope(sqlite_engine) as s:  # reported done: in the field work report
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.status, visit.finished_at = "completed", noon + timedelta(hours=1)
    day = noon.date().isoformat()
    report = office.get(f"/field-work/?since={day}&until={day}").get_data(as_text=True)
    assert re.search(r'<b>1</b><span><a id="away-visits" href="/visits/\?away=1[^"]*">'
                     r"check-in away from the address</a>", report)  # fmt: skip


def test_the_phone_page_knows_when_the_office_changed_the_route(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """The page carries its route's version and polls it: moving a visit or taking one off the
    route changes it; a confirmation does not (it is no change of route)."""
    from tests.web.factories import PLAN_DAY

    ana, _ = client_for("technician")
    day = PLAN_DAY.isoformat()

    def version() -> str:
        return ana.get(f"/me/route.json?day={day}").get_json()["version"]

    page = ana.get(f"/me/?day={day}").get_data(as_text=True)
    shown = re.search(r'id="route-changed"[^>]*hidden data-url="([^"]*)" data-version="(\w+)"',
                      page)  # fmt: skip
    assert shown is not None and shown.group(2) == version()
    assert shown.group(1).replace("&amp;", "&") == f"/me/route.json?day={day}"
    first = version()
    with session_scope(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.status = "confirmed"
    assert version() == first
    with session_scope(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.planned_start = at(PLAN_DAY, 11)
    moved = version()
    assert moved != first
    with session_scope(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.status = "cancelled"
    assert version() not in (first, moved)
    assert ana.get("/me/route.json?day=someday").status_code == 404
