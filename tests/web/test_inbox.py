"""The office's inbox: every text customers sent, newest first, with what it answered."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from domain.db import session_scope
from domain.models import SmsMessage
from tests.web.conftest import board_banner, flashes
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
    assert rows("?show=office") == [("Carmen Ruiz", "No estoy, venid mañana", "on my way")]
    technician, _ = client_for("technician")
    assert technician.get("/inbox/").status_code == 403


def _office_reply(engine: Engine, world: World, body: str, template: str, hours_ago: int = 1,
                  handled_by: str | None = None) -> int:  # fmt: skip
    at = datetime.now(UTC) - timedelta(hours=hours_ago)
    with session_scope(engine) as s:
        msg = SmsMessage(direction="inbound", customer_id=world.customers[0], body=body,
                         sale_id=world.sales[0],
                         template=template, to_number="+34600000000", created_at=at,
                         from_number="+34612345670", status="received",
                         handled_by=handled_by, handled_at=at if handled_by else None)  # fmt: skip
        s.add(msg)
        s.flush()
        assert msg.id is not None
        return msg.id


def test_the_board_points_to_the_replies_still_to_handle(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    from tests.web.factories import PLAN_DAY

    client, token = client_for("dispatcher")

    def banner() -> str | None:
        return board_banner(client, PLAN_DAY, "replies")

    _office_reply(sqlite_engine, world, "Gracias", "visit_on_the_way", handled_by="automatic")
    _office_reply(sqlite_engine, world, "SI", "visit_confirmation")  # answered by its visit
    assert banner() is None
    old = _office_reply(sqlite_engine, world, "¿Y la factura?", "office_message", hours_ago=50)
    _office_reply(sqlite_engine, world, "No estoy", "visit_on_the_way")
    assert banner() == '2 customer replies to the office or to "on my way" to handle.'
    client.post("/inbox/handled", data={"csrf_token": token, "ids": [old]})
    assert banner() == '1 customer reply to the office or to "on my way" to handle.'


def test_replies_for_the_office_are_marked_handled_and_reopened(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    thanks = _office_reply(sqlite_engine, world, "Gracias", "visit_on_the_way", 3, "automatic")
    invoice = _office_reply(sqlite_engine, world, "¿Y la factura?", "office_message", 2)
    late = _office_reply(sqlite_engine, world, "No estoy, venid mañana", "visit_on_the_way", 1)
    confirmed = _office_reply(sqlite_engine, world, "SI", "visit_confirmation")
    client, token = client_for("dispatcher")
    dispatcher = world.users["dispatcher"]

    def shown(show: str) -> list[str]:
        page = client.get(f"/inbox/?show={show}").get_data(as_text=True)
        return re.findall(r'<tr id="sms-(\d+)"', page)

    def handled(message_id: int) -> tuple[str | None, bool]:
        with session_scope(sqlite_engine) as s:
            msg = s.get(SmsMessage, message_id)
            assert msg is not None
            return msg.handled_by, msg.handled_at is not None

    assert shown("open") == [str(late), str(invoice)]
    assert shown("office") == [str(late), str(invoice), str(thanks)]
    assert shown("all") == [str(confirmed), str(late), str(invoice), str(thanks)]
    assert client.get("/inbox/?office=1").status_code == 200  # the older link still works

    page = client.post("/inbox/handled", data={"csrf_token": token, "ids": [invoice],
                                              "show": "open"}, follow_redirects=True)  # fmt: skip
    assert flashes(page.get_data(as_text=True)) == ["1 reply marked handled."]
    assert handled(invoice) == (dispatcher, True)
    assert shown("open") == [str(late)]
    office_page = client.get("/inbox/?show=office").get_data(as_text=True)
    replies = re.findall(r'<a class="reply" href="/sales/(\d+)#sms-form">Reply</a>', office_page)
    assert replies == [str(world.sales[0])] * 3  # answered from the sale's SMS form
    assert f"{dispatcher} ·" in office_page and "thanks only ·" in office_page

    client.post(f"/inbox/{invoice}/reopen", data={"csrf_token": token})
    assert handled(invoice) == (None, False) and shown("open") == [str(late), str(invoice)]
    # the page's "mark all shown" sends every open id at once; marking twice keeps the first
    client.post("/inbox/handled", data={"csrf_token": token, "ids": [late, invoice]})
    assert shown("open") == [] and handled(thanks) == ("automatic", True)

    # only replies for the office; bad ids are refused, nothing changes
    for ids in ([confirmed], ["x"], [], [str(2**40)]):
        response = client.post("/inbox/handled", data={"csrf_token": token, "ids": ids})
        assert response.status_code == 400, ids
    assert (
        client.post("/inbox/handled", data={"csrf_token": token, "ids": [999999]}).status_code
        == 404
    )
    assert handled(confirmed) == (None, False)
    technician, tech_token = client_for("technician")
    assert (
        technician.post(f"/inbox/{late}/reopen", data={"csrf_token": tech_token}).status_code == 403
    )
    assert handled(late) == (dispatcher, True)


def test_the_navigation_counts_the_replies_to_handle(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    client, token = client_for("dispatcher")

    def badge() -> tuple[str, str] | None:
        page = client.get("/sales/").get_data(as_text=True)
        found = re.search(r'<a href="(/inbox/[^"]*)"[^>]*>Inbox(?: <span class="badge" '
                          r'id="nav-to-handle"[^>]*>(\d+)</span>)?</a>', page)  # fmt: skip
        assert found is not None
        return found.group(1), found.group(2)

    assert badge() == ("/inbox/", None)
    _office_reply(sqlite_engine, world, "Gracias", "visit_on_the_way", handled_by="automatic")
    reply = _office_reply(sqlite_engine, world, "¿Y la factura?", "office_message")
    assert badge() == ("/inbox/?show=open", "1")
    client.post("/inbox/handled", data={"csrf_token": token, "ids": [reply]})
    assert badge() == ("/inbox/", None)
