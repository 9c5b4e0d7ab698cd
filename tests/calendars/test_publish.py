"""publish_plan: CalendarEntry rows follow the approved plan; SEQUENCE only grows."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from calendars.publish import PublishResult, publish_plan, withdraw_visit
from domain.errors import Conflict, NotFound
from domain.models import CalendarEntry, DailyPlan, VisitStatus
from tests.calendars import factories as f

DAY = date(2026, 6, 2)


def Z(*args: int) -> datetime:  # noqa: N802
    return datetime(*args, tzinfo=UTC)


def _entries(engine: Engine) -> dict[tuple[int, int], CalendarEntry]:
    with Session(engine) as s:
        return {(e.visit_id, e.staff_id): e for e in s.exec(select(CalendarEntry))}


@pytest.fixture
def world(session: Session):  # type: ignore[no-untyped-def]
    ana, luis = f.staff(session, name="Ana"), f.staff(session, name="Luis")
    sale = f.sale(session, f.customer(session), f.product(session))
    v1, v2 = f.visit(session, sale, "v1"), f.visit(session, sale, "v2")
    session.commit()
    return ana, luis, v1, v2


def test_new_entries_start_at_sequence_zero_and_publishing_twice_changes_nothing(
    engine: Engine, session: Session, world
) -> None:
    ana, luis, v1, v2 = world
    plan = f.approved_plan(
        session, DAY, [(ana, v1, Z(2026, 6, 2, 8), 90), (luis, v2, Z(2026, 6, 2, 9), 60)]
    )
    first = publish_plan(engine, plan.id)
    assert (first.created, first.updated, first.cancelled, first.changed) == (2, 0, 0, 2)
    assert first.staff_ids == sorted([ana.id, luis.id])
    snapshot = _entries(engine)
    assert {e.sequence for e in snapshot.values()} == {0}
    assert snapshot[(v1.id, ana.id)].ends_at == Z(2026, 6, 2, 9, 30)
    again = publish_plan(engine, plan.id)
    assert (again.created, again.updated, again.cancelled, again.unchanged) == (0, 0, 0, 2)
    assert again.staff_ids == [] and again.changed == 0
    after = _entries(engine)
    for key, entry in snapshot.items():
        assert after[key].model_dump() == entry.model_dump()


def test_changed_time_raises_sequence_and_last_modified(
    engine: Engine, session: Session, world
) -> None:
    ana, _, v1, _ = world
    publish_plan(engine, f.approved_plan(session, DAY, [(ana, v1, Z(2026, 6, 2, 8), 90)]).id)
    before = _entries(engine)[(v1.id, ana.id)]
    result = publish_plan(
        engine, f.approved_plan(session, DAY, [(ana, v1, Z(2026, 6, 2, 11), 90)]).id
    )
    assert (result.updated, result.staff_ids) == (1, [ana.id])
    after = _entries(engine)[(v1.id, ana.id)]
    assert after.uid == before.uid
    assert after.sequence == 1 and after.starts_at == Z(2026, 6, 2, 11)
    assert after.last_modified.replace(microsecond=0) > before.last_modified.replace(microsecond=0)


def test_changed_details_raise_sequence(engine: Engine, session: Session, world) -> None:
    ana, _, v1, _ = world
    plan = f.approved_plan(session, DAY, [(ana, v1, Z(2026, 6, 2, 8), 90)])
    publish_plan(engine, plan.id)
    v1.description = "Traer escalera"
    session.add(v1)
    session.commit()
    assert publish_plan(engine, plan.id).updated == 1
    entry = _entries(engine)[(v1.id, ana.id)]
    assert entry.sequence == 1 and "Traer escalera" in entry.description


def test_moving_a_visit_to_someone_else_cancels_the_old_entry_and_creates_a_new_one(
    engine: Engine, session: Session, world
) -> None:
    ana, luis, v1, _ = world
    publish_plan(engine, f.approved_plan(session, DAY, [(ana, v1, Z(2026, 6, 2, 8), 90)]).id)
    result = publish_plan(
        engine, f.approved_plan(session, DAY, [(luis, v1, Z(2026, 6, 2, 8), 90)]).id
    )
    assert (result.created, result.cancelled) == (1, 1)
    entries = _entries(engine)
    old, new = entries[(v1.id, ana.id)], entries[(v1.id, luis.id)]
    assert old.cancelled and old.cancelled_at is not None and old.sequence == 1
    assert not new.cancelled and new.sequence == 0 and new.uid != old.uid
    # and back again: the old entry comes back with a higher SEQUENCE, same UID
    publish_plan(engine, f.approved_plan(session, DAY, [(ana, v1, Z(2026, 6, 2, 8), 90)]).id)
    entries = _entries(engine)
    assert entries[(v1.id, ana.id)].uid == old.uid
    assert not entries[(v1.id, ana.id)].cancelled and entries[(v1.id, ana.id)].sequence == 2
    assert entries[(v1.id, luis.id)].cancelled


def test_removed_visits_are_cancelled_but_other_days_are_left_alone(
    engine: Engine, session: Session, world
) -> None:
    ana, _, v1, v2 = world
    publish_plan(engine, f.approved_plan(session, DAY, [(ana, v1, Z(2026, 6, 2, 8), 90)]).id)
    next_day = date(2026, 6, 3)
    publish_plan(engine, f.approved_plan(session, next_day, [(ana, v2, Z(2026, 6, 3, 8), 60)]).id)
    result = publish_plan(engine, f.approved_plan(session, DAY, []).id)
    assert result.cancelled == 1
    entries = _entries(engine)
    assert entries[(v1.id, ana.id)].cancelled
    assert not entries[(v2.id, ana.id)].cancelled and entries[(v2.id, ana.id)].sequence == 0


def test_late_local_evening_belongs_to_the_staff_members_day(
    engine: Engine, session: Session
) -> None:
    """23:30 in Mexico City on June 2 is June 3 in UTC: still June 2's plan."""
    mx = f.staff(session, name="Paco", tz="America/Mexico_City")
    sale = f.sale(session, f.customer(session), f.product(session))
    late = f.visit(session, sale, "late")
    publish_plan(engine, f.approved_plan(session, DAY, [(mx, late, Z(2026, 6, 3, 5, 30), 30)]).id)
    assert publish_plan(engine, f.approved_plan(session, DAY, []).id).cancelled == 1


