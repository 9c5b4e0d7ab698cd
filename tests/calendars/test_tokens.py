"""Feed tokens and customer links: random, stored hashed, rotated and revoked at once."""

from __future__ import annotations

import base64
import hashlib

import pytest
from sqlmodel import Session, select

from calendars.tokens import (
    hash_token,
    issue_customer_link,
    issue_feed_token,
    revoke_feed_token,
    rotate_feed_token,
    staff_for_token,
    visit_for_customer_token,
)
from calendars.urls import customer_visit_url, feed_urls, subscribe_links
from domain.errors import NotFound
from domain.models import AuditEntry, CustomerLink, Staff
from posventa.config import Settings
from tests.calendars import factories as f


def test_feed_token_has_256_random_bits_and_only_its_hash_is_stored(session: Session) -> None:
    staff = f.staff(session)
    token = issue_feed_token(session, staff.id)
    session.commit()
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    stored = session.exec(select(Staff.calendar_token_hash).where(Staff.id == staff.id)).one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() != token
    assert staff_for_token(session, token).id == staff.id
    assert issue_feed_token(session, staff.id) != token


def test_rotation_revokes_the_old_token_at_once(session: Session) -> None:
    staff = f.staff(session)
    old = issue_feed_token(session, staff.id)
    new = rotate_feed_token(session, staff.id, actor="admin@example.com")
    session.commit()
    assert staff_for_token(session, old) is None
    assert staff_for_token(session, new).id == staff.id
    actions = session.exec(select(AuditEntry.action).where(AuditEntry.entity == "staff")).all()
    assert "calendar.token_rotate" in actions
    revoke_feed_token(session, staff.id)
    session.commit()
    assert staff_for_token(session, new) is None


def test_inactive_staff_and_malformed_tokens_find_nothing(session: Session) -> None:
    staff = f.staff(session)
    token = issue_feed_token(session, staff.id)
    staff.active = False
    session.add(staff)
    session.commit()
    assert staff_for_token(session, token) is None
    assert staff_for_token(session, "") is None
    assert staff_for_token(session, "../../etc/passwd") is None
    with pytest.raises(NotFound):
        issue_feed_token(session, 424242)


def test_customer_links_point_at_one_visit(session: Session) -> None:
    sale = f.sale(session, f.customer(session), f.product(session))
    v1, v2 = f.visit(session, sale, "a"), f.visit(session, sale, "b")
    t1, t2 = issue_customer_link(session, v1.id), issue_customer_link(session, v2.id)
    session.commit()
    assert visit_for_customer_token(session, t1).id == v1.id
    assert visit_for_customer_token(session, t2).id == v2.id
    assert visit_for_customer_token(session, t1[:-1] + "x") is None
    hashes = session.exec(select(CustomerLink.token_hash)).all()
    assert sorted(hashes) == sorted([hash_token(t1), hash_token(t2)])


def test_urls() -> None:
    settings = Settings(public_url="https://posventa.example.com")
    https_url, webcal_url = feed_urls(settings, "tok")
    assert https_url == "https://posventa.example.com/calendars/tok.ics"
    assert webcal_url == "webcal://posventa.example.com/calendars/tok.ics"
    links = subscribe_links(settings, "tok", "Ana")
    assert links["google"].startswith("https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F")
    assert customer_visit_url(settings, "abc") == "https://posventa.example.com/c/abc.ics"
