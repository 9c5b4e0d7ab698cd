"""Twilio webhooks signed with the real RequestValidator, and the phone simulator."""

from __future__ import annotations

import re
import threading
import time

import pytest
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from domain.db import session_scope
from domain.models import AuditEntry, Customer, SmsMessage, Visit
from domain.users import UserIn, create_user
from tests.sms.conftest import RecordingWorkflows, make_company, messages
from tests.web.conftest import login, make_app
from web.blueprints.sms import services

TOKEN = "twilio-auth-token-for-tests"
PUBLIC = "https://posventa.example.com"
PASSWORD = "correct horse battery"


@pytest.fixture
def workflows():
    return RecordingWorkflows()


@pytest.fixture
def app(sms_settings, engine, workflows):
    app = make_app(sms_settings.replace(twilio_auth_token=TOKEN, public_url=PUBLIC), engine)
    app.extensions["posventa.workflows"] = workflows
    return app


def sign(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def inbound_params(body: str, sid: str = "SM" + "1" * 32, sender: str = "+34600111222"):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }


def post_signed(client, path, params, url=None, **headers):
    signature = sign(url or PUBLIC + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature, **headers})


def test_signed_inbound_reply_is_stored_and_handed_to_the_workflow(app, engine, workflows):
    company = make_company(engine)
    with app.app_context():
        services(app).messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    response = post_signed(app.test_client(), "/sms/inbound", inbound_params("Sí"))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert "<Response" in response.get_data(as_text=True)
    services(app).runner.drain()
    [(visit_id, reply)] = workflows.replies
    assert (visit_id, reply.answer) == (company.visit_id, "confirm")
    assert [m.template for m in messages(engine)] == [
        "visit_confirmation",
        "visit_confirmation",
        "reply_confirmed",
        "calendar_link",
    ]


def test_bad_or_missing_signatures_are_refused(app, engine):
    client = app.test_client()
    params = inbound_params("SI")
    assert client.post("/sms/inbound", data=params).status_code == 403
    wrong_token = sign(PUBLIC + "/sms/inbound", params, token="not-the-token")
    assert (
        client.post(
            "/sms/inbound", data=params, headers={"X-Twilio-Signature": wrong_token}
        ).status_code
        == 403
    )
    other_url = post_signed(client, "/sms/inbound", params, url="https://evil.example/sms/inbound")
    assert other_url.status_code == 403
    tampered = dict(params, Body="BAJA")
    good_signature = sign(PUBLIC + "/sms/inbound", params)
    assert (
        client.post(
            "/sms/inbound", data=tampered, headers={"X-Twilio-Signature": good_signature}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/sms/status",
            data={"MessageSid": "SMx", "MessageStatus": "delivered"},
            headers={"X-Twilio-Signature": good_signature},
        ).status_code
        == 403
    )
    assert messages(engine) == []


def test_replayed_and_duplicated_requests_count_once(app, engine, workflows):
    company = make_company(engine)
    with app.app_context():
        services(app).messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    client = app.test_client()
    params = inbound_params("ok")
    for _ in range(3):
        assert post_signed(client, "/sms/inbound", params).status_code == 200
    services(app).runner.drain()
    assert len(messages(engine, direction="inbound")) == 1
    assert len(workflows.replies) == 1
    assert len(messages(engine, template="reply_confirmed")) == 1


def test_signature_uses_the_public_url_behind_a_tls_proxy(sms_settings, engine, workflows):
    app = make_app(
        sms_settings.replace(
            twilio_auth_token=TOKEN, proxy_hops=1, public_url="http://127.0.0.1:5000"
        ),
        engine,
    )
    app.extensions["posventa.workflows"] = workflows
    client = app.test_client()
    params = inbound_params("hola")
    url = "https://sms.example.org/sms/inbound"
    forwarded = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "54.1.2.3",
        "Host": "sms.example.org",
    }
    assert post_signed(client, "/sms/inbound", params, url=url, **forwarded).status_code == 200
    # without the proxy's header the app sees http:// and the signature does not match
    no_proto = {"Host": "sms.example.org"}
    assert post_signed(client, "/sms/inbound", params, url=url, **no_proto).status_code == 403
    services(app).runner.drain()


