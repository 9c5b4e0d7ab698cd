"""What changes between two stored plans of a day: the difference a dispatcher approves."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from domain.errors import NotFound
from domain.models import DailyPlan, PlanStop


@dataclass(frozen=True)
class VisitPlacement:
    """A visit's place in a plan (ISO strings, UTC)."""

    staff_id: int
    start: str
    window_start: str | None
    window_end: str | None


def is_moved(
    before: tuple[int, object, object, object], after: tuple[int, object, object, object]
) -> bool:
    """Whether a visit moved as its customer sees it: ``(staff, start, window_start,
    window_end)`` before and after. Another staff member or another promised window is a move;
    when either side has no promised window, another start is."""
    (staff_a, start_a, lo_a, hi_a), (staff_b, start_b, lo_b, hi_b) = before, after
    if staff_a != staff_b:
        return True
    if None in (lo_a, hi_a, lo_b, hi_b):
        return start_a != start_b
    return (lo_a, hi_a) != (lo_b, hi_b)


@dataclass(frozen=True)
class VisitChange:
    """One visit in either plan: where it was (``before``) and where it is now (``after``)."""

    visit_id: int
    before: VisitPlacement | None
    after: VisitPlacement | None


@dataclass
class PlanDiff:
    """The plan compared with its base, as visit ids.

    ``added``/``removed``: in only one of them; ``moved``: another staff member or another
    promised arrival window (see :func:`is_moved`); ``retimed``: same staff member and promised
    window, another start inside it (the staff calendar changes, the customer's promise does not);
    ``unchanged``: identical. ``changes`` has the details of every visit in either plan.
    """

    plan_id: int
    base_plan_id: int | None
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    retimed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    changes: dict[int, VisitChange] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """True when approving the plan would change nothing for any visit."""
        return not (self.added or self.removed or self.moved)


def placements(session: Session, plan_id: int) -> dict[int, VisitPlacement]:
    """Visit id -> its placement in a stored plan."""
    rows = session.exec(
        select(PlanStop).where(PlanStop.plan_id == plan_id, col(PlanStop.visit_id).is_not(None))
    )
    return {
        row.visit_id: VisitPlacement(
            staff_id=row.staff_id,
            start=row.start.isoformat(),
            window_start=row.window_start.isoformat() if row.window_start else None,
            window_end=row.window_end.isoformat() if row.window_end else None,
        )
        for row in rows
        if row.visit_id is not None
    }


def plan_difference(session: Session, plan_id: int, base_plan_id: int | None) -> PlanDiff:
    """Compare plan ``plan_id`` with ``base_plan_id`` (None: everything in the plan is added)."""
    if session.get(DailyPlan, plan_id) is None:
        raise NotFound(f"unknown plan {plan_id}")
    if base_plan_id is not None and session.get(DailyPlan, base_plan_id) is None:
        raise NotFound(f"unknown plan {base_plan_id}")
    now = placements(session, plan_id)
    before = placements(session, base_plan_id) if base_plan_id is not None else {}
    diff = PlanDiff(plan_id=plan_id, base_plan_id=base_plan_id)
    for visit_id in sorted(set(now) | set(before)):
        old, new = before.get(visit_id), now.get(visit_id)
        diff.changes[visit_id] = VisitChange(visit_id, old, new)
        if old is None:
            diff.added.append(visit_id)
        elif new is None:
            diff.removed.append(visit_id)
        elif is_moved(_key(old), _key(new)):
            diff.moved.append(visit_id)
        elif old.start != new.start:
            diff.retimed.append(visit_id)
        else:
            diff.unchanged.append(visit_id)
    return diff


def _key(p: VisitPlacement) -> tuple[int, object, object, object]:
    return (p.staff_id, p.start, p.window_start, p.window_end)
