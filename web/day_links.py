"""Days named in a message as links to their plan board ("re-optimize Tue 8 Dec")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask import url_for
from flask_babel import format_date
from markupsafe import Markup, escape


def day_links(days: Iterable[date]) -> Markup:
    """The days, comma-separated, each a link to its board, in the page's language."""
    return Markup(", ").join(
        Markup('<a href="{}">{}</a>').format(
            url_for("board.day", day=d.isoformat()), format_date(d, "EEE d MMM")
        )
        for d in days
    )


def with_day_links(message: str, days: Iterable[date]) -> Markup:
    """A translated message with ``%(days)s`` replaced by :func:`day_links` (the message is
    escaped, the links are not)."""
    return Markup(escape(message)) % {"days": day_links(days)}
