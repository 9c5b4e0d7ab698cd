"""Activities of a sale's lifecycle: read the sale, request visits, record decisions on failed
visits, move its stage, change its contract, end it."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio import activity

from activities.errors import bad_data_is_final
from activities.types import (
    ContractIn,
    EndSaleIn,
    EndSaleOut,
    FailedVisitDecisionIn,
    RequestVisitIn,
    RequestVisitOut,
    SaleOutlineOut,
    SaleRef,
    SaleStageIn,
    SoldOnIn,
    SurveyIn,
)
from domain import lifecycle
from domain.db import session_scope
from domain.models import Visit, VisitKind
from domain.schemas import VisitIn
from domain.services import request_visit
from domain.visits import record_failed_decision


class SaleActivities:
    """Database work of :class:`workflows.sale.SaleLifecycle` (idempotent by business keys)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="load_sale")
    @bad_data_is_final
    def load_sale(self, data: SaleRef) -> SaleOutlineOut:
        with session_scope(self.engine) as session:
            o = lifecycle.sale_outline(session, data.sale_id)
        return SaleOutlineOut(
            sale_id=o.sale_id,
            status=o.status,
            sold_on=o.sold_on.isoformat(),
            contract_months=o.contract_months,
            warranty_months=o.warranty_months,
            installation_minutes=o.installation_minutes,
            installation_skill=o.installation_skill,
            training_sessions=o.training_sessions,
            training_minutes=o.training_minutes,
            training_skill=o.training_skill,
            maintenance_interval_days=o.maintenance_interval_days,
            maintenance_minutes=o.maintenance_minutes,
            maintenance_skill=o.maintenance_skill,
            repair_minutes=o.repair_minutes,
            repair_skill=o.repair_skill,
            installation_done=o.history.installation_done,
            trainings_done=o.history.trainings_done,
            last_training_date=o.history.last_training_date,
            trainer_id=o.history.trainer_id,
            survey_done=o.history.survey_done,
            maintenance_rounds_done=o.history.maintenance_rounds_done,
        )

    @activity.defn(name="request_visit")
    @bad_data_is_final
    def request_visit(self, data: RequestVisitIn) -> RequestVisitOut:
        """Create the visit with this business key, or return the one a previous attempt made."""
        with session_scope(self.engine) as session:
            existing = session.exec(
                select(Visit).where(Visit.business_key == data.business_key)
            ).first()
            if existing is not None:
                assert existing.id is not None
                return RequestVisitOut(existing.id, existing.status, created=False)
            visit = request_visit(
                session,
                VisitIn(
                    sale_id=data.sale_id,
                    kind=VisitKind(data.kind),
                    business_key=data.business_key,
                    sequence=data.sequence,
                    duration_minutes=data.duration_minutes,
                    required_skills=[data.skill] if data.skill else [],
                    priority=data.priority,
                    earliest_date=date.fromisoformat(data.earliest_date),
                    due_date=date.fromisoformat(data.due_date) if data.due_date else None,
                    preferred_staff_id=data.preferred_staff_id,
                    billable=data.billable,
                    description=data.description,
                ),
                actor=data.actor,
            )
            session.flush()
            assert visit.id is not None
            visit.workflow_id = f"visit-{visit.id}"
            session.add(visit)
            return RequestVisitOut(visit.id, visit.status, created=True)

    @activity.defn(name="set_sale_stage")
    @bad_data_is_final
    def set_sale_stage(self, data: SaleStageIn) -> None:
        with session_scope(self.engine) as session:
            lifecycle.set_stage(session, data.sale_id, data.stage, data.actor)

    @activity.defn(name="change_contract")
    @bad_data_is_final
    def change_contract(self, data: ContractIn) -> None:
        with session_scope(self.engine) as session:
            lifecycle.change_contract(
                session, data.sale_id, data.contract_months,
                date.fromisoformat(data.today), data.actor,
            )  # fmt: skip

    @activity.defn(name="correct_sold_on")
    @bad_data_is_final
    def correct_sold_on(self, data: SoldOnIn) -> None:
        with session_scope(self.engine) as session:
            lifecycle.correct_sold_on(
                session, data.sale_id, date.fromisoformat(data.sold_on),
                date.fromisoformat(data.today), data.actor,
            )  # fmt: skip

    @activity.defn(name="end_sale")
    @bad_data_is_final
    def end_sale(self, data: EndSaleIn) -> EndSaleOut:
        with session_scope(self.engine) as session:
            count = lifecycle.end_sale(session, data.sale_id, data.status, data.reason, data.actor)
        return EndSaleOut(visits_cancelled=count)

    @activity.defn(name="record_survey")
    @bad_data_is_final
    def record_survey(self, data: SurveyIn) -> None:
        with session_scope(self.engine) as session:
            lifecycle.record_survey(session, data.sale_id, data.score, data.comment, data.actor)

    @activity.defn(name="record_failed_visit_decision")
    @bad_data_is_final
    def record_failed_visit_decision(self, data: FailedVisitDecisionIn) -> None:
        with session_scope(self.engine) as session:
            record_failed_decision(session, data.visit_id, data.action, data.actor, note=data.note)
