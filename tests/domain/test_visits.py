"""A failed visit's decision in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from domain.db import session_scope
from domain.errors import Conflict
from domain.models import AuditEntry, VisitKind
from domain.schemas import VisitIn
from domain.services import request_visit
from domain.visits import (
    count_overdue_visits,
    count_sales_awaiting_decision,
    decisions_waiting_since,
    get_visit,
    record_failed_decision,
    set_status,
)
from tests.workflows.support import make_company


def _visit(engine: Engine) -> int:
    ids = make_company(engine, sold_on=date(2026, 12, 1))
    with session_scope(engine) as s:
        visit = request_visit(
            s,
            VisitIn(
                sale_id=ids["sale"],
                kind=VisitKind.INSTALLATION,
                business_key="sale-1/installation-1",
                duration_minutes=60,
                earliest_date=date(2026, 12, 2),
            ),
        )
        s.flush()
        assert visit.id is not None
        return visit.id


def _decisions(engine: Engine) -> list[dict]:  # type: ignore[type-arg]
    with session_scope(engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.action == "visit.failed_decision"))
        return [r.details for r in rows]


def test_a_decision_clears_the_phone_call_once_and_keeps_the_visit_failed(
    engine: Engine,
) -> None:
    visit_id = _visit(engine)
    with session_scope(engine) as s, pytest.raises(Conflict, match="not failed"):
        record_failed_decision(s, visit_id, "retry", "ana@posventa")
    with session_scope(engine) as s:
        set_status(s, visit_id, "failed", "workflow", note="absent", needs_phone_call=True)
    with session_scope(engine) as s:
        assert count_sales_awaiting_decision(s) == 1
        failed_at = get_visit(s, visit_id).updated_at
        since = decisions_waiting_since()
        [(sale_id, waiting)] = s.exec(select(since.c.sale_id, since.c.since)).all()
        assert waiting == failed_at and waiting.tzinfo is not None  # one sale, since it failed
    for _ in range(2):  # a retried activity changes nothing the second time
        with session_scope(engine) as s:
            record_failed_decision(s, visit_id, "retry", "ana@posventa", note="Friday " * 80)
    with session_scope(engine) as s:
        visit = get_visit(s, visit_id)
        assert (visit.status, visit.needs_phone_call) == ("failed", False)
        assert count_sales_awaiting_decision(s) == 0
    [details] = _decisions(engine)
    assert details["decision"] == "retry" and len(details["note"]) == 400


def test_a_visit_is_overdue_from_the_day_after_its_due_date_until_it_closes(
    engine: Engine,
) -> None:
    visit_id = _visit(engine)
    with session_scope(engine) as s:
        get_visit(s, visit_id).due_date = date(2026, 12, 5)
    with session_scope(engine) as s:
        assert [count_overdue_visits(s, date(2026, 12, d)) for d in (5, 6)] == [0, 1]
        set_status(s, visit_id, "completed", actor="ana")
    with session_scope(engine) as s:
        assert count_overdue_visits(s, date(2026, 12, 6)) == 0


def test_arrival_and_report_times_are_kept_once_and_an_unplanned_visit_forgets_its_arrival(
    engine: Engine,
) -> None:
    from datetime import UTC, datetime, timedelta

    from domain.models import Staff
    from domain.visits import lateness_minutes, record_arrival

    visit_id = _visit(engine)
    window_end = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    with session_scope(engine) as s, pytest.raises(Conflict, match="not one to arrive at"):
        record_arrival(s, visit_id, "ana@posventa")  # requested: nobody is going there
    with session_scope(engine) as s:
        visit = get_visit(s, visit_id)
        staff = s.exec(select(Staff)).first()
        assert staff is not None
        visit.status, visit.assigned_staff_id = "confirmed", staff.id
        visit.promised_window_start, visit.promised_window_end = (
            window_end - timedelta(hours=2),
            window_end,
        )
    with session_scope(engine) as s:
        record_arrival(s, visit_id, "ana@posventa", at=window_end + timedelta(minutes=25))
    with session_scope(engine) as s:  # a second tap keeps the first time
        visit = record_arrival(s, visit_id, "ana@posventa", at=window_end + timedelta(hours=1))
        assert visit.arrived_at == window_end + timedelta(minutes=25)
        assert lateness_minutes(visit) == 25
    with session_scope(engine) as s:  # absent: back into the pool, the next attempt is new
        set_status(s, visit_id, "requested", "workflow", unplan=True)
    with session_scope(engine) as s:
        visit = get_visit(s, visit_id)
        assert visit.arrived_at is None and visit.finished_at is None
        visit.status, visit.assigned_staff_id = "planned", staff.id
        visit.promised_window_end = window_end
        visit.arrived_at = window_end - timedelta(minutes=30)
    before = datetime.now(UTC)
    with session_scope(engine) as s:
        set_status(s, visit_id, "completed", "workflow", note="done")
    with session_scope(engine) as s:
        set_status(s, visit_id, "completed", "workflow")  # a retried activity changes nothing
        visit = get_visit(s, visit_id)
        assert visit.finished_at is not None and before <= visit.finished_at <= datetime.now(UTC)
        assert lateness_minutes(visit) == 0  # arrived within the window
        entries = s.exec(select(AuditEntry).where(AuditEntry.action == "visit.arrived")).all()
    assert [e.details["late_minutes"] for e in entries] == [25]


def test_a_visit_reported_later_keeps_the_end_the_technician_gave_within_arrival_and_now(
    engine: Engine,
) -> None:
    """Reported from the van 40 min after leaving: the end said is kept. An end before the
    arrival is the arrival; one in the future is now."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC).replace(microsecond=0)
    arrived = now - timedelta(hours=2)
    said_and_kept = [
        (now - timedelta(minutes=40), now - timedelta(minutes=40)),
        (arrived - timedelta(minutes=10), arrived),
        (now + timedelta(hours=1), None),  # None: the time of the report
    ]
    visit_id = _visit(engine)
    for said, kept in said_and_kept:
        with session_scope(engine) as s:  # the same visit, reported afresh each time
            visit = get_visit(s, visit_id)
            visit.status, visit.arrived_at, visit.finished_at = "confirmed", arrived, None
        before = datetime.now(UTC)
        with session_scope(engine) as s:
            set_status(s, visit_id, "completed", "ana@posventa", finished_at=said)
        with session_scope(engine) as s:
            ended = get_visit(s, visit_id).finished_at
        assert ended is not None
        if kept is None:
            assert before <= ended <= datetime.now(UTC)
        else:
            assert ended == kept


