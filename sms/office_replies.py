"""Replies only people answer: to an office message or to "on my way".

Nothing in posventa answers them, so each stays *to handle* until someone in the office marks
it handled (the plan board counts them, the inbox lists them). A plain "thanks" needs no one:
the hand-off marks it handled itself (``AUTO_HANDLED``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, update
from sqlmodel import Session, col, func, select

from domain.errors import DomainError, NotFound
from domain.models import SmsDirection, SmsMessage
from domain.types import utcnow
from sms.replies import NOTICE_CONTEXT_TEMPLATES

FOR_THE_OFFICE = NOTICE_CONTEXT_TEMPLATES
AUTO_HANDLED = "automatic"  # handled_by of a reply that was only thanks


def for_the_office() -> ColumnElement[bool]:
    """Inbound replies to the office's messages and to "on my way" (never NULL: a message
    without a template is not one, so ``not_`` of this condition holds for it)."""
    return and_(
        col(SmsMessage.direction) == SmsDirection.INBOUND.value,
        col(SmsMessage.template).is_not(None),
        col(SmsMessage.template).in_(FOR_THE_OFFICE),
    )


def to_handle() -> ColumnElement[bool]:
    """Replies for the office that nobody has handled yet."""
    return and_(for_the_office(), col(SmsMessage.handled_at).is_(None))


def count_to_handle(session: Session) -> int:
    return session.exec(select(func.count()).select_from(SmsMessage).where(to_handle())).one()


def _reply(session: Session, message_id: int) -> SmsMessage:
    msg = session.get(SmsMessage, message_id)
    if msg is None:
        raise NotFound(f"message {message_id} not found")
    if msg.direction != SmsDirection.INBOUND.value or msg.template not in FOR_THE_OFFICE:
        raise DomainError("only replies to the office or to 'on my way' are handled by hand")
    return msg


def mark_handled(
    session: Session, message_id: int, actor: str, at: datetime | None = None
) -> SmsMessage:
    """Mark a reply handled by ``actor``; handling it again keeps the first who did."""
    msg = _reply(session, message_id)
    if msg.handled_at is None:
        msg.handled_at = at or utcnow()
        msg.handled_by = actor
        session.add(msg)
    return msg


def reopen(session: Session, message_id: int) -> SmsMessage:
    """Put a handled reply back among those to handle."""
    msg = _reply(session, message_id)
    msg.handled_at = None
    msg.handled_by = None
    session.add(msg)
    return msg


def mark_thanks_handled(session: Session, message_id: int) -> None:
    """The hand-off's mark on a reply that was only thanks (nobody needs to read it)."""
    session.execute(
        update(SmsMessage)
        .where(col(SmsMessage.id) == message_id, col(SmsMessage.handled_at).is_(None))
        .values(handled_at=utcnow(), handled_by=AUTO_HANDLED)
    )
