"""Keep phone numbers out of the worker's logs (activity failures can quote provider errors).

:func:`install` puts :class:`PhoneRedactingFilter` on the root logger's handlers; every record's
message, and the traceback text of a logged exception, has E.164-looking numbers masked.
"""

from __future__ import annotations

import logging
import re

PHONE = re.compile(r"\+\d[\d\s().-]{6,18}\d")


def mask(text: str) -> str:
    """``+34 612 345 678`` -> ``+34*******78`` (enough left to tell two numbers apart)."""

    def hide(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return f"+{digits[:2]}{'*' * max(len(digits) - 4, 1)}{digits[-2:]}"

    return PHONE.sub(hide, text)


class PhoneRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = mask(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def install(level: int = logging.INFO) -> None:
    """Log to stderr (if nothing is configured yet) with phone numbers masked on every handler."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for handler in root.handlers:
        if not any(isinstance(f, PhoneRedactingFilter) for f in handler.filters):
            handler.addFilter(PhoneRedactingFilter())
