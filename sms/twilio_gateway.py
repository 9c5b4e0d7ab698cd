"""Sending through Twilio's REST API with the official SDK.

Each message carries a status callback (``<public url>/sms/status``) and a validity period, and
comes from ``TWILIO_FROM`` or the messaging service. Errors are sorted: rate limits (429), server
errors (5xx) and network failures are retried with exponential backoff (tenacity) and finally
raise :class:`TransientSmsError`; everything else (opted-out recipient 21610, invalid or
unreachable numbers 21211/21614/21612...) raises :class:`PermanentSmsError` at once.
"""

from __future__ import annotations

import requests
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.wait import WaitBaseT
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.rest import Client

from posventa.config import Settings
from sms.errors import PermanentSmsError, TransientSmsError
from sms.gateway import OutgoingSms, SendResult

VALIDITY_SECONDS = 4 * 3600  # an appointment text older than this is not worth delivering
OPTED_OUT = 21610
INVALID_NUMBER_CODES = frozenset({21211, 21214, 21217, 21219, 21401, 21407, 21408, 21612, 21614})


def is_transient(exc: BaseException) -> bool:
    """Worth trying again: rate limited, Twilio having trouble, or the network failing."""
    if isinstance(exc, TwilioRestException):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, requests.ConnectionError | requests.Timeout)


class TwilioGateway:
    name = "twilio"
    answers_reserved_keywords = True

    def __init__(
        self,
        settings: Settings,
        http_client: HttpClient | None = None,
        attempts: int = 4,
        wait: WaitBaseT | None = None,
    ) -> None:
        self._settings = settings
        self._client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client
        )
        self._retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(attempts),
            wait=wait or wait_random_exponential(multiplier=0.5, max=8),
            reraise=True,
        )

    @property
    def status_callback(self) -> str:
        return f"{self._settings.public_url.rstrip('/')}/sms/status"

    def callback_for(self, message_id: int | None) -> str:
        """The status callback URL; it names our message so an early callback finds it."""
        if message_id is None:
            return self.status_callback
        return f"{self.status_callback}?message_id={message_id}"

    def sender(self) -> str:
        return self._settings.twilio_from

    def send(self, message: OutgoingSms) -> SendResult:
        params: dict[str, object] = {
            "to": message.to,
            "body": message.body,
            "status_callback": self.callback_for(message.message_id),
            "validity_period": VALIDITY_SECONDS,
        }
        if self._settings.twilio_messaging_service_sid:
            params["messaging_service_sid"] = self._settings.twilio_messaging_service_sid
        else:
            params["from_"] = self._settings.twilio_from
        try:
            created = self._retrying(self._client.messages.create, **params)
        except TwilioRestException as exc:
            code = str(exc.code) if exc.code is not None else str(exc.status)
            text = f"Twilio refused the SMS to {message.to}: {exc.msg} (code {code})"
            if is_transient(exc):
                raise TransientSmsError(text, code=code) from exc
            raise PermanentSmsError(text, code=code) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientSmsError(f"Twilio could not be reached: {exc}") from exc
        return SendResult(
            provider_sid=created.sid or "",
            status=str(getattr(created.status, "value", created.status) or "queued"),
            from_number=created.from_ or self._settings.twilio_from,
        )
