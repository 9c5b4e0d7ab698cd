"""SmsActivities with the real Messenger and outbox gateway, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.messaging import SmsActivities
from activities.sales import SaleActivities
from activities.types import RequestVisitIn, SaleSmsIn, VisitSmsIn
from domain.db import session_scope
from domain.models import Customer, Visit
from posventa.config import Settings
from sms.messenger import Messenger
from sms.outbox import OutboxGateway
from tests.workflows.support import sms_rows


def _acts(engine: Engine, settings: Settings) -> SmsActivities:
    return SmsActivities(Messenger(engine, OutboxGateway(engine, settings), settings))


def _planned_visit(engine: Engine, company: dict[str, int]) -> int:
    out = ActivityEnvironment().run(
        SaleActivities(engine).request_visit,
        RequestVisitIn(
            sale_id=company["sale"],
            kind="installation",
            business_key="k",
            duration_minutes=60,
            earliest_date="2026-11-03",
        ),
    )
    with session_scope(engine) as s:
        visit = s.get(Visit, out.visit_id)
        assert visit is not None
        visit.assigned_staff_id = company["staff"]
        visit.planned_start = datetime(2026, 11, 3, 9, tzinfo=UTC)
        visit.status = "planned"
        s.add(visit)
    return out.visit_id


def test_a_retried_send_returns_the_first_message(
    engine: Engine, settings: Settings, company: dict[str, int]
) -> None:
    acts = _acts(engine, settings)
    visit_id = _planned_visit(engine, company)
    data = VisitSmsIn(visit_id, "visit_confirmation", "visit-1/confirm/1-1")
    first = ActivityEnvironment().run(acts.send_visit_sms, data)
    again = ActivityEnvironment().run(acts.send_visit_sms, data)
    assert first.delivered and first.message_id == again.message_id
    rows = sms_rows(engine)
    assert len(rows) == 1 and rows[0].template == "visit_confirmation"
    survey = ActivityEnvironment().run(
        acts.send_sale_sms, SaleSmsIn(company["sale"], "survey_request", "sale-1/survey/request")
    )
    assert survey.delivered and len(sms_rows(engine)) == 2


def test_opted_out_customer_is_skipped(
    engine: Engine, settings: Settings, company: dict[str, int]
) -> None:
    with session_scope(engine) as s:
        customer = s.get(Customer, company["customer"])
        assert customer is not None
        customer.sms_opt_out = True
        s.add(customer)
    out = ActivityEnvironment().run(
        _acts(engine, settings).send_visit_sms,
        VisitSmsIn(_planned_visit(engine, company), "visit_confirmation", "k-opt"),
    )
    assert out.skipped_reason == "opted_out" and not out.delivered
    assert sms_rows(engine) == []


@pytest.mark.parametrize(
    "data",
    [VisitSmsIn(4242, "visit_confirmation", "k1"), VisitSmsIn(1, "no_such_template", "k2")],
)
def test_bad_data_fails_without_retry(
    engine: Engine, settings: Settings, company: dict[str, int], data: VisitSmsIn
) -> None:
    if data.visit_id != 4242:
        data.visit_id = _planned_visit(engine, company)
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(_acts(engine, settings).send_visit_sms, data)
    assert err.value.non_retryable
