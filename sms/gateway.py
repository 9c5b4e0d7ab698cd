"""The one small interface the rest of posventa sees for sending SMS.

Two implementations: :class:`sms.twilio_gateway.TwilioGateway` (the real network) and
:class:`sms.outbox.OutboxGateway` (embedded: messages stay in the database and the web app's
phone simulator plays the customer's phone). Configuration chooses (``POSVENTA_SMS_GATEWAY``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Engine

from posventa.config import Settings


@dataclass(frozen=True)
class OutgoingSms:
    """One message to hand to the provider (stored as ``SmsMessage`` ``message_id``)."""

    to: str
    body: str
    message_id: int | None = None  # None when the message is stored together with the result


@dataclass(frozen=True)
class SendResult:
    provider_sid: str
    status: str  # the provider's status right after accepting: queued, accepted, sent...
    from_number: str = ""


class SmsGateway(Protocol):
    """Sends one SMS; raises ``PermanentSmsError`` or ``TransientSmsError`` when it cannot."""

    name: str
    # True when the provider itself answers STOP/START/HELP (Twilio does on standard numbers).
    answers_reserved_keywords: bool
    # Optional ``sends_in_process = True``: send() does no I/O and cannot fail halfway, so the
    # messenger may store the message and its result in one transaction.

    def sender(self) -> str:
        """The number customers see and reply to (E.164; may be empty for a sender pool)."""
        ...

    def send(self, message: OutgoingSms) -> SendResult: ...


def gateway_from_settings(settings: Settings, engine: Engine) -> SmsGateway:
    """The configured gateway: ``outbox`` (default) or ``twilio``."""
    if settings.sms_gateway == "twilio":
        from sms.twilio_gateway import TwilioGateway

        return TwilioGateway(settings)
    from sms.outbox import OutboxGateway

    return OutboxGateway(engine, settings)
