"""Errors raised by the SMS layer: permanent ones must not be retried, transient ones may."""

from __future__ import annotations


class SmsError(Exception):
    """Sending an SMS failed."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentSmsError(SmsError):
    """The provider refused the message for good (opted-out recipient, invalid number...)."""


class TransientSmsError(SmsError):
    """The provider could not take the message now (rate limit, outage); retrying may work."""
