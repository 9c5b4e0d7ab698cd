"""Parsing numbers from URLs and forms within what the database can store.

Use as ``request.args.get("staff", type=db_id)``: a value that is not a whole number from 1 to
2^31-1 counts as missing (``None``) instead of overflowing an INTEGER column later.
"""

from __future__ import annotations

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
