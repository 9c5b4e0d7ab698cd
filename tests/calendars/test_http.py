"""The feed endpoints through the Flask test client and a real werkzeug server's access log."""

from __future__ import annotations

import logging
import threading
import urllib.request
from datetime import UTC, date, datetime

import icalendar
import pytest
from flask import Flask
from sqlalchemy.engine import Engine
from sqlmodel import Session
from werkzeug.serving import make_server

from calendars.log_redaction import TokenRedactingFilter, redact_paths
from calendars.publish import publish_plan
from calendars.tokens import issue_customer_link, issue_feed_token, rotate_feed_token
from posventa.config import Settings
from tests.calendars import factories as f
from web import create_app


def Z(*args: int) -> datetime:  # noqa: N802
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Flask:
    url = engine.url.render_as_string(hide_password=False)
    return create_app(settings.replace(database_url=url, temporal_address="127.0.0.1:1"))


@pytest.fixture
def published(engine: Engine, session: Session):  # type: ignore[no-untyped-def]
    ana = f.staff(session, name="Ana")
    visit = f.visit(
        session,
        f.sale(session, f.customer(session), f.product(session)),
        "v1",
        promised_window_start=Z(2030, 6, 2, 7),
        promised_window_end=Z(2030, 6, 2, 9),
    )
    plan = f.approved_plan(session, date(2030, 6, 2), [(ana, visit, Z(2030, 6, 2, 8), 90)])
    publish_plan(engine, plan.id)
    token = issue_feed_token(session, ana.id)
    session.commit()
    return ana, visit, token


def test_feed_is_served_as_text_calendar_with_an_etag(app: Flask, published) -> None:
    _, _, token = published
    client = app.test_client()
    response = client.get(f"/calendars/{token}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    etag = response.headers["ETag"]
    assert etag
    (event,) = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    assert event.decoded("dtstart").astimezone(UTC) == Z(2030, 6, 2, 8)
    again = client.get(f"/calendars/{token}.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other = client.get(f"/calendars/{token}.ics", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


def test_etag_changes_when_the_calendar_changes(
    app: Flask, engine: Engine, session: Session, published
) -> None:
    ana, visit, token = published
    client = app.test_client()
    etag = client.get(f"/calendars/{token}.ics").headers["ETag"]
    plan = f.approved_plan(session, date(2030, 6, 2), [(ana, visit, Z(2030, 6, 2, 10), 90)])
    publish_plan(engine, plan.id)
    response = client.get(f"/calendars/{token}.ics", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag


def test_revoked_and_unknown_tokens_get_404(app: Flask, session: Session, published) -> None:
    ana, _, token = published
    client = app.test_client()
    new = rotate_feed_token(session, ana.id)
    session.commit()
    assert client.get(f"/calendars/{token}.ics").status_code == 404
    assert client.get(f"/calendars/{new}.ics").status_code == 200
    assert client.get("/calendars/not-a-token.ics").status_code == 404


def test_customer_link_serves_that_visit_only(app: Flask, session: Session, published) -> None:
    _, visit, _ = published
    token = issue_customer_link(session, visit.id)
    session.commit()
    client = app.test_client()
    response = client.get(f"/c/{token}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    (event,) = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
    assert event.decoded("dtstart").astimezone(UTC) == Z(2030, 6, 2, 7)
    assert str(event["uid"]) == f"posventa-visit-{visit.id}-customer@127.0.0.1"
    assert client.get(f"/c/{token[:-2]}xx.ics").status_code == 404


def test_redaction_of_paths() -> None:
    token = "A" * 43
    line = f'127.0.0.1 - - [x] "GET /calendars/{token}.ics HTTP/1.1" 200 -'
    assert redact_paths(line) == '127.0.0.1 - - [x] "GET /calendars/[redacted].ics HTTP/1.1" 200 -'
    assert token not in redact_paths(f"GET /c/{token}.ics")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_werkzeug_access_log_never_shows_the_token(app: Flask, published) -> None:
    _, _, token = published
    werkzeug_log = logging.getLogger("werkzeug")
    assert any(isinstance(x, TokenRedactingFilter) for x in werkzeug_log.filters)
    collect = _Collect()
    werkzeug_log.addHandler(collect)
    old_level = werkzeug_log.level
    werkzeug_log.setLevel(logging.INFO)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/calendars/{token}.ics"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
    finally:
        server.shutdown()
        thread.join(timeout=10)
        werkzeug_log.removeHandler(collect)
        werkzeug_log.setLevel(old_level)
    request_lines = [line for line in collect.lines if "GET /calendars/" in line]
    assert request_lines, collect.lines
    assert all(token not in line for line in collect.lines)
    assert "/calendars/[redacted].ics" in request_lines[0]
