"""Visits: filterable list, and the dispatcher's phone-call answers for flagged visits."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlmodel import Session, col, func, select

from domain.models import OPEN_VISIT_STATUSES, Customer, Sale, Staff, Visit, VisitKind, VisitStatus
from domain.visits import overdue
from web.auth import role_required
from web.extensions import business_today, engine, workflows
from web.gateway_errors import flash_workflow_error, gateway_errors
from web.params import db_id, page_number

bp = Blueprint("visits", __name__, url_prefix="/visits")

DISPATCH = ("admin", "dispatcher")
PAGE = 100


@bp.get("/")
@role_required(*DISPATCH)
def index():  # type: ignore[no-untyped-def]
    status = request.args.get("status") or None
    kind = request.args.get("kind") or None
    staff_id = request.args.get("staff_id", type=db_id)
    call = request.args.get("call") == "1"
    late = request.args.get("overdue") == "1"  # open after their due date, most overdue first
    day_raw = request.args.get("day") or ""
    page = max(request.args.get("page", default=1, type=page_number) or 1, 1)
    query = (
        select(Visit, Customer)
        .join(Sale, col(Sale.id) == col(Visit.sale_id))
        .join(Customer, col(Customer.id) == col(Sale.customer_id))
    )
    count = select(func.count()).select_from(Visit)
    conds = []
    if status in {v.value for v in VisitStatus}:
        conds.append(Visit.status == status)
    if kind in {k.value for k in VisitKind}:
        conds.append(Visit.kind == kind)
    if staff_id:
        conds.append(Visit.assigned_staff_id == staff_id)
    if call:
        conds.append(col(Visit.needs_phone_call).is_(True))
    today = business_today()
    if late:
        conds.append(overdue(today))
    try:
        day = date.fromisoformat(day_raw) if day_raw else None
    except ValueError:
        day = None
    if day is not None:
        conds.append(col(Visit.earliest_date) <= day)
        conds.append((col(Visit.due_date).is_(None)) | (col(Visit.due_date) >= day))
    for cond in conds:
        query = query.where(cond)
        count = count.where(cond)
    order = [col(Visit.due_date).asc(), col(Visit.id)] if late else [col(Visit.id).desc()]
    with Session(engine()) as s:
        total = s.exec(count).one()
        rows = list(s.exec(query.order_by(*order).limit(PAGE).offset((page - 1) * PAGE)))
        staff = {m.id: m.name for m in s.exec(select(Staff).order_by(Staff.name))}
    return render_template(
        "visits/index.html",
        rows=rows,
        staff=staff,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        filters={
            "status": status,
            "kind": kind,
            "staff_id": staff_id,
            "call": call,
            "overdue": late,
            "day": day_raw,
        },
        today=today,
        open_statuses=[v.value for v in OPEN_VISIT_STATUSES],
        statuses=[v.value for v in VisitStatus],
        kinds=[k.value for k in VisitKind],
    )


@bp.post("/<int:visit_id>/reply")
@role_required(*DISPATCH)
def reply(visit_id: int):  # type: ignore[no-untyped-def]
    """The customer's answer taken by phone (opted out of SMS, or never replied)."""
    from workflows.contracts import CustomerReplyInput

    answer = request.form.get("answer", "")
    if answer not in ("confirm", "decline"):
        abort(400)
    with Session(engine()) as s:
        if s.get(Visit, visit_id) is None:
            abort(404)
    try:
        result = workflows().customer_reply(visit_id, CustomerReplyInput(answer=answer))
    except gateway_errors() as exc:
        flash_workflow_error(exc)
    else:
        if result.accepted:
            flash(_("Visit #%(id)d: %(status)s.", id=visit_id, status=_(result.status)), "success")
        else:
            flash(_("The visit did not accept this answer now."), "error")
    return redirect(request.referrer or url_for("visits.index"))