def test_stop_opts_out_before_the_webhook_answers(app, engine):
    company = make_company(engine)
    response = post_signed(app.test_client(), "/sms/inbound", inbound_params("STOP"))
    assert response.status_code == 200
    with Session(engine) as s:
        assert s.get(Customer, company.customer_id).sms_opt_out is True
    services(app).runner.drain()


def outbound(engine, status: str = "queued", sid: str | None = "SM" + "9" * 32) -> int:
    company = make_company(engine)
    with session_scope(engine) as s:
        row = SmsMessage(
            direction="outbound",
            customer_id=company.customer_id,
            to_number=company.phone,
            from_number="+15005550006",
            body="hola",
            status=status,
            provider_sid=sid,
        )
        s.add(row)
        s.flush()
        return row.id


def status_update(client, status: str, sid: str = "SM" + "9" * 32, **extra):
    params = {"MessageSid": sid, "MessageStatus": status, "SmsStatus": status, **extra}
    return post_signed(client, "/sms/status", params)


@pytest.mark.parametrize(
    ("sequence", "final"),
    [
        (["sent", "delivered"], "delivered"),
        (["delivered", "sent"], "delivered"),  # out of order: never backwards
        (["sent", "sending", "queued"], "sent"),
        (["delivered", "failed"], "delivered"),
        (["sent", "undelivered", "delivered"], "undelivered"),  # terminal
        (["failed", "sent"], "failed"),
        (["sent", "sent", "nonsense"], "sent"),
    ],
)
def test_status_callbacks_only_move_forward(app, engine, sequence, final):
    message_id = outbound(engine)
    client = app.test_client()
    for status in sequence:
        assert status_update(client, status).status_code == 204
    assert messages(engine, id=message_id)[0].status == final


def test_status_callback_error_code_is_kept_and_21610_opts_out(app, engine):
    message_id = outbound(engine, status="sent")
    status_update(app.test_client(), "undelivered", ErrorCode="21610")
    row = messages(engine, id=message_id)[0]
    assert (row.status, row.error_code) == ("undelivered", "21610")
    with Session(engine) as s:
        assert s.get(Customer, row.customer_id).sms_opt_out is True
    assert status_update(app.test_client(), "delivered", sid="SMunknown").status_code == 204


def test_an_undelivered_visit_message_flags_the_visit_for_a_phone_call(app, engine):
    company = make_company(engine)

    def visit_message(sid: str, template: str) -> None:
        with session_scope(engine) as s:
            s.add(
                SmsMessage(
                    direction="outbound", customer_id=company.customer_id,
                    visit_id=company.visit_id, template=template, to_number=company.phone,
                    from_number="+15005550006", body="hola", status="sent", provider_sid=sid,
                )
            )  # fmt: skip

    def flagged() -> tuple[bool, list[str]]:
        with Session(engine) as s:
            visit = s.get(Visit, company.visit_id)
            reasons = s.exec(
                select(AuditEntry).where(AuditEntry.action == "visit.needs_phone_call")
            ).all()
            return visit.needs_phone_call, [a.details["reason"] for a in reasons]

    client = app.test_client()
    visit_message("SM" + "a" * 32, "visit_confirmation")
    status_update(client, "delivered", sid="SM" + "a" * 32)
    assert flagged() == (False, [])
    visit_message("SM" + "b" * 32, "visit_day_before_reminder")
    status_update(client, "undelivered", sid="SM" + "b" * 32, ErrorCode="30003")
    assert flagged() == (True, ["SMS visit_day_before_reminder undelivered (error 30003)"])
    visit_message("SM" + "c" * 32, "visit_no_answer_reminder")
    status_update(client, "failed", sid="SM" + "c" * 32)
    assert len(flagged()[1]) == 1  # flagged once
    with session_scope(engine) as s:  # a closed visit is nobody's call any more
        visit = s.get(Visit, company.visit_id)
        visit.status, visit.needs_phone_call = "completed", False
        s.add(visit)
    visit_message("SM" + "d" * 32, "survey_request")
    status_update(client, "failed", sid="SM" + "d" * 32)
    assert flagged()[0] is False


