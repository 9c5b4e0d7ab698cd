"""The board in a real browser (Debian's Chromium, headless, driven by Playwright): log in, draft
a plan, see routes and unassigned visits, pin a visit, watch a confirmation arrive, approve.
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain.db import session_scope
from domain.models import DailyPlan, Visit, VisitKind
from domain.schemas import VisitIn
from domain.services import request_visit
from posventa.config import Settings
from tests.web.conftest import make_app
from tests.web.factories import PASSWORD, PLAN_DAY, make_world
from tests.web.live_server import CHROMIUM, CHROMIUM_ARGS, serve

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DAY = PLAN_DAY.isoformat()

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def test_dispatcher_drafts_pins_and_approves_in_the_browser(
    sqlite_engine: Engine, temporal_with_worker: tuple[str, Settings]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    address, cfg = temporal_with_worker
    world = make_world(sqlite_engine, with_plan=False)
    with session_scope(sqlite_engine) as s:  # a visit nobody can do: stays unassigned
        solar = request_visit(
            s,
            VisitIn(sale_id=world.sales[0], kind=VisitKind.REPAIR, business_key="solar-1",
                    duration_minutes=60, required_skills=["solar"], earliest_date=PLAN_DAY),
        )  # fmt: skip
        solar_id = solar.id
    app = make_app(cfg, sqlite_engine, temporal_address=address, BOARD_POLL_SECONDS=1)
    ARTIFACTS.mkdir(exist_ok=True)
    with serve(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 950}, locale="en-GB")
        page.set_default_timeout(60_000)
        errors: list[str] = []  # console errors, e.g. a Content-Security-Policy violation
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/board/{DAY}")
        expect(page).to_have_url(f"{base}/login?next=/board/{DAY}")
        page.fill("input[name=email]", world.users["dispatcher"])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_contain_text("Plan board")
        expect(page.get_by_text("There is no plan for this day yet.")).to_be_visible()

        # draft: the day's planning workflow runs the optimizer
        page.click("#optimize")
        expect(page.locator(".flash-success")).to_contain_text("New draft plan")
        expect(page.locator("#map polyline")).to_have_count(2)
        expect(page.locator(".tl-block")).to_have_count(3)
        unassigned = page.locator(f'#unassigned li[data-visit="{solar_id}"]')
        expect(unassigned).to_contain_text("no staff member has skill solar")
        # every hour's label reads inside the timeline, none over its neighbour's
        hours = page.locator(".tl-hours .tl-track")
        track_box = hours.bounding_box()
        assert track_box is not None
        labels = [
            box
            for box in (label.bounding_box() for label in hours.locator(".tl-hour > span").all())
            if box is not None
        ]
        assert len(labels) >= 9
        assert labels[0]["x"] >= track_box["x"] - 0.5
        assert labels[-1]["x"] + labels[-1]["width"] <= track_box["x"] + track_box["width"] + 0.5
        for left, right in zip(labels, labels[1:], strict=False):
            assert left["x"] + left["width"] <= right["x"]
        page.screenshot(path=str(ARTIFACTS / "board-draft.png"), full_page=True)

        # pin Carmen's installation to 11:30 by clicking its block, then re-plan
        page.click(f'.tl-block[data-visit="{world.visits[0]}"]')
        expect(page.locator("#pin-visit")).to_have_value(str(world.visits[0]))
        page.fill("#pin-start", "11:30")
        page.click("#pin-submit")
        expect(page.locator(".flash-success")).to_contain_text("New draft plan")
        pinned = page.locator(f'.tl-block[data-visit="{world.visits[0]}"]')
        expect(pinned).to_have_attribute("data-start", "11:30")
        expect(pinned).to_have_class("tl-block installation pinned")

        # drag Eva's installation along Ana's row to 14:00: pinned there, re-planned
        timeline = page.locator("#timeline")
        first_minute = int(timeline.get_attribute("data-start-minute") or 0)
        span = int(timeline.get_attribute("data-span-minutes") or 1)
        track = page.locator(f'.tl-row[data-staff="{world.staff["ana"]}"] .tl-track')
        box = track.bounding_box()
        assert box is not None
        x = (14 * 60 - first_minute) / span * box["width"] + 1
        page.locator(f'.tl-block[data-visit="{world.visits[2]}"]').drag_to(
            track, target_position={"x": x, "y": box["height"] / 2}
        )
        expect(page.locator(".flash-success")).to_contain_text("New draft plan")
        dragged = page.locator(f'.tl-block[data-visit="{world.visits[2]}"]')
        expect(dragged).to_have_attribute("data-start", "14:00")
        expect(dragged).to_have_attribute("data-staff", str(world.staff["ana"]))

        # a customer confirms meanwhile: the board follows without a reload
        with session_scope(sqlite_engine) as s:
            s.get(Visit, world.visits[1]).status = "confirmed"  # type: ignore[union-attr]
        expect(page.locator(f'.tl-block[data-visit="{world.visits[1]}"]')).to_have_class(
            "tl-block training confirmed"
        )
        expect(page.locator("#fig-confirmed")).to_have_text("33%")
        page.screenshot(path=str(ARTIFACTS / "board-pinned.png"), full_page=True)

        # review the difference, then approve through the workflow
        page.click("#review-approve")
        expect(page.locator("#plan-diff")).to_contain_text("New in this plan")
        expect(page.locator("#left-out")).to_contain_text("no staff member has skill solar")
        page.screenshot(path=str(ARTIFACTS / "board-review.png"), full_page=True)
        page.click("#approve")
        expect(page.locator(".flash-success")).to_contain_text("Plan approved")
        expect(page.locator("#plan-status")).to_contain_text("approved")
        page.screenshot(path=str(ARTIFACTS / "board-approved.png"), full_page=True)

        # the language switch (a script, not an inline handler) turns the board Spanish
        page.select_option("select[name=locale]", "es")
        expect(page.locator("h1")).to_contain_text("Tablero del plan")
        browser.close()
    assert errors == []
    app.extensions["posventa.workflows"].close()
    with Session(sqlite_engine) as s:
        approved = s.exec(select(DailyPlan).where(DailyPlan.status == "approved")).one()
        visit = s.get(Visit, world.visits[0])
        assert visit is not None and visit.planned_start is not None
        assert approved.approved_by == world.users["dispatcher"]
