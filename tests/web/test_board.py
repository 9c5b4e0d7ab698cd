"""The plan board: timeline, map, unassigned reasons, figures, live status, pin, re-optimize."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.db import session_scope
from domain.models import DailyPlan, PlanStatus, PlanStop, Sale, SmsMessage, Visit
from domain.visits import set_status
from tests.web.conftest import flashes
from tests.web.factories import NEXT_DAY, PLAN_DAY, World, at
from web.blueprints import board as board_blueprint
from web.board_view import build_board, opening_day

DAY = PLAN_DAY.isoformat()


def blocks(html: str) -> list[tuple[str, str, str]]:
    """(visit id, staff id, local start) of every visit block on the timeline."""
    return re.findall(r'data-visit="(\d+)" data-staff="(\d+)" data-start="([^"]*)"', html)


def test_board_shows_routes_unassigned_and_figures(client_for, world: World) -> None:
    client, token = client_for("dispatcher")
    html = client.get(f"/board/{DAY}").get_data(as_text=True)
    ana, bea = str(world.staff["ana"]), str(world.staff["bea"])
    assert blocks(html) == [
        (str(world.visits[0]), ana, "09:00"),
        (str(world.visits[1]), bea, "10:00"),
    ]
    assert "Ana Técnica" in html and "Bea Formadora" in html
    assert 'class="tl-block installation' in html and 'class="tl-block training' in html
    assert 'class="tl-break"' in html and 'class="tl-travel"' in html
    # unassigned visit with its reason, and as a cross on the map
    assert "No technician with the skill boiler has time left that day" in html
    assert f'class="unassigned-mark" data-visit="{world.unassigned_visit}"' in html
    assert html.count("<polyline") == 2
    # figures: 2 planned, 35 min of travel, 15 km, nobody confirmed yet
    assert re.search(r'id="fig-planned">2<', html)
    assert "0:35" in html and "15.0" in html
    assert re.search(r'id="fig-confirmed">0%<', html)
    # each row counts its visits in words that agree with the number, in either language
    assert html.count("<small>1 visit · ") == 2
    client.post("/account/locale", data={"csrf_token": token, "locale": "es"})
    spanish = client.get(f"/board/{DAY}").get_data(as_text=True)
    assert spanish.count("<small>1 visita · ") == 2


def test_board_figures_from_the_data(sqlite_engine: Engine, world: World) -> None:
    with session_scope(sqlite_engine) as s:
        s.get(Visit, world.visits[0]).status = "confirmed"  # type: ignore[union-attr]
    with Session(sqlite_engine) as s:
        board = build_board(s, PLAN_DAY, "Europe/Madrid")
    f = board.figures
    assert (f.visits_planned, f.unassigned, f.confirmed) == (2, 1, 1)
    assert f.confirmed_share == 0.5
    assert f.travel_minutes == 35 and round(f.travel_km, 1) == 15.0
    # Ana: 90 min of 9 h - 45 min lunch = 495 min; Bea: 60 of 9 h - 45 min => 150/990
    assert round(f.utilisation, 4) == round(150 / 990, 4)
    # the timeline runs from 08:00 (Ana's start) to 18:00 (Bea's end)
    assert board.hours[0] == (0.0, "08:00") and board.hours[-1][1] == "18:00"
    ana_row = board.rows[0]
    assert ana_row.blocks[0].left == 10.0 and ana_row.blocks[0].width == 15.0


def test_status_endpoint_follows_confirmations(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    client, _ = client_for("dispatcher")
    first = client.get(f"/board/{DAY}/status.json").get_json()
    assert first["plan_id"] == world.plan_id and first["confirmed"] == 0
    assert first["visits"] == {str(world.visits[0]): "planned", str(world.visits[1]): "planned"}
    with session_scope(sqlite_engine) as s:
        s.get(Visit, world.visits[1]).status = "confirmed"  # type: ignore[union-attr]
    later = client.get(f"/board/{DAY}/status.json").get_json()
    assert later["visits"][str(world.visits[1])] == "confirmed"
    assert later["confirmed_share"] == 0.5
    html = client.get(f"/board/{DAY}").get_data(as_text=True)
    pattern = rf'class="tl-block training confirmed[^"]*"[^>]*data-visit="{world.visits[1]}"'
    assert re.search(pattern, html)


def test_pin_a_visit_to_a_staff_member_and_time_then_replan(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    client, token = client_for("dispatcher")
    loose = world.unassigned_visit
    response = client.post(
        f"/board/{DAY}/visits/{loose}/pin",
        data={"csrf_token": token, "staff_id": world.staff["ana"], "start": "15:00"},
    )
    assert response.status_code == 302
    new_plan = int(response.location.rsplit("plan=", 1)[1])
    assert new_plan != world.plan_id
    with Session(sqlite_engine) as s:
        visit = s.get(Visit, loose)
        assert visit is not None and visit.pinned_staff_id == world.staff["ana"]
        assert visit.pinned_start == at(PLAN_DAY, 15)
        stop = s.exec(
            select(PlanStop).where(PlanStop.plan_id == new_plan, PlanStop.visit_id == loose)
        ).one()
        assert stop.staff_id == world.staff["ana"] and stop.start == at(PLAN_DAY, 15)
    html = client.get(response.location).get_data(as_text=True)
    assert (str(loose), str(world.staff["ana"]), "15:00") in blocks(html)
    assert "New draft plan: 3 visits assigned, 0 unassigned." in flashes(html)
    # unpin clears it
    client.post(f"/board/{DAY}/visits/{loose}/pin", data={"csrf_token": token, "action": "unpin"})
    with Session(sqlite_engine) as s:
        visit = s.get(Visit, loose)
        assert visit is not None and visit.pinned_staff_id is None and visit.pinned_start is None


def test_move_a_visit_to_another_time_and_to_someone_unable(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    client, token = client_for("dispatcher")
    moved = world.visits[0]
    response = client.post(
        f"/board/{DAY}/visits/{moved}/pin",
        data={"csrf_token": token, "staff_id": world.staff["ana"], "start": "11:30"},
    )
    html = client.get(response.location).get_data(as_text=True)
    assert (str(moved), str(world.staff["ana"]), "11:30") in blocks(html)
    # Bea (trainer) lacks the boiler skill: the visit is left unassigned with the reason
    response = client.post(
        f"/board/{DAY}/visits/{moved}/pin",
        data={"csrf_token": token, "staff_id": world.staff["bea"], "start": ""},
    )
    html = client.get(response.location).get_data(as_text=True)
    assert str(moved) not in {v for v, _, _ in blocks(html)}
    reasons = dict(
        re.findall(r'<li data-visit="(\d+)">.*?<span class="muted">([^<]*)<', html, re.S)
    )
    assert "lacks skill boiler" in reasons[str(moved)]


def test_pin_refuses_bad_input_without_writing(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    client, token = client_for("dispatcher")
    for data in ({"staff_id": "999"}, {"start": "25:99"}, {}):
        response = client.post(
            f"/board/{DAY}/visits/{world.visits[0]}/pin", data={"csrf_token": token, **data}
        )
        assert response.status_code == 302
    missing = client.post(f"/board/{DAY}/visits/999/pin", data={"csrf_token": token})
    assert missing.status_code == 404
    with Session(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None and visit.pinned_staff_id is None and visit.pinned_start is None
        assert len(list(s.exec(select(DailyPlan)))) == 1


def test_reoptimize_and_review_the_difference_before_approval(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    client, token = client_for("dispatcher")
    # mark the first plan approved, as the planning workflow would
    with session_scope(sqlite_engine) as s:
        plan = s.get(DailyPlan, world.plan_id)
        assert plan is not None
        plan.status = "approved"
        plan.approved_at = datetime.now(UTC)
    response = client.post(f"/board/{DAY}/optimize", data={"csrf_token": token})
    new_plan = int(response.location.rsplit("plan=", 1)[1])
    html = client.get(response.location).get_data(as_text=True)
    assert f'href="/board/{DAY}/approve?plan={new_plan}"' in html
    review = client.get(f"/board/{DAY}/approve?plan={new_plan}").get_data(as_text=True)
    assert "Changes compared with the approved plan v1" in review
    # without ?plan= the review shows the day's newest draft; another day's plan is not found
    plain = client.get(f"/board/{DAY}/approve").get_data(as_text=True)
    assert f'name="plan_id" value="{new_plan}"' in plain and "Eva Pons" in plain
    assert client.get(f"/board/{NEXT_DAY}/approve?plan={new_plan}").status_code == 404
    assert client.get(f"/board/{NEXT_DAY}/approve").status_code == 404
    # the loose visit is new in this plan; each line names the customer
    assert "New in this plan" in review and "Eva Pons" in review
    assert 'id="approve"' in review
    assert "Temporal is not reachable: the plan cannot be approved right now." in review
    # approving without Temporal: refused with a clear message, the draft stays a draft
    refused = client.post(f"/board/{DAY}/approve", data={"csrf_token": token, "plan_id": new_plan})
    assert refused.status_code == 302
    page = client.get(refused.location).get_data(as_text=True)
    assert any("Temporal" in m for m in flashes(page))
    with Session(sqlite_engine) as s:
        assert s.get(DailyPlan, new_plan).status == "draft"  # type: ignore[union-attr]


def test_board_without_plan_and_bad_dates(client_for) -> None:
    client, _ = client_for("dispatcher")
    html = client.get(f"/board/{NEXT_DAY}").get_data(as_text=True)
    assert "There is no plan for this day yet." in html
    assert f'href="/board/{PLAN_DAY}" title="Previous day"' in html
    assert client.get("/board/not-a-day").status_code == 404
    assert client.get(f"/board/{DAY}?plan=999").status_code == 404
    assert client.get(f"/?day={NEXT_DAY}").location.endswith(f"/board/{NEXT_DAY}")


def test_board_opens_on_the_next_working_day_whose_draft_waits(
    client_for, sqlite_engine: Engine, world: World, monkeypatch
) -> None:
    """The afternoon's draft for the next working day is where the dispatcher has work; a
    day of its own with a draft, an approved plan next or nothing to approve keeps today."""
    from web.blueprints import board

    monday, friday = PLAN_DAY - timedelta(days=1), PLAN_DAY - timedelta(days=4)
    with Session(sqlite_engine) as s:
        # the world's draft for Tuesday waits: Monday opens on it, Friday does not
        assert opening_day(s, monday) == PLAN_DAY
        assert opening_day(s, friday) == friday
        assert opening_day(s, PLAN_DAY) == PLAN_DAY
    client, _ = client_for("dispatcher")
    monkeypatch.setattr(board, "business_today", lambda: monday)
    assert client.get("/").location.endswith(f"/board/{DAY}")
    with session_scope(sqlite_engine) as s:
        s.add(DailyPlan(plan_date=monday, version=1, status=PlanStatus.DRAFT.value))
    assert client.get("/").location.endswith(f"/board/{monday}")  # today's own draft first
    with session_scope(sqlite_engine) as s:
        for plan in s.exec(select(DailyPlan)):
            plan.status = PlanStatus.APPROVED.value
    assert client.get("/").location.endswith(f"/board/{monday}")  # nothing waits: today
    assert client.get(f"/?day={NEXT_DAY}").location.endswith(f"/board/{NEXT_DAY}")


def test_map_projection_scale_and_tiles() -> None:
    from web.board_view import _Projection

    # two points 0.1 degree of longitude apart at 39.47 N: about 8.6 km
    proj = _Projection([(39.47, -0.40), (39.47, -0.30)], 800, 560)
    (x1, y1), (x2, y2) = proj(39.47, -0.40), proj(39.47, -0.30)
    assert y1 == y2 and 0 < x1 < x2 < 800
    px, label = proj.scale_bar()
    km = float(label.split()[0]) if label.endswith(" km") else float(label.split()[0]) / 1000
    assert abs((x2 - x1) / px * km - 8.59) < 0.2  # the bar measures what the map shows
    tiles = proj.tiles("http://tiles.local/{z}/{x}/{y}.png")
    assert tiles and all(t.href.startswith(f"http://tiles.local/{proj.zoom}/") for t in tiles)
    assert proj.tiles("") == []


def test_pages_on_both_databases(settings, engine: Engine) -> None:
    """The board, its status, the review and the office pages on SQLite and PostgreSQL."""
    from tests.web.conftest import login, make_app
    from tests.web.factories import make_world

    w = make_world(engine)
    app = make_app(settings, engine)
    client = app.test_client()
    login(client, w.users["dispatcher"])
    html = client.get(f"/board/{DAY}").get_data(as_text=True)
    assert len(blocks(html)) == 2 and "No technician with the skill boiler" in html
    assert client.get(f"/board/{DAY}/status.json").get_json()["plan_id"] == w.plan_id
    review = client.get(f"/board/{DAY}/approve?plan={w.plan_id}").get_data(as_text=True)
    assert "Carmen Ruiz" in review and "Eva Pons" in review  # new, and left out
    for path in ("/sales/?q=carmen", "/visits/?call=1", "/staff/", f"/sales/{w.sales[0]}"):
        assert client.get(path).status_code == 200, path
    with session_scope(engine) as s:  # a failed visit waiting for a decision, since when
        set_status(s, w.visits[0], "failed", "workflow:visit", needs_phone_call=True)
    waiting = client.get("/sales/?decision=1&q=carmen").get_data(as_text=True)
    assert re.findall(r'href="/sales/(\d+)"', waiting) == [str(w.sales[0])]
    assert re.search(r'class="waiting-since">\d{4}-\d\d-\d\d \d\d:\d\d<', waiting)


def test_the_board_follows_the_day_as_technicians_check_in_and_report(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """A checked-in visit shows as on site, a reported one as done, on the page and in the
    status the board polls; the day's figure counts them."""
    client, _ = client_for("dispatcher")
    before = client.get(f"/board/{DAY}/status.json").get_json()
    assert (before["progress"], before["done"], before["on_site"]) == ({}, 0, 0)
    with session_scope(sqlite_engine) as s:
        ana_visit = s.get(Visit, world.visits[0])
        assert ana_visit is not None
        ana_visit.arrived_at = at(PLAN_DAY, 9, 5)
    with session_scope(sqlite_engine) as s:
        set_status(s, world.visits[1], "completed", "workflow", note="hecho")
    status = client.get(f"/board/{DAY}/status.json").get_json()
    assert status["progress"] == {str(world.visits[0]): "on_site", str(world.visits[1]): "done"}
    assert (status["done"], status["on_site"]) == (1, 1)
    html = client.get(f"/board/{DAY}").get_data(as_text=True)
    progress = dict(re.findall(r'data-visit="(\d+)"[^>]*data-progress="([^"]*)"', html))
    assert progress == {str(world.visits[0]): "on_site", str(world.visits[1]): "done"}
    assert re.search(r'id="fig-done">1</span>/2</b><span>reported · <span id="fig-on-site">1<',
                     html)  # fmt: skip


