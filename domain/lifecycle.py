"""A sale's after-sales life: its calendar (warranty, contract, maintenance rounds) and its records.

The date arithmetic is pure (workflows call it with their own deterministic clock); the functions
that take a session change the sale's rows and write an audit entry in the same transaction.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from domain import audit
from domain.errors import DomainError, NotFound
from domain.models import (
    OPEN_VISIT_STATUSES,
    Customer,
    Product,
    Sale,
    SaleStage,
    SaleStatus,
    SurveyAnswer,
    Visit,
    VisitKind,
    VisitStatus,
)

# -- calendar arithmetic (pure) -------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def warranty_end(sold_on: date, warranty_months: int) -> date:
    """The last day covered by the warranty."""
    return add_months(sold_on, warranty_months) - timedelta(days=1)


def under_warranty(sold_on: date, warranty_months: int, on: date) -> bool:
    """Whether a fault reported ``on`` that day is covered (a repair is not billable)."""
    return warranty_months > 0 and sold_on <= on <= warranty_end(sold_on, warranty_months)


def contract_end(sold_on: date, contract_months: int) -> date:
    """The last day of the maintenance contract (the sale day itself when there is none)."""
    if contract_months <= 0:
        return sold_on
    return add_months(sold_on, contract_months) - timedelta(days=1)


def maintenance_due(sold_on: date, interval_days: int, round_no: int) -> date:
    """When maintenance round ``round_no`` (1, 2, ...) is due."""
    return sold_on + timedelta(days=interval_days * round_no)


def maintenance_rounds(sold_on: date, interval_days: int | None, contract_months: int) -> int:
    """How many maintenance visits the contract includes (each due on or before its end)."""
    if not interval_days or contract_months <= 0:
        return 0
    end = contract_end(sold_on, contract_months)
    return max(0, (end - sold_on).days // interval_days)


def lifecycle_end(sold_on: date, contract_months: int, warranty_months: int) -> date:
    """The day after which the lifecycle has nothing left to do (contract and warranty over)."""
    ends = [contract_end(sold_on, contract_months)]
    if warranty_months > 0:
        ends.append(warranty_end(sold_on, warranty_months))
    return max(ends)


MAX_CONTRACT_MONTHS = 240  # as SaleIn and ProductIn accept


def contract_change_problem(sold_on: date, contract_months: int, today: date) -> str:
    """Why a sale's contract cannot become ``contract_months`` long ("" when it can): a
    renewal or a correction may not end the contract before ``today`` (that is a cancellation)."""
    if not 0 <= contract_months <= MAX_CONTRACT_MONTHS:
        return f"a contract is 0 to {MAX_CONTRACT_MONTHS} months long"
    if contract_months and contract_end(sold_on, contract_months) < today:
        end = contract_end(sold_on, contract_months).isoformat()
        return f"a {contract_months}-month contract ended on {end}; cancel the sale instead"
    return ""


def next_working_day(day: date, working_days: tuple[int, ...] = (0, 1, 2, 3, 4)) -> date:
    """The first working day strictly after ``day`` (weekday numbers, Monday = 0)."""
    candidate = day + timedelta(days=1)
    for _ in range(7):
        if candidate.weekday() in working_days:
            return candidate
        candidate += timedelta(days=1)
    raise DomainError("no working day in the week")


# -- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaleHistory:
    """How far a sale's after-sales life already went, read from its completed visits.

    A lifecycle that starts for a sale with a past (imported, restored, or the demo company)
    resumes after the last completed step instead of repeating it. Visits are recognised by their
    business keys (``sale-<id>/installation-1``, ``training-<n>``, ``maintenance-<n>``).
    """

    installation_done: bool = False
    trainings_done: int = 0
    last_training_date: str | None = None
    trainer_id: int | None = None
    survey_done: bool = False
    maintenance_rounds_done: int = 0


@dataclass
class SaleOutline:
    """What a sale's lifecycle needs to know about the sale and its product."""

    sale_id: int
    status: str
    sold_on: date
    contract_months: int
    warranty_months: int
    installation_minutes: int
    installation_skill: str | None
    training_sessions: int
    training_minutes: int
    training_skill: str | None
    maintenance_interval_days: int | None
    maintenance_minutes: int
    maintenance_skill: str | None
    repair_minutes: int
    repair_skill: str | None
    customer_opted_out: bool
    history: SaleHistory = SaleHistory()


