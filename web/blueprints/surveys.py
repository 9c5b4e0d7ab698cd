"""Satisfaction survey results (``/surveys/``): the figures of a period and its answers."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _
from sqlmodel import Session, select
from werkzeug.datastructures import MultiDict

from domain.models import Product
from web.auth import role_required
from web.csv_export import csv_download
from web.extensions import business_today, engine, settings
from web.params import page_number
from web.periods import BadPeriod
from web.survey_report import SurveyFilter, answers_query, summarise

bp = Blueprint("surveys", __name__, url_prefix="/surveys")

DISPATCH = ("admin", "dispatcher")
PAGE = 50
QUICK_PERIODS = (30, 90, 365)  # days up to today
EXPORT_COLUMNS = (
    "answered_at", "score", "comment", "sale_id", "customer_name", "phone", "product_sku",
    "installer",
)  # fmt: skip


def _filter() -> SurveyFilter:
    today = business_today()
    try:
        return SurveyFilter.from_args(request.args, today)
    except BadPeriod as exc:
        flash(_("That period cannot be read (%(why)s): showing the last 365 days.", why=exc),
              "error")  # fmt: skip
        return SurveyFilter.from_args(MultiDict(), today)


@bp.get("/")
@role_required(*DISPATCH)
def index():  # type: ignore[no-untyped-def]
    f = _filter()
    page = max(request.args.get("page", default=1, type=page_number) or 1, 1)
    tzid = settings().timezone
    with Session(engine()) as s:
        summary = summarise(s, f, tzid)
        rows, count = answers_query(f, tzid)
        total = s.exec(count).one()
        answers = list(s.exec(rows.limit(PAGE).offset((page - 1) * PAGE)))
        products = list(s.exec(select(Product).order_by(Product.name)))
    today = business_today()
    periods = [(days, today - timedelta(days=days - 1), today) for days in QUICK_PERIODS]
    return render_template(
        "surveys/index.html", f=f, summary=summary, answers=answers, products=products,
        total=total, page=page, pages=max(1, -(-total // PAGE)), periods=periods,
    )  # fmt: skip


@bp.get("/export.csv")
@role_required(*DISPATCH)
def export_csv():  # type: ignore[no-untyped-def]
    """The answers the page's filters select, every page, as a CSV file."""
    f = _filter()
    tzid = settings().timezone
    with Session(engine()) as s:
        rows, _count = answers_query(f, tzid)
        lines = [
            (f"{answer.answered_at.astimezone(ZoneInfo(tzid)):%Y-%m-%d %H:%M}", answer.score,
             answer.comment,
             sale.id, customer.name, customer.phone, product.sku, installer)
            for answer, sale, customer, product, installer in s.exec(rows)
        ]  # fmt: skip
    name = f"surveys-{f.since.isoformat()}-{f.until.isoformat()}.csv"
    return csv_download(name, EXPORT_COLUMNS, lines)
