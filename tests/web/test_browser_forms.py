"""Forms in a real browser (Debian's Chromium, headless): what a dispatcher sees lines up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from posventa.config import Settings
from tests.web.conftest import make_app
from tests.web.factories import PASSWORD, World, make_world
from tests.web.live_server import CHROMIUM, CHROMIUM_ARGS, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


@contextmanager
def signed_in(
    settings: Settings,
    engine: Engine,
    role: str,
    with_plan: bool = False,
    app_config: dict[str, Any] | None = None,
    **page_options: Any,
) -> Iterator[tuple[Any, str, World]]:
    """A headless Chromium page signed in as ``role`` on a live app; (page, base URL, world).
    ``app_config`` goes to the app's config, ``page_options`` to Playwright's ``new_page``
    (geolocation, permissions, ...)."""
    from playwright.sync_api import sync_playwright

    world = make_world(engine, with_plan=with_plan)
    app = make_app(settings, engine, **(app_config or {}))
    with serve(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(
            viewport={"width": 1200, "height": 900}, locale="en-GB", **page_options
        )
        page.goto(f"{base}/login")
        page.fill("input[name=email]", world.users[role])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        try:
            yield page, base, world
        finally:
            browser.close()


def test_a_staff_members_working_days_read_as_one_row_of_ticks(
    settings: Settings, sqlite_engine: Engine
) -> None:
    from playwright.sync_api import expect

    with signed_in(settings, sqlite_engine, "dispatcher") as (page, base, world):
        page.goto(f"{base}/staff/{world.staff['ana']}/edit")
        expect(page.locator("h1")).to_contain_text("Edit Ana Técnica")
        ticks = page.locator("#working-days input[type=checkbox]")
        expect(ticks).to_have_count(7)
        boxes = [b for b in (t.bounding_box() for t in ticks.all()) if b is not None]
        labels = [b for b in (t.bounding_box() for t in page.locator("#working-days label").all())
                  if b is not None]  # fmt: skip
    assert len(boxes) == len(labels) == 7
    assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < 2  # one row
    assert all(b["width"] < 40 for b in boxes)  # a tick, not a full-width field
    # each tick sits inside its day's label, left to right in weekday order
    pairs = zip(boxes, labels, strict=True)
    assert all(lab["x"] <= box["x"] < lab["x"] + lab["width"] for box, lab in pairs)
    assert [b["x"] for b in boxes] == sorted(b["x"] for b in boxes)


def test_account_pages_show_only_what_the_user_fills_in_and_rows_line_up(
    settings: Settings, sqlite_engine: Engine
) -> None:
    from playwright.sync_api import expect

    with signed_in(settings, sqlite_engine, "admin") as (page, base, _world):
        page.click("a.who")  # one's name leads to the password page
        expect(page.locator("h1")).to_have_text("Change your password")
        # the username is there for password managers, not on screen
        expect(page.locator("#password-form input[autocomplete=username]")).to_be_hidden()
        expect(page.locator("#password-form input:visible")).to_have_count(3)
        page.goto(f"{base}/admin/users")
        rows = page.locator("#accounts tbody tr").all()
        cells = [[c.bounding_box() for c in row.locator("td").all()] for row in rows]
    assert len(cells) == 4
    for row in cells:  # every cell of a row starts and ends with the row
        assert all(c is not None for c in row)
        tops = {round(c["y"]) for c in row}  # type: ignore[index]
        heights = {round(c["height"]) for c in row}  # type: ignore[index]
        assert len(tops) == 1 and len(heights) == 1, row


def test_an_admins_navigation_fits_one_row_and_its_menu_opens_and_closes(
    settings: Settings, sqlite_engine: Engine
) -> None:
    """At a laptop's width the admin's links fit one row: the administration pages are one
    menu, which opens on a click, leads to its pages and closes on a click elsewhere."""
    from playwright.sync_api import expect

    with signed_in(settings, sqlite_engine, "admin") as (page, _base, _world):
        page.set_viewport_size({"width": 1366, "height": 800})
        links = page.locator(".mainnav > a, .mainnav > details > summary")
        tops = {round(b["y"]) for b in (a.bounding_box() for a in links.all()) if b is not None}
        assert len(tops) == 1, tops
        audit = page.get_by_role("link", name="Audit log")
        expect(audit).to_be_hidden()
        page.click("#admin-menu summary")
        expect(audit).to_be_visible()
        page.click("main")
        expect(audit).to_be_hidden()
        page.click("#admin-menu summary")
        audit.click()
        expect(page.locator("h1")).to_contain_text("Audit log")
        expect(page.locator("#admin-menu summary")).to_have_class("active")


@pytest.mark.parametrize("shared", [True, False], ids=["position-shared", "position-refused"])
def test_im_here_sends_the_phones_position_when_the_technician_shares_it(
    settings: Settings, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, shared: bool
) -> None:
    """Ana's phone is 2.2 km north of Carmen's address: "I'm here" asks the browser where it
    is and she is told. A phone that refuses checks in all the same, without a distance."""
    from playwright.sync_api import expect

    from domain.db import session_scope
    from domain.models import Visit
    from tests.web.factories import TZ
    from tests.web.test_staff_visits import on_anas_route
    from web.blueprints import mobile

    noon = datetime.now(TZ).replace(hour=12, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(mobile, "local_now", lambda tz: noon.astimezone(tz))
    options: dict[str, Any] = {"geolocation": {"latitude": 39.48, "longitude": -0.37,
                                               "accuracy": 20}}  # fmt: skip
    if shared:
        options["permissions"] = ["geolocation"]
    with signed_in(settings, sqlite_engine, "technician", with_plan=True, **options) as (
        page, base, world
    ):  # fmt: skip
        on_anas_route(sqlite_engine, world, noon)
        page.goto(f"{base}/me/")
        page.get_by_role("button", name="I'm here").click()
        expect(page.locator(".flash-success")).to_contain_text("Arrival at 12:00 recorded.")
        away = page.locator(".flash-info")
        if shared:
            expect(away).to_contain_text("Your phone places you 2.2 km from the customer's")
        else:
            expect(away).to_have_count(0)
    with session_scope(sqlite_engine) as s:
        visit = s.get(Visit, world.visits[0])
        assert visit is not None and visit.arrived_at is not None
        assert visit.arrival_distance_m == (2224 if shared else None)


def test_the_phone_page_says_when_the_office_changed_the_route(
    settings: Settings, sqlite_engine: Engine
) -> None:
    """Ana has her route open; the office moves her visit: within a poll the page says so, and
    its link shows the new time."""
    from playwright.sync_api import expect

    from domain.db import session_scope
    from domain.models import Visit
    from tests.web.factories import PLAN_DAY, at

    config = {"ROUTE_POLL_SECONDS": 1}
    with signed_in(settings, sqlite_engine, "technician", with_plan=True, app_config=config) as (
        page, base, world
    ):  # fmt: skip
        page.goto(f"{base}/me/?day={PLAN_DAY.isoformat()}")
        notice = page.locator("#route-changed")
        expect(page.locator(f"#stop-{world.visits[0]} > b")).to_have_text("09:00")
        page.wait_for_timeout(1500)
        expect(notice).to_be_hidden()  # polled: nothing changed
        with session_scope(sqlite_engine) as s:
            visit = s.get(Visit, world.visits[0])
            assert visit is not None
            visit.planned_start = at(PLAN_DAY, 11)
        expect(notice).to_be_visible(timeout=10_000)
        notice.get_by_role("link", name="Show the new route").click()
        expect(page.locator(f"#stop-{world.visits[0]} > b")).to_have_text("11:00")
        expect(notice).to_be_hidden()
