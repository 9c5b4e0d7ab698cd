"""The inbound pipeline shared by Twilio's webhook and the phone simulator.

Two steps, so a webhook can answer at once:

1. :meth:`InboundPipeline.receive` (fast: one INSERT): store the message (idempotent on the
   provider's MessageSid) and apply STOP/BAJA or START/ALTA at once.
2. :meth:`InboundPipeline.hand_off` (may be slow; run in the background): find the message's
   conversation (the latest templated message we sent to that number: its customer, visit or
   sale and template), read the reply in that context, hand it to the visit's or sale's
   workflow, and answer the customer. Exactly one hand-off runs per message (the ``processed``
   flag is claimed atomically); if the workflows cannot be reached the claim is released and
   :meth:`process_pending` tries again later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.db import session_scope
from domain.models import (
    AuditEntry,
    Customer,
    SmsDirection,
    SmsMessage,
    SurveyAnswer,
    Visit,
    VisitStatus,
)
from domain.schemas import normalize_phone
from domain.types import utcnow
from domain.visits import flag_phone_call
from posventa.config import Settings
from sms import templates as t
from sms.errors import SmsError
from sms.messenger import OFFICE_TEMPLATE, Messenger
from sms.office_replies import mark_thanks_handled
from sms.optout import OPTED_IN, customers_with_phone, opt_in, opt_out, sms_keyword_source
from sms.replies import (
    TWILIO_RESERVED,
    Context,
    ParsedReply,
    ReplyKind,
    context_for_template,
    is_courtesy,
    parse_reply,
)
from sms.status import TERMINAL as FAILED
from workflows.contracts import (
    CustomerReplyInput,
    CustomerReplyResult,
    SurveyAnswerInput,
    SurveyAnswerResult,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# "slot_chosen" closes an offer: what comes after it is no longer a choice of time
# An office message or a notice is a conversation too: "NO" after "we are running late" or "on my
# way" must not decline the visit whose confirmation was asked earlier.
CONVERSATION_TEMPLATES = (
    *t.VISIT_TEMPLATES, *t.NOTICE_TEMPLATES, *t.SALE_TEMPLATES, *t.ASK_AGAIN_TEMPLATES,
    *t.STAFF_TEMPLATES, "slot_chosen", OFFICE_TEMPLATE,
)  # fmt: skip
# What a customer's yes/no to a visit reads as (a reply to the office that reads so is
# followed by the pending confirmation, asked again).
VISIT_ANSWERS = (ReplyKind.CONFIRM, ReplyKind.DECLINE, ReplyKind.RESCHEDULE)
ASKING_TEMPLATES = tuple(
    name for name in CONVERSATION_TEMPLATES if context_for_template(name) is Context.CONFIRMATION
)
UNRESOLVED = "receiving"  # stored; its conversation not looked up yet
RESOLVED = "received"
HELP_FOR_CONTEXT = {
    Context.CONFIRMATION: "help_confirmation",
    Context.SLOTS: "help_slots",
    Context.SURVEY_SCORE: "help_survey",
    Context.SURVEY_COMMENT: "help_survey",
    Context.NONE: "help_general",
    Context.NOTICE: "help_general",
}


class ReplyHandler(Protocol):
    """What the pipeline needs from :class:`workflows.client.WorkflowGateway`."""

    def customer_reply(self, visit_id: int, data: CustomerReplyInput) -> CustomerReplyResult: ...

    def survey_answer(self, sale_id: int, data: SurveyAnswerInput) -> SurveyAnswerResult: ...


@dataclass(frozen=True)
class InboundSms:
    """Twilio's form fields that matter: MessageSid, From, To, Body."""

    provider_sid: str
    from_number: str
    to_number: str
    body: str


@dataclass(frozen=True)
class Received:
    message_id: int
    duplicate: bool
    needs_hand_off: bool


@dataclass(frozen=True)
class HandOff:
    message_id: int
    action: str  # what was done, e.g. "customer_reply:confirm", "help", "none"
    reply_message_id: int | None = None


def _workflow_errors() -> tuple[type[BaseException], type[BaseException]]:
    from workflows.client import WorkflowRejected, WorkflowUnavailable

    return WorkflowRejected, WorkflowUnavailable