def sale_history(session: Session, sale_id: int) -> SaleHistory:
    prefix = f"sale-{sale_id}/"
    visits = session.exec(
        select(Visit).where(Visit.sale_id == sale_id, Visit.status == VisitStatus.COMPLETED.value)
    ).all()
    done: dict[str, dict[int, Visit]] = {}
    for visit in visits:
        key = visit.business_key.removeprefix(prefix)
        kind, _, number = key.partition("-")
        if number.isdigit():
            done.setdefault(kind, {})[int(number)] = visit
    trainings = done.get("training", {})
    consecutive = 0
    while consecutive + 1 in trainings:
        consecutive += 1
    last = trainings.get(consecutive)
    last_date = None
    if last is not None:
        last_date = last.planned_start.date() if last.planned_start else last.earliest_date
    maintenance = done.get("maintenance", {})
    survey = session.exec(select(SurveyAnswer).where(SurveyAnswer.sale_id == sale_id)).first()
    return SaleHistory(
        installation_done=1 in done.get("installation", {}),
        trainings_done=consecutive,
        last_training_date=last_date.isoformat() if last_date else None,
        trainer_id=last.assigned_staff_id if last is not None else None,
        survey_done=survey is not None,
        maintenance_rounds_done=max(maintenance) if maintenance else 0,
    )


def sale_outline(session: Session, sale_id: int) -> SaleOutline:
    sale = session.get(Sale, sale_id)
    if sale is None:
        raise NotFound(f"unknown sale {sale_id}")
    product = session.get(Product, sale.product_id)
    customer = session.get(Customer, sale.customer_id)
    assert product is not None and customer is not None
    return SaleOutline(
        sale_id=sale_id,
        status=sale.status,
        sold_on=sale.sold_on,
        contract_months=sale.contract_months,
        warranty_months=product.warranty_months,
        installation_minutes=product.installation_minutes,
        installation_skill=product.installation_skill,
        training_sessions=product.training_sessions,
        training_minutes=product.training_minutes,
        training_skill=product.training_skill,
        maintenance_interval_days=product.maintenance_interval_days,
        maintenance_minutes=product.maintenance_minutes,
        maintenance_skill=product.maintenance_skill,
        repair_minutes=product.repair_minutes,
        repair_skill=product.repair_skill,
        customer_opted_out=customer.sms_opt_out,
        history=sale_history(session, sale_id),
    )


def set_stage(session: Session, sale_id: int, stage: str, actor: str) -> Sale:
    """Move a sale to a stage of its life (no-op when it is there already)."""
    if stage not in {s.value for s in SaleStage}:
        raise DomainError(f"unknown sale stage {stage!r}")
    sale = session.get(Sale, sale_id)
    if sale is None:
        raise NotFound(f"unknown sale {sale_id}")
    if sale.stage != stage:
        previous = sale.stage
        sale.stage = stage
        session.add(sale)
        audit.record(session, actor, "sale.stage", "sale", sale_id, stage=stage, previous=previous)
    return sale


def change_contract(
    session: Session, sale_id: int, contract_months: int, today: date, actor: str
) -> Sale:
    """Set an active sale's maintenance contract length (a renewal, an extension or a
    correction; audited). Its lifecycle workflow must be told (it plans the rounds)."""
    sale = session.get(Sale, sale_id)
    if sale is None:
        raise NotFound(f"unknown sale {sale_id}")
    if sale.status != SaleStatus.ACTIVE:
        raise DomainError(f"sale {sale_id} is {sale.status}; its contract cannot change")
    if problem := contract_change_problem(sale.sold_on, contract_months, today):
        raise DomainError(problem)
    if sale.contract_months != contract_months:
        audit.record(session, actor, "sale.contract", "sale", sale_id,
                     contract_months=[sale.contract_months, contract_months])  # fmt: skip
        sale.contract_months = contract_months
        session.add(sale)
    return sale


def sold_on_problem(
    sold_on: date, contract_months: int, warranty_months: int, today: date,
    first_done: date | None = None,
) -> str:  # fmt: skip
    """Why an active sale's date cannot become ``sold_on`` ("" when it can): not in the
    future, not after a visit already done, and not so early that its contract or its whole
    after-sales would already be over (that is a cancellation or an ending)."""
    if sold_on > today:
        return "the sale date cannot be in the future"
    if first_done is not None and sold_on > first_done:
        return f"a visit was done on {first_done.isoformat()}: the sale cannot be later"
    if problem := contract_change_problem(sold_on, contract_months, today):
        return problem
    if lifecycle_end(sold_on, contract_months, warranty_months) < today:
        end = lifecycle_end(sold_on, contract_months, warranty_months).isoformat()
        return f"with that date its warranty and contract ended on {end}; end the sale instead"
    return ""


