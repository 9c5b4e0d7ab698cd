"""Session cookies that background requests leave alone.

Sessions are permanent and refreshed on every response. A background request (the board's
status poll, the customer picker's search) that reads the cookie before a page takes its flashed
messages and answers after would write them back: the next page shows them twice. Views marked
with :func:`leaves_session_alone` never set the cookie (nor extend the session's life)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

View = TypeVar("View", bound=Callable[..., Any])


def leaves_session_alone(view: View) -> View:
    """Mark a view for background requests: its responses never set the session cookie."""
    view.leaves_session_alone = True  # type: ignore[attr-defined]
    return view


class BackgroundAwareSessions(SecureCookieSessionInterface):
    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        view = app.view_functions.get(request.endpoint or "")
        if getattr(view, "leaves_session_alone", False):
            return False
        return super().should_set_cookie(app, session)
