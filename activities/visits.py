"""Activities of a visit: status changes, its place in a plan, alternative slots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.errors import bad_data_is_final
from activities.types import (
    PinVisitIn,
    SlotOut,
    SlotsIn,
    SlotsOut,
    VisitOut,
    VisitPlannedIn,
    VisitStatusIn,
)
from domain import visits
from domain.db import session_scope


def _when(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class VisitActivities:
    """Database work of :class:`workflows.visit.VisitWorkflow` (idempotent: states, not deltas)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="set_visit_status")
    @bad_data_is_final
    def set_visit_status(self, data: VisitStatusIn) -> VisitOut:
        with session_scope(self.engine) as session:
            visit = visits.set_status(
                session,
                data.visit_id,
                data.status,
                data.actor,
                note=data.note,
                needs_phone_call=data.needs_phone_call,
                unplan=data.unplan,
                finished_at=_when(data.finished_at),
            )
            return VisitOut(data.visit_id, visit.status, visit.needs_phone_call)

    @activity.defn(name="mark_visit_planned")
    @bad_data_is_final
    def mark_visit_planned(self, data: VisitPlannedIn) -> VisitOut:
        start = _when(data.planned_start)
        assert start is not None
        with session_scope(self.engine) as session:
            visit = visits.mark_planned(
                session,
                data.visit_id,
                data.actor,
                staff_id=data.staff_id,
                planned_start=start,
                window_start=_when(data.window_start),
                window_end=_when(data.window_end),
            )
            return VisitOut(data.visit_id, visit.status, visit.needs_phone_call)

    @activity.defn(name="alternative_slots")
    @bad_data_is_final
    def alternative_slots(self, data: SlotsIn) -> SlotsOut:
        after = _when(data.after)
        assert after is not None
        with session_scope(self.engine) as session:
            found = visits.alternative_slots(session, data.visit_id, after, count=data.count)
        return SlotsOut([SlotOut(s.staff_id, s.start.isoformat()) for s in found])

    @activity.defn(name="pin_visit")
    @bad_data_is_final
    def pin_visit(self, data: PinVisitIn) -> VisitOut:
        start = _when(data.start)
        assert start is not None
        with session_scope(self.engine) as session:
            visit = visits.pin_to_slot(session, data.visit_id, data.staff_id, start, data.actor)
            return VisitOut(data.visit_id, visit.status, visit.needs_phone_call)
