"""A sale with a past (imported, restored, the demo company) resumes after its last completed
step: no second installation, no repeated training, no second survey."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from domain.db import session_scope
from domain.lifecycle import sale_history
from domain.models import SmsMessage, SurveyAnswer, Visit, VisitKind, VisitStatus
from domain.schemas import VisitIn
from domain.services import request_visit
from posventa.config import Settings
from tests.workflows.support import first_visit, make_company, running_worker, start_sale


def _completed(engine: Engine, sale_id: int, kind: VisitKind, number: int, day: date) -> None:
    with session_scope(engine) as s:
        visit = request_visit(
            s,
            VisitIn(
                sale_id=sale_id,
                kind=kind,
                business_key=f"sale-{sale_id}/{kind.value}-{number}",
                sequence=number,
                duration_minutes=60,
                earliest_date=day,
            ),
        )
        visit.status = VisitStatus.COMPLETED.value


def test_history_is_read_from_completed_visits(sqlite_engine: Engine) -> None:
    sold = date(2025, 1, 10)
    ids = make_company(sqlite_engine, sold_on=sold, trainings=3)
    sale = ids["sale"]
    _completed(sqlite_engine, sale, VisitKind.INSTALLATION, 1, sold)
    _completed(sqlite_engine, sale, VisitKind.TRAINING, 1, sold + timedelta(days=2))
    _completed(sqlite_engine, sale, VisitKind.TRAINING, 3, sold + timedelta(days=6))  # a gap
    with Session(sqlite_engine) as s:
        history = sale_history(s, sale)
    assert history.installation_done and history.trainings_done == 1
    assert history.last_training_date == (sold + timedelta(days=2)).isoformat()
    assert not history.survey_done and history.maintenance_rounds_done == 0


def test_lifecycle_resumes_after_the_last_completed_step(
    engine: Engine, wf_settings: Settings, test_server_path: str
) -> None:
    async def scenario() -> int:
        async with await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=test_server_path
        ) as env:
            today = (await env.get_current_time()).date()
            sold = today - timedelta(days=400)
            ids = make_company(engine, sold_on=sold, trainings=2, interval_days=180)
            sale = ids["sale"]
            _completed(engine, sale, VisitKind.INSTALLATION, 1, sold + timedelta(days=3))
            _completed(engine, sale, VisitKind.TRAINING, 1, sold + timedelta(days=5))
            _completed(engine, sale, VisitKind.TRAINING, 2, sold + timedelta(days=7))
            _completed(engine, sale, VisitKind.MAINTENANCE, 1, sold + timedelta(days=180))
            _completed(engine, sale, VisitKind.MAINTENANCE, 2, sold + timedelta(days=360))
            with session_scope(engine) as s:
                s.add(SurveyAnswer(sale_id=sale, score=5))
            async with running_worker(env.client, wf_settings, engine):
                await start_sale(env.client, wf_settings, sale)
                await env.sleep(timedelta(days=1))
                with Session(engine) as s:  # nothing repeated while round 3 is not yet due
                    assert s.exec(select(Visit).where(Visit.status != "completed")).all() == []
                await env.sleep(timedelta(days=150))  # round 3 is due on day 540
                return await first_visit(env.client, engine, sale)

    visit_id = asyncio.run(scenario())
    with Session(engine) as s:
        visit = s.get(Visit, visit_id)
        assert visit is not None
        assert (visit.kind, visit.sequence) == ("maintenance", 3)
        open_kinds = [v.kind for v in s.exec(select(Visit).where(Visit.status != "completed"))]
        sms_templates = [m.template for m in s.exec(select(SmsMessage))]
    assert open_kinds == ["maintenance"]
    assert "survey_request" not in sms_templates
