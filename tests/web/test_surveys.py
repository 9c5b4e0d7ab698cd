"""Satisfaction results: the period's figures by installer and product (both databases), the
page's filters and its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from werkzeug.datastructures import MultiDict

from domain.db import session_scope
from domain.models import Sale, SaleStage, SurveyAnswer, Visit, VisitStatus
from tests.web.factories import TZ, World, at, make_world
from web.periods import BadPeriod
from web.survey_report import SurveyFilter, answers_query, summarise

TODAY = datetime.now(TZ).date()


def answered(engine: Engine, w: World) -> None:
    """Carmen (installed by Ana) gives 5 today; David (no installation: a training sale) gives 2
    three days ago with a comment; Eva (installed by Bea) gave 1 two hundred days ago; a fourth
    sale of Carmen's waits for its answer."""
    carmen, david, eva = w.sales
    with session_scope(engine) as s:
        for visit_id, staff in ((w.visits[0], "ana"), (w.visits[2], "bea")):
            visit = s.get(Visit, visit_id)
            assert visit is not None
            visit.status, visit.assigned_staff_id = VisitStatus.COMPLETED.value, w.staff[staff]
        for sale_id, days_ago, score, comment in (
            (carmen, 0, 5, None),
            (david, 3, 2, "Llegaron tarde"),
            (eva, 200, 1, "Nadie vino"),
        ):
            s.add(SurveyAnswer(sale_id=sale_id, score=score, comment=comment,
                               answered_at=at(TODAY - timedelta(days=days_ago), 12)))  # fmt: skip
        first = s.get(Sale, carmen)
        assert first is not None
        s.add(Sale(customer_id=first.customer_id, product_id=first.product_id,
                   sold_on=TODAY, stage=SaleStage.SURVEY.value))  # fmt: skip


def test_the_figures_of_a_period_by_installer_and_product(engine: Engine) -> None:
    w = make_world(engine, with_plan=False)
    answered(engine, w)
    last_year = SurveyFilter.from_args(MultiDict(), TODAY)
    assert (last_year.since, last_year.until) == (TODAY - timedelta(days=364), TODAY)
    last_90 = SurveyFilter.from_args(MultiDict({"since": str(TODAY - timedelta(days=89))}), TODAY)
    with Session(engine) as s:
        summary = summarise(s, last_90, "Europe/Madrid")
        o = summary.overall
        assert (o.answers, o.average, o.satisfied, o.unhappy) == (2, 3.5, 1, 1)
        assert o.counts == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
        by_installer = [(name, t.answers, t.average) for name, t in summary.by_installer]
        assert by_installer == [("", 1, 2.0), ("Ana Técnica", 1, 5.0)]  # worst first
        assert [(p.sku, t.answers) for p, t in summary.by_product] == [("BOIL-1", 2)]
        assert summary.awaiting == 1
        by_installer = [
            (n, t.average) for n, t in summarise(s, last_year, "Europe/Madrid").by_installer
        ]
        assert by_installer == [("Bea Formadora", 1.0), ("", 2.0), ("Ana Técnica", 5.0)]
        rows, count = answers_query(SurveyFilter(TODAY - timedelta(days=364), TODAY,
                                                 unhappy_only=True), "Europe/Madrid")  # fmt: skip
        listed = [(a.score, a.comment, installer) for a, _s, _c, _p, installer in s.exec(rows)]
        assert listed == [(2, "Llegaron tarde", None), (1, "Nadie vino", "Bea Formadora")]
        assert s.exec(count).one() == 2
        other = SurveyFilter(since=TODAY - timedelta(days=364), until=TODAY, product_sku="NONE")
        assert summarise(s, other, "Europe/Madrid").overall.answers == 0


def test_a_period_that_cannot_be_read_is_refused() -> None:
    for args in ({"since": "2026-13-01"}, {"since": "2026-12-10", "until": "2026-12-01"}):
        with pytest.raises(BadPeriod):
            SurveyFilter.from_args(MultiDict(args), TODAY)


def test_the_page_filters_and_exports_the_answers(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    answered(sqlite_engine, world)
    client, _token = client_for("dispatcher")
    since = (TODAY - timedelta(days=89)).isoformat()
    page = client.get(f"/surveys/?since={since}").get_data(as_text=True)
    assert "3.5/5" in page and "2 answers" in page
    assert "1 sale is waiting for its customer to answer." in page
    assert "Llegaron tarde" in page and "Nadie vino" not in page  # 200 days ago
    assert '<tr class="unhappy">' in page
    page = client.get("/surveys/?unhappy=1").get_data(as_text=True)  # the last 365 days
    assert "Nadie vino" in page and "Carmen Ruiz" not in page
    assert "2.7/5" in page  # the figures still cover every score of the period
    export = client.get("/surveys/export.csv?unhappy=1")
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["score"], r["customer_name"], r["installer"]) for r in rows] == [
        ("2", "David Soler", ""),
        ("1", "Eva Pons", "Bea Formadora"),
    ]
    assert rows[1]["answered_at"].endswith(" 12:00")  # the business's local time
    backwards = client.get("/surveys/?since=2026-12-10&until=2026-12-01").get_data(as_text=True)
    assert "That period cannot be read (the period ends before it starts)" in backwards
    technician, _ = client_for("technician")
    assert technician.get("/surveys/").status_code == 403