def test_the_board_warns_of_customers_a_late_route_will_reach_after_their_window(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """Ana checked in 50 min late at her 09:00 visit; her 11:00 visit was promised until 11:30:
    the board says she is running late and names that customer, with a link to text them; the
    status it polls says the same."""
    ana = world.staff["ana"]
    with session_scope(sqlite_engine) as s:
        moved = s.exec(select(PlanStop).where(PlanStop.visit_id == world.visits[1])).one()
        moved.staff_id, moved.sequence = ana, 3
        moved.arrival, moved.start, moved.end = (  # no waiting planned before it
            at(PLAN_DAY, 11),
            at(PLAN_DAY, 11),
            at(PLAN_DAY, 12),
        )
        moved.window_start, moved.window_end = at(PLAN_DAY, 9, 30), at(PLAN_DAY, 11, 30)
        first = s.get(Visit, world.visits[0])
        assert first is not None
        first.arrived_at = at(PLAN_DAY, 9, 50)
    client, _ = client_for("dispatcher")
    html = client.get(f"/board/{DAY}").get_data(as_text=True)
    late = re.search(rf'data-late-staff="{ana}">([^<]*)<', html)
    assert late is not None and late.group(1) == "running 50 min late"
    risk = re.search(r'id="at-risk">\s*<p>([^<]*)</p>\s*<ul><li>([^<]*)<a href="([^"]*)"', html)
    assert risk is not None
    assert risk.group(1) == "1 customer will likely see the technician after the promised window:"
    assert risk.group(2) == (
        f"#{world.visits[1]} David Soler · Ana Técnica · "
        "promised until 11:30, about 20 min later · "
    )
    assert risk.group(3) == f"/sales/{world.sales[1]}?eta=11:50#sms-form"
    sale_page = client.get(risk.group(3)).get_data(as_text=True)  # the message, ready to send
    assert re.search(
        r'<textarea name="text" maxlength="480" required autofocus>El técnico va con '
        r"retraso: llegará hacia las 11:50\. Disculpe",
        sale_page,
    )
    unread = client.get(f"/sales/{world.sales[1]}?eta=25:00").get_data(as_text=True)
    assert '<textarea name="text" maxlength="480" required></textarea>' in unread  # no such time
    assert re.search(rf'class="tl-block training[^"]* at-risk"[^>]*data-visit="{world.visits[1]}"',
                     html)  # fmt: skip
    status = client.get(f"/board/{DAY}/status.json").get_json()
    assert status["late"] == {str(ana): 50} and status["at_risk"] == {str(world.visits[1]): 20}


def test_today_the_board_knows_a_technician_still_on_site_is_late(
    client_for, world: World, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today: Ana checked in at her visit on time, planned to end 40 min ago, and has not
    reported it; her next customer (planned in 5 min, promised until 20 min from now) will
    likely wait. The same plan on another day says nothing: only today does time pass."""
    from tests.web.factories import TZ

    now = datetime.now(UTC)
    today = now.astimezone(TZ).date()
    ana = world.staff["ana"]
    with session_scope(sqlite_engine) as s:
        plan = s.get(DailyPlan, world.plan_id)
        assert plan is not None
        plan.plan_date = today
        first = s.exec(select(PlanStop).where(PlanStop.visit_id == world.visits[0])).one()
        first.arrival = first.start = now - timedelta(minutes=90)
        first.end = now - timedelta(minutes=40)
        nxt = s.exec(select(PlanStop).where(PlanStop.visit_id == world.visits[1])).one()
        nxt.staff_id, nxt.sequence = ana, 3
        nxt.arrival = nxt.start = now + timedelta(minutes=5)
        nxt.end, nxt.window_end = now + timedelta(minutes=65), now + timedelta(minutes=20)
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.status, visit.arrived_at = "confirmed", now - timedelta(minutes=90)
    client, _ = client_for("dispatcher")
    status = client.get(f"/board/{today.isoformat()}/status.json").get_json()
    assert (status["late"], status["at_risk"]) == ({str(ana): 40}, {str(world.visits[1]): 25})
    html = client.get(f"/board/{today.isoformat()}").get_data(as_text=True)
    assert re.search(rf'data-late-staff="{ana}">running 40 min late<', html)
    assert "texted at" not in html
    # a "now" line on the header and on each route, where the clock stands
    timeline = re.search(r'id="timeline" data-start-minute="(\d+)" data-span-minutes="(\d+)" '
                         r'data-now-minute="(\d+)"', html)  # fmt: skip
    assert timeline is not None
    start, span, minute = (int(g) for g in timeline.groups())
    local = datetime.now(UTC).astimezone(TZ)
    assert abs(minute - (local.hour * 60 + local.minute)) <= 1
    # where the line stands, with the board's clock at noon (on the timeline at any hour CI runs)
    noon = datetime.combine(today, datetime.min.time(), TZ).replace(hour=12)
    monkeypatch.setattr(board_blueprint, "_clock", lambda day: noon if day == today else None)
    html = client.get(f"/board/{today.isoformat()}").get_data(as_text=True)
    monkeypatch.undo()
    timeline = re.search(r'id="timeline" data-start-minute="(\d+)" data-span-minutes="(\d+)" '
                         r'data-now-minute="(\d+)"', html)  # fmt: skip
    assert timeline is not None
    start, span, minute = (int(g) for g in timeline.groups())
    assert minute == 12 * 60
    lines = re.findall(r'<span class="tl-now" style="left:([\d.]+)%"', html)
    assert len(lines) == 2  # the hours and Ana's route
    assert {float(x) for x in lines} == {round((minute - start) * 100 / span, 3)}
    told = now - timedelta(minutes=3)  # the office texted David; his reply does not count
    with session_scope(sqlite_engine) as s:
        david = s.exec(select(Sale.customer_id).where(Sale.id == world.sales[1])).one()
        for direction, template in (("outbound", "office_message"), ("inbound", None)):
            s.add(SmsMessage(direction=direction, customer_id=david, template=template,
                             to_number="+34600000000", from_number="+34600000001", body="...",
                             created_at=told if template else now))  # fmt: skip
    html = client.get(f"/board/{today.isoformat()}").get_data(as_text=True)
    expected = told.astimezone(TZ).strftime("%H:%M")
    assert f'<span class="muted texted">(texted at {expected})</span>' in html
    with session_scope(sqlite_engine) as s:
        plan = s.get(DailyPlan, world.plan_id)
        assert plan is not None
        plan.plan_date = today + timedelta(days=1)
    status = client.get(f"/board/{(today + timedelta(days=1)).isoformat()}/status.json")
    assert (status.get_json()["late"], status.get_json()["at_risk"]) == ({}, {})
    other_day = client.get(f"/board/{(today + timedelta(days=1)).isoformat()}")
    assert "tl-now" not in other_day.get_data(as_text=True)


def test_the_week_shows_each_days_plan_visits_and_staff(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """The plan day has a draft placing two visits and leaving one out; Ana is off the day
    after; the other days have no plan. Each row links to its board."""
    from datetime import date

    from domain.models import StaffAbsence

    with session_scope(sqlite_engine) as s:
        s.add(StaffAbsence(staff_id=world.staff["ana"], starts_on=NEXT_DAY, ends_on=NEXT_DAY,
                           reason="holiday"))  # fmt: skip
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.status = "confirmed"
    client, _ = client_for("dispatcher")
    html = client.get(f"/board/week?from={DAY}").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-day="([\d-]+)"[^>]*>(.*?)</tr>', html, re.S))
    assert list(rows) == [(PLAN_DAY + timedelta(days=i)).isoformat() for i in range(7)]
    cells = [re.sub(r"<[^>]+>", "", c).strip()
             for c in re.findall(r"<td>(.*?)</td>", rows[DAY], re.S)]  # fmt: skip
    assert cells[1:6] == ["draft v1 Review and approve", "2", "1", "1", "0"]
    assert f'href="/board/{DAY}"' in rows[DAY]

    def staff_cell(day: date) -> str:
        return re.sub(r"<[^>]+>", "", re.findall(r"<td>(.*?)</td>", rows[day.isoformat()],
                                                 re.S)[-1]).strip()  # fmt: skip

    assert "(1 off)" in staff_cell(NEXT_DAY) and "off" not in staff_cell(PLAN_DAY)
    other = re.findall(r"<td>(.*?)</td>", rows[(PLAN_DAY + timedelta(days=3)).isoformat()], re.S)
    assert "no plan yet" in other[1]
    assert client.get("/board/week?from=soon").status_code == 404
    assert client.get("/board/week").status_code == 200


def test_a_visit_on_the_way_shows_the_arrival_announced(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    """Ana told her 09:00 customer she arrives around 09:20: the visit's block says so, and the
    route is running 20 min late."""
    with session_scope(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.expected_at = at(PLAN_DAY, 9, 20)
    client, _ = client_for("dispatcher")
    html = client.get(f"/board/{DAY}").get_data(as_text=True)
    block = re.search(rf'<span class="tl-block[^"]*"[^>]*data-visit="{world.visits[0]}"[^>]*'
                      r'title="([^"]*)"', html, re.S)  # fmt: skip
    assert block is not None and block.group(1).endswith("on the way, arriving around 09:20")
    assert re.search(rf'data-late-staff="{world.staff["ana"]}">running 20 min late<', html)


def test_re_optimizing_today_says_what_stays_as_it_was(
    client_for, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 10:00 the dispatcher re-optimizes today: the board says what the draft kept."""
    import planning.service
    from tests.web.factories import TZ

    today = datetime.now(TZ).date()
    ten = datetime.combine(today, datetime.min.time(), TZ).replace(hour=10)
    monkeypatch.setattr(planning.service, "utcnow", lambda: ten.astimezone(UTC))
    client, token = client_for("dispatcher")
    response = client.post(f"/board/{today.isoformat()}/optimize", data={"csrf_token": token})
    said = flashes(client.get(response.location).get_data(as_text=True))
    assert "Today: what starts before 10:30, and every visit checked in, stays with its " \
           "technician, later where the route runs late; nothing else is placed earlier." \
           in said  # fmt: skip
    later = client.post(f"/board/{NEXT_DAY.isoformat()}/optimize", data={"csrf_token": token})
    assert not any(m.startswith("Today") for m in flashes(
        client.get(later.location).get_data(as_text=True)))  # fmt: skip


def test_re_optimizing_today_names_the_routes_planned_with_their_delay(
    client_for, world: World, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ana checked in 20 min late at her 09:00 install (the approved plan's); at 10:00 the
    dispatcher re-optimizes: the board says her route is planned with that delay."""
    import planning.service

    with session_scope(sqlite_engine) as s:
        plan = s.get(DailyPlan, world.plan_id)
        assert plan is not None
        plan.status = PlanStatus.APPROVED.value
        visit = s.get(Visit, world.visits[0])
        assert visit is not None
        visit.arrived_at = at(PLAN_DAY, 9, 20)
    monkeypatch.setattr(planning.service, "utcnow", lambda: at(PLAN_DAY, 10, 0))
    client, token = client_for("dispatcher")
    response = client.post(f"/board/{DAY}/optimize", data={"csrf_token": token})
    said = flashes(client.get(response.location).get_data(as_text=True))
    assert "Running late, planned with the delay: Ana Técnica (20 min)." in said
    assert not any(m.startswith("Too late to fit the day") for m in said)
