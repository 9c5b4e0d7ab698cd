"""What crosses into posventa's workflows from outside: ids, names and message dataclasses.

The web app, the SMS pipeline and the CLI talk to workflows only through these names and
dataclasses (IDs and plain values; never database rows). New fields always get defaults so
that running workflows keep decoding old payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

TASK_QUEUE = "posventa"

# Workflow ids: deterministic, built from database ids only (never names or phone numbers).


def sale_workflow_id(sale_id: int) -> str:
    return f"sale-{sale_id}"


def visit_workflow_id(visit_id: int) -> str:
    return f"visit-{visit_id}"


def planning_workflow_id(plan_date: date) -> str:
    return f"plan-{plan_date.isoformat()}"


# Workflow type names (as registered with @workflow.defn(name=...)).
SALE_WORKFLOW = "SaleLifecycle"
VISIT_WORKFLOW = "VisitWorkflow"
PLANNING_WORKFLOW = "DailyPlanning"

# Message names (signals, updates, queries).
REPORT_FAULT_UPDATE = "report_fault"
CANCEL_SALE_UPDATE = "cancel_sale"
CHANGE_CONTRACT_UPDATE = "change_contract"
CORRECT_SOLD_ON_UPDATE = "correct_sold_on"
SURVEY_ANSWER_UPDATE = "survey_answer"
CUSTOMER_REPLY_UPDATE = "customer_reply"
VISIT_OUTCOME_UPDATE = "report_outcome"
APPROVE_PLAN_UPDATE = "approve_plan"
REPLAN_SIGNAL = "replan"
STATE_QUERY = "state"

# Search attribute holding a sale's stage (Keyword).
STAGE_SEARCH_ATTRIBUTE = "PosventaStage"


@dataclass
class SaleLifecycleInput:
    sale_id: int
    carry: SaleCarry | None = None  # set by the lifecycle itself when it continues as new


@dataclass
class ReportFaultInput:
    description: str
    reported_by: str = "dispatcher"
    fault_ref: str = ""  # caller's idempotency key (e.g. device event id); empty: one is derived


@dataclass
class ReportFaultResult:
    visit_id: int
    billable: bool


@dataclass
class CancelSaleInput:
    reason: str
    kind: str = "cancelled"  # "cancelled" or "returned"
    requested_by: str = "dispatcher"


@dataclass
class ChangeContractInput:
    """A renewal, extension or correction of the maintenance contract's length."""

    contract_months: int
    requested_by: str = "dispatcher"


@dataclass
class ChangeContractResult:
    contract_months: int
    maintenance_rounds: int  # in the whole contract (those done included)
    ends_on: str  # ISO date: the lifecycle's last day (contract or warranty, the later)


@dataclass
class CorrectSoldOnInput:
    """The sale's date corrected (a typing mistake): warranty, contract and rounds run from it."""

    sold_on: str  # ISO date
    requested_by: str = "dispatcher"


@dataclass
class CorrectSoldOnResult:
    sold_on: str
    maintenance_rounds: int  # in the whole contract (those done included)
    ends_on: str  # ISO date: the lifecycle's last day (contract or warranty, the later)


@dataclass
class SurveyAnswerInput:
    """A customer's survey reply: a score (1-5) first, then optionally a comment."""

    score: int | None = None
    comment: str | None = None
    message_id: int | None = None  # the stored inbound SMS, for idempotency


@dataclass
class SurveyAnswerResult:
    accepted: bool
    wants_comment: bool = False


@dataclass
class CustomerReplyInput:
    """A customer's answer about one visit (parsed from SMS or given by a dispatcher).

    ``answer`` is one of: "confirm", "decline", "reschedule" (asks for other times),
    "choose_slot" (with ``slot`` 1-3 from the offered alternatives).
    """

    answer: str
    slot: int | None = None
    message_id: int | None = None  # the stored inbound SMS, for idempotency


@dataclass
class CustomerReplyResult:
    accepted: bool
    status: str = ""
    offered_slots: list[str] = field(default_factory=list)  # ISO starts, when rescheduling


