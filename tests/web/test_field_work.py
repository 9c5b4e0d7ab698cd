"""Field work: punctuality and time on site over a period (both databases), and its page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict

from domain.db import session_scope
from domain.models import Product, Visit, VisitKind
from domain.schemas import VisitIn
from domain.services import request_visit
from tests.web.factories import TZ, World, at, make_world
from web.field_report import FieldFilter, Tally, summarise
from web.periods import BadPeriod

TODAY = datetime.now(TZ).date()
YESTERDAY = TODAY - timedelta(days=1)


def _report(engine: Engine, visit_id: int, staff_id: int, status: str, start: datetime,
            late: int | None = None, on_site: int | None = None) -> None:  # fmt: skip
    """The visit planned at ``start`` with a two-hour window from it, reported ``status``;
    checked in ``late`` minutes after the window (negative: inside it), on site ``on_site``."""
    with session_scope(engine) as s:
        visit = s.get(Visit, visit_id)
        assert visit is not None
        visit.status, visit.assigned_staff_id, visit.planned_start = status, staff_id, start
        visit.promised_window_start = start
        visit.promised_window_end = start + timedelta(hours=2)
        if late is not None:
            visit.arrived_at = visit.promised_window_end + timedelta(minutes=late)
            if on_site is not None:
                visit.finished_at = visit.arrived_at + timedelta(minutes=on_site)


def _extra_installation(engine: Engine, w: World, n: int) -> int:
    with session_scope(engine) as s:
        visit = request_visit(s, VisitIn(
            sale_id=w.sales[0], kind=VisitKind.INSTALLATION, business_key=f"extra-{n}",
            duration_minutes=90, earliest_date=TODAY - timedelta(days=60),
        ))  # fmt: skip
        s.flush()
        assert visit.id is not None
        return visit.id


def reported(engine: Engine, w: World) -> None:
    """Ana: Carmen's installation (90 min planned) yesterday, checked in 30 min after the
    window, 120 min on site; Eva's installation yesterday afternoon failed, no check-in.
    Bea: David's training (60 min) three days ago, in the window, 60 min on site. Ana, forty
    days ago: an installation out of the last 30 days."""
    ana, bea = w.staff["ana"], w.staff["bea"]
    _report(engine, w.visits[0], ana, "completed", at(YESTERDAY, 9), late=30, on_site=120)
    _report(engine, w.visits[2], ana, "failed", at(YESTERDAY, 15))
    _report(engine, w.visits[1], bea, "completed", at(TODAY - timedelta(days=3), 10), late=-60,
            on_site=60)  # fmt: skip
    old = _extra_installation(engine, w, 0)
    _report(engine, old, ana, "completed", at(TODAY - timedelta(days=40), 9), late=200,
            on_site=10)  # fmt: skip


def test_punctuality_and_time_on_site_by_staff_and_by_product(engine: Engine) -> None:
    w = make_world(engine, with_plan=False)
    reported(engine, w)
    last_30 = FieldFilter.from_args(MultiDict(), TODAY)
    assert (last_30.since, last_30.until, last_30.staff_id) == (
        TODAY - timedelta(days=29), TODAY, None
    )  # fmt: skip
    with Session(engine) as s:
        summary = summarise(s, last_30, "Europe/Madrid")
        t = summary.total
        assert (t.reported, t.failed, t.checked_in, t.with_window, t.late) == (3, 1, 2, 2, 1)
        assert (t.on_time_share, t.mean_late_minutes, t.timed) == (0.5, 30, 2)
        assert t.on_site_ratio == pytest.approx(180 / 150)
        by_staff = [(name, s_.reported, s_.on_time_share) for _id, name, s_ in summary.by_staff]
        assert by_staff == [("Ana Técnica", 2, 0.0), ("Bea Formadora", 1, 1.0)]  # late first
        by_product = [(p.sku, kind, s_.timed, s_.mean_on_site, s_.mean_planned)
                      for p, kind, s_ in summary.by_product]  # fmt: skip
        assert by_product == [  # furthest from its plan first
            ("BOIL-1", "installation", 1, 120, 90),
            ("BOIL-1", "training", 1, 60, 60),
        ]
        assert not any(s_.needs_new_minutes for _p, _k, s_ in summary.by_product)
        bea_only = FieldFilter(last_30.since, last_30.until, staff_id=w.staff["bea"])
        assert summarise(s, bea_only, "Europe/Madrid").total.reported == 1
        last_90 = FieldFilter(TODAY - timedelta(days=89), TODAY)
        assert summarise(s, last_90, "Europe/Madrid").total.late_minutes == 230


def test_planned_minutes_far_from_the_time_on_site_are_pointed_out() -> None:
    """Five visits timed, on site 20 % longer or shorter than planned: the product's minutes
    are off; four are too few to say."""
    tally = Tally()
    start = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    for n in range(5):
        visit = Visit(sale_id=1, kind="repair", business_key=f"r{n}", duration_minutes=60,
                      earliest_date=start.date(), status="completed", arrived_at=start,
                      finished_at=start + timedelta(minutes=75))  # fmt: skip
        tally.add(visit)
        assert tally.needs_new_minutes is (n == 4)
    assert tally.on_site_ratio == 1.25 and tally.with_window == 0 and tally.on_time_share is None


def test_a_period_that_cannot_be_read_is_refused() -> None:
    for args in ({"since": "yesterday"}, {"since": "2026-12-02", "until": "2026-12-01"}):
        with pytest.raises(BadPeriod):
            FieldFilter.from_args(MultiDict(args), TODAY)


def test_the_field_work_page(client_for, world: World, sqlite_engine: Engine) -> None:
    reported(sqlite_engine, world)
    for n in range(1, 5):  # four more of Carmen's installations, each 150 min on site
        extra = _extra_installation(sqlite_engine, world, n)
        _report(sqlite_engine, extra, world.staff["ana"], "completed",
                at(YESTERDAY - timedelta(days=n), 9), late=-30, on_site=150)  # fmt: skip
    client, _ = client_for("dispatcher")
    page = client.get("/field-work/").get_data(as_text=True)
    staff_rows = re.findall(r'<tr><td><a href="[^"]*staff=(\d+)">([^<]+)</a></td>'
                            r"<td>(\d+)</td><td>(\d+)</td>", page)  # fmt: skip
    assert [(name, int(n)) for _sid, name, n, _f in staff_rows] == [
        ("Ana Técnica", 6), ("Bea Formadora", 1)
    ]  # fmt: skip
    off = re.findall(r'<tr class="off-plan"><td>([^<]+)</td><td><span class="tag (\w+)">'
                     r'.*?href="/products/(\d+)/edit"', page, re.S)  # fmt: skip
    with Session(sqlite_engine) as s:
        boiler = s.exec(select(Product).where(Product.sku == "BOIL-1")).one()
    assert [(kind, int(pid)) for _name, kind, pid in off] == [("installation", boiler.id)]
    # the late arrivals behind the figure, in the visits list
    late = re.search(r'id="late-visits" href="([^"]+)">1 late arrival<', page)
    assert late is not None
    listed = client.get(late.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert re.findall(r"<tr><td>(\d+)</td>", listed) == [str(world.visits[0])]
    staff_page = client.get(f"/staff/{world.staff['bea']}").get_data(as_text=True)
    link = re.search(r'id="field-work-link" href="([^"]+)"', staff_page)
    assert link is not None and link.group(1) == f"/field-work/?staff={world.staff['bea']}"
    only_bea = client.get(link.group(1)).get_data(as_text=True)
    assert "Ana Técnica</a>" not in only_bea and "Bea Formadora</a>" in only_bea
    bad = client.get("/field-work/?since=nonsense").get_data(as_text=True)
    assert "That period cannot be read" in bad
    technician, _ = client_for("technician")
    assert technician.get("/field-work/").status_code == 403
