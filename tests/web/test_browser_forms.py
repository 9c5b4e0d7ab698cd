"""Forms in a real browser (Debian's Chromium, headless): what a dispatcher sees lines up."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from posventa.config import Settings
from tests.web.conftest import make_app
from tests.web.factories import PASSWORD, make_world
from tests.web.live_server import CHROMIUM, CHROMIUM_ARGS, serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def test_a_staff_members_working_days_read_as_one_row_of_ticks(
    settings: Settings, sqlite_engine: Engine
) -> None:
    from playwright.sync_api import expect, sync_playwright

    world = make_world(sqlite_engine, with_plan=False)
    app = make_app(settings, sqlite_engine)
    with serve(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
        page.goto(f"{base}/login")
        page.fill("input[name=email]", world.users["dispatcher"])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/staff/{world.staff['ana']}/edit")
        expect(page.locator("h1")).to_contain_text("Edit Ana Técnica")
        ticks = page.locator("#working-days input[type=checkbox]")
        expect(ticks).to_have_count(7)
        boxes = [b for b in (t.bounding_box() for t in ticks.all()) if b is not None]
        labels = [b for b in (t.bounding_box() for t in page.locator("#working-days label").all())
                  if b is not None]  # fmt: skip
        browser.close()
    assert len(boxes) == len(labels) == 7
    assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < 2  # one row
    assert all(b["width"] < 40 for b in boxes)  # a tick, not a full-width field
    # each tick sits inside its day's label, left to right in weekday order
    pairs = zip(boxes, labels, strict=True)
    assert all(lab["x"] <= box["x"] < lab["x"] + lab["width"] for box, lab in pairs)
    assert [b["x"] for b in boxes] == sorted(b["x"] for b in boxes)
