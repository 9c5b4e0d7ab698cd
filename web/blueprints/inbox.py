"""The customers' texts to the office (``/inbox/``): every inbound SMS, newest first, with what
it answered and the sale it belongs to (replies to office messages and to "on my way" are only
read here and on the sale's page)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, func, select

from domain.models import Customer, SmsDirection, SmsMessage
from domain.types import utcnow
from sms.replies import NOTICE_CONTEXT_TEMPLATES
from web.auth import role_required
from web.extensions import engine
from web.params import page_number

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

DISPATCH = ("admin", "dispatcher")
PAGE = 50
FOR_THE_OFFICE = NOTICE_CONTEXT_TEMPLATES  # replies nobody else answers
ANSWERED = {
    "visit_confirmation": _l("visit confirmation"),
    "visit_no_answer_reminder": _l("visit confirmation"),
    "visit_day_before_reminder": _l("day-before reminder"),
    "visit_rescheduled": _l("new time"),
    "reschedule_offer": _l("times offered"),
    "slot_chosen": _l("time chosen"),
    "survey_request": _l("survey"),
    "survey_reminder": _l("survey"),
    "survey_comment_request": _l("survey"),
    "office_message": _l("office message"),
    "visit_on_the_way": _l("on my way"),
}


RECENT = timedelta(hours=24)  # replies the board mentions


def count_recent_office_replies(session: Session) -> int:
    """Replies to the office's messages and to "on my way" in the last 24 hours: nothing
    answers them but people (the board points to them)."""
    return session.exec(
        select(func.count())
        .select_from(SmsMessage)
        .where(
            SmsMessage.direction == SmsDirection.INBOUND.value,
            col(SmsMessage.template).in_(FOR_THE_OFFICE),
            col(SmsMessage.created_at) >= utcnow() - RECENT,
        )
    ).one()


@bp.get("/")
@role_required(*DISPATCH)
def index():  # type: ignore[no-untyped-def]
    office_only = request.args.get("office") == "1"
    page = max(request.args.get("page", default=1, type=page_number) or 1, 1)
    conds = [SmsMessage.direction == SmsDirection.INBOUND.value]
    if office_only:
        conds.append(col(SmsMessage.template).in_(FOR_THE_OFFICE))
    with Session(engine()) as s:
        total = s.exec(select(func.count()).select_from(SmsMessage).where(*conds)).one()
        rows = list(
            s.exec(
                select(SmsMessage, Customer)
                .outerjoin(Customer, col(Customer.id) == col(SmsMessage.customer_id))
                .where(*conds)
                .order_by(col(SmsMessage.id).desc())
                .limit(PAGE)
                .offset((page - 1) * PAGE)
            )
        )
    return render_template(
        "inbox/index.html", rows=rows, answered=ANSWERED, office_only=office_only, page=page,
        total=total, pages=max(1, -(-total // PAGE)), for_the_office=FOR_THE_OFFICE,
    )  # fmt: skip