def test_cancelled_or_declined_visits_are_withdrawn_and_done_ones_kept(
    engine: Engine, session: Session, world
) -> None:
    ana, _, v1, v2 = world
    plan = f.approved_plan(
        session, DAY, [(ana, v1, Z(2026, 6, 2, 8), 90), (ana, v2, Z(2026, 6, 2, 11), 60)]
    )
    publish_plan(engine, plan.id)
    v1.status = VisitStatus.DECLINED.value
    v2.status = VisitStatus.COMPLETED.value
    session.add_all([v1, v2])
    session.commit()
    assert publish_plan(engine, plan.id).cancelled == 1
    publish_plan(engine, f.approved_plan(session, DAY, []).id)
    entries = _entries(engine)
    assert entries[(v1.id, ana.id)].cancelled
    assert not entries[(v2.id, ana.id)].cancelled, "a completed visit stays in the calendar"


def test_withdraw_visit_cancels_its_entries_once(engine: Engine, session: Session, world) -> None:
    ana, _, v1, _ = world
    publish_plan(engine, f.approved_plan(session, DAY, [(ana, v1, Z(2026, 6, 2, 8), 90)]).id)
    assert withdraw_visit(engine, v1.id) == [ana.id]
    assert withdraw_visit(engine, v1.id) == []
    assert _entries(engine)[(v1.id, ana.id)].sequence == 1


def test_drafts_are_refused_and_superseded_plans_skipped(
    engine: Engine, session: Session, world
) -> None:
    ana, _, v1, _ = world
    draft = DailyPlan(plan_date=DAY, version=9)
    session.add(draft)
    session.commit()
    with pytest.raises(Conflict):
        publish_plan(engine, draft.id)
    with pytest.raises(NotFound):
        publish_plan(engine, 987654)
    old = f.approved_plan(session, DAY, [(ana, v1, Z(2026, 6, 2, 8), 90)])
    publish_plan(engine, old.id)
    publish_plan(engine, f.approved_plan(session, DAY, [(ana, v1, Z(2026, 6, 2, 12), 90)]).id)
    late_retry = publish_plan(engine, old.id)
    assert late_retry.skipped_reason == "superseded"
    assert _entries(engine)[(v1.id, ana.id)].starts_at == Z(2026, 6, 2, 12)


def test_concurrent_publishes_of_one_plan_create_each_entry_once(pg_engine: Engine) -> None:
    with Session(pg_engine, expire_on_commit=False) as session:
        ana = f.staff(session, name="Ana")
        sale = f.sale(session, f.customer(session), f.product(session))
        visits = [f.visit(session, sale, f"v{n}") for n in range(5)]
        plan = f.approved_plan(
            session, DAY, [(ana, v, Z(2026, 6, 2, 7 + n), 45) for n, v in enumerate(visits)]
        )
    barrier = threading.Barrier(3)

    def publish() -> PublishResult:
        barrier.wait()
        return publish_plan(pg_engine, plan.id)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: publish(), range(3)))
    assert sum(r.created for r in results) == 5
    assert sorted(r.unchanged for r in results) == [0, 5, 5]
    assert len(_entries(pg_engine)) == 5
