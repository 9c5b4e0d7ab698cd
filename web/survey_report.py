"""Satisfaction survey results over a period: how customers score the after-sales service, by
installer and by product, and the answers themselves (for the page and its CSV export).

An answer is credited to the technician who carried out the sale's installation."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, func, select
from werkzeug.datastructures import MultiDict

from domain.models import (
    Customer,
    Product,
    Sale,
    SaleStage,
    Staff,
    SurveyAnswer,
    Visit,
    VisitKind,
    VisitStatus,
)
from web.periods import period_from_args, utc_bounds

DEFAULT_DAYS = 365  # a survey per sale: a year gives each installer enough answers
SCORES = (1, 2, 3, 4, 5)
UNHAPPY_AT_MOST = 2  # 1 and 2 of 5: someone should call the customer
SATISFIED_FROM = 4


@dataclass(frozen=True)
class SurveyFilter:
    since: date
    until: date
    product_sku: str | None = None
    unhappy_only: bool = False  # the list only (the figures cover the whole period)

    @classmethod
    def from_args(cls, args: MultiDict[str, str], today: date) -> SurveyFilter:
        """The filter in a request's arguments (the last ``DEFAULT_DAYS`` days by default);
        raises :class:`BadPeriod`."""
        since, until = period_from_args(args, today, DEFAULT_DAYS)
        return cls(
            since=since,
            until=until,
            product_sku=(args.get("product") or "").strip() or None,
            unhappy_only=args.get("unhappy") == "1",
        )


@dataclass
class ScoreTally:
    """Scored answers of one group: how many, their mean, and the unhappy ones."""

    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SCORES, 0))

    def add(self, score: int, n: int) -> None:
        self.counts[score] += n

    @property
    def answers(self) -> int:
        return sum(self.counts.values())

    @property
    def average(self) -> float | None:
        total = self.answers
        return sum(s * n for s, n in self.counts.items()) / total if total else None

    @property
    def unhappy(self) -> int:
        return sum(n for s, n in self.counts.items() if s <= UNHAPPY_AT_MOST)

    @property
    def satisfied(self) -> int:
        return sum(n for s, n in self.counts.items() if s >= SATISFIED_FROM)

    def share(self, n: int) -> float:
        return n / self.answers if self.answers else 0.0


@dataclass
class SurveySummary:
    overall: ScoreTally
    by_installer: list[tuple[str, ScoreTally]]  # worst average first; "" = no installer known
    by_product: list[tuple[Product, ScoreTally]]
    awaiting: int  # sales asked and not answered yet


def installers() -> Any:
    """(sale_id, staff_id): who carried out each sale's installation."""
    return (
        select(Visit.sale_id, func.min(Visit.assigned_staff_id).label("staff_id"))
        .where(
            Visit.kind == VisitKind.INSTALLATION.value,
            Visit.status == VisitStatus.COMPLETED.value,
        )
        .group_by(col(Visit.sale_id))
        .subquery()
    )


def _in_period(f: SurveyFilter, tzid: str) -> list[Any]:
    start, end = utc_bounds(f.since, f.until, tzid)
    conditions = [col(SurveyAnswer.answered_at) >= start, col(SurveyAnswer.answered_at) < end]
    if f.product_sku is not None:
        conditions.append(Product.sku == f.product_sku)
    return conditions


def summarise(session: Session, f: SurveyFilter, tzid: str) -> SurveySummary:
    """The period's figures, from one grouped query (score x product x installer)."""
    inst = installers()
    grouped = (
        select(SurveyAnswer.score, Product.id, Staff.id, Staff.name, func.count())
        .join(Sale, col(Sale.id) == col(SurveyAnswer.sale_id))
        .join(Product, col(Product.id) == col(Sale.product_id))
        .outerjoin(inst, inst.c.sale_id == col(Sale.id))
        .outerjoin(Staff, col(Staff.id) == inst.c.staff_id)
        .where(col(SurveyAnswer.score).in_(SCORES), *_in_period(f, tzid))
        .group_by(col(SurveyAnswer.score), col(Product.id), col(Staff.id), col(Staff.name))
    )
    overall = ScoreTally()
    by_installer: dict[tuple[int, str], ScoreTally] = defaultdict(ScoreTally)
    by_product: dict[int, ScoreTally] = defaultdict(ScoreTally)
    for score, product_id, staff_id, installer, n in session.exec(grouped):
        overall.add(score, n)
        by_installer[(staff_id or 0, installer or "")].add(score, n)  # two Anas stay two
        by_product[product_id].add(score, n)
    products = {
        p.id: p for p in session.exec(select(Product).where(col(Product.id).in_(by_product)))
    }
    awaiting = select(func.count()).select_from(Sale).where(Sale.stage == SaleStage.SURVEY.value)
    if f.product_sku is not None:
        awaiting = awaiting.join(Product, col(Product.id) == col(Sale.product_id)).where(
            Product.sku == f.product_sku
        )

    def worst_first(item: tuple[Any, ScoreTally]) -> tuple[float, int]:
        return (item[1].average or 0.0, -item[1].answers)

    return SurveySummary(
        overall=overall,
        by_installer=sorted(
            ((name, tally) for (_id, name), tally in by_installer.items()), key=worst_first
        ),
        by_product=sorted(((products[k], t) for k, t in by_product.items()), key=worst_first),
        awaiting=session.exec(awaiting).one(),
    )


def answers_query(f: SurveyFilter, tzid: str) -> tuple[Any, Any]:
    """(rows, count): rows of (SurveyAnswer, Sale, Customer, Product, installer name or None),
    newest first, and their number. Answers with only a comment are listed too."""
    inst = installers()
    conditions = _in_period(f, tzid)
    conditions.append(col(SurveyAnswer.score).is_not(None) | col(SurveyAnswer.comment).is_not(None))
    if f.unhappy_only:
        conditions.append(col(SurveyAnswer.score) <= UNHAPPY_AT_MOST)
    rows = (
        select(SurveyAnswer, Sale, Customer, Product, Staff.name)
        .join(Sale, col(Sale.id) == col(SurveyAnswer.sale_id))
        .join(Customer, col(Customer.id) == col(Sale.customer_id))
        .join(Product, col(Product.id) == col(Sale.product_id))
        .outerjoin(inst, inst.c.sale_id == col(Sale.id))
        .outerjoin(Staff, col(Staff.id) == inst.c.staff_id)
        .where(*conditions)
        .order_by(col(SurveyAnswer.answered_at).desc(), col(SurveyAnswer.id).desc())
    )
    count = (
        select(func.count())
        .select_from(SurveyAnswer)
        .join(Sale, col(Sale.id) == col(SurveyAnswer.sale_id))
        .join(Product, col(Product.id) == col(Sale.product_id))
        .where(*conditions)
    )
    return rows, count
