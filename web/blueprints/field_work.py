"""Field work (``/field-work/``): punctuality and time on site over a period."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict

from domain.models import Staff
from web.auth import role_required
from web.extensions import business_today, engine, settings
from web.field_report import DEFAULT_DAYS, FieldFilter, summarise
from web.periods import BadPeriod

bp = Blueprint("field_work", __name__, url_prefix="/field-work")

DISPATCH = ("admin", "dispatcher")
QUICK_PERIODS = (7, 30, 90)  # days up to today
KIND_MINUTES = {  # the product's planned minutes for each kind of visit
    "installation": "installation_minutes",
    "training": "training_minutes",
    "maintenance": "maintenance_minutes",
    "repair": "repair_minutes",
}


@bp.get("/")
@role_required(*DISPATCH)
def index():  # type: ignore[no-untyped-def]
    today = business_today()
    try:
        f = FieldFilter.from_args(request.args, today)
    except BadPeriod as exc:
        flash(_("That period cannot be read (%(why)s): showing the last %(days)d days.",
                why=exc, days=DEFAULT_DAYS), "error")  # fmt: skip
        f = FieldFilter.from_args(MultiDict(), today)
    with Session(engine()) as s:
        summary = summarise(s, f, settings().timezone)
        staff = list(s.exec(select(Staff).order_by(Staff.name)))
    periods = [(days, today - timedelta(days=days - 1), today) for days in QUICK_PERIODS]
    return render_template(
        "field_work/index.html", f=f, summary=summary, staff=staff, periods=periods,
        kind_minutes=KIND_MINUTES,
    )  # fmt: skip