def test_a_check_in_with_the_phones_position_keeps_how_far_from_the_address_it_was(
    engine: Engine,
) -> None:
    """The customer lives at 40.4, -3.7. A check-in 0.02° north is 2.2 km away; with a vague
    position (3 km) it is not called away; a vaguer one (over 5 km) is not kept; the audit has
    the distance, never the position; a visit back in the pool forgets it."""
    import math

    from domain.models import AuditEntry, Staff
    from domain.visits import Position, away_metres, record_arrival

    with pytest.raises(ValueError, match="no such position"):
        Position(91, 0, 5)
    with pytest.raises(ValueError, match="no such accuracy"):
        Position(40, 0, math.nan)
    visit_id = _visit(engine)
    found = []
    for position in (Position(40.4, -3.7, 20), Position(40.42, -3.7, 30),
                     Position(40.42, -3.7, 3000), Position(40.42, -3.7, 6000), None):  # fmt: skip
        with session_scope(engine) as s:
            visit = get_visit(s, visit_id)
            staff = s.exec(select(Staff)).first()
            assert staff is not None
            visit.status, visit.assigned_staff_id, visit.arrived_at = "confirmed", staff.id, None
            visit.arrival_distance_m = visit.arrival_accuracy_m = None
        with session_scope(engine) as s:
            visit = record_arrival(s, visit_id, "ana@posventa", position=position)
            found.append((visit.arrival_distance_m, visit.arrival_accuracy_m, away_metres(visit)))
    assert found == [(0, 20, None), (2224, 30, 2224), (2224, 3000, None), (None, None, None),
                     (None, None, None)]  # fmt: skip
    with session_scope(engine) as s:
        entries = s.exec(select(AuditEntry).where(AuditEntry.action == "visit.arrived")).all()
        assert [e.details.get("distance_m") for e in entries] == [0, 2224, 2224, None, None]
        assert {key for e in entries for key in e.details} == {
            "arrived_at", "late_minutes", "distance_m"
        }  # fmt: skip
        record_arrival(s, visit_id, "ana@posventa")  # the second tap changes nothing
    with session_scope(engine) as s:
        set_status(s, visit_id, "requested", "workflow", unplan=True)
    with session_scope(engine) as s:
        visit = get_visit(s, visit_id)
        assert (visit.arrived_at, visit.arrival_distance_m) == (None, None)


def test_on_my_way_keeps_the_announced_arrival_until_the_technician_arrives(
    engine: Engine,
) -> None:
    from datetime import UTC, datetime, timedelta

    from domain.models import AuditEntry, Staff
    from domain.visits import announce_arrival, record_arrival

    visit_id = _visit(engine)
    soon = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    with session_scope(engine) as s:
        assert not announce_arrival(s, visit_id, "ana@posventa", soon)  # nobody is going
        visit = get_visit(s, visit_id)
        staff = s.exec(select(Staff)).first()
        assert staff is not None
        visit.status, visit.assigned_staff_id = "confirmed", staff.id
    with session_scope(engine) as s:
        assert announce_arrival(s, visit_id, "ana@posventa", soon)
        assert get_visit(s, visit_id).expected_at == soon
        record_arrival(s, visit_id, "ana@posventa", at=soon + timedelta(minutes=5))
    with session_scope(engine) as s:
        assert not announce_arrival(s, visit_id, "ana@posventa", soon + timedelta(hours=1))
        assert get_visit(s, visit_id).expected_at == soon  # there already
        entries = s.exec(select(AuditEntry).where(AuditEntry.action == "visit.on_the_way")).all()
        assert [e.details for e in entries] == [{"expected_at": soon.isoformat()}]
    with session_scope(engine) as s:  # back into the pool: the next attempt is new
        set_status(s, visit_id, "requested", "workflow", unplan=True)
    with session_scope(engine) as s:
        assert get_visit(s, visit_id).expected_at is None
