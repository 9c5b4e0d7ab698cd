"""Validated input for the domain: every form, API call, CSV row and seed goes through these.

A value that does not pass raises :class:`pydantic.ValidationError` (or
:class:`domain.errors.DomainError` from the services) before anything is written.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from domain.models import Locale, StaffRole, VisitKind

Skill = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")]


def normalize_phone(raw: str, default_region: str = "ES") -> str:
    """Parse a phone number as people write it and return it in E.164, or raise ValueError."""
    text = (raw or "").strip()
    if not text:
        raise ValueError("phone number is required")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validation_messages(exc: ValidationError, whole: str = "input") -> list[str]:
    """One line per problem, ``field.path: message`` (``whole`` names a model-level problem)."""
    return [
        f"{'.'.join(str(p) for p in err['loc']) or whole}: {err['msg']}" for err in exc.errors()
    ]


def _normalize_skills(values: list[object]) -> list[object]:
    """Lowercase, trim and de-duplicate skill names (non-strings are left for the type check)."""
    cleaned = {v.strip().lower() if isinstance(v, str) else v for v in values}
    return sorted((v for v in cleaned if v != ""), key=str)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    phone: str
    email: str | None = Field(default=None, max_length=254)
    locale: Locale = Locale.ES
    address: str = Field(default="", max_length=400)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    sms_opt_out: bool = False
    default_region: str = Field(default="ES", exclude=True)

    @model_validator(mode="after")
    def _phone_e164(self) -> CustomerIn:
        self.phone = normalize_phone(self.phone, self.default_region)
        return self

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if "@" not in value or value.startswith("@") or value.endswith("@"):
            raise ValueError(f"{value!r} is not an email address")
        return value


class ProductIn(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)  # empty: the name above
    installation_minutes: int = Field(default=0, ge=0, le=24 * 60)
    installation_skill: Skill | None = None
    training_sessions: int = Field(default=0, ge=0, le=50)
    training_minutes: int = Field(default=0, ge=0, le=24 * 60)
    training_skill: Skill | None = None
    maintenance_interval_days: int | None = Field(default=None, gt=0, le=3660)
    maintenance_minutes: int = Field(default=0, ge=0, le=24 * 60)
    maintenance_skill: Skill | None = None
    repair_minutes: int = Field(default=60, gt=0, le=24 * 60)
    repair_skill: Skill | None = None
    warranty_months: int = Field(default=24, ge=0, le=240)
    contract_months: int = Field(default=0, ge=0, le=240)
    active: bool = True  # false: no longer sold (not offered for new sales; its sales go on)

    @field_validator(
        "installation_skill", "training_skill", "maintenance_skill", "repair_skill", mode="before"
    )
    @classmethod
    def _skill(cls, value: object) -> object:
        """Skills as staff skills are stored: trimmed, lower case; empty is none."""
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ProductIn:
        self.name_en = self.name_en or None
        if self.installation_minutes and not self.installation_skill:
            raise ValueError("an installation needs installation_skill")
        if self.training_sessions and (not self.training_minutes or not self.training_skill):
            raise ValueError("training sessions need training_minutes and training_skill")
        if self.maintenance_interval_days and (
            not self.maintenance_minutes or not self.maintenance_skill
        ):
            raise ValueError("maintenance needs maintenance_minutes and maintenance_skill")
        return self


class SaleIn(_Strict):
    customer_id: int = Field(gt=0)
    product_sku: str = Field(min_length=1, max_length=64)
    sold_on: date
    contract_months: int | None = Field(default=None, ge=0, le=240)
    external_ref: str | None = Field(default=None, max_length=100)


class WindowIn(_Strict):
    """A customer time window: from ``start`` to ``end`` on ``day`` (or any day when empty)."""

    day: date | None = None
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> WindowIn:
        if self.end <= self.start:
            raise ValueError(
                f"time window ends ({self.end:%H:%M}) before it starts ({self.start:%H:%M})"
            )
        return self


class VisitIn(_Strict):
    sale_id: int = Field(gt=0)
    kind: VisitKind
    business_key: str = Field(min_length=1, max_length=120)
    sequence: int = Field(default=1, ge=1)
    duration_minutes: int = Field(gt=0, le=24 * 60)
    required_skills: list[Skill] = Field(default_factory=list)
    priority: int = Field(default=50, ge=0, le=100)
    earliest_date: date
    due_date: date | None = None
    windows: list[WindowIn] = Field(default_factory=list)
    preferred_staff_id: int | None = None
    billable: bool = False
    description: str = Field(default="", max_length=1000)

    @field_validator("required_skills", mode="before")
    @classmethod
    def _skills(cls, value: object) -> object:
        return _normalize_skills(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _dates(self) -> VisitIn:
        if self.due_date is not None and self.due_date < self.earliest_date:
            raise ValueError("due_date is before earliest_date")
        return self


class StaffIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = None
    role: StaffRole = StaffRole.TECHNICIAN
    skills: list[Skill] = Field(default_factory=list)
    home_address: str = Field(default="", max_length=400)
    home_latitude: float = Field(ge=-90, le=90)
    home_longitude: float = Field(ge=-180, le=180)
    timezone: str = "Europe/Madrid"
    work_start: time = time(8, 0)
    work_end: time = time(17, 0)
    working_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    lunch_earliest: time | None = time(13, 0)
    lunch_latest: time | None = time(15, 0)
    lunch_minutes: int = Field(default=45, ge=0, le=180)
    max_work_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    cost_per_hour: float | None = Field(default=None, ge=0)
    cost_per_km: float | None = Field(default=None, ge=0)
    default_region: str = Field(default="ES", exclude=True)

    @field_validator("skills", mode="before")
    @classmethod
    def _skills(cls, value: object) -> object:
        return _normalize_skills(value) if isinstance(value, list) else value

    @field_validator("working_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in value):
            raise ValueError("working_days are weekday numbers 0 (Monday) to 6 (Sunday)")
        return sorted(set(value))

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _hours(self) -> StaffIn:
        if self.work_end <= self.work_start:
            raise ValueError("working hours end before they start")
        if (self.lunch_earliest is None) != (self.lunch_latest is None):
            raise ValueError("give both lunch_earliest and lunch_latest, or neither")
        if self.lunch_earliest and self.lunch_latest and self.lunch_latest < self.lunch_earliest:
            raise ValueError("lunch_latest is before lunch_earliest")
        if self.phone:
            self.phone = normalize_phone(self.phone, self.default_region)
        return self


class AbsenceIn(_Strict):
    staff_id: int = Field(gt=0)
    starts_on: date
    ends_on: date
    reason: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> AbsenceIn:
        if self.ends_on < self.starts_on:
            raise ValueError("absence ends before it starts")
        return self
