"""posventa's tables (SQLModel).

Conventions: every datetime is timezone-aware UTC (:class:`~domain.types.UTCDateTime`); local
times of day (shifts, customer windows) are ``time`` values in the staff member's or the
business's time zone; durations are whole minutes; skills are lists of lowercase names.
Validation of user input lives in :mod:`domain.schemas`; these classes are storage.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from domain.types import UTCDateTime, utcnow


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _updated() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


class Locale(StrEnum):
    ES = "es"
    EN = "en"


class VisitKind(StrEnum):
    INSTALLATION = "installation"
    TRAINING = "training"
    MAINTENANCE = "maintenance"
    REPAIR = "repair"


class VisitStatus(StrEnum):
    REQUESTED = "requested"
    PLANNED = "planned"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_VISIT_STATUSES = (
    VisitStatus.REQUESTED,
    VisitStatus.PLANNED,
    VisitStatus.AWAITING_CONFIRMATION,
    VisitStatus.CONFIRMED,
    VisitStatus.DECLINED,
)
#: A visit placed on an approved route and still to happen.
SCHEDULED_VISIT_STATUSES = (
    VisitStatus.PLANNED,
    VisitStatus.AWAITING_CONFIRMATION,
    VisitStatus.CONFIRMED,
)


class SaleStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    COMPLETED = "completed"


class SaleStage(StrEnum):
    REGISTERED = "registered"
    INSTALLATION = "installation"
    TRAINING = "training"
    SURVEY = "survey"
    MAINTENANCE = "maintenance"
    ENDED = "ended"


class StaffRole(StrEnum):
    TECHNICIAN = "technician"
    TRAINER = "trainer"


class UserRole(StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    TECHNICIAN = "technician"


class PlanStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


class SmsDirection(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Customer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    phone: str = Field(max_length=20, index=True, description="E.164")
    email: str | None = Field(default=None, max_length=254)
    locale: str = Field(default=Locale.ES.value, max_length=5)
    address: str = Field(default="", max_length=400)
    latitude: float
    longitude: float
    sms_opt_out: bool = Field(default=False)
    created_at: datetime = _created()


class Product(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200, description="for English customers")
    installation_minutes: int = Field(default=0, description="0: no installation visit")
    installation_skill: str | None = Field(default=None, max_length=64)
    training_sessions: int = Field(default=0)
    training_minutes: int = Field(default=0)
    training_skill: str | None = Field(default=None, max_length=64)
    maintenance_interval_days: int | None = Field(default=None)
    maintenance_minutes: int = Field(default=0)
    maintenance_skill: str | None = Field(default=None, max_length=64)
    repair_minutes: int = Field(default=60)
    repair_skill: str | None = Field(default=None, max_length=64)
    warranty_months: int = Field(default=24)
    contract_months: int = Field(default=0, description="default maintenance contract length")
    active: bool = Field(default=True, description="offered for new sales (its sales go on)")

    def name_for(self, locale: str | None) -> str:
        """The name a customer reads: the English one for English customers, if there is one."""
        return self.name_en if locale == "en" and self.name_en else self.name


class Sale(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    sold_on: date
    contract_months: int = Field(default=0)
    external_ref: str | None = Field(default=None, max_length=100, unique=True)
    status: str = Field(default=SaleStatus.ACTIVE.value, max_length=20, index=True)
    stage: str = Field(default=SaleStage.REGISTERED.value, max_length=20, index=True)
    workflow_id: str | None = Field(default=None, max_length=100)
    ended_reason: str | None = Field(default=None, max_length=400)
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    role: str = Field(default=StaffRole.TECHNICIAN.value, max_length=20)
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    home_address: str = Field(default="", max_length=400)
    home_latitude: float
    home_longitude: float
    timezone: str = Field(default="Europe/Madrid", max_length=64)
    work_start: time = Field(default=time(8, 0))
    work_end: time = Field(default=time(17, 0))
    working_days: list[int] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4],
        sa_column=Column(JSON, nullable=False),
        description="ISO weekday numbers starting at Monday=0",
    )
    lunch_earliest: time | None = Field(default=time(13, 0))
    lunch_latest: time | None = Field(default=time(15, 0), description="latest lunch start")
    lunch_minutes: int = Field(default=45)
    max_work_minutes: int | None = Field(default=None)
    cost_per_hour: float | None = Field(default=None)
    cost_per_km: float | None = Field(default=None)
    active: bool = Field(default=True)
    calendar_token_hash: str | None = Field(default=None, max_length=128, unique=True)
    caldav_url: str | None = Field(default=None, max_length=500)
    caldav_username: str | None = Field(default=None, max_length=200)
    caldav_password: str | None = Field(default=None, max_length=500)
    caldav_last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _created()


class StaffAbsence(SQLModel, table=True):
    """A day off, holiday or sick leave: whole days, both ends included."""

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    starts_on: date
    ends_on: date
    reason: str = Field(default="", max_length=200)


class StaffBusy(SQLModel, table=True):
    """Busy time read from a staff member's own calendar (CalDAV), as UTC intervals."""

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    source_uid: str = Field(default="", max_length=300)
    fetched_at: datetime = _created()