def dispatcher(app, engine, role="dispatcher"):
    email = f"{role}@example.com"
    with session_scope(engine) as s:
        create_user(s, UserIn(email=email, name=role.title(), role=role, password=PASSWORD))
    client = app.test_client()
    return client, login(client, email, PASSWORD)


def test_simulator_reply_goes_through_the_same_pipeline(app, engine, workflows):
    company = make_company(engine)
    with app.app_context():
        services(app).messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    client, csrf = dispatcher(app, engine)
    page = client.get(f"/sms/simulator?customer={company.customer_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Lucía Pérez" in html and "Javier llegará de 09:00 a 11:00" in html
    response = client.post(
        f"/sms/simulator/{company.customer_id}/reply", data={"body": "si", "csrf_token": csrf}
    )
    assert response.status_code == 302
    [(visit_id, reply)] = workflows.replies
    assert (visit_id, reply.answer) == (company.visit_id, "confirm")
    inbound = messages(engine, direction="inbound")[0]
    assert inbound.from_number == company.phone and inbound.provider_sid.startswith("SM")
    html = client.get(f"/sms/simulator?customer={company.customer_id}").get_data(as_text=True)
    assert "queda confirmada" in html


def test_simulator_shows_a_technicians_route_texts_and_answers_as_them(app, engine):
    """A technician texted about their route is listed under Staff; their phone shows the
    text, and an answer typed there reaches the office's inbox (not "unknown number")."""
    from domain.schemas import StaffIn
    from domain.services import create_staff

    make_company(engine)
    with session_scope(engine) as s:
        staff = create_staff(s, StaffIn(name="Nuria Gil", phone="+34611000009",
                                        home_latitude=40.0, home_longitude=-3.0))  # fmt: skip
        staff_id = staff.id
    with app.app_context():
        services(app).messenger.send_to_staff(staff_id, "staff_route_cleared", "route/1/1", {})
    client, csrf = dispatcher(app, engine)
    html = client.get("/sms/simulator").get_data(as_text=True)
    assert f'href="/sms/simulator?staff={staff_id}"' in html and "Nuria Gil" in html
    html = client.get(f"/sms/simulator?staff={staff_id}").get_data(as_text=True)
    assert "no te quedan visitas hoy" in html
    assert f'action="/sms/simulator/staff/{staff_id}/reply"' in html
    answered = {"body": "Entendido, vuelvo al taller", "csrf_token": csrf}
    response = client.post(f"/sms/simulator/staff/{staff_id}/reply", data=answered)
    assert response.headers["Location"].endswith(f"/sms/simulator?staff={staff_id}")
    answer = messages(engine, direction="inbound")[0]
    assert (answer.from_number, answer.template) == ("+34611000009", "staff_route_cleared")
    assert messages(engine, template="unknown_number") == []
    inbox = client.get("/inbox/?show=open").get_data(as_text=True)
    assert "Entendido, vuelvo al taller" in inbox
    assert re.search(r'<td>Nuria Gil <span class="tag">[^<]+</span></td>', inbox)  # staff
    assert client.get("/sms/simulator?staff=999").status_code == 404


def test_simulator_is_for_dispatchers_only(app, engine):
    make_company(engine)
    assert app.test_client().get("/sms/simulator").status_code in (302, 401)
    with session_scope(engine) as s:
        from domain.schemas import StaffIn
        from domain.services import create_staff

        staff = create_staff(s, StaffIn(name="Tec", home_latitude=40.0, home_longitude=-3.0))
        create_user(
            s,
            UserIn(
                email="tec@example.com",
                name="Tec",
                role="technician",
                password=PASSWORD,
                staff_id=staff.id,
            ),
        )
    client = app.test_client()
    csrf = login(client, "tec@example.com", PASSWORD)
    assert client.get("/sms/simulator").status_code == 403
    assert (
        client.post("/sms/simulator/1/reply", data={"body": "si", "csrf_token": csrf}).status_code
        == 403
    )


def test_reply_stored_while_temporal_is_down_is_handed_off_later(app, engine, workflows):
    from workflows.client import WorkflowUnavailable

    company = make_company(engine)
    with app.app_context():
        services(app).messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    workflows.raise_error = WorkflowUnavailable("Temporal is down")
    assert post_signed(app.test_client(), "/sms/inbound", inbound_params("SI")).status_code == 200
    services(app).runner.drain()
    assert messages(engine, direction="inbound")[0].processed is False
    workflows.raise_error = None
    services(app).runner.start_sweeper(every_seconds=0.05)
    deadline = time.monotonic() + 10
    while not workflows.replies and time.monotonic() < deadline:
        time.sleep(0.05)
    services(app).runner.stopping.set()
    assert [(v, r.answer) for v, r in workflows.replies] == [(company.visit_id, "confirm")]


def test_sweepers_stop_at_shutdown(app):
    from web.blueprints.sms import stop_sweepers

    services(app).runner.start_sweeper(every_seconds=0.01)

    def sweepers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "sms-sweeper"]

    assert sweepers()
    stop_sweepers()
    deadline = time.monotonic() + 5
    while sweepers() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sweepers() == []


