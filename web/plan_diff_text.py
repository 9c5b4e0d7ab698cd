"""Readable lines for a :class:`planning.diff.PlanDiff`, for the review-before-approval page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlmodel import Session, col, select

from domain.models import Customer, PlanUnassigned, Sale, Staff, Visit
from web.i18n import local_time
from web.reasons import reason_text

SECTIONS = ("added", "moved", "retimed", "removed", "unchanged")


def _headings() -> dict[str, str]:
    return {
        "added": _("New in this plan"),
        "moved": _("Moved (other staff member or promised window): customers are told"),
        "retimed": _("Other start inside the same promised window"),
        "removed": _("No longer in the plan"),
        "unchanged": _("Unchanged"),
    }


def _when(iso: str | None) -> str:
    return local_time(datetime.fromisoformat(iso)) if iso else "?"


def _place(placement: Any, staff: dict[Any, str]) -> str:
    if placement is None:
        return "—"
    text = f"{staff.get(placement.staff_id, placement.staff_id)} {_when(placement.start)}"
    if placement.window_start and placement.window_end:
        text += f" [{_when(placement.window_start)}–{_when(placement.window_end)}]"
    return text


def diff_lines(s: Session, diff: Any) -> list[tuple[str, str, list[str]]]:
    """One (section key, heading, lines) per non-empty section of the difference."""
    visit_ids = set(diff.changes)
    names: dict[int, str] = {}
    if visit_ids:
        rows = s.exec(
            select(Visit.id, Visit.kind, Customer.name)
            .join(Sale, col(Sale.id) == col(Visit.sale_id))
            .join(Customer, col(Customer.id) == col(Sale.customer_id))
            .where(col(Visit.id).in_(visit_ids))
        )
        names = {vid: f"#{vid} {_(kind)} · {name}" for vid, kind, name in rows}
    staff = {st.id: st.name for st in s.exec(select(Staff))}
    headings = _headings()
    out = []
    for key in SECTIONS:
        lines = []
        for vid in getattr(diff, key, []):
            change = diff.changes.get(vid)
            label = names.get(vid, f"#{vid}")
            if change is None:
                lines.append(label)
            elif key in ("moved", "retimed"):
                lines.append(
                    f"{label}: {_place(change.before, staff)} → {_place(change.after, staff)}"
                )
            elif key == "removed":
                lines.append(f"{label} ({_place(change.before, staff)})")
            else:
                lines.append(f"{label}: {_place(change.after, staff)}")
        if lines:
            out.append((key, headings[key], lines))
    return out


def unassigned_lines(s: Session, plan_id: int) -> list[str]:
    """The visits a plan leaves out, each with the optimizer's reason (in the user's language)."""
    rows = s.exec(
        select(PlanUnassigned, Visit.kind, Customer.name)
        .join(Visit, col(Visit.id) == col(PlanUnassigned.visit_id))
        .join(Sale, col(Sale.id) == col(Visit.sale_id))
        .join(Customer, col(Customer.id) == col(Sale.customer_id))
        .where(PlanUnassigned.plan_id == plan_id)
        .order_by(col(PlanUnassigned.visit_id))
    )
    return [
        f"#{u.visit_id} {_(kind)} · {name}: {reason_text(u.reason_code, u.reason_params, u.reason)}"
        for u, kind, name in rows
    ]
