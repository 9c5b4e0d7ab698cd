"""Texts kept no longer than configured: words and numbers blanked, the record kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domain.db import session_scope
from domain.models import SmsMessage
from sms.retention import redact_before

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_old_texts_lose_their_words_and_numbers_but_not_what_someone_still_needs(
    engine: Engine,
) -> None:
    def add(label: str, days_ago: int, **fields: object) -> None:
        fields = {"direction": "outbound", "template": "visit_confirmation",
                  "processed": True, **fields}  # fmt: skip
        with session_scope(engine) as s:
            s.add(SmsMessage(body=label, to_number="+34600000001", from_number="+34600000002",
                             status="delivered", created_at=NOW - timedelta(days=days_ago),
                             **fields))  # fmt: skip

    add("old outbound", 400)
    add("old reply, answered", 400, direction="inbound")
    add("old reply to the office, handled", 400, direction="inbound", template="office_message",
        handled_at=NOW - timedelta(days=390), handled_by="ana@x.es")  # fmt: skip
    add("old reply to the office, still to handle", 400, direction="inbound",
        template="office_message")  # fmt: skip
    add("old reply never handed off", 400, direction="inbound", processed=False)
    add("old text from an unknown number", 400, direction="inbound", template=None)
    add("recent", 10)
    with session_scope(engine) as s:
        assert redact_before(s, NOW - timedelta(days=365), limit=2) == 2  # in batches
    with session_scope(engine) as s:
        assert redact_before(s, NOW - timedelta(days=365)) == 2
    with session_scope(engine) as s:
        assert redact_before(s, NOW - timedelta(days=365)) == 0  # nothing left to blank
    with Session(engine) as s:
        rows = s.exec(select(SmsMessage).order_by(col(SmsMessage.id))).all()
        kept = [(m.body, m.to_number, m.from_number, m.status, m.template) for m in rows]
    blank = ("", "", "")
    assert kept == [
        (*blank, "delivered", "visit_confirmation"),
        (*blank, "delivered", "visit_confirmation"),
        (*blank, "delivered", "office_message"),
        ("old reply to the office, still to handle", "+34600000001", "+34600000002",
         "delivered", "office_message"),
        ("old reply never handed off", "+34600000001", "+34600000002", "delivered",
         "visit_confirmation"),
        (*blank, "delivered", None),  # no template (no conversation): blanked all the same
        ("recent", "+34600000001", "+34600000002", "delivered", "visit_confirmation"),
    ]  # fmt: skip
