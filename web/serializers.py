"""Database rows as JSON-ready dicts for the API (ISO dates, UTC datetimes)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlmodel import Session, col, select

from domain.lifecycle import contract_end
from domain.models import (
    Customer,
    Product,
    Sale,
    Staff,
    StaffAbsence,
    SurveyAnswer,
    Visit,
    VisitWindow,
)


def _iso(value: date | datetime | time | None) -> str | None:
    return value.isoformat() if value is not None else None


def visit_dict(v: Visit, windows: list[VisitWindow] | None = None) -> dict[str, Any]:
    out = {
        "id": v.id,
        "sale_id": v.sale_id,
        "kind": v.kind,
        "sequence": v.sequence,
        "status": v.status,
        "duration_minutes": v.duration_minutes,
        "required_skills": list(v.required_skills),
        "priority": v.priority,
        "earliest_date": _iso(v.earliest_date),
        "due_date": _iso(v.due_date),
        "assigned_staff_id": v.assigned_staff_id,
        "planned_start": _iso(v.planned_start),
        "promised_window_start": _iso(v.promised_window_start),
        "promised_window_end": _iso(v.promised_window_end),
        "pinned_staff_id": v.pinned_staff_id,
        "pinned_start": _iso(v.pinned_start),
        "billable": v.billable,
        "description": v.description,
        "outcome_note": v.outcome_note,
        "needs_phone_call": v.needs_phone_call,
        "arrived_at": _iso(v.arrived_at),
        "finished_at": _iso(v.finished_at),
        "arrival_distance_m": v.arrival_distance_m,
        "arrival_accuracy_m": v.arrival_accuracy_m,
    }
    if windows is not None:
        out["windows"] = [
            {"day": _iso(w.day), "start": _iso(w.start_time), "end": _iso(w.end_time)}
            for w in windows
        ]
    return out


def sale_dict(s: Session, sale: Sale, with_visits: bool = False) -> dict[str, Any]:
    product = s.get(Product, sale.product_id)
    customer = s.get(Customer, sale.customer_id)
    out: dict[str, Any] = {
        "id": sale.id,
        "customer_id": sale.customer_id,
        "customer_name": customer.name if customer else None,
        "product_sku": product.sku if product else None,
        "product_name": product.name if product else None,
        "sold_on": _iso(sale.sold_on),
        "contract_months": sale.contract_months,
        # the contract's last day (renewals are offered before it); null without a contract
        "contract_ends_on": _iso(contract_end(sale.sold_on, sale.contract_months))
        if sale.contract_months
        else None,
        "external_ref": sale.external_ref,
        "status": sale.status,
        "stage": sale.stage,
        "ended_reason": sale.ended_reason,
        "workflow_id": sale.workflow_id,
        "created_at": _iso(sale.created_at),
    }
    if with_visits:
        visits = s.exec(select(Visit).where(Visit.sale_id == sale.id).order_by(col(Visit.id))).all()
        out["visits"] = [visit_dict(v) for v in visits]
        survey = s.exec(select(SurveyAnswer).where(SurveyAnswer.sale_id == sale.id)).first()
        out["survey"] = None
        if survey is not None:
            out["survey"] = {
                "score": survey.score,
                "comment": survey.comment,
                "answered_at": _iso(survey.answered_at),
            }
    return out


def staff_dict(s: Session, member: Staff, with_absences: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": member.id,
        "name": member.name,
        "role": member.role,
        "skills": list(member.skills),
        "timezone": member.timezone,
        "work_start": _iso(member.work_start),
        "work_end": _iso(member.work_end),
        "working_days": list(member.working_days),
        "lunch_minutes": member.lunch_minutes,
        "active": member.active,
        "home_latitude": member.home_latitude,
        "home_longitude": member.home_longitude,
    }
    if with_absences:
        absences = s.exec(
            select(StaffAbsence)
            .where(StaffAbsence.staff_id == member.id)
            .order_by(col(StaffAbsence.starts_on))
        ).all()
        out["absences"] = [
            {"starts_on": _iso(a.starts_on), "ends_on": _iso(a.ends_on), "reason": a.reason}
            for a in absences
        ]
    return out


def product_dict(product: Product) -> dict[str, Any]:
    """A product as the API shows it (the fields of ``domain.schemas.ProductIn`` and its id)."""
    return product.model_dump()