class Visit(SQLModel, table=True):
    __table_args__ = (Index("ix_visit_status_earliest", "status", "earliest_date"),)

    id: int | None = Field(default=None, primary_key=True)
    sale_id: int = Field(foreign_key="sale.id", index=True)
    business_key: str = Field(
        max_length=120,
        unique=True,
        description="idempotency key, e.g. 'sale-7/training-2'; a retried activity finds its row",
    )
    kind: str = Field(max_length=20)
    sequence: int = Field(default=1, description="training session number, maintenance round")
    status: str = Field(default=VisitStatus.REQUESTED.value, max_length=30, index=True)
    duration_minutes: int
    required_skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    priority: int = Field(default=50, description="0-100: dropping a higher one costs more")
    earliest_date: date
    due_date: date | None = Field(default=None)
    assigned_staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    planned_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    promised_window_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    promised_window_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pinned_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    pinned_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    preferred_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    billable: bool = Field(default=False)
    description: str = Field(default="", max_length=1000)
    outcome_note: str | None = Field(default=None, max_length=2000)
    # what happened on the day: the technician's "I'm here" (check-in) and the report's time
    arrived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # where the phone placed the check-in, as metres from the customer's address and the
    # position's accuracy (never the position itself: where staff are is theirs)
    arrival_distance_m: int | None = Field(default=None)
    arrival_accuracy_m: int | None = Field(default=None)
    # the arrival the technician announced to the customer ("on my way")
    expected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    needs_phone_call: bool = Field(default=False)
    workflow_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class VisitWindow(SQLModel, table=True):
    """A customer time window: a time-of-day range, on one day or (``day`` empty) any day."""

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    day: date | None = Field(default=None)
    start_time: time
    end_time: time


class DailyPlan(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("plan_date", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_date: date = Field(index=True)
    version: int = Field(default=1)
    status: str = Field(default=PlanStatus.DRAFT.value, max_length=20)
    based_on_plan_id: int | None = Field(default=None, foreign_key="dailyplan.id")
    solver_summary: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    workflow_id: str | None = Field(default=None, max_length=100)
    created_at: datetime = _created()
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=200)


class PlanStop(SQLModel, table=True):
    """One step of a staff member's route in a plan: a visit or a break."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="dailyplan.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    kind: str = Field(default="visit", max_length=10, description="visit or break")
    sequence: int
    arrival: datetime = Field(sa_type=UTCDateTime)
    start: datetime = Field(sa_type=UTCDateTime)
    end: datetime = Field(sa_type=UTCDateTime)
    travel_seconds: int = Field(default=0)
    travel_metres: int = Field(default=0)
    window_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked: bool = Field(default=False)
    moved: bool = Field(default=False)


class PlanUnassigned(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="dailyplan.id", index=True)
    visit_id: int = Field(foreign_key="visit.id")
    reason_code: str = Field(max_length=40)
    reason: str = Field(max_length=1000)  # English; the web words it from code and params
    # The facts of the reason (staff labels, skills, windows, minutes; see web.reasons), or None
    # for rows stored before they were kept.
    reason_params: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )


class SmsMessage(SQLModel, table=True):
    # A reply's conversation: the latest message to a number (index serves filter and order).
    # The office's replies still to handle (the board counts them): by template, then state.
    __table_args__ = (
        Index("ix_smsmessage_to_number_id", "to_number", "id"),
        Index("ix_smsmessage_template_handled_at", "template", "handled_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    direction: str = Field(max_length=10)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    visit_id: int | None = Field(default=None, foreign_key="visit.id", index=True)
    sale_id: int | None = Field(default=None, foreign_key="sale.id")
    to_number: str = Field(max_length=20)
    from_number: str = Field(max_length=20, index=True)
    body: str = Field(max_length=2000)
    template: str | None = Field(default=None, max_length=60)
    status: str = Field(default="queued", max_length=20)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    error_code: str | None = Field(default=None, max_length=20)
    processed: bool = Field(default=False, description="inbound: handed to its workflow")
    # Inbound replies only people answer (to an office message, to "on my way"): when someone
    # in the office dealt with it and who (AUTO_HANDLED for a plain "thanks").
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    handled_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class SurveyAnswer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    sale_id: int = Field(foreign_key="sale.id", unique=True)
    score: int | None = Field(default=None)
    comment: str | None = Field(default=None, max_length=1000)
    answered_at: datetime = Field(  # the satisfaction report reads a period
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )


class CalendarEntry(SQLModel, table=True):
    """What a staff member's feed publishes for one visit: kept so SEQUENCE only grows."""

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=200, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    summary: str = Field(max_length=300)
    location: str = Field(default="", max_length=400)
    description: str = Field(default="", max_length=2000)
    sequence: int = Field(default=0)
    cancelled: bool = Field(default=False)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    caldav_pushed_sequence: int | None = Field(default=None)
    last_modified: datetime = _updated()


class CustomerLink(SQLModel, table=True):
    """A secret link for a customer (their visit's .ics), stored hashed."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=128, unique=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    purpose: str = Field(default="visit_ics", max_length=30)
    created_at: datetime = _created()


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=300)
    role: str = Field(max_length=20)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    locale: str = Field(default=Locale.ES.value, max_length=5)
    active: bool = Field(default=True)
    created_at: datetime = _created()


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    token_hash: str = Field(max_length=128, unique=True)
    user_id: int = Field(foreign_key="user.id")
    created_at: datetime = _created()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    # one record's history (a sale's page) and the log's newest-first pages
    __table_args__ = (Index("ix_auditentry_entity_entity_id", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    actor: str = Field(max_length=200, description="user email, 'system' or 'workflow:<id>'")
    action: str = Field(max_length=80)
    entity: str = Field(max_length=40)
    entity_id: int | None = Field(default=None)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
