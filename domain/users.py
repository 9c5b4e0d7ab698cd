"""Accounts: people who log in to the web app (admins, dispatchers, technicians and trainers)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from domain import audit
from domain.errors import Conflict, NotFound
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
