"""Secrets that must never reach a log line: calendar feed tokens and customer link tokens."""

from __future__ import annotations

import re

_SECRET_PATHS = re.compile(r"(/(?:calendars|c)/)[A-Za-z0-9_\-]{16,}(\.ics)?")


def redact(text: str) -> str:
    """Replace the token in secret URLs (``/calendars/<token>.ics``) with ``[redacted]``."""
    return _SECRET_PATHS.sub(lambda m: f"{m.group(1)}[redacted]{m.group(2) or ''}", text)
