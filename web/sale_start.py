"""Registering a sale and starting its lifecycle workflow.

The sale is committed first; then ``WorkflowGateway.start_sale`` starts its workflow. When
Temporal is down the sale stays stored and an audit entry ``sale.workflow_pending`` remembers
it; :func:`start_pending_workflows` (called by the worker / dev runner at start-up, or any time)
starts every pending one. Starting is idempotent (the workflow id is ``sale-<id>``), so a retry
never starts a lifecycle twice.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domain import audit
from domain.db import session_scope
from domain.models import AuditEntry, Sale, SaleStatus
from domain.schemas import CustomerIn, SaleIn
from domain.services import find_or_create_customer, register_sale

log = logging.getLogger(__name__)

PENDING = "sale.workflow_pending"
STARTED = "sale.workflow_started"


class NewSale(BaseModel):
    """A sale with either an existing customer's id or a new customer's details."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_id: int | None = Field(default=None, gt=0, le=2**31 - 1)
    customer: CustomerIn | None = None
    product_sku: str = Field(min_length=1, max_length=64)
    sold_on: date
    contract_months: int | None = Field(default=None, ge=0, le=240)
    external_ref: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one_customer(self) -> NewSale:
        if (self.customer_id is None) == (self.customer is None):
            raise ValueError("give either customer_id or customer (the new customer's details)")
        return self


def register_new_sale(session: Session, data: NewSale, actor: str) -> tuple[Sale, bool]:
    """Create the customer when needed (a customer already stored with the same name, phone and
    place is reused), then the sale (validated; nothing written on error). Returns the sale and
    whether an existing customer was reused for details given as new."""
    customer_id = data.customer_id
    reused = False
    if data.customer is not None:
        customer, created = find_or_create_customer(session, data.customer, actor=actor)
        customer_id, reused = customer.id, not created
    sale_in = SaleIn(
        customer_id=customer_id,  # type: ignore[arg-type]
        product_sku=data.product_sku,
        sold_on=data.sold_on,
        contract_months=data.contract_months,
        external_ref=data.external_ref or None,
    )
    return register_sale(session, sale_in, actor=actor), reused


def start_sale_workflow(engine: Engine, gateway: Any, sale_id: int, actor: str) -> bool:
    """Start the sale's lifecycle; False (and remembered as pending) when Temporal is down."""
    from workflows.client import WorkflowUnavailable

    try:
        gateway.start_sale(sale_id)
    except WorkflowUnavailable as exc:
        log.warning("sale %s stored; lifecycle start pending: %s", sale_id, type(exc).__name__)
        with session_scope(engine) as s:
            audit.record(s, actor, PENDING, "sale", sale_id)
        return False
    with session_scope(engine) as s:
        audit.record(s, actor, STARTED, "sale", sale_id)
    return True


def pending_sale_ids(session: Session) -> list[int]:
    """Active sales whose lifecycle start is still pending."""
    pending = set(session.exec(select(AuditEntry.entity_id).where(AuditEntry.action == PENDING)))
    started = set(session.exec(select(AuditEntry.entity_id).where(AuditEntry.action == STARTED)))
    ids = sorted(i for i in pending - started if i is not None)
    if not ids:
        return []
    active = session.exec(
        select(Sale.id).where(col(Sale.id).in_(ids), Sale.status == SaleStatus.ACTIVE.value)
    )
    return sorted(i for i in active if i is not None)


def start_pending_workflows(engine: Engine, gateway: Any) -> int:
    """Start every pending lifecycle (stops at the first Temporal outage); how many started."""
    with Session(engine) as s:
        ids = pending_sale_ids(s)
    started = 0
    for sale_id in ids:
        if not start_sale_workflow(engine, gateway, sale_id, actor="system"):
            break
        started += 1
    return started
