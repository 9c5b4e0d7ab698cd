"""Opt-out and opt-in by phone number: STOP/BAJA stops every further message at once."""

from __future__ import annotations

from sqlmodel import Session, col, select

from domain import audit
from domain.models import OPEN_VISIT_STATUSES, Customer, Sale, Visit
from domain.visits import flag_phone_call

OPTED_IN = "customer.sms_opt_in"  # audit action of a re-subscription


def sms_keyword_source(message_id: int, keyword: str) -> str:
    """The audit's ``source`` of an opt-out or opt-in sent by SMS."""
    return f"sms {message_id}: {keyword}"


def customers_with_phone(session: Session, phone: str) -> list[Customer]:
    return list(session.exec(select(Customer).where(Customer.phone == phone).order_by(Customer.id)))


def opt_out(session: Session, phone: str, source: str) -> list[int]:
    """Stop texting ``phone``; flag its customers' open visits for a phone call.

    Returns the ids of the visits flagged. Idempotent.
    """
    customers = customers_with_phone(session, phone)
    ids = [c.id for c in customers if c.id is not None]
    for customer in customers:
        if not customer.sms_opt_out:
            customer.sms_opt_out = True
            session.add(customer)
            audit.record(
                session, "sms", "customer.sms_opt_out", "customer", customer.id, source=source
            )
    if not ids:
        return []
    visits = session.exec(
        select(Visit)
        .join(Sale, col(Sale.id) == col(Visit.sale_id))
        .where(col(Sale.customer_id).in_(ids))
        .where(col(Visit.status).in_([s.value for s in OPEN_VISIT_STATUSES]))
    ).all()
    flagged = [visit.id for visit in visits if visit.id is not None]
    for visit_id in flagged:
        flag_phone_call(session, visit_id, "sms", "customer opted out of SMS")
    return flagged


def opt_in(session: Session, phone: str, source: str) -> int:
    """Text ``phone`` again; returns how many customers were re-subscribed."""
    count = 0
    for customer in customers_with_phone(session, phone):
        if customer.sms_opt_out:
            customer.sms_opt_out = False
            session.add(customer)
            audit.record(session, "sms", OPTED_IN, "customer", customer.id, source=source)
            count += 1
    return count
