"""SMS webhooks (Twilio) and the phone simulator.

``POST /sms/inbound`` and ``POST /sms/status`` take Twilio's form fields, check
``X-Twilio-Signature`` against the public URL (ProxyFix makes ``request.url`` public behind a
TLS-terminating proxy; ``POSVENTA_PUBLIC_URL`` is accepted too) and answer TwiML at once: the
message is stored and the slow part (the workflow update, the answer) runs in the background.
The simulator lets a dispatcher reply as any customer through the very same pipeline.
"""

from __future__ import annotations

import logging
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlmodel import Session, col, func, select
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from domain.db import session_scope
from domain.models import Customer, SmsMessage, Staff
from domain.visits import flag_phone_call
from sms.gateway import gateway_from_settings
from sms.inbound import HandOff, InboundPipeline, InboundSms, ReplyHandler
from sms.messenger import Messenger
from sms.optout import opt_out
from sms.outbox import OutboxGateway, fake_sid
from sms.status import next_status
from sms.twilio_gateway import OPTED_OUT
from web.auth import role_required
from web.extensions import csrf, engine, settings
from workflows.contracts import (
    CustomerReplyInput,
    CustomerReplyResult,
    SurveyAnswerInput,
    SurveyAnswerResult,
)

log = logging.getLogger(__name__)

bp = Blueprint("sms", __name__, url_prefix="/sms")
_services_lock = threading.Lock()
_sweeping: weakref.WeakSet[HandOffRunner] = weakref.WeakSet()  # runners with a sweeper thread
SERVICES_KEY = "posventa.sms"
SIMULATOR_WAIT_SECONDS = 10.0
SWEEP_SECONDS = 60.0


class _AppWorkflows:
    """The app's WorkflowGateway, looked up on first use (hand-offs run outside requests)."""

    def __init__(self, app: Flask) -> None:
        self._app = app

    def _gateway(self) -> ReplyHandler:
        from web.extensions import workflows

        with self._app.app_context():
            return workflows()

    def customer_reply(self, visit_id: int, data: CustomerReplyInput) -> CustomerReplyResult:
        return self._gateway().customer_reply(visit_id, data)

    def survey_answer(self, sale_id: int, data: SurveyAnswerInput) -> SurveyAnswerResult:
        return self._gateway().survey_answer(sale_id, data)


@dataclass(eq=False)  # one runner per app, kept in a WeakSet: identity, not value
class HandOffRunner:
    """Runs hand-offs in a small thread pool; failures are logged and retried later."""

    pipeline: InboundPipeline
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="sms")
    )
    pending: set[Future] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def submit(self, message_id: int) -> Future:
        future = self.executor.submit(self._run, message_id)
        with self.lock:
            self.pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _run(self, message_id: int) -> HandOff | None:
        try:
            return self.pipeline.hand_off(message_id)
        except Exception:
            log.exception("SMS %s: hand-off failed; it stays pending", message_id)
            return None

    def _done(self, future: Future) -> None:
        with self.lock:
            self.pending.discard(future)

    def start_sweeper(self, every_seconds: float = SWEEP_SECONDS) -> None:
        """Retry, every so often, hand-offs that could not finish (e.g. Temporal was down)."""

        def loop() -> None:
            while not self.stopping.wait(every_seconds):
                try:
                    self.pipeline.process_pending()
                except Exception:
                    log.exception("SMS hand-off sweep failed")

        threading.Thread(target=loop, name="sms-sweeper", daemon=True).start()
        _sweeping.add(self)

    def stop(self) -> None:
        """Stop the sweeper (the pool's running hand-offs finish)."""
        self.stopping.set()
        self.executor.shutdown(wait=False)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait for every hand-off submitted so far (tests, shutdown)."""
        with self.lock:
            futures = set(self.pending)
        wait(futures, timeout=timeout)


@dataclass
class SmsServices:
    messenger: Messenger
    pipeline: InboundPipeline
    runner: HandOffRunner


def services(app: Flask | None = None) -> SmsServices:
    """The app's messenger, inbound pipeline and hand-off runner (built on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(SERVICES_KEY)
    if found is None:
        with app.app_context():
            cfg, eng = settings(), engine()
        messenger = Messenger(eng, gateway_from_settings(cfg, eng), cfg)
        pipeline = InboundPipeline(eng, cfg, messenger, _AppWorkflows(app))
        with _services_lock:
            found = app.extensions.get(SERVICES_KEY)
            if found is None:
                found = SmsServices(messenger, pipeline, HandOffRunner(pipeline))
                app.extensions[SERVICES_KEY] = found
                found.runner.start_sweeper()
    return found


def stop_sweepers() -> None:
    """Stop every hand-off sweeper of this process (shutdown; tests, before their database goes)."""
    for runner in list(_sweeping):
        runner.stop()


# -- webhooks -----------------------------------------------------------------------------------


def _signature_ok() -> bool:
    token = settings().twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    validator = RequestValidator(token)
    algorithm = get_signature_algorithm(
        request.headers.get("X-Twilio-Webhooks-Signature-Settings", "")
    )
    public = settings().public_url.rstrip("/") + request.path
    if request.query_string:
        public += "?" + request.query_string.decode()
    candidates = dict.fromkeys([public, request.url])  # the configured public URL first
    return any(validator.validate(url, request.form, signature, algorithm) for url in candidates)


EMPTY_TWIML = str(MessagingResponse())  # answers go out on their own (stored and tracked)


def _twiml() -> Response:
    return Response(EMPTY_TWIML, mimetype="text/xml")