@dataclass
class VisitOutcomeInput:
    """The technician's report: "done", "follow_up" (needs another visit) or "absent"."""

    outcome: str
    note: str = ""
    reported_by: str = ""
    # the appointment reported on (its planned start): sending the same report again, after a
    # "still being carried out" answer, returns the first one's result instead of a refusal
    report_ref: str = ""
    # when the visit ended (ISO 8601 with offset), when the technician reports it later; ""
    # means when reported
    finished_at: str = ""


@dataclass
class ApprovePlanInput:
    plan_id: int
    approved_by: str


@dataclass
class ApprovePlanResult:
    plan_id: int
    visits_notified: int


@dataclass
class ReplanInput:
    reason: str
    staff_id: int | None = None  # e.g. a technician off sick


# --- Added by the workflows area (new names; the ones above are unchanged) ---------------------

VISIT_PLANNED_SIGNAL = "planned"
VISIT_UNPLANNED_SIGNAL = "unplanned"
PLANNING_KICKOFF_WORKFLOW = "DailyPlanningKickoff"
PLANNING_SCHEDULE_ID = "posventa-daily-planning"
HOUSEKEEPING_WORKFLOW = "Housekeeping"
HOUSEKEEPING_SCHEDULE_ID = "posventa-housekeeping"
REPLY_ANSWERS = ("confirm", "decline", "reschedule", "choose_slot")
VISIT_OUTCOMES = ("done", "follow_up", "absent")
FAILED_VISIT_UPDATE = "decide_failed_visit"
FAILED_VISIT_ACTIONS = ("retry", "close")  # request the visit again / give the step up


@dataclass
class SaleCarry:
    """What a sale's lifecycle carries across continue-as-new (plain values only)."""

    stage: str = "registered"
    installation_done: bool = False
    trainings_done: int = 0
    trainer_id: int | None = None
    last_training_date: str | None = None  # ISO date
    survey_done: bool = False
    next_maintenance_round: int = 1
    follow_ups: int = 0
    faults_seen: dict[str, list[int]] = field(default_factory=dict)  # ref -> [visit, billable]
    fault_count: int = 0
    runs: int = 1


@dataclass
class SaleLifecycleResult:
    sale_id: int
    status: str  # completed, cancelled, returned
    visits: int = 0


@dataclass
class VisitWorkflowInput:
    visit_id: int
    sale_id: int
    kind: str = ""
    reply_timeout_hours: int = 24  # no answer after this -> one reminder; again -> phone call
    max_absences: int = 3  # the customer absent this many times -> the visit fails


@dataclass
class VisitPlanned:
    """A visit's place in an approved plan (ISO UTC datetimes)."""

    plan_id: int
    plan_date: str
    staff_id: int
    planned_start: str
    window_start: str = ""
    window_end: str = ""


@dataclass
class VisitUnplanned:
    plan_id: int
    reason: str = "removed from the approved plan"


@dataclass
class VisitResult:
    visit_id: int
    outcome: str  # done, follow_up, failed, cancelled
    staff_id: int | None = None
    visit_date: str | None = None  # ISO date the visit took place
    note: str = ""


@dataclass
class VisitOutcomeResult:
    accepted: bool
    status: str = ""


@dataclass
class PlanningInput:
    plan_date: str = ""  # ISO date; empty: the next working day in settings.timezone
    draft_seconds: float = 20.0
    timezone: str = "Europe/Madrid"


@dataclass
class PlanningResult:
    plan_date: str
    approved_plan_id: int | None
    drafts: int = 0


@dataclass
class HousekeepingInput:
    sms_retention_days: int = 0  # blank texts older than this (0: keep them)


@dataclass
class HousekeepingResult:
    sms_redacted: int = 0


@dataclass
class PlanningKickoffInput:
    timezone: str = "Europe/Madrid"
    draft_seconds: float = 20.0


@dataclass
class CancelSaleResult:
    status: str  # cancelled or returned
    visits_cancelled: int = 0


@dataclass
class FailedVisitDecisionInput:
    """The dispatcher's decision on a visit that failed (the customer absent too often), taken
    after phoning the customer: "retry" requests the visit again, "close" gives the step up and
    lets the sale's lifecycle go on without it."""

    visit_id: int
    action: str
    note: str = ""
    requested_by: str = "dispatcher"


@dataclass
class FailedVisitDecisionResult:
    visit_id: int
    action: str
