"""Keep secret calendar tokens out of request logs.

werkzeug's development server logs every request line (``"GET /calendars/<token>.ics HTTP/1.1"``)
and Flask logs the path of a failing request; this filter rewrites such records so the token
reads ``[redacted]``.
"""

from __future__ import annotations

import logging
import re

_SECRET_PATH = re.compile(r"(/(?:calendars|c)/)[A-Za-z0-9_\-]{16,}(\.ics)?")


def redact_paths(message: str) -> str:
    """``/calendars/<token>.ics`` and ``/c/<token>.ics`` with the token replaced."""
    return _SECRET_PATH.sub(lambda m: f"{m.group(1)}[redacted]{m.group(2) or ''}", message)


class TokenRedactingFilter(logging.Filter):
    """A logging filter that removes feed and customer-link tokens from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logged as it is
            return True
        clean = redact_paths(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install(*loggers: logging.Logger) -> None:
    """Add the filter (once) to werkzeug's and gunicorn's request loggers and to ``loggers``."""
    targets = [logging.getLogger("werkzeug"), logging.getLogger("gunicorn.access"), *loggers]
    for logger in targets:
        if not any(isinstance(f, TokenRedactingFilter) for f in logger.filters):
            logger.addFilter(TokenRedactingFilter())