def test_status_callback_arriving_before_the_sid_is_stored_finds_the_message(app, engine):
    message_id = outbound(engine, status="queued", sid=None)
    params = {"MessageSid": "SM" + "7" * 32, "MessageStatus": "sent"}
    path = f"/sms/status?message_id={message_id}"
    assert post_signed(app.test_client(), path, params).status_code == 204
    row = messages(engine, id=message_id)[0]
    assert (row.provider_sid, row.status) == ("SM" + "7" * 32, "sent")
    # a forged id cannot take over a message that already has its sid
    other = outbound(engine, status="sent", sid="SM" + "8" * 32)
    post_signed(app.test_client(), f"/sms/status?message_id={other}", params)
    assert messages(engine, id=other)[0].provider_sid == "SM" + "8" * 32


def test_with_twilio_the_simulator_only_shows_conversations(sms_settings, engine, workflows):
    settings = sms_settings.replace(
        sms_gateway="twilio",
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token=TOKEN,
        twilio_from="+34911000000",
        public_url=PUBLIC,
    )
    app = make_app(settings, engine)
    company = make_company(engine)
    client, csrf = dispatcher(app, engine)
    html = client.get(f"/sms/simulator?customer={company.customer_id}").get_data(as_text=True)
    assert 'class="sim-reply"' not in html and "Twilio" in html
    response = client.post(
        f"/sms/simulator/{company.customer_id}/reply", data={"body": "si", "csrf_token": csrf}
    )
    assert response.status_code == 403
    assert messages(engine) == []


def test_simultaneous_duplicates_store_one_message_and_one_update(app, engine, workflows):
    from concurrent.futures import ThreadPoolExecutor

    company = make_company(engine)
    with app.app_context():
        services(app).messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    params = inbound_params("vale")

    def post(_: int) -> int:
        return post_signed(app.test_client(), "/sms/inbound", params).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(post, range(16)))
    services(app).runner.drain()
    assert codes == [200] * 16
    assert len(messages(engine, direction="inbound")) == 1
    assert len(workflows.replies) == 1
    assert len(messages(engine, template="reply_confirmed")) == 1
