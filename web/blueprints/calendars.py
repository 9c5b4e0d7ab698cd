"""Calendar links: staff feeds (``/calendars/<token>.ics``) and customer visit .ics (``/c/…``).

No login: the token in the path is the secret. Responses carry an ETag (304 when the calendar
app already has this version) and are never cached by shared caches.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, request
from sqlmodel import Session

from calendars import log_redaction
from calendars.feed import VisitNotScheduled, customer_visit_ics, staff_feed
from calendars.tokens import staff_for_token, visit_for_customer_token
from calendars.urls import uid_domain
from web.extensions import engine, settings

bp = Blueprint("calendars", __name__)

CONTENT_TYPE = "text/calendar; charset=utf-8"


@bp.record_once
def _install_log_redaction(state) -> None:  # type: ignore[no-untyped-def]
    log_redaction.install(state.app.logger)


def _ics_response(body: bytes, filename: str) -> Response:
    response = Response(body, content_type=CONTENT_TYPE)
    response.set_etag(hashlib.sha256(body).hexdigest())
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response.make_conditional(request)


@bp.get("/calendars/<token>.ics")
def staff_calendar(token: str) -> Response:
    with Session(engine()) as session:
        staff = staff_for_token(session, token)
        if staff is None:
            abort(404)
        body = staff_feed(session, staff)
    return _ics_response(body, "posventa.ics")


@bp.get("/c/<token>.ics")
def customer_visit(token: str) -> Response:
    with Session(engine()) as session:
        visit = visit_for_customer_token(session, token)
        if visit is None:
            abort(404)
        cfg = settings()
        try:
            body = customer_visit_ics(session, visit, cfg.timezone, uid_domain(cfg))
        except VisitNotScheduled:
            abort(404)
    return _ics_response(body, f"visita-{visit.id}.ics")
