"""plan_difference on hand-written plans: added, removed, moved, retimed, unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from domain.errors import NotFound
from domain.models import DailyPlan, PlanStop
from planning.diff import is_moved, plan_difference
from tests.planning.conftest import MONDAY, World, utc

T9 = utc(2026, 12, 7, 8)
HOUR = timedelta(hours=1)


def add_plan(session: Session, version: int, stops: list[tuple[int, int, object, object]]) -> int:
    """A plan with (visit_id, staff_id, start, window_start) stops; windows are one hour."""
    plan = DailyPlan(plan_date=MONDAY, version=version)
    session.add(plan)
    session.flush()
    assert plan.id is not None
    for seq, (visit_id, staff_id, start, window_start) in enumerate(stops, start=1):
        session.add(
            PlanStop(
                plan_id=plan.id,
                staff_id=staff_id,
                visit_id=visit_id,
                sequence=seq,
                arrival=start,
                start=start,
                end=start + HOUR,
                window_start=window_start,
                window_end=window_start + HOUR,
            )
        )
    # A break is not a visit: never part of the difference.
    session.add(
        PlanStop(
            plan_id=plan.id,
            staff_id=stops[0][1],
            kind="break",
            sequence=99,
            arrival=T9 + 5 * HOUR,
            start=T9 + 5 * HOUR,
            end=T9 + 6 * HOUR,
        )
    )
    session.commit()
    return plan.id


def test_difference_sorts_every_visit_into_one_bucket(tiny_world: World) -> None:
    w = tiny_world
    ana, ben = w.staff["ana"], w.staff["ben"]
    north, south, east, west = (w.visits[n] for n in ("north", "south", "east", "west"))
    with Session(w.engine) as session:
        base = add_plan(
            session,
            1,
            [
                (north, ana, T9, T9),  # unchanged
                (south, ana, T9 + 2 * HOUR, T9 + 2 * HOUR),  # retimed inside its window
                (east, ben, T9, T9),  # another staff member: moved
            ],
        )
        new = add_plan(
            session,
            2,
            [
                (north, ana, T9, T9),
                (south, ana, T9 + 2 * HOUR + timedelta(minutes=20), T9 + 2 * HOUR),
                (east, ana, T9 + 3 * HOUR, T9 + 3 * HOUR),
                (west, ben, T9, T9),  # added
            ],
        )
        third = add_plan(session, 3, [(north, ana, T9 + 4 * HOUR, T9 + 4 * HOUR)])
        diff = plan_difference(session, new, base)
        assert (diff.added, diff.removed, diff.moved, diff.retimed, diff.unchanged) == (
            [west],
            [],
            [east],
            [south],
            [north],
        )
        assert not diff.is_empty
        change = diff.changes[east]
        assert change.before is not None and change.after is not None
        assert (change.before.staff_id, change.after.staff_id) == (ben, ana)
        assert change.after.start == (T9 + 3 * HOUR).isoformat()

        later = plan_difference(session, third, new)
        assert later.removed == [south, east, west] and later.moved == [north]

        fresh = plan_difference(session, new, None)
        assert fresh.added == [north, south, east, west] and fresh.changes[west].before is None
        assert plan_difference(session, new, new).is_empty
        with pytest.raises(NotFound):
            plan_difference(session, 999_999, None)
        with pytest.raises(NotFound):
            plan_difference(session, new, 999_999)


def test_is_moved_compares_staff_then_promised_window() -> None:
    a = (1, T9, T9, T9 + HOUR)
    assert not is_moved(a, (1, T9 + timedelta(minutes=10), T9, T9 + HOUR))
    assert is_moved(a, (2, T9, T9, T9 + HOUR))
    assert is_moved(a, (1, T9, T9 + HOUR, T9 + 2 * HOUR))
    assert is_moved((1, T9, None, None), (1, T9 + HOUR, T9, T9 + HOUR))
    assert not is_moved((1, T9, None, None), (1, T9, T9, T9 + HOUR))
