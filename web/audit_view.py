"""The audit log as people read it: who did what, when, to which record (the admin's log and a
sale's history of changes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, func, select
from werkzeug.datastructures import MultiDict

from domain.models import AuditEntry, Sale, Visit
from web.params import db_id, iso_day

# What each action means (actions not listed show as they are stored).
ACTIONS = {
    "sale.register": _l("sale registered"),
    "sale.stage": _l("stage changed"),
    "sale.contract": _l("contract changed"),
    "sale.reference": _l("reference corrected"),
    "sale.sold_on": _l("sale date corrected"),
    "sale.survey": _l("survey answered"),
    "sale.completed": _l("sale completed"),
    "sale.cancelled": _l("sale cancelled"),
    "sale.returned": _l("sale returned"),
    "visit.request": _l("visit requested"),
    "visit.status": _l("visit status changed"),
    "visit.pin": _l("visit pinned"),
    "visit.unpin": _l("visit unpinned"),
    "visit.cancel": _l("visit cancelled"),
    "visit.needs_phone_call": _l("phone call needed"),
    "visit.arrived": _l("technician arrived"),
    "visit.failed_decision": _l("decision on a failed visit"),
    "customer.create": _l("customer added"),
    "customer.update": _l("customer corrected"),
    "customer.sms": _l("SMS written by the office"),
    "customer.sms_opt_out": _l("SMS opt-out changed"),
    "customer.erase": _l("personal data erased"),
    "staff.create": _l("staff member added"),
    "staff.update": _l("staff member changed"),
    "staff.absence": _l("day off recorded"),
    "staff.absence_remove": _l("day off taken back"),
    "staff.absence_end": _l("day off ended early"),
    "product.create": _l("product added"),
    "product.update": _l("product changed"),
    "plan.draft": _l("plan drafted"),
    "plan.replan": _l("plan re-optimized"),
    "plan.approve": _l("plan approved"),
    "user.create": _l("account created"),
    "user.login": _l("signed in"),
    "user.password": _l("password changed"),
    "user.activate": _l("account reactivated"),
    "user.deactivate": _l("account deactivated"),
    "api_token.issue": _l("API token issued"),
    "api_token.revoke": _l("API token revoked"),
    "calendar.token_revoke": _l("calendar link replaced"),
}
ENTITIES = ("sale", "visit", "customer", "staff", "product", "dailyplan", "user", "api_token")


def action_label(action: str) -> str:
    label = ACTIONS.get(action)
    return str(label) if label is not None else action


def details_text(details: dict[str, Any]) -> str:
    """The details in one line: ``field: before → after`` for changes, ``key: value`` else."""
    parts = []
    for key, value in details.items():
        if key == "changed" and isinstance(value, dict):
            parts += [f"{field}: {_plain(a)} → {_plain(b)}" for field, (a, b) in value.items()]
        elif isinstance(value, list) and len(value) == 2:
            parts.append(f"{key}: {_plain(value[0])} → {_plain(value[1])}")
        elif value not in (None, "", [], {}):
            parts.append(f"{key}: {_plain(value)}")
    return " · ".join(parts)


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value) or "—"
    return str(value)


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""  # part of the email (or "workflow", "system")
    entity: str | None = None
    entity_id: int | None = None
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> AuditFilter:
        """The filter in a request's arguments; what cannot be read is left out."""

        entity = args.get("entity") or None
        return cls(
            actor=(args.get("actor") or "").strip()[:200],
            entity=entity if entity in ENTITIES else None,
            entity_id=args.get("entity_id", type=db_id),
            since=args.get("since", type=iso_day),
            until=args.get("until", type=iso_day),
        )


def audit_query(f: AuditFilter, tzid: str) -> tuple[Any, Any]:
    """(rows, count): the entries the filter selects, newest first, and their number."""
    conds = []
    if f.actor:
        conds.append(col(AuditEntry.actor).ilike(f"%{f.actor}%"))
    if f.entity is not None:
        conds.append(AuditEntry.entity == f.entity)
    if f.entity_id is not None:
        conds.append(AuditEntry.entity_id == f.entity_id)
    tz = ZoneInfo(tzid)
    if f.since is not None:
        conds.append(col(AuditEntry.at) >= datetime.combine(f.since, time(0), tz).astimezone(UTC))
    if f.until is not None:
        end = datetime.combine(f.until + timedelta(days=1), time(0), tz).astimezone(UTC)
        conds.append(col(AuditEntry.at) < end)
    rows = select(AuditEntry).where(*conds).order_by(col(AuditEntry.id).desc())
    count = select(func.count()).select_from(AuditEntry).where(*conds)
    return rows, count


def sale_history(session: Session, sale: Sale, limit: int = 50) -> list[AuditEntry]:
    """The changes to a sale, its visits and its customer, newest first."""
    visit_ids = list(session.exec(select(Visit.id).where(Visit.sale_id == sale.id)))
    records = (
        ((AuditEntry.entity == "sale") & (AuditEntry.entity_id == sale.id))
        | ((AuditEntry.entity == "customer") & (AuditEntry.entity_id == sale.customer_id))
        | ((AuditEntry.entity == "visit") & col(AuditEntry.entity_id).in_(visit_ids))
    )
    return list(
        session.exec(
            select(AuditEntry).where(records).order_by(col(AuditEntry.id).desc()).limit(limit)
        )
    )
