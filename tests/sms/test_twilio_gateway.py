"""The real Twilio SDK talking to a recording HTTP client: what Twilio would receive."""

from __future__ import annotations

import json
import logging

import pytest
import requests
from tenacity import wait_none
from twilio.http import HttpClient
from twilio.http.response import Response

from posventa.config import Settings
from sms.errors import PermanentSmsError, TransientSmsError
from sms.gateway import OutgoingSms, gateway_from_settings
from sms.outbox import OutboxGateway
from sms.twilio_gateway import VALIDITY_SECONDS, TwilioGateway

ACCOUNT = "AC" + "1" * 32


class RecordingHttpClient(HttpClient):
    """Answers like Twilio's API from a script of (status, body) and records each request."""

    def __init__(self, answers: list[tuple[int, dict] | Exception]) -> None:
        super().__init__(logging.getLogger("test.twilio"), is_async=False)
        self.answers = list(answers)
        self.requests: list[dict] = []

    def request(
        self,
        method,
        uri,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):  # noqa: D401
        self.requests.append({"method": method, "uri": uri, "data": dict(data or {}), "auth": auth})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return Response(status, json.dumps(body))


def created(sid: str = "SM" + "a" * 32, status: str = "queued") -> tuple[int, dict]:
    return 201, {
        "sid": sid,
        "status": status,
        "from": "+34911000000",
        "to": "+34600111222",
        "body": "hola",
        "account_sid": ACCOUNT,
    }


def error(status: int, code: int, message: str = "nope") -> tuple[int, dict]:
    return status, {
        "code": code,
        "message": message,
        "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }


def twilio_settings(**changes) -> Settings:
    base = Settings(
        sms_gateway="twilio",
        twilio_account_sid=ACCOUNT,
        twilio_auth_token="secret-token",
        twilio_from="+34911000000",
        public_url="https://posventa.example.com",
        testing=True,
    )
    return base.replace(**changes)


def gateway(answers, **changes) -> tuple[TwilioGateway, RecordingHttpClient]:
    http = RecordingHttpClient(answers)
    return TwilioGateway(twilio_settings(**changes), http_client=http, wait=wait_none()), http


MESSAGE = OutgoingSms(to="+34600111222", body="Su visita: mié 25/11", message_id=7)


def test_send_posts_what_twilio_expects():
    gw, http = gateway([created()])
    result = gw.send(MESSAGE)
    assert result.provider_sid == "SM" + "a" * 32
    assert result.status == "queued"
    [req] = http.requests
    assert req["method"] == "POST"
    assert req["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert req["auth"] == (ACCOUNT, "secret-token")
    assert req["data"]["To"] == "+34600111222"
    assert req["data"]["From"] == "+34911000000"
    assert "MessagingServiceSid" not in req["data"]
    assert req["data"]["Body"] == "Su visita: mié 25/11"
    assert req["data"]["StatusCallback"] == "https://posventa.example.com/sms/status?message_id=7"
    assert int(req["data"]["ValidityPeriod"]) == VALIDITY_SECONDS


def test_messaging_service_replaces_from():
    gw, http = gateway([created(status="accepted")], twilio_messaging_service_sid="MG" + "2" * 32)
    assert gw.send(MESSAGE).status == "accepted"
    data = http.requests[0]["data"]
    assert data["MessagingServiceSid"] == "MG" + "2" * 32
    assert "From" not in data


@pytest.mark.parametrize("code", [21610, 21211, 21614])
def test_opted_out_and_invalid_numbers_are_permanent_and_not_retried(code):
    gw, http = gateway([error(400, code), created()])
    with pytest.raises(PermanentSmsError) as info:
        gw.send(MESSAGE)
    assert info.value.code == str(code)
    assert len(http.requests) == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried(status):
    gw, http = gateway([error(status, 20429 if status == 429 else 20500), created()])
    assert gw.send(MESSAGE).provider_sid.startswith("SM")
    assert len(http.requests) == 2


def test_network_failures_are_retried_then_transient():
    boom = requests.ConnectionError("connection refused")
    gw, http = gateway([boom, boom, boom, boom])
    with pytest.raises(TransientSmsError):
        gw.send(MESSAGE)
    assert len(http.requests) == 4


def test_persistent_server_errors_end_as_transient_after_the_attempts():
    gw, http = gateway([error(503, 20503)] * 4)
    with pytest.raises(TransientSmsError) as info:
        gw.send(MESSAGE)
    assert info.value.code == "20503"
    assert len(http.requests) == 4


def test_gateway_from_settings_picks_by_configuration(sqlite_engine):
    assert isinstance(gateway_from_settings(Settings(testing=True), sqlite_engine), OutboxGateway)
    assert isinstance(gateway_from_settings(twilio_settings(), sqlite_engine), TwilioGateway)
