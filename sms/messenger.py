"""Sending templated SMS to customers: idempotent, opt-out aware, every message stored.

Workflows' activities call :meth:`Messenger.send_for_visit` and :meth:`Messenger.send_for_sale`
with an idempotency key; a retried call returns the message already sent. The inbound pipeline
uses :meth:`Messenger.send_reply` for its short answers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from domain.db import session_scope
from domain.models import (
    Customer,
    Product,
    Sale,
    SmsDirection,
    SmsMessage,
    Staff,
    User,
    Visit,
)
from posventa.config import Settings
from sms import templates as t
from sms.errors import PermanentSmsError, TransientSmsError
from sms.gateway import OutgoingSms, SendResult, SmsGateway
from sms.optout import opt_out
from sms.status import TERMINAL, next_status
from sms.twilio_gateway import OPTED_OUT

log = logging.getLogger(__name__)

OPTED_OUT_REASON = "opted_out"
NO_PHONE_REASON = "no_phone"
OFFICE_TEMPLATE = "office_message"  # written by a dispatcher; replies are for the office
OFFICE_TEXT_MAX = 480  # three SMS segments


@dataclass(frozen=True)
class SendOutcome:
    message_id: int | None
    status: str
    skipped_reason: str | None = None
    # this key's message had gone out already: nothing was sent now (the same outcome otherwise)
    repeated: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class _Draft:
    customer_id: int | None
    to: str
    body: str
    template: str
    visit_id: int | None = None
    sale_id: int | None = None


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class Messenger:
    def __init__(self, engine: Engine, gateway: SmsGateway, settings: Settings) -> None:
        self.engine = engine
        self.gateway = gateway
        self.settings = settings

    # -- public API ---------------------------------------------------------------------------

    def send_for_visit(
        self,
        visit_id: int,
        template: str,
        idempotency_key: str,
        slots: Sequence[datetime | str] | None = None,
        told_window: tuple[datetime, datetime] | None = None,
        eta: datetime | None = None,
    ) -> SendOutcome:
        """Text the visit's customer with a template from ``sms.templates.VISIT_TEMPLATES``
        (or a notice from ``NOTICE_TEMPLATES``, or a confirmation asked again).

        ``told_window`` is the arrival window the customer was given, for a visit that has
        been taken off the plan since (its row no longer holds one); ``eta`` the arrival time
        a technician on the way expects.
        """
        if template not in (*t.VISIT_TEMPLATES, *t.NOTICE_TEMPLATES, *t.ASK_AGAIN_TEMPLATES):
            raise t.TemplateError(f"{template!r} is not a visit template")
        with Session(self.engine) as session:
            visit = session.get(Visit, visit_id)
            if visit is None:
                raise LookupError(f"unknown visit {visit_id}")
            sale = session.get(Sale, visit.sale_id)
            assert sale is not None
            customer = session.get(Customer, sale.customer_id)
            assert customer is not None
            values = self.visit_values(session, visit, customer.locale, sale)
            if told_window is not None:
                tz = self.settings.timezone
                values |= {
                    "date": t.format_day(told_window[0], tz, customer.locale),
                    "start": t.format_clock(told_window[0], tz),
                    "end": t.format_clock(told_window[1], tz),
                }
            if eta is not None:
                values["eta"] = t.format_clock(eta, self.settings.timezone)
            if template == "reschedule_offer":
                if not slots:
                    raise ValueError("reschedule_offer needs at least one slot")
                width = timedelta(minutes=self.settings.arrival_window_minutes)
                starts = [_as_datetime(s) for s in slots]
                values["slots"] = t.format_slots(
                    [(s, s + width) for s in starts], self.settings.timezone, customer.locale
                )
            draft = _Draft(
                customer_id=customer.id,
                to=customer.phone,
                body=t.render(template, customer.locale, **values),
                template=template,
                visit_id=visit.id,
                sale_id=sale.id,
            )
        return self._send(draft, idempotency_key)

    def send_for_sale(self, sale_id: int, template: str, idempotency_key: str) -> SendOutcome:
        """Text the sale's customer with a template from ``sms.templates.SALE_TEMPLATES``."""
        if template not in t.SALE_TEMPLATES:
            raise t.TemplateError(f"{template!r} is not a sale template")
        with Session(self.engine) as session:
            sale = session.get(Sale, sale_id)
            if sale is None:
                raise LookupError(f"unknown sale {sale_id}")
            customer = session.get(Customer, sale.customer_id)
            product = session.get(Product, sale.product_id)
            assert customer is not None and product is not None
            draft = _Draft(
                customer_id=customer.id,
                to=customer.phone,
                body=t.render(
                    template,
                    customer.locale,
                    product=t.shorten(product.name_for(customer.locale), t.PRODUCT_MAX),
                ),
                template=template,
                sale_id=sale.id,
            )
        return self._send(draft, idempotency_key)

    def send_text(
        self, customer_id: int, text: str, idempotency_key: str, *, sale_id: int | None = None
    ) -> SendOutcome:
        """A message the office wrote (the technician is running late, a question), sent as
        typed; an opted-out customer is not texted. A reply to it is stored for the office to
        read, not taken as an answer to an earlier request (``sms.replies.Context.NOTICE``)."""
        body = text.strip()
        if not body or len(body) > OFFICE_TEXT_MAX:
            raise ValueError(f"a message is 1 to {OFFICE_TEXT_MAX} characters")
        with Session(self.engine) as session:
            customer = session.get(Customer, customer_id)
            if customer is None:
                raise LookupError(f"unknown customer {customer_id}")
            draft = _Draft(customer.id, customer.phone, body, OFFICE_TEMPLATE, sale_id=sale_id)
        return self._send(draft, idempotency_key)

    def send_to_staff(
        self,
        staff_id: int,
        template: str,
        idempotency_key: str,
        values: dict[str, str],
        visit_id: int | None = None,
    ) -> SendOutcome:
        """A text to a staff member (``sms.templates.STAFF_TEMPLATES``), in their user's
        language; one without a phone number is skipped. ``visit_id``: the visit it names (its
        customer's erasure blanks it)."""
        if template not in t.STAFF_TEMPLATES:
            raise ValueError(f"{template!r} is not a text for staff")
        with Session(self.engine) as session:
            staff = session.get(Staff, staff_id)
            if staff is None:
                raise LookupError(f"unknown staff member {staff_id}")
            user = session.exec(select(User).where(User.staff_id == staff_id)).first()
            body = t.render(template, user.locale if user else None, **values)
            draft = _Draft(None, staff.phone or "", body, template, visit_id)
        return self._send(draft, idempotency_key)

    def send_reply(
        self,
        to: str,
        template: str,
        idempotency_key: str,
        *,
        customer_id: int | None = None,
        visit_id: int | None = None,
        sale_id: int | None = None,
        locale: str | None = None,
        ignore_opt_out: bool = False,
        session: Session | None = None,
        extra: dict[str, str] | None = None,
    ) -> SendOutcome:
        """An answer to an inbound message (``ignore_opt_out`` only for the opt-out receipt).

        ``extra`` fills placeholders the visit does not provide (e.g. a link's ``url``).

        With ``session`` (only for a gateway that ``sends_in_process``) the answer is stored in
        the caller's transaction, so it commits together with whatever the caller did.
        """
        if session is not None:
            if not self.sends_in_process:
                raise ValueError("only an in-process gateway can send inside a transaction")
            draft = self._reply_draft(
                session, to, template, customer_id, visit_id, sale_id, locale, extra
            )
            return self._store_in_process(session, draft, idempotency_key, ignore_opt_out)
        with Session(self.engine) as own:
            draft = self._reply_draft(
                own, to, template, customer_id, visit_id, sale_id, locale, extra
            )
        return self._send(draft, idempotency_key, ignore_opt_out=ignore_opt_out)

    @property
    def sends_in_process(self) -> bool:
        return bool(getattr(self.gateway, "sends_in_process", False))

    def _reply_draft(
        self,
        session: Session,
        to: str,
        template: str,
        customer_id: int | None,
        visit_id: int | None,
        sale_id: int | None,
        locale: str | None,
        extra: dict[str, str] | None = None,
    ) -> _Draft:
        values: dict[str, str] = {}
        if visit_id is not None:
            visit = session.get(Visit, visit_id)
            if visit is not None:
                values = self.visit_values(session, visit, locale)
        values |= extra or {}
        body = t.render(template, locale, **values)
        return _Draft(customer_id, to, body, template, visit_id, sale_id)

    def _store_in_process(
        self, session: Session, draft: _Draft, key: str, ignore_opt_out: bool
    ) -> SendOutcome:
        """Store a message an in-process gateway has sent, in ``session`` (no commit)."""
        row = self._by_key(session, key)
        if row is not None and (row.provider_sid or row.status in TERMINAL):
            return SendOutcome(row.id, row.status)
        if not ignore_opt_out and self._opted_out(session, draft.customer_id):
            return SendOutcome(None, "skipped", OPTED_OUT_REASON)
        if not draft.to:
            return SendOutcome(None, "skipped", NO_PHONE_REASON)
        if row is None:
            row = self._new_row(draft, key)
        self._apply(row, self.gateway.send(OutgoingSms(row.to_number, row.body, row.id)))
        session.add(row)
        session.flush()
        return SendOutcome(row.id, row.status)

    def _new_row(self, draft: _Draft, key: str) -> SmsMessage:
        return SmsMessage(
            direction=SmsDirection.OUTBOUND.value,
            customer_id=draft.customer_id,
            visit_id=draft.visit_id,
            sale_id=draft.sale_id,
            to_number=draft.to,
            from_number=self.gateway.sender()[:20],
            body=draft.body[:2000],
            template=draft.template,
            status="queued",
            idempotency_key=key,
        )

    def visit_values(
        self, session: Session, visit: Visit, locale: str | None, sale: Sale | None = None
    ) -> dict[str, str]:
        """What the visit templates show: kind, product, local date and arrival window, staff."""
        sale = sale or session.get(Sale, visit.sale_id)
        product = session.get(Product, sale.product_id) if sale else None
        staff = session.get(Staff, visit.assigned_staff_id) if visit.assigned_staff_id else None
        tz = self.settings.timezone
        kind = t.kind_label(visit.kind, locale)
        values = {
            "kind": kind,
            "Kind": kind[:1].upper() + kind[1:],
            "product": t.shorten(product.name_for(locale), t.PRODUCT_MAX) if product else "",
            "staff": t.first_name(staff.name) if staff else "",
        }
        start = visit.promised_window_start or visit.planned_start
        end = visit.promised_window_end or (
            start + timedelta(minutes=self.settings.arrival_window_minutes) if start else None
        )
        if start is not None and end is not None:
            values |= {
                "date": t.format_day(start, tz, locale),
                "start": t.format_clock(start, tz),
                "end": t.format_clock(end, tz),
            }
        else:  # not planned yet: only a cancellation can be told, by its requested date
            values["date"] = t.format_plain_day(visit.earliest_date, locale)
        return values

    # -- the one sending path -----------------------------------------------------------------

    @staticmethod
    def _by_key(session: Session, key: str) -> SmsMessage | None:
        return session.exec(select(SmsMessage).where(SmsMessage.idempotency_key == key)).first()

    def _opted_out(self, session: Session, customer_id: int | None) -> bool:
        if customer_id is None:
            return False
        customer = session.get(Customer, customer_id)
        return bool(customer and customer.sms_opt_out)

    def _send(self, draft: _Draft, key: str, ignore_opt_out: bool = False) -> SendOutcome:
        in_process = self.sends_in_process
        with session_scope(self.engine) as session:
            if not ignore_opt_out and self._opted_out(session, draft.customer_id):
                sent = self._by_key(session, key)  # sent before the opt-out: still the answer
                if sent is not None and (sent.provider_sid or sent.status in TERMINAL):
                    return SendOutcome(sent.id, sent.status, repeated=True)
                return SendOutcome(None, "skipped", OPTED_OUT_REASON)
            if not draft.to:
                return SendOutcome(None, "skipped", NO_PHONE_REASON)
            # Insert first: the unique key settles repeats (one statement less when new).
            row = self._new_row(draft, key)
            if in_process:  # nothing leaves the machine: store it already sent (one INSERT)
                self._apply(row, self.gateway.send(OutgoingSms(row.to_number, row.body)))
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # this key was used before (a retry) or concurrently
                session.rollback()
                existing = self._by_key(session, key)
                if existing is None:
                    raise
                row = existing
                if row.provider_sid or row.status in TERMINAL:
                    return SendOutcome(row.id, row.status, repeated=True)
                if in_process:
                    self._apply(
                        row, self.gateway.send(OutgoingSms(row.to_number, row.body, row.id))
                    )
            if in_process:
                return SendOutcome(row.id, row.status)
            message_id, to, body = row.id, row.to_number, row.body
        assert message_id is not None
        try:
            result = self.gateway.send(OutgoingSms(to=to, body=body, message_id=message_id))
        except PermanentSmsError as exc:
            self._failed(message_id, exc, draft)
            raise
        except TransientSmsError as exc:
            with session_scope(self.engine) as session:
                stored = session.get(SmsMessage, message_id)
                if stored is not None:
                    stored.error_code = (exc.code or "transient")[:20]
            raise
        with session_scope(self.engine) as session:
            stored = session.get(SmsMessage, message_id)
            assert stored is not None
            self._apply(stored, result)
            return SendOutcome(stored.id, stored.status)

    @staticmethod
    def _apply(row: SmsMessage, result: SendResult) -> None:
        row.provider_sid = result.provider_sid
        row.status = next_status(row.status, result.status)
        if result.from_number:
            row.from_number = result.from_number[:20]

    def _failed(self, message_id: int, exc: PermanentSmsError, draft: _Draft) -> None:
        with session_scope(self.engine) as session:
            stored = session.get(SmsMessage, message_id)
            if stored is not None:
                stored.status = "failed"
                stored.error_code = (exc.code or "permanent")[:20]
            if exc.code == str(OPTED_OUT):
                # The carrier says the number opted out: respect it here too.
                log.info("customer %s opted out at the carrier", draft.customer_id)
                opt_out(session, draft.to, source=f"provider error {OPTED_OUT}")
