"""Visits: filterable list and its CSV export, and the dispatcher's phone-call answers for
flagged visits."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlmodel import Session, select

from domain.models import OPEN_VISIT_STATUSES, Staff, Visit, VisitKind, VisitStatus
from domain.visits import lateness_minutes
from web.auth import role_required
from web.csv_export import csv_download
from web.extensions import business_today, engine, settings, workflows
from web.gateway_errors import flash_workflow_error, gateway_errors
from web.params import page_number
from web.visits_query import VisitsFilter, visits_query

bp = Blueprint("visits", __name__, url_prefix="/visits")

DISPATCH = ("admin", "dispatcher")
PAGE = 100


@bp.get("/")
@role_required(*DISPATCH)
def index():  # type: ignore[no-untyped-def]
    f = VisitsFilter.from_args(request.args)
    page = max(request.args.get("page", default=1, type=page_number) or 1, 1)
    today = business_today()
    rows, count = visits_query(f, today, settings().timezone)
    with Session(engine()) as s:
        total = s.exec(count).one()
        found = list(s.exec(rows.limit(PAGE).offset((page - 1) * PAGE)))
        staff = {m.id: m.name for m in s.exec(select(Staff).order_by(Staff.name))}
    return render_template(
        "visits/index.html",
        rows=found,
        staff=staff,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        f=f,
        statuses=[v.value for v in VisitStatus],
        kinds=[k.value for k in VisitKind],
        today=today,
        open_statuses=[v.value for v in OPEN_VISIT_STATUSES],
    )


EXPORT_COLUMNS = (
    "visit_id", "kind", "sequence", "status", "planned_start", "staff", "billable", "due_date",
    "customer_name", "phone", "address", "product_sku", "product_name", "sale_id",
    "description", "outcome_note", "arrived_at", "finished_at", "late_minutes",
    "arrival_distance_m", "arrival_accuracy_m",
)  # fmt: skip


@bp.get("/export.csv")
@role_required(*DISPATCH)
def export_csv():  # type: ignore[no-untyped-def]
    """The visits the list's filters select, every page, as a CSV file (the billable repairs
    done in a month, for invoicing)."""
    f = VisitsFilter.from_args(request.args)
    tz = ZoneInfo(settings().timezone)
    rows, _count = visits_query(f, business_today(), settings().timezone)

    def local(moment: datetime | None) -> str:
        return f"{moment.astimezone(tz):%Y-%m-%d %H:%M}" if moment else ""

    with Session(engine()) as s:
        staff = {m.id: m.name for m in s.exec(select(Staff))}
        lines = [
            (v.id, v.kind, v.sequence, v.status, local(v.planned_start),
             staff.get(v.assigned_staff_id, ""), "yes" if v.billable else "no",
             v.due_date.isoformat() if v.due_date else "", c.name, c.phone, c.address,
             p.sku, p.name, v.sale_id, v.description, v.outcome_note, local(v.arrived_at),
             local(v.finished_at), lateness_minutes(v), v.arrival_distance_m,
             v.arrival_accuracy_m)
            for v, c, p in s.exec(rows)
        ]  # fmt: skip
    return csv_download(f"visits-{business_today().isoformat()}.csv", EXPORT_COLUMNS, lines)


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
