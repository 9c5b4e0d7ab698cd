"""The embedded gateway: nothing leaves the machine.

The messenger stores every message (status ``queued``); the outbox plays the phone network and
the customer's handset: it gives the message a provider-like sid and delivers it at once
(``delivered``). The web app's phone simulator shows each customer's conversation
(:meth:`OutboxGateway.conversation`) and customers' answers typed there go through the same
inbound pipeline as Twilio's webhook.
"""

from __future__ import annotations

import uuid

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domain.models import Customer, SmsMessage
from posventa.config import Settings
from sms.gateway import OutgoingSms, SendResult

OUTBOX_NUMBER = "+15005550006"  # Twilio's "valid test number": obviously not a real sender


def fake_sid(prefix: str = "SM") -> str:
    """A sid shaped like Twilio's (two letters and 32 hex digits)."""
    return prefix + uuid.uuid4().hex


class OutboxGateway:
    name = "outbox"
    answers_reserved_keywords = False
    sends_in_process = True  # send() does no I/O: the messenger stores the result at once

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._number = settings.twilio_from or OUTBOX_NUMBER

    def sender(self) -> str:
        return self._number

    def send(self, message: OutgoingSms) -> SendResult:
        return SendResult(provider_sid=fake_sid(), status="delivered", from_number=self._number)

    def number_conversation(self, number: str, limit: int = 500) -> list[SmsMessage]:
        """What the phone with ``number`` shows (a technician's): oldest first."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(SmsMessage)
                .where(or_(col(SmsMessage.to_number) == number,
                           col(SmsMessage.from_number) == number))
                .order_by(col(SmsMessage.id).desc())
                .limit(limit)
            ).all()  # fmt: skip
        return list(reversed(rows))

    def conversation(self, customer: Customer, limit: int = 500) -> list[SmsMessage]:
        """What the customer's phone shows: messages to and from their number, oldest first."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(SmsMessage)
                .where(
                    or_(
                        col(SmsMessage.customer_id) == customer.id,
                        col(SmsMessage.to_number) == customer.phone,
                        col(SmsMessage.from_number) == customer.phone,
                    )
                )
                .order_by(col(SmsMessage.id).desc())
                .limit(limit)
            ).all()
        return list(reversed(rows))
