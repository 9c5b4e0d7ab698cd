"""How long texts are kept: after ``POSVENTA_SMS_RETENTION_DAYS`` a message's words and phone
numbers are blanked (personal data kept no longer than needed); the row stays, so counts,
delivery statuses and which template went out when remain for the records.

Never blanked: an inbound message not handed off yet, or a reply the office still has to
handle (``sms.office_replies``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, not_, or_, update
from sqlmodel import Session, col, select

from domain.models import SmsDirection, SmsMessage
from sms.office_replies import to_handle

REDACTED = ""  # what is left of a blanked body and number
BATCH = 1000


def redact_before(session: Session, before: datetime, limit: int = BATCH) -> int:
    """Blank up to ``limit`` messages created before ``before``; how many were blanked."""
    still_needed = or_(
        and_(
            col(SmsMessage.direction) == SmsDirection.INBOUND.value,
            col(SmsMessage.processed).is_(False),
        ),
        to_handle(),
    )
    ids = session.exec(
        select(SmsMessage.id)
        .where(
            col(SmsMessage.created_at) < before,
            not_(still_needed),
            or_(
                col(SmsMessage.body) != REDACTED,
                col(SmsMessage.to_number) != REDACTED,
                col(SmsMessage.from_number) != REDACTED,
            ),
        )
        .order_by(col(SmsMessage.id))
        .limit(limit)
    ).all()
    if not ids:
        return 0
    session.execute(
        update(SmsMessage)
        .where(col(SmsMessage.id).in_(ids))
        .values(body=REDACTED, to_number=REDACTED, from_number=REDACTED)
    )
    return len(ids)
