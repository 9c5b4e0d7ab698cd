"""Maintenance contracts ending soon (or just ended on a sale still under warranty): the
customers to offer a renewal to, for the page and its CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from domain.lifecycle import contract_end
from domain.models import Customer, Product, Sale, SaleStatus

RENEWAL_WINDOWS = (30, 60, 90, 180)  # days ahead a list may look
ENDED_LOOKBACK = timedelta(days=30)  # contracts ended this recently are still listed


@dataclass(frozen=True)
class Renewal:
    sale: Sale
    customer: Customer
    product: Product
    ends_on: date


def contracts_ending(session: Session, today: date, within_days: int) -> list[Renewal]:
    """Active sales whose contract ends within ``within_days`` of ``today`` or ended in the
    last 30 days, soonest first."""
    last = today + timedelta(days=within_days)
    rows = session.exec(
        select(Sale, Customer, Product)
        .join(Customer, col(Customer.id) == col(Sale.customer_id))
        .join(Product, col(Product.id) == col(Sale.product_id))
        .where(
            Sale.status == SaleStatus.ACTIVE.value,
            col(Sale.contract_months) > 0,
            col(Sale.sold_on) <= last,
        )
    )
    found = [
        Renewal(sale, customer, product, contract_end(sale.sold_on, sale.contract_months))
        for sale, customer, product in rows
    ]
    first = today - ENDED_LOOKBACK
    return sorted(
        (r for r in found if first <= r.ends_on <= last), key=lambda r: (r.ends_on, r.sale.id)
    )
