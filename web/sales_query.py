"""The sales list's filters (product, stage, waiting for a decision, search) as one query, for
the page and for its CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, func, select
from werkzeug.datastructures import MultiDict

from domain.models import Customer, Product, Sale, SaleStage
from domain.visits import decisions_waiting_since

PHONE_DIGITS_TO_SEARCH = 6  # fewer digits match too many numbers to be a phone search


@dataclass(frozen=True)
class SalesFilter:
    stage: str | None = None
    product_sku: str | None = None
    deciding: bool = False  # only sales waiting for a decision, longest waiting first
    q: str = ""

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> SalesFilter:
        stage = args.get("stage") or None
        return cls(
            stage=stage if stage in {st.value for st in SaleStage} else None,
            product_sku=(args.get("product") or "").strip() or None,
            deciding=args.get("decision") == "1",
            q=(args.get("q") or "").strip(),
        )


def sales_query(f: SalesFilter) -> tuple[Any, Any]:
    """(rows, count): rows of (Sale, Customer, Product[, waiting since]) in the list's order,
    and their number."""
    query = (
        select(Sale, Customer, Product)
        .join(Customer, col(Customer.id) == col(Sale.customer_id))
        .join(Product, col(Product.id) == col(Sale.product_id))
    )
    count = (
        select(func.count())
        .select_from(Sale)
        .join(Customer, col(Customer.id) == col(Sale.customer_id))
    )
    conditions = []
    if f.stage is not None:
        conditions.append(Sale.stage == f.stage)
    if f.product_sku is not None:  # e.g. every customer of a product being recalled
        conditions.append(
            col(Sale.product_id).in_(select(Product.id).where(Product.sku == f.product_sku))
        )
    if f.q:
        like = f"%{f.q}%"
        cond = (
            col(Customer.name).ilike(like)
            | col(Sale.external_ref).ilike(like)
            | col(Customer.address).ilike(like)
        )
        digits = "".join(ch for ch in f.q if ch.isdigit())
        if len(digits) >= PHONE_DIGITS_TO_SEARCH and not any(ch.isalpha() for ch in f.q):
            # a caller's number as the dispatcher reads it ("612 34 56 70", "+34 612...")
            cond = cond | col(Customer.phone).like(f"%{digits}%")
        conditions.append(cond)
    for cond in conditions:
        query = query.where(cond)
        count = count.where(cond)
    order = [col(Sale.id).desc()]
    if f.deciding:  # longest waiting first
        since = decisions_waiting_since()
        query = query.join(since, since.c.sale_id == col(Sale.id)).add_columns(since.c.since)
        count = count.join(since, since.c.sale_id == col(Sale.id))
        order = [since.c.since.asc(), col(Sale.id).asc()]
    return query.order_by(*order), count
