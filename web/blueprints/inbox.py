"""The customers' texts to the office (``/inbox/``): every inbound SMS, newest first, with what
it answered and the sale it belongs to. Replies to office messages and to "on my way" are only
read here and on the sale's page: they stay *to handle* until someone marks them handled (the
plan board counts them)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from domain.db import session_scope
from domain.errors import DomainError, NotFound
from domain.models import Customer, SmsDirection, SmsMessage, Staff
from sms.office_replies import (
    AUTO_HANDLED,
    FOR_THE_OFFICE,
    count_to_handle,
    for_the_office,
    mark_handled,
    reopen,
)
from sms.office_replies import to_handle as to_handle_condition
from web.auth import current_user, role_required
from web.extensions import engine
from web.params import db_id, page_number

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

DISPATCH = ("admin", "dispatcher")
PAGE = 50
SHOW = ("all", "office", "open")  # every text / replies for the office / those still to handle
MAX_BULK = PAGE  # a bulk "handled" covers at most one page
ANSWERED = {
    "visit_confirmation": _l("visit confirmation"),
    "visit_no_answer_reminder": _l("visit confirmation"),
    "visit_confirmation_asked_again": _l("visit confirmation"),
    "visit_day_before_reminder": _l("day-before reminder"),
    "visit_rescheduled": _l("new time"),
    "reschedule_offer": _l("times offered"),
    "slot_chosen": _l("time chosen"),
    "survey_request": _l("survey"),
    "survey_reminder": _l("survey"),
    "survey_comment_request": _l("survey"),
    "office_message": _l("office message"),
    "visit_on_the_way": _l("on my way"),
    "visit_delayed": _l("running late"),
    "staff_route_new": _l("route change (to staff)"),
    "staff_route_changed": _l("route change (to staff)"),
    "staff_route_cleared": _l("route change (to staff)"),
}


def office_replies_to_handle() -> int:
    """How many replies are to handle, counted once per request (the navigation and the plan
    board's banner both show it); 0 when the database cannot say: a page must still render,
    e.g. the error page of a database that is down."""
    if "replies_to_handle" not in g:
        try:
            with Session(engine()) as s:
                g.replies_to_handle = count_to_handle(s)
        except SQLAlchemyError:
            g.replies_to_handle = 0
    return g.replies_to_handle  # type: ignore[no-any-return]


def _show() -> str:
    show = request.values.get("show", "")
    if show in SHOW:
        return show
    return "office" if request.values.get("office") == "1" else "all"  # the older link


@bp.get("/")
@role_required(*DISPATCH)
def index():  # type: ignore[no-untyped-def]
    show = _show()
    page = max(request.args.get("page", default=1, type=page_number) or 1, 1)
    conds = [SmsMessage.direction == SmsDirection.INBOUND.value]
    if show == "office":
        conds.append(for_the_office())
    elif show == "open":
        conds.append(to_handle_condition())
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
        unknown = {m.from_number for m, c in rows if c is None}
        staff = {
            m.phone: m.name
            for m in s.exec(select(Staff).where(col(Staff.phone).in_(unknown)))
        } if unknown else {}  # fmt: skip
    open_ids = [m.id for m, _c in rows if m.template in FOR_THE_OFFICE and m.handled_at is None]
    return render_template(
        "inbox/index.html", rows=rows, open_ids=open_ids, answered=ANSWERED, show=show,
        page=page, total=total, pages=max(1, -(-total // PAGE)), for_the_office=FOR_THE_OFFICE,
        auto=AUTO_HANDLED, staff=staff,
    )  # fmt: skip


def _back():  # type: ignore[no-untyped-def]
    page = request.form.get("page", default=1, type=page_number) or 1
    return redirect(url_for("inbox.index", show=_show(), page=page if page > 1 else None))


@bp.post("/handled")
@role_required(*DISPATCH)
def handled():  # type: ignore[no-untyped-def]
    """Mark replies handled (one row's button, or every reply a page shows)."""
    raw = request.form.getlist("ids")
    try:
        ids = sorted({db_id(v) for v in raw})
    except ValueError:
        abort(400)
    if not ids or len(ids) > MAX_BULK:
        abort(400)
    try:
        with session_scope(engine()) as s:
            for message_id in ids:
                mark_handled(s, message_id, current_user.email)
    except NotFound:
        abort(404)
    except DomainError:  # not a reply for the office: nothing a form of ours sends
        abort(400)
    flash(ngettext("%(num)d reply marked handled.", "%(num)d replies marked handled.", len(ids)),
          "success")  # fmt: skip
    return _back()


@bp.post("/<int:message_id>/reopen")
@role_required(*DISPATCH)
def reopen_reply(message_id: int):  # type: ignore[no-untyped-def]
    """Put a reply back among those to handle (marked handled by mistake)."""
    try:
        with session_scope(engine()) as s:
            reopen(s, message_id)
    except NotFound:
        abort(404)
    except DomainError:
        abort(400)
    flash(_("The reply is back among those to handle."), "success")
    return _back()
