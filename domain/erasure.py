"""Erasing a customer's personal data on their request (GDPR, art. 17).

What the business must keep stays (the sales, their visits with dates, kinds, staff, billing and
work notes, the survey scores); everything that names, reaches or locates the customer goes:
their name, phone, email, address and place, the text of every SMS to or from them or about
their visits (a technician's "next: <name>, <address>"), their
survey comments, the customer's details in the staff's calendar entries (which are re-sent) and
their secret calendar links, and the before/after values in their record's audit entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, or_, select

from domain import audit
from domain.errors import Conflict, NotFound
from domain.models import (
    AuditEntry,
    CalendarEntry,
    Customer,
    CustomerLink,
    Sale,
    SaleStatus,
    SmsMessage,
    SurveyAnswer,
    Visit,
)
from domain.types import utcnow

ERASED_NAME = "(erased #{id})"


@dataclass(frozen=True)
class Erasure:
    messages: int
    calendar_entries: int
    survey_comments: int


def erase_customer(session: Session, customer_id: int, actor: str) -> Erasure:
    """Erase the customer's personal data (audited, counts returned); a customer with an
    active sale cannot be erased (cancel it first: its visits would need the address)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"unknown customer {customer_id}")
    active = session.exec(
        select(Sale.id).where(Sale.customer_id == customer_id, Sale.status == SaleStatus.ACTIVE)
    ).first()
    if active is not None:
        raise Conflict(f"sale {active} is still active: cancel it before erasing the customer")
    phone = customer.phone
    customer.name = ERASED_NAME.format(id=customer_id)
    customer.phone, customer.email, customer.address = "", None, ""
    customer.latitude = customer.longitude = 0.0
    customer.sms_opt_out = True  # never texted again
    session.add(customer)

    sale_ids = select(Sale.id).where(Sale.customer_id == customer_id)
    visit_ids = select(Visit.id).where(col(Visit.sale_id).in_(sale_ids))
    # theirs, and those about their visits to others (a technician told where to go next)
    theirs = [SmsMessage.customer_id == customer_id, col(SmsMessage.visit_id).in_(visit_ids)]
    if phone:  # replies from their number that were never tied to them
        theirs += [SmsMessage.to_number == phone, SmsMessage.from_number == phone]
    messages = list(session.exec(select(SmsMessage).where(or_(*theirs))))
    for message in messages:
        message.body = ""
        if message.to_number == phone:
            message.to_number = ""
        if message.from_number == phone:
            message.from_number = ""
        session.add(message)

    now = utcnow()
    entries = list(
        session.exec(select(CalendarEntry).where(col(CalendarEntry.visit_id).in_(visit_ids)))
    )
    for entry in entries:  # "Installation: Boiler – Carmen" -> "Installation: Boiler"
        entry.summary = entry.summary.split(" – ")[0]
        entry.location, entry.description = "", ""
        entry.sequence += 1  # calendars take the change
        entry.last_modified = max(now, entry.last_modified + timedelta(seconds=1))
        session.add(entry)
    for link in session.exec(select(CustomerLink).where(col(CustomerLink.visit_id).in_(visit_ids))):
        session.delete(link)
    comments = list(
        session.exec(
            select(SurveyAnswer).where(
                col(SurveyAnswer.sale_id).in_(sale_ids), col(SurveyAnswer.comment).is_not(None)
            )
        )
    )
    for answer in comments:
        answer.comment = None
        session.add(answer)

    for entry in session.exec(
        select(AuditEntry).where(
            AuditEntry.entity == "customer", AuditEntry.entity_id == customer_id
        )
    ):
        if entry.details:
            entry.details = {}
            session.add(entry)
    result = Erasure(len(messages), len(entries), len(comments))
    audit.record(session, actor, "customer.erase", "customer", customer_id,
                 messages=result.messages, calendar_entries=result.calendar_entries,
                 survey_comments=result.survey_comments)  # fmt: skip
    session.flush()
    return result
