"""The demo company: a realistic spread of stages, idempotent, no default passwords."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlmodel import Session, select

from domain.demo import next_working_day, seed_demo
from domain.models import Customer, Sale, Staff, User, Visit
from domain.users import authenticate


def test_seed_demo_builds_the_company(engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    logins = tmp_path / "logins.txt"
    result = seed_demo(engine, today=date(2026, 11, 23), logins_path=logins)
    assert result.created and result.sales == 60 and result.staff == 11
    with Session(engine) as s:
        staff = s.exec(select(Staff)).all()
        assert Counter(m.role for m in staff) == {"technician": 8, "trainer": 3}
        phones = {m.phone for m in staff}  # their route texts show in the SMS simulator
        assert None not in phones and len(phones) == 11
        assert not phones & {c.phone for c in s.exec(select(Customer))}
        stages = Counter(sale.stage for sale in s.exec(select(Sale)))
        assert {"installation", "training", "survey", "maintenance", "ended"} <= set(stages)
        locales = Counter(c.locale for c in s.exec(select(Customer)))
        assert locales["es"] > 0 and locales["en"] > 0
        # only history is seeded: the visits to come are requested by the lifecycle workflows
        visits = s.exec(select(Visit)).all()
        assert visits and all(v.status == "completed" for v in visits)
        assert all(v.business_key.startswith(f"sale-{v.sale_id}/{v.kind}-") for v in visits)
        # each was done by a staff member with its skill; one trainer teaches all of a sale's
        # sessions
        members = {m.id: m for m in staff}
        assert all(
            v.assigned_staff_id is not None
            and set(v.required_skills) <= set(members[v.assigned_staff_id].skills)
            for v in visits
        )
        trainers = Counter((v.sale_id, v.assigned_staff_id) for v in visits if v.kind == "training")
        assert trainers and len({sale for sale, _ in trainers}) == len(trainers)
        assert len(result.repair_sale_ids) == 4
        # every demo login works with the password written to the logins file, and only with it
        for line in logins.read_text().splitlines():
            email, password = line.split()
            assert authenticate(s, email, password) is not None
            assert authenticate(s, email, password + "x") is None
        assert len(s.exec(select(User)).all()) == 4
    assert logins.stat().st_mode & 0o077 == 0


def test_second_seed_changes_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    seed_demo(engine, today=date(2026, 11, 23))
    again = seed_demo(engine, today=date(2026, 11, 23))
    assert not again.created
    with Session(engine) as s:
        assert len(s.exec(select(Sale)).all()) == 60


def test_next_working_day_skips_the_weekend() -> None:
    assert next_working_day(date(2026, 11, 20)) == date(2026, 11, 23)  # Friday -> Monday
    assert next_working_day(date(2026, 11, 23)) == date(2026, 11, 24)


def test_a_fresh_demo_drafts_today_too_on_a_working_morning() -> None:
    """Monday 09:30: today and Tuesday; Monday 17:00: Tuesday only; Friday 10:00: Friday and
    Monday; Saturday 10:00: Monday only."""
    from datetime import datetime

    from domain.demo import days_to_draft

    def days(*when: int) -> list[date]:
        return days_to_draft(datetime(*when))  # type: ignore[arg-type]

    assert days(2026, 11, 23, 9, 30) == [date(2026, 11, 23), date(2026, 11, 24)]
    assert days(2026, 11, 23, 17, 0) == [date(2026, 11, 24)]
    assert days(2026, 11, 20, 10, 0) == [date(2026, 11, 20), date(2026, 11, 23)]
    assert days(2026, 11, 21, 10, 0) == [date(2026, 11, 23)]
