"""SaleActivities against SQLite and PostgreSQL: idempotent by business key, bad data is final."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.sales import SaleActivities
from activities.types import EndSaleIn, RequestVisitIn, SaleRef, SaleStageIn, SurveyIn
from domain.db import session_scope
from domain.models import AuditEntry, Sale, SurveyAnswer, Visit


def _request(sale_id: int, key: str = "sale-1/installation-1") -> RequestVisitIn:
    return RequestVisitIn(
        sale_id=sale_id,
        kind="installation",
        business_key=key,
        duration_minutes=120,
        earliest_date="2026-11-03",
        skill="install",
    )


def test_load_sale_outline(engine: Engine, company: dict[str, int]) -> None:
    outline = ActivityEnvironment().run(SaleActivities(engine).load_sale, SaleRef(company["sale"]))
    assert (outline.sold_on, outline.status, outline.training_sessions) == (
        "2026-11-02",
        "active",
        2,
    )
    assert outline.installation_skill == "install" and outline.maintenance_interval_days == 180


def test_request_visit_is_idempotent_by_business_key(
    engine: Engine, company: dict[str, int]
) -> None:
    acts = SaleActivities(engine)
    env = ActivityEnvironment()
    first = env.run(acts.request_visit, _request(company["sale"]))
    again = env.run(acts.request_visit, _request(company["sale"]))
    assert first.created and not again.created and first.visit_id == again.visit_id
    with session_scope(engine) as s:
        visits = list(s.exec(select(Visit)))
    assert len(visits) == 1
    assert visits[0].required_skills == ["install"]
    assert visits[0].workflow_id == f"visit-{first.visit_id}"


@pytest.mark.parametrize(
    "bad",
    [
        RequestVisitIn(
            sale_id=999,
            kind="repair",
            business_key="x",
            duration_minutes=60,
            earliest_date="2026-11-03",
        ),
        RequestVisitIn(
            sale_id=1,
            kind="party",
            business_key="y",
            duration_minutes=60,
            earliest_date="2026-11-03",
        ),
        RequestVisitIn(
            sale_id=1,
            kind="repair",
            business_key="z",
            duration_minutes=0,
            earliest_date="2026-11-03",
        ),
    ],
)
def test_bad_visit_requests_fail_without_retry(
    engine: Engine, company: dict[str, int], bad: RequestVisitIn
) -> None:
    bad.sale_id = bad.sale_id if bad.sale_id == 999 else company["sale"]
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(SaleActivities(engine).request_visit, bad)
    assert err.value.non_retryable
    with session_scope(engine) as s:
        assert list(s.exec(select(Visit))) == []


def test_end_sale_cancels_open_visits_and_keeps_them(
    engine: Engine, company: dict[str, int]
) -> None:
    acts = SaleActivities(engine)
    env = ActivityEnvironment()
    env.run(acts.set_sale_stage, SaleStageIn(company["sale"], "installation"))
    env.run(acts.request_visit, _request(company["sale"]))
    env.run(acts.request_visit, _request(company["sale"], "sale-1/repair-1"))
    ended = env.run(acts.end_sale, EndSaleIn(company["sale"], "returned", "devuelto"))
    again = env.run(acts.end_sale, EndSaleIn(company["sale"], "returned", "devuelto"))
    assert (ended.visits_cancelled, again.visits_cancelled) == (2, 0)
    with session_scope(engine) as s:
        sale = s.get(Sale, company["sale"])
        assert sale is not None
        assert (sale.status, sale.stage, sale.ended_reason) == ("returned", "ended", "devuelto")
        assert {v.status for v in s.exec(select(Visit))} == {"cancelled"}
        actions = [a.action for a in s.exec(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("sale.returned") == 1 and actions.count("visit.cancel") == 2
    with pytest.raises(ApplicationError) as err:  # an ended sale takes no new visit
        env.run(acts.request_visit, _request(company["sale"], "sale-1/repair-2"))
    assert err.value.non_retryable


def test_survey_score_then_comment(engine: Engine, company: dict[str, int]) -> None:
    acts = SaleActivities(engine)
    env = ActivityEnvironment()
    env.run(acts.record_survey, SurveyIn(company["sale"], score=5))
    env.run(acts.record_survey, SurveyIn(company["sale"], comment="  Todo perfecto "))
    with pytest.raises(ApplicationError):
        env.run(acts.record_survey, SurveyIn(company["sale"], score=9))
    with session_scope(engine) as s:
        answers = list(s.exec(select(SurveyAnswer)))
    assert [(a.score, a.comment) for a in answers] == [(5, "Todo perfecto")]
