"""Bearer tokens for integrations (ERP, e-commerce): shown once, stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select

from domain import audit
from domain.errors import NotFound
from domain.models import ApiToken, User
from domain.types import utcnow

PREFIX = "pv_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_api_token(session: Session, user_id: int, name: str, actor: str = "system") -> str:
    """Create a token acting as ``user_id``; returns the raw token (only this once)."""
    if session.get(User, user_id) is None:
        raise NotFound(f"unknown user {user_id}")
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip()[:200] or "integration", token_hash=hash_token(raw), user_id=user_id
    )
    session.add(token)
    session.flush()
    audit.record(session, actor, "api_token.issue", "api_token", token.id, user_id=user_id)
    return raw


def revoke_api_token(session: Session, token_id: int, actor: str = "system") -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"unknown token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "api_token.revoke", "api_token", token.id)


def user_for_token(session: Session, raw: str) -> User | None:
    """The active user a live token acts as, or None."""
    if not raw.startswith(PREFIX):
        return None
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))).first()
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    return user if user is not None and user.active else None
