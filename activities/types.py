"""Inputs and outputs of posventa's activities: one plain dataclass in, one out (ISO strings for
dates and datetimes, ids for records), so payloads decode the same in every worker version."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SaleRef:
    sale_id: int


@dataclass
class SaleOutlineOut:
    sale_id: int
    status: str
    sold_on: str
    contract_months: int
    warranty_months: int
    installation_minutes: int
    installation_skill: str | None
    training_sessions: int
    training_minutes: int
    training_skill: str | None
    maintenance_interval_days: int | None
    maintenance_minutes: int
    maintenance_skill: str | None
    repair_minutes: int
    repair_skill: str | None
    # What already happened (a sale with a past: imported, restored, demo). Defaults: nothing.
    installation_done: bool = False
    trainings_done: int = 0
    last_training_date: str | None = None
    trainer_id: int | None = None
    survey_done: bool = False
    maintenance_rounds_done: int = 0


@dataclass
class RequestVisitIn:
    sale_id: int
    kind: str
    business_key: str
    duration_minutes: int
    earliest_date: str
    sequence: int = 1
    skill: str | None = None
    due_date: str | None = None
    preferred_staff_id: int | None = None
    billable: bool = False
    priority: int = 50
    description: str = ""
    actor: str = "workflow"


@dataclass
class RequestVisitOut:
    visit_id: int
    status: str
    created: bool = True


@dataclass
class SaleStageIn:
    sale_id: int
    stage: str
    actor: str = "workflow"


@dataclass
class ContractIn:
    sale_id: int
    contract_months: int
    today: str  # ISO date: the workflow's day (a contract may not end before it)
    actor: str = "workflow"


@dataclass
class SoldOnIn:
    sale_id: int
    sold_on: str  # ISO date: the corrected sale date
    today: str  # ISO date: the workflow's day
    actor: str = "workflow"


@dataclass
class EndSaleIn:
    sale_id: int
    status: str  # completed, cancelled, returned
    reason: str
    actor: str = "workflow"


@dataclass
class EndSaleOut:
    visits_cancelled: int


@dataclass
class SurveyIn:
    sale_id: int
    score: int | None = None
    comment: str | None = None
    actor: str = "workflow"


@dataclass
class FailedVisitDecisionIn:
    visit_id: int
    action: str  # "retry" or "close"
    note: str = ""
    actor: str = "workflow"


@dataclass
class VisitStatusIn:
    visit_id: int
    status: str
    note: str | None = None
    needs_phone_call: bool | None = None
    unplan: bool = False
    actor: str = "workflow"
    finished_at: str = ""  # ISO 8601 with offset: when a completed or failed visit ended


@dataclass
class VisitPlannedIn:
    visit_id: int
    staff_id: int
    planned_start: str
    window_start: str = ""
    window_end: str = ""
    actor: str = "workflow"


@dataclass
class VisitOut:
    visit_id: int
    status: str
    needs_phone_call: bool = False


@dataclass
class SlotsIn:
    visit_id: int
    after: str  # ISO UTC: offer slots after this moment
    count: int = 3


@dataclass
class SlotOut:
    staff_id: int
    start: str


@dataclass
class SlotsOut:
    slots: list[SlotOut] = field(default_factory=list)


@dataclass
class PinVisitIn:
    visit_id: int
    staff_id: int
    start: str
    actor: str = "workflow"


@dataclass
class VisitSmsIn:
    visit_id: int
    template: str
    idempotency_key: str
    slots: list[str] = field(default_factory=list)  # ISO UTC starts (reschedule offers)
    # the arrival window the customer was told, ISO UTC, for a visit that no longer has one
    told_window: list[str] = field(default_factory=list)


@dataclass
class SaleSmsIn:
    sale_id: int
    template: str
    idempotency_key: str


@dataclass
class RouteChangeSmsIn:
    """A plan just approved over ``previous_plan_id`` (None: the day's first): text the staff
    whose route it gives or changes."""

    plan_id: int
    previous_plan_id: int | None = None


@dataclass
class RouteChangeSmsOut:
    texted_staff_ids: list[int] = field(default_factory=list)


@dataclass
class SmsOut:
    message_id: int | None
    status: str
    skipped_reason: str | None = None

    @property
    def delivered(self) -> bool:
        return self.skipped_reason is None and self.message_id is not None


@dataclass
class DraftPlanIn:
    plan_date: str
    seconds: float = 20.0
    base_plan_id: int | None = None
    workflow_id: str = ""


@dataclass
class DraftPlanOut:
    plan_id: int
    plan_date: str
    assigned: int = 0
    unassigned: int = 0
    moved: int = 0


@dataclass
class ApprovePlanIn:
    plan_id: int
    approved_by: str


@dataclass
class PlannedVisitOut:
    visit_id: int
    staff_id: int
    planned_start: str
    window_start: str = ""
    window_end: str = ""


@dataclass
class ApprovedPlanOut:
    plan_id: int
    plan_date: str
    visits: list[PlannedVisitOut] = field(default_factory=list)
    removed_visit_ids: list[int] = field(default_factory=list)
    superseded_plan_id: int | None = None


@dataclass
class PublishIn:
    plan_id: int


@dataclass
class PublishOut:
    caldav_staff_ids: list[int] = field(default_factory=list)
    changed: int = 0


@dataclass
class CaldavPushIn:
    staff_id: int


@dataclass
class CaldavPushOut:
    staff_id: int
    pushed: int = 0


@dataclass
class RedactSmsIn:
    retention_days: int


@dataclass
class RedactSmsOut:
    redacted: int = 0
