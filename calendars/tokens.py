"""Secret calendar links: staff feed tokens and customer visit links.

A token is 256 random bits (``secrets.token_urlsafe(32)``), shown once and stored only as its
SHA-256; issuing a new feed token replaces the stored hash, so the old link stops working at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlmodel import Session, select

from domain import audit
from domain.errors import NotFound
from domain.models import CustomerLink, Staff, Visit

TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{43,128}$")


def hash_token(token: str) -> str:
    """The stored form of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _well_formed(token: str) -> bool:
    return bool(_TOKEN_SHAPE.match(token))


def issue_feed_token(session: Session, staff_id: int, actor: str = "system") -> str:
    """Give a staff member a new feed token (revoking any previous one); return it once."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(f"unknown staff member {staff_id}")
    token = new_token()
    rotated = staff.calendar_token_hash is not None
    staff.calendar_token_hash = hash_token(token)
    session.add(staff)
    session.flush()
    action = "calendar.token_rotate" if rotated else "calendar.token_issue"
    audit.record(session, actor, action, "staff", staff_id)
    return token


def rotate_feed_token(session: Session, staff_id: int, actor: str = "system") -> str:
    """Replace a staff member's feed token: the old link gets 404 from now on."""
    return issue_feed_token(session, staff_id, actor)


def revoke_feed_token(session: Session, staff_id: int, actor: str = "system") -> None:
    """Turn a staff member's feed off (no token works until a new one is issued)."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(f"unknown staff member {staff_id}")
    staff.calendar_token_hash = None
    session.add(staff)
    audit.record(session, actor, "calendar.token_revoke", "staff", staff_id)


def has_feed_token(session: Session, staff_id: int) -> bool:
    staff = session.get(Staff, staff_id)
    return staff is not None and staff.calendar_token_hash is not None


def staff_for_token(session: Session, token: str) -> Staff | None:
    """The active staff member whose feed token this is, or None."""
    if not _well_formed(token):
        return None
    staff = session.exec(
        select(Staff).where(Staff.calendar_token_hash == hash_token(token))
    ).first()
    if staff is None or not staff.active:
        return None
    return staff


def issue_customer_link(session: Session, visit_id: int) -> str:
    """A new secret token for the customer's .ics of one visit; return it once.

    Build the URL with :func:`calendars.urls.customer_visit_url`."""
    if session.get(Visit, visit_id) is None:
        raise NotFound(f"unknown visit {visit_id}")
    token = new_token()
    session.add(CustomerLink(token_hash=hash_token(token), visit_id=visit_id, purpose="visit_ics"))
    session.flush()
    return token


def visit_for_customer_token(session: Session, token: str) -> Visit | None:
    """The visit a customer link points at, or None."""
    if not _well_formed(token):
        return None
    link = session.exec(
        select(CustomerLink).where(
            CustomerLink.token_hash == hash_token(token), CustomerLink.purpose == "visit_ics"
        )
    ).first()
    return session.get(Visit, link.visit_id) if link else None
