"""Parsing numbers from URLs and forms within what the database can store.

Use as ``request.args.get("staff", type=db_id)``: a value that is not a whole number from 1 to
2^31-1 counts as missing (``None``) instead of overflowing an INTEGER column later.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

MAX_ID = 2**31 - 1
MAX_PAGE = 100_000


def db_id(value: str) -> int:
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(f"{value} is not a record id")
    return number


def page_number(value: str) -> int:
    number = int(value)
    if not 0 < number <= MAX_PAGE:
        raise ValueError(f"{value} is not a page number")
    return number


def form_nonce() -> str:
    """A fresh value for a form's hidden ``nonce``: the same form sent twice acts once."""
    return uuid.uuid4().hex


def nonce(value: str) -> str:
    """A nonce :func:`form_nonce` made (``type=nonce`` in ``request.form.get``)."""
    if not re.fullmatch(r"[0-9a-f]{32}", value):
        raise ValueError("not a form nonce")
    return value


def iso_day(value: str) -> date:
    """An ISO date (``type=iso_day``: a value that is not one counts as missing)."""
    return date.fromisoformat(value)
