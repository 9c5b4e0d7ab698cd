"""The office's inbox: every text customers sent, newest first, with what it answered."""

from __future__ import annotations

import re

from sqlalchemy.engine import Engine

from domain.db import session_scope
from domain.models import SmsMessage
from tests.web.factories import World


def test_the_inbox_lists_what_customers_texted_and_what_it_answered(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    carmen = world.customers[0]
    with session_scope(sqlite_engine) as s:
        for body, template, customer, sale in (
            ("SI", "visit_confirmation", carmen, world.sales[0]),
            ("No estoy, venid mañana", "visit_on_the_way", carmen, world.sales[0]),
            ("Hola?", None, None, None),  # an unknown number
        ):
            s.add(SmsMessage(direction="inbound", customer_id=customer, sale_id=sale, body=body,
                             template=template, to_number="+34600000000",
                             from_number="+34699000000", status="received"))  # fmt: skip
        s.add(SmsMessage(direction="outbound", customer_id=carmen, body="Sent by us",
                         to_number="+34612345670", from_number="+34600000000"))  # fmt: skip
    client, _ = client_for("dispatcher")

    def rows(query: str = "") -> list[tuple[str, str, str]]:
        page = client.get(f"/inbox/{query}").get_data(as_text=True)
        return re.findall(r"<td>[^<]*</td>\s*<td>([^<]*)</td><td>([^<]*)</td>\s*<td>([^<]*)</td>",
                          page)  # fmt: skip

    assert rows() == [
        ("+34699000000", "Hola?", "—"),
        ("Carmen Ruiz", "No estoy, venid mañana", "on my way"),
        ("Carmen Ruiz", "SI", "visit confirmation"),
    ]
    assert rows("?office=1") == [("Carmen Ruiz", "No estoy, venid mañana", "on my way")]
    technician, _ = client_for("technician")
    assert technician.get("/inbox/").status_code == 403


def test_the_board_points_to_the_replies_nothing_else_answers(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.web.factories import PLAN_DAY

    client, _ = client_for("dispatcher")

    def banner() -> str | None:
        page = client.get(f"/board/{PLAN_DAY}").get_data(as_text=True)
        found = re.search(r'id="replies">\s*<span>([^<]*)</span>', page)
        return found.group(1).replace("&#34;", '"') if found else None

    def reply(hours_ago: int, template: str) -> None:
        at = datetime.now(UTC) - timedelta(hours=hours_ago)
        with session_scope(sqlite_engine) as s:
            s.add(SmsMessage(direction="inbound", customer_id=world.customers[0], body="?",
                             template=template, to_number="+34600000000", created_at=at,
                             from_number="+34612345670", status="received"))  # fmt: skip

    reply(30, "office_message")  # yesterday's: read by now
    reply(1, "visit_confirmation")  # answered by its visit
    assert banner() is None
    reply(2, "visit_on_the_way")
    assert banner() == '1 customer reply to the office or to "on my way" in the last 24 hours.'