def correct_sold_on(session: Session, sale_id: int, sold_on: date, today: date, actor: str) -> Sale:
    """Correct an active sale's date (a typing mistake; audited): warranty, contract and
    maintenance rounds run from it. Open repairs are billed again by the warranty as it now
    stands. Its lifecycle workflow must be told (it plans the rounds)."""
    sale = session.get(Sale, sale_id)
    if sale is None:
        raise NotFound(f"unknown sale {sale_id}")
    if sale.status != SaleStatus.ACTIVE:
        raise DomainError(f"sale {sale_id} is {sale.status}; its date cannot change")
    product = session.get(Product, sale.product_id)
    assert product is not None
    done = session.exec(
        select(Visit.planned_start).where(
            Visit.sale_id == sale_id,
            Visit.status == VisitStatus.COMPLETED.value,
            col(Visit.planned_start).is_not(None),
        )
    ).all()
    first_done = min((start.date() for start in done if start is not None), default=None)
    if problem := sold_on_problem(
        sold_on, sale.contract_months, product.warranty_months, today, first_done
    ):
        raise DomainError(problem)
    if sale.sold_on == sold_on:
        return sale
    rebilled = []
    repairs = session.exec(
        select(Visit).where(
            Visit.sale_id == sale_id,
            Visit.kind == VisitKind.REPAIR.value,
            col(Visit.status).in_([s.value for s in OPEN_VISIT_STATUSES]),
        )
    ).all()
    for repair in repairs:
        billable = not under_warranty(sold_on, product.warranty_months, repair.earliest_date)
        if repair.billable != billable:
            repair.billable = billable
            session.add(repair)
            rebilled.append(repair.id)
    audit.record(session, actor, "sale.sold_on", "sale", sale_id,
                 sold_on=[sale.sold_on.isoformat(), sold_on.isoformat()],
                 repairs_rebilled=rebilled)  # fmt: skip
    sale.sold_on = sold_on
    session.add(sale)
    return sale


def end_sale(session: Session, sale_id: int, status: str, reason: str, actor: str) -> int:
    """End a sale (completed, cancelled or returned); open visits are cancelled, rows kept.

    Returns how many visits were cancelled. Idempotent: ending an ended sale changes nothing.
    """
    if status not in {s.value for s in SaleStatus} or status == SaleStatus.ACTIVE:
        raise DomainError(f"a sale cannot end as {status!r}")
    sale = session.get(Sale, sale_id)
    if sale is None:
        raise NotFound(f"unknown sale {sale_id}")
    cancelled = 0
    if status != SaleStatus.COMPLETED:
        visits = session.exec(
            select(Visit).where(
                Visit.sale_id == sale_id,
                Visit.status.in_([s.value for s in OPEN_VISIT_STATUSES]),  # type: ignore[attr-defined]
            )
        ).all()
        for visit in visits:
            visit.status = VisitStatus.CANCELLED.value
            visit.outcome_note = f"sale {status}: {reason}"[:2000]
            session.add(visit)
            audit.record(session, actor, "visit.cancel", "visit", visit.id, reason=status)
            cancelled += 1
    if sale.status == SaleStatus.ACTIVE:
        sale.status = status
        sale.stage = SaleStage.ENDED.value
        sale.ended_reason = reason[:400]
        session.add(sale)
        audit.record(session, actor, f"sale.{status}", "sale", sale_id, visits=cancelled)
    return cancelled


def record_survey(
    session: Session, sale_id: int, score: int | None, comment: str | None, actor: str
) -> SurveyAnswer:
    """Store a survey score and/or comment (one row per sale; a later part fills it in)."""
    if score is not None and not 1 <= score <= 5:
        raise DomainError("the survey score is 1 to 5")
    answer = session.exec(select(SurveyAnswer).where(SurveyAnswer.sale_id == sale_id)).first()
    if answer is None:
        if session.get(Sale, sale_id) is None:
            raise NotFound(f"unknown sale {sale_id}")
        answer = SurveyAnswer(sale_id=sale_id)
    if score is not None:
        answer.score = score
    if comment:
        answer.comment = comment.strip()[:1000]
    session.add(answer)
    session.flush()
    audit.record(session, actor, "sale.survey", "sale", sale_id, score=answer.score)
    return answer


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar day of an aware moment in a time zone."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def local_day_start(day: date, timezone: str) -> datetime:
    """Midnight at the start of ``day`` in a time zone, as an aware UTC datetime."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)