@bp.post("/inbound")
@csrf.exempt
def inbound() -> Response:
    if not _signature_ok():
        abort(403)
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sid or not form.get("From"):
        abort(400)
    sms = InboundSms(
        provider_sid=sid,
        from_number=form.get("From", ""),
        to_number=form.get("To", ""),
        body=form.get("Body", ""),
    )
    svc = services()
    received = svc.pipeline.receive(sms)
    if received.needs_hand_off:
        svc.runner.submit(received.message_id)
    return _twiml()


@bp.post("/status")
@csrf.exempt
def status() -> Response:
    if not _signature_ok():
        abort(403)
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    reported = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    error_code = request.form.get("ErrorCode") or None
    with session_scope(engine()) as session:
        row = session.exec(
            select(SmsMessage).where(SmsMessage.provider_sid == sid).with_for_update()
        ).first()
        message_id = request.args.get("message_id", type=int)
        if row is None and message_id is not None and sid:
            # The callback beat the messenger storing the sid: find the message by our id.
            row = session.exec(
                select(SmsMessage)
                .where(col(SmsMessage.id) == message_id)
                .where(col(SmsMessage.provider_sid).is_(None))
                .where(SmsMessage.direction == "outbound")
                .with_for_update()
            ).first()
            if row is not None:
                row.provider_sid = sid[:64]
        if row is not None:
            new = next_status(row.status, reported)
            if new != row.status:
                row.status = new
                if error_code and new in ("failed", "undelivered"):
                    row.error_code = error_code[:20]
                session.add(row)
                if new in ("failed", "undelivered") and row.visit_id is not None:
                    # the customer did not get what we told them about their visit: phone them
                    flag_phone_call(
                        session, row.visit_id, "sms",
                        f"SMS {row.template or row.id} {new} (error {error_code or 'none'})",
                    )  # fmt: skip
                if error_code == str(OPTED_OUT):
                    opt_out(session, row.to_number, source=f"status callback {sid}")
    return Response(status=204)


# -- phone simulator ----------------------------------------------------------------------------


def _outbox() -> OutboxGateway:
    """The simulator's view of the phones (the outbox's, whatever gateway sends)."""
    return OutboxGateway(engine(), settings())


@bp.get("/simulator")
@role_required("admin", "dispatcher")
def simulator() -> str:
    selected_id = request.args.get("customer", type=int)
    staff_id = request.args.get("staff", type=int)
    with Session(engine()) as session:
        latest = (
            select(SmsMessage.customer_id, func.max(SmsMessage.id).label("last"))
            .where(col(SmsMessage.customer_id).is_not(None))
            .group_by(col(SmsMessage.customer_id))
            .subquery()
        )
        talking = list(
            session.exec(
                select(Customer)
                .join(latest, latest.c.customer_id == Customer.id)
                .order_by(latest.c.last.desc())
                .limit(200)
            )
        )
        others = list(
            session.exec(
                select(Customer)
                .where(col(Customer.id).not_in([c.id for c in talking] or [0]))
                .order_by(Customer.name)
                .limit(200)
            )
        )
        texted = select(SmsMessage.to_number).where(col(SmsMessage.customer_id).is_(None))
        staff = list(session.exec(
            select(Staff).where(col(Staff.phone).in_(texted)).order_by(Staff.name).limit(200)
        ))  # fmt: skip
        member = session.get(Staff, staff_id) if staff_id else None
        if staff_id and (member is None or not member.phone):
            abort(404)
        selected = session.get(Customer, selected_id) if selected_id else None
        if selected_id and selected is None:
            abort(404)
        if selected is None and member is None and talking:
            selected = talking[0]
    if member is not None:
        conversation = _outbox().number_conversation(member.phone or "")
    else:
        conversation = _outbox().conversation(selected) if selected else []
    return render_template(
        "sms/simulator.html",
        talking=talking,
        others=others,
        staff=staff,
        member=member,
        selected=selected if member is None else None,
        conversation=conversation,
        gateway=services().messenger.gateway.name,
    )


@bp.post("/simulator/<int:customer_id>/reply")
@role_required("admin", "dispatcher")
def simulator_reply(customer_id: int):  # type: ignore[no-untyped-def]
    with Session(engine()) as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            abort(404)
        phone = customer.phone
    return _simulate_answer(phone, url_for("sms.simulator", customer=customer_id))


@bp.post("/simulator/staff/<int:staff_id>/reply")
@role_required("admin", "dispatcher")
def simulator_staff_reply(staff_id: int):  # type: ignore[no-untyped-def]
    """A technician answering a text about their route, as their phone would."""
    with Session(engine()) as session:
        member = session.get(Staff, staff_id)
        if member is None or not member.phone:
            abort(404)
        phone = member.phone
    return _simulate_answer(phone, url_for("sms.simulator", staff=staff_id))


def _simulate_answer(phone: str, back: str):  # type: ignore[no-untyped-def]
    """Receive the form's answer from ``phone`` through the real inbound pipeline."""
    body = (request.form.get("body") or "").strip()
    if services().messenger.gateway.name != "outbox":
        # With a real network people answer from their own phones, not from here.
        abort(403)
    if not body:
        flash(_("Write the customer's answer first."), "error")
        return redirect(back)
    if len(body) > 1600:
        flash(_("An SMS answer can be at most 1600 characters."), "error")
        return redirect(back)
    svc = services()
    sms = InboundSms(
        provider_sid=fake_sid("SM"),
        from_number=phone,
        to_number=svc.messenger.gateway.sender(),
        body=body,
    )
    received = svc.pipeline.receive(sms)
    if received.needs_hand_off:
        future = svc.runner.submit(received.message_id)
        try:
            if future.result(timeout=SIMULATOR_WAIT_SECONDS) is None:
                flash(_("The answer is stored; the workflow could not be reached yet."), "warning")
        except TimeoutError:
            flash(_("The answer is stored and still being processed."), "info")
    return redirect(back)
