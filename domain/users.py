"""Accounts: people who log in to the web app (admins, dispatchers, technicians and trainers)."""

from __future__ import annotations

import hashlib
import secrets

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from domain import audit
from domain.errors import Conflict, DomainError, NotFound
from domain.models import Staff, User, UserRole

MIN_PASSWORD_LENGTH = 10


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=200)
    role: UserRole
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=200)
    staff_id: int | None = None
    locale: str = Field(default="es", pattern="^(es|en)$")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if "@" not in value.strip("@"):
            raise ValueError(f"{value!r} is not an email address")
        return value.lower()


def create_user(session: Session, data: UserIn, actor: str = "system") -> User:
    """Create an account; technicians must be linked to their staff record."""
    if session.exec(select(User).where(User.email == data.email)).first():
        raise Conflict(f"an account for {data.email} already exists")
    if data.role == UserRole.TECHNICIAN and data.staff_id is None:
        raise Conflict("a technician or trainer account needs the staff member it belongs to")
    if data.staff_id is not None and session.get(Staff, data.staff_id) is None:
        raise NotFound(f"unknown staff member {data.staff_id}")
    user = User(
        email=data.email,
        name=data.name,
        role=data.role.value,
        staff_id=data.staff_id,
        locale=data.locale,
        password_hash=generate_password_hash(data.password),
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, role=user.role)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with that email and password, or None."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.active:
        # Spend the same time as a real check so timing does not reveal which emails exist.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def session_key(password_hash: str) -> str:
    """A short fingerprint of the password hash that a signed-in session carries: when the
    password changes, sessions signed in with the old one no longer match and end."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def temporary_password() -> str:
    """A password an admin hands over once (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"unknown account {user_id}")
    return user


class ShortPassword(DomainError):
    """The new password is shorter than ``MIN_PASSWORD_LENGTH``."""


def set_password(session: Session, user_id: int, password: str, actor: str = "system") -> User:
    """Give the account a new password (its other sessions end: see :func:`session_key`)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ShortPassword(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    user = _user(session, user_id)
    user.password_hash = generate_password_hash(password)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.password", "user", user.id)
    return user


class WrongPassword(DomainError):
    """The current password given is not the account's."""


def change_own_password(session: Session, user_id: int, current: str, new: str) -> User:
    """The signed-in user's own change: the current password is asked first."""
    user = _user(session, user_id)
    if not check_password_hash(user.password_hash, current):
        raise WrongPassword("the current password is not right")
    if new == current:
        raise DomainError("the new password is the current one")
    return set_password(session, user_id, new, actor=user.email)


def set_active(session: Session, user_id: int, active: bool, actor: str = "system") -> User:
    """Stop (or allow again) an account's sign-in and API tokens; its history stays."""
    user = _user(session, user_id)
    if user.active != active:
        user.active = active
        session.add(user)
        session.flush()
        audit.record(session, actor, "user.activate" if active else "user.deactivate", "user",
                     user.id)  # fmt: skip
    return user
