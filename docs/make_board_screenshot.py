"""Make ``docs/board.png``: the plan board on the demo company's next working day.

Seeds the demo data into a temporary SQLite database, drafts the day's plan with the real
optimizer, approves it, lets a third of the customers confirm, and photographs the board in
headless Chromium (Debian's ``/usr/bin/chromium``)::

    .venv/bin/python docs/make_board_screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, select  # noqa: E402

from domain.db import make_engine, session_scope  # noqa: E402
from domain.demo import next_working_day, seed_demo  # noqa: E402
from domain.migrate import upgrade  # noqa: E402
from domain.models import PlanStop, Visit  # noqa: E402
from planning.service import approve_plan, draft_plan  # noqa: E402
from posventa.config import Settings  # noqa: E402
from tests.web.live_server import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402
from web import create_app  # noqa: E402


def request_day_visits(engine, day) -> None:  # type: ignore[no-untyped-def]
    """What the sale lifecycles would have requested by now: one visit per active sale."""
    from domain.models import Product, Sale, VisitKind
    from domain.schemas import VisitIn
    from domain.services import request_visit

    with session_scope(engine) as s:
        rows = s.exec(
            select(Sale, Product).where(Sale.product_id == Product.id, Sale.status == "active")
        ).all()
        for n, (sale, product) in enumerate(rows):
            options = [
                (VisitKind.INSTALLATION, product.installation_minutes, product.installation_skill),
                (VisitKind.TRAINING, product.training_minutes, product.training_skill),
                (VisitKind.MAINTENANCE, product.maintenance_minutes, product.maintenance_skill),
                (VisitKind.REPAIR, product.repair_minutes, product.repair_skill),
            ]
            usable = [o for o in options if o[1] and o[2]]
            if not usable:
                continue
            kind, minutes, skill = usable[n % len(usable)]
            request_visit(
                s,
                VisitIn(sale_id=sale.id, kind=kind, business_key=f"shot-{sale.id}",
                        duration_minutes=minutes, required_skills=[skill], earliest_date=day,
                        priority=40 + (n * 7) % 50),
            )  # fmt: skip


def main() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="posventa-shot-"))
    url = f"sqlite:///{tmp / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    settings = Settings(data_dir=tmp, database_url=url, secret_key="shot", testing=True)
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    seeded = seed_demo(engine, today=today)
    email, password = next(
        line.split() for line in seeded.logins or [] if line.startswith("dispatcher@")
    )
    day = next_working_day(today)
    request_day_visits(engine, day)
    draft = draft_plan(engine, settings, day, 15.0)
    approve_plan(engine, draft.plan_id, "dispatcher@posventa.demo")
    with session_scope(engine) as s:  # a third of the customers have answered "SÍ"
        stops = s.exec(
            select(PlanStop).where(PlanStop.plan_id == draft.plan_id, PlanStop.kind == "visit")
        ).all()
        for stop in stops[::3]:
            visit = s.get(Visit, stop.visit_id)
            assert visit is not None
            visit.status = "confirmed"
    app = create_app(settings)
    with Session(engine):
        pass
    out = ROOT / "docs" / "board.png"
    with serve(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 900}, locale="es-ES")
        page.goto(f"{base}/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.goto(f"{base}/board/{day.isoformat()}")
        page.screenshot(path="/tmp/dbg.png", full_page=True)
        page.wait_for_selector("#map polyline", state="attached")
        page.screenshot(path="/tmp/dbg.png", full_page=True)
        page.screenshot(path=str(out), full_page=True)
        browser.close()
    print(f"wrote {out} ({draft.assigned} visits planned, {draft.unassigned} unassigned)")


if __name__ == "__main__":
    main()