class InboundPipeline:
    def __init__(
        self, engine: Engine, settings: Settings, messenger: Messenger, workflows: ReplyHandler
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.messenger = messenger
        self.workflows = workflows
        self._known_numbers: set[str] = set()  # already in E.164 (a cache, not a registry)

    # -- step 1 -------------------------------------------------------------------------------

    def normalize_number(self, raw: str) -> str:
        """E.164 when it is a phone number; short codes and sender names are kept as given."""
        if raw in self._known_numbers:  # Twilio sends E.164 already; parse each number once
            return raw
        try:
            number = normalize_phone(raw, self.settings.default_region)
        except ValueError:
            return (raw or "").strip()[:20]
        if number == raw and len(self._known_numbers) < 100_000:
            self._known_numbers.add(raw)
        return number

    def conversation(self, session: Session, phone: str) -> SmsMessage | None:
        """The latest templated message we sent to ``phone``: what a reply is answering."""
        return session.exec(
            select(SmsMessage)
            .where(SmsMessage.direction == SmsDirection.OUTBOUND.value)
            .where(SmsMessage.to_number == phone)
            .where(col(SmsMessage.template).in_(CONVERSATION_TEMPLATES))
            .order_by(col(SmsMessage.id).desc())
            .limit(1)
        ).first()

    def receive(self, sms: InboundSms) -> Received:
        """Store the message and apply opt-out/opt-in; idempotent on ``provider_sid``.

        The hot path is one INSERT: no look-up by sid first (the unique constraint settles
        duplicates: a replay is rolled back and the stored row returned), and the conversation
        is resolved by the hand-off. Opt-out and opt-in words mean the same in every context,
        so they take effect here, before the webhook answers.
        """
        if not sms.provider_sid:
            raise ValueError("an inbound SMS needs its provider's MessageSid")
        phone = self.normalize_number(sms.from_number)
        body = (sms.body or "")[:2000]
        now = utcnow()
        table = SmsMessage.__table__  # Core INSERT: the webhook's hot path, no ORM unit of work
        values = {
            "direction": SmsDirection.INBOUND.value,
            "to_number": self.normalize_number(sms.to_number),
            "from_number": phone,
            "body": body,
            "status": UNRESOLVED,
            "provider_sid": sms.provider_sid[:64],
            "processed": False,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self.engine.begin() as conn:
                message_id = conn.execute(
                    insert(table).values(**values).returning(table.c.id)  # type: ignore[attr-defined]
                ).scalar_one()
                parsed = parse_reply(body)
                if parsed.kind in (ReplyKind.OPT_OUT, ReplyKind.OPT_IN):
                    with Session(bind=conn) as session:  # same transaction as the message
                        source = sms_keyword_source(message_id, parsed.keyword)
                        if parsed.kind is ReplyKind.OPT_OUT:
                            opt_out(session, phone, source=source)
                        else:
                            opt_in(session, phone, source=source)
                        session.flush()
        except IntegrityError:  # a MessageSid we already have (a retry or a replay)
            with Session(self.engine) as session:
                other = self._by_sid(session, sms.provider_sid[:64])
            if other is None:  # not a duplicate after all: let the caller see the error
                raise
            return Received(other.id, True, not other.processed)  # type: ignore[arg-type]
        return Received(message_id, False, True)

    def _resolve(self, session: Session, msg: SmsMessage) -> None:
        """Tie a stored message to its conversation: customer, visit or sale, template."""
        convo = self.conversation(session, msg.from_number)
        customer_id = convo.customer_id if convo else None
        if customer_id is None:
            known = customers_with_phone(session, msg.from_number)
            customer_id = known[0].id if known else None
        msg.customer_id = customer_id
        if convo is not None:
            msg.visit_id, msg.sale_id, msg.template = convo.visit_id, convo.sale_id, convo.template
        msg.status = RESOLVED
        session.add(msg)

    @staticmethod
    def _by_sid(session: Session, sid: str) -> SmsMessage | None:
        return session.exec(select(SmsMessage).where(SmsMessage.provider_sid == sid)).first()

    # -- step 2 -------------------------------------------------------------------------------

    def _claim(self, session: Session, message_id: int) -> tuple[SmsMessage, str | None] | None:
        """Take the message for this hand-off (None: another one has it or had it).

        In the same transaction, tie it to its conversation the first time round.
        """
        msg = session.scalars(
            update(SmsMessage)
            .where(col(SmsMessage.id) == message_id)
            .where(col(SmsMessage.processed).is_(False))
            .values(processed=True)
            .returning(SmsMessage)
        ).first()
        if msg is None:
            return None
        if msg.status == UNRESOLVED:  # once: a retried hand-off keeps the same context
            self._resolve(session, msg)
        customer = session.get(Customer, msg.customer_id) if msg.customer_id else None
        return msg, (customer.locale if customer else None)

    def _release(self, message_id: int) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(SmsMessage).where(col(SmsMessage.id) == message_id).values(processed=False)
            )

    def hand_off(self, message_id: int) -> HandOff:
        """Act on a stored inbound message once: workflow update and/or an answer.

        With the outbox, an answer that needs no workflow is stored in the very transaction that
        claims the message; anything else runs after the claim has committed (and releases it
        if it fails, for a later retry).
        """
        with session_scope(self.engine) as session:
            claimed = self._claim(session, message_id)
            if claimed is None:
                return HandOff(message_id, "already_handled")
            if self.messenger.sends_in_process:
                done = self._act(*claimed, session=session)
                if done is not None:
                    return done
        try:
            result = self._act(*claimed)
        except BaseException:
            self._release(message_id)
            raise
        assert result is not None
        return result

    def receive_and_hand_off(self, sms: InboundSms) -> tuple[Received, HandOff | None]:
        """Both steps in line (the simulator and tests)."""
        received = self.receive(sms)
        if not received.needs_hand_off:
            return received, None
        return received, self.hand_off(received.message_id)

    def process_pending(self, limit: int = 100) -> int:
        """Hand off stored messages whose hand-off never finished (e.g. Temporal was down)."""
        with Session(self.engine) as session:
            ids = session.exec(
                select(SmsMessage.id)
                .where(SmsMessage.direction == SmsDirection.INBOUND.value)
                .where(col(SmsMessage.processed).is_(False))
                .order_by(col(SmsMessage.id))
                .limit(limit)
            ).all()
        done = 0
        _, unavailable = _workflow_errors()
        for message_id in ids:
            try:
                self.hand_off(message_id)  # type: ignore[arg-type]
                done += 1
            except unavailable:
                break
        return done

    def _act(
        self, msg: SmsMessage, locale: str | None, session: Session | None = None
    ) -> HandOff | None:
        """Answer and/or hand the reply to its workflow.

        With ``session`` only answers that need no workflow are made (inside that transaction);
        None then means the message needs its workflow.
        """
        assert msg.id is not None
        message_id = msg.id
        context = context_for_template(msg.template)
        parsed = parse_reply(msg.body, context)
        if parsed.kind is ReplyKind.UNKNOWN and context is Context.SURVEY_SCORE:
            if self._survey_scored(msg.sale_id, session):
                # the comment, sent right after the score, before the comment request went out
                context = Context.SURVEY_COMMENT
                parsed = parse_reply(msg.body, context)
        if (
            parsed.kind is ReplyKind.OPT_IN
            and parsed.keyword == "YES"
            and context is Context.CONFIRMATION
            and msg.visit_id is not None
            and msg.customer_id is not None
            and not self._resubscribed(msg, session)
        ):
            # "YES" to a visit confirmation from a customer who never opted out means yes
            parsed = ParsedReply(ReplyKind.CONFIRM, keyword=parsed.keyword)
        if (
            parsed.kind is ReplyKind.OPT_IN
            and parsed.keyword == "YES"
            and context is Context.NOTICE
            and msg.customer_id is not None
            and not self._resubscribed(msg, session)
        ):
            if self._office_asked(msg, session):  # "yes": the answer to the office's question
                return HandOff(message_id, "for_the_office")
            self._thanks_handled(message_id, session)  # "yes" to a notice: thanks, no START
            return HandOff(message_id, "for_the_office:thanks")
        reply = _Replier(self.messenger, msg, locale, session)
        provider_answers = self.messenger.gateway.answers_reserved_keywords and (
            parsed.keyword in TWILIO_RESERVED
        )
        if msg.template in t.STAFF_TEMPLATES:  # a technician answering their route's news
            if is_courtesy(msg.body):
                self._thanks_handled(message_id, session)
                return HandOff(message_id, "for_the_office:thanks")
            return HandOff(message_id, "for_the_office")
        if msg.customer_id is None:
            if parsed.kind is ReplyKind.OPT_OUT or provider_answers:
                return HandOff(message_id, "unknown_number")
            return HandOff(message_id, "unknown_number", reply.send("unknown_number"))
        if parsed.kind in (ReplyKind.OPT_OUT, ReplyKind.OPT_IN, ReplyKind.HELP):
            action = parsed.kind.value
            if provider_answers:
                return HandOff(message_id, action)
            if parsed.kind is ReplyKind.OPT_OUT:
                return HandOff(message_id, action, reply.send("opted_out", ignore_opt_out=True))
            if parsed.kind is ReplyKind.OPT_IN:
                return HandOff(message_id, action, reply.send("opted_in"))
            return HandOff(message_id, action, reply.send(HELP_FOR_CONTEXT[context]))
        if context is Context.NOTICE:  # for the office to read (inbox, sale page); no answer
            if self._office_asked(msg, session):  # its answer, whatever it says: to handle
                return HandOff(message_id, "for_the_office")
            pending = self._confirmation_pending(msg, session)
            if pending is not None:  # "SI" to the office while a visit waits for its answer
                if session is not None:
                    return None  # asked again after the claim (the messenger's own session)
                if is_courtesy(msg.body):
                    self._thanks_handled(message_id, None)
                return HandOff(message_id, "for_the_office:asked_again",
                               self._ask_again(msg, pending))  # fmt: skip
            if is_courtesy(msg.body):  # nothing to read: handled already
                self._thanks_handled(message_id, session)
                return HandOff(message_id, "for_the_office:thanks")
            if msg.visit_id is None:
                return HandOff(message_id, "for_the_office")
            # "not at home, come tomorrow" to a technician on the way: someone must phone
            self._flag_phone_call(msg.visit_id, f"replied to a notice: {msg.body[:200]}", session)
            return HandOff(message_id, "for_the_office:phone_call")
        if (
            parsed.kind
            in (
                ReplyKind.CONFIRM,
                ReplyKind.DECLINE,
                ReplyKind.RESCHEDULE,
                ReplyKind.CHOOSE_SLOT,
            )
            and msg.visit_id is not None
        ):
            return None if session is not None else self._visit_reply(msg, parsed, reply)
        if parsed.kind in (ReplyKind.SURVEY_SCORE, ReplyKind.SURVEY_COMMENT) and msg.sale_id:
            return None if session is not None else self._survey_answer(msg, parsed)
        if is_courtesy(msg.body) and (
            context is Context.NONE or self._visit_confirmed(msg.visit_id, session)
        ):
            return HandOff(message_id, "thanks")  # "gracias" after it is all settled: no answer
        return HandOff(message_id, "help", reply.send(HELP_FOR_CONTEXT[context]))

    def _visit_confirmed(self, visit_id: int | None, session: Session | None) -> bool:
        """Whether the customer has confirmed the visit already."""
        if visit_id is None:
            return False
        query = select(Visit.status).where(Visit.id == visit_id)
        return self._read(session, lambda s: s.exec(query).first()) == VisitStatus.CONFIRMED.value

    def _read(self, session: Session | None, read: Callable[[Session], T]) -> T:
        """``read`` in the caller's session, or in a session of its own (nothing to commit)."""
        if session is not None:
            return read(session)
        with Session(self.engine) as own:
            return read(own)

    def _resubscribed(self, msg: SmsMessage, session: Session | None) -> bool:
        """Whether this message opted its customer back in (it was received opted out)."""
        query = select(AuditEntry.details).where(
            AuditEntry.action == OPTED_IN,
            AuditEntry.entity == "customer",
            AuditEntry.entity_id == msg.customer_id,
        )
        source = sms_keyword_source(msg.id, "YES")  # type: ignore[arg-type]
        rows = self._read(session, lambda s: list(s.exec(query)))
        return any((details or {}).get("source") == source for details in rows)

    def _survey_scored(self, sale_id: int | None, session: Session | None) -> bool:
        """Whether the sale's survey has its score already."""
        if sale_id is None:
            return False
        query = select(SurveyAnswer.id).where(
            SurveyAnswer.sale_id == sale_id, col(SurveyAnswer.score).is_not(None)
        )
        return self._read(session, lambda s: s.exec(query).first()) is not None

    def _visit_reply(self, msg: SmsMessage, parsed: ParsedReply, reply: _Replier) -> HandOff:
        assert msg.id is not None and msg.visit_id is not None
        rejected, _ = _workflow_errors()
        answer = parsed.kind.value
        action = f"customer_reply:{answer}"
        try:
            result = self.workflows.customer_reply(
                msg.visit_id,
                CustomerReplyInput(answer=answer, slot=parsed.slot, message_id=msg.id),
            )
        except rejected as exc:
            log.info("visit %s refused reply %s: %s", msg.visit_id, msg.id, exc)
            result = CustomerReplyResult(accepted=False, status=str(exc))
        if not result.accepted and parsed.kind is ReplyKind.CHOOSE_SLOT:
            # e.g. "3" when two times were offered: say again how to answer
            return HandOff(msg.id, action + ":rejected", reply.send("help_slots"))
        if not result.accepted:
            self._flag_phone_call(msg.visit_id, f"SMS reply not applied: {result.status}")
            return HandOff(msg.id, action + ":rejected", reply.send("reply_rejected"))
        if parsed.kind is ReplyKind.CONFIRM:
            answer = reply.send("reply_confirmed")
            self._send_calendar_link(msg, reply)
            return HandOff(msg.id, action, answer)
        if parsed.kind is ReplyKind.DECLINE:
            return HandOff(msg.id, action, reply.send("reply_declined"))
        if parsed.kind is ReplyKind.RESCHEDULE and not result.offered_slots:
            return HandOff(msg.id, action, reply.send("reply_no_slots"))
        if parsed.kind is ReplyKind.CHOOSE_SLOT:
            return HandOff(msg.id, action, self._acknowledge_slot(msg, reply))
        # Offers are texted by the visit workflow itself.
        return HandOff(msg.id, action)

    def _acknowledge_slot(self, msg: SmsMessage, reply: _Replier) -> int | None:
        """Tell the customer the time they chose is noted: the visit workflow texts it again
        only once that day's plan is approved, which may be days away."""
        with Session(self.engine) as session:
            visit = session.get(Visit, msg.visit_id)
            chosen = visit.pinned_start if visit is not None else None
        if chosen is None:
            return None
        cfg = self.messenger.settings
        width = timedelta(minutes=cfg.arrival_window_minutes)
        return reply.send(
            "slot_chosen",
            extra={
                "date": t.format_day(chosen, cfg.timezone, reply.locale),
                "start": t.format_clock(chosen, cfg.timezone),
                "end": t.format_clock(chosen + width, cfg.timezone),
            },
        )

    def _send_calendar_link(self, msg: SmsMessage, reply: _Replier) -> None:
        """After a confirmation: the customer's own secret link to add the visit to a calendar."""
        from calendars.tokens import issue_customer_link
        from calendars.urls import customer_visit_url

        assert msg.visit_id is not None
        key = f"reply/{msg.id}/calendar"
        with session_scope(self.engine) as session:
            if session.exec(select(SmsMessage.id).where(SmsMessage.idempotency_key == key)).first():
                return  # a retried hand-off: the link went out already
            sent_before = select(SmsMessage.id).where(
                SmsMessage.direction == SmsDirection.OUTBOUND.value,
                SmsMessage.template == "calendar_link",
                SmsMessage.visit_id == msg.visit_id,
                col(SmsMessage.status).not_in(FAILED),  # a link that never reached the phone
            )
            if session.exec(sent_before).first():
                return  # confirmed again: the link they have shows the visit as it is now
            token = issue_customer_link(session, msg.visit_id)
        url = customer_visit_url(self.settings, token)
        reply.send("calendar_link", key=key, extra={"url": url})

    def _survey_answer(self, msg: SmsMessage, parsed: ParsedReply) -> HandOff:
        assert msg.id is not None and msg.sale_id is not None
        rejected, _ = _workflow_errors()
        try:
            result = self.workflows.survey_answer(
                msg.sale_id,
                SurveyAnswerInput(score=parsed.score, comment=parsed.comment, message_id=msg.id),
            )
        except rejected as exc:
            log.info("sale %s refused survey answer %s: %s", msg.sale_id, msg.id, exc)
            return HandOff(msg.id, "survey_answer:rejected")
        action = f"survey_answer:{parsed.kind.value}"
        if not result.accepted:
            return HandOff(msg.id, action + ":rejected")
        # The sale's workflow texts the comment request and the thanks itself.
        return HandOff(msg.id, action)

    def _office_asked(self, msg: SmsMessage, session: Session | None) -> bool:
        """Whether this reply answers an office message that asked a question ("¿Tiene
        aparcamiento?"): then a "SI" or a "thanks" is the office's answer to read, neither a
        courtesy to file nor a cue to ask about a visit again."""
        if msg.template != OFFICE_TEMPLATE or msg.customer_id is None:
            return False
        query = (
            select(SmsMessage.body)
            .where(
                SmsMessage.direction == SmsDirection.OUTBOUND.value,
                SmsMessage.customer_id == msg.customer_id,
                SmsMessage.template == OFFICE_TEMPLATE,
                col(SmsMessage.id) < msg.id,
            )
            .order_by(col(SmsMessage.id).desc())
            .limit(1)
        )
        asked = self._read(session, lambda s: s.exec(query).first())
        return asked is not None and "?" in asked

    def _confirmation_pending(self, msg: SmsMessage, session: Session | None) -> int | None:
        """The visit whose confirmation the customer was asked for and has not given, if this
        reply to an office message reads as an answer to it ("SI", "no puedo"); else None.

        Only office messages: a reply to "on my way" is about that visit, today."""
        if msg.template != OFFICE_TEMPLATE or msg.customer_id is None:
            return None
        if parse_reply(msg.body, Context.CONFIRMATION).kind not in VISIT_ANSWERS:
            return None
        query = (
            select(SmsMessage.visit_id)
            .join(Visit, col(Visit.id) == col(SmsMessage.visit_id))
            .where(
                SmsMessage.direction == SmsDirection.OUTBOUND.value,
                SmsMessage.customer_id == msg.customer_id,
                col(SmsMessage.template).in_(ASKING_TEMPLATES),
                col(SmsMessage.id) < msg.id,
                Visit.status == VisitStatus.AWAITING_CONFIRMATION.value,
                col(Visit.planned_start) > utcnow(),
            )
            .order_by(col(SmsMessage.id).desc())
            .limit(1)
        )
        return self._read(session, lambda s: s.exec(query).first())

    def _ask_again(self, msg: SmsMessage, visit_id: int) -> int | None:
        """Text the visit's confirmation request again (once per reply): the customer's next
        "SI" answers it."""
        try:
            outcome = self.messenger.send_for_visit(
                visit_id, "visit_confirmation_asked_again", f"ask-again/{msg.id}"
            )
        except (SmsError, t.TemplateError) as exc:
            log.warning("confirmation of visit %s not asked again: %s", visit_id, exc)
            return None
        return outcome.message_id

    def _write(self, session: Session | None, write: Callable[[Session], object]) -> None:
        """``write`` in the caller's transaction, or in a transaction of its own."""
        if session is not None:
            write(session)
            return
        with session_scope(self.engine) as own:
            write(own)

    def _thanks_handled(self, message_id: int, session: Session | None) -> None:
        self._write(session, lambda s: mark_thanks_handled(s, message_id))

    def _flag_phone_call(self, visit_id: int, reason: str, session: Session | None = None) -> None:
        self._write(session, lambda s: flag_phone_call(s, visit_id, "sms", reason))


class _Replier:
    """Sends the one answer an inbound message gets (keyed on it, so never twice)."""

    def __init__(
        self,
        messenger: Messenger,
        msg: SmsMessage,
        locale: str | None,
        session: Session | None = None,
    ) -> None:
        self.messenger = messenger
        self.msg = msg
        self.locale = locale
        self.session = session

    def send(
        self,
        template: str,
        ignore_opt_out: bool = False,
        key: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> int | None:
        try:
            outcome = self.messenger.send_reply(
                self.msg.from_number,
                template,
                key or f"reply/{self.msg.id}",
                customer_id=self.msg.customer_id,
                visit_id=self.msg.visit_id,
                sale_id=self.msg.sale_id,
                locale=self.locale,
                ignore_opt_out=ignore_opt_out,
                session=self.session,
                extra=extra,
            )
        except (SmsError, t.TemplateError) as exc:
            log.warning("answer to SMS %s not sent: %s", self.msg.id, exc)
            return None
        return outcome.message_id
