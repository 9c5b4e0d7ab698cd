"""CalDAV sync against a real Radicale server: push by UID (idempotent), busy time read back."""

from __future__ import annotations

from datetime import UTC, date, datetime

import caldav
import pytest
from caldav.elements import dav
from caldav.lib.error import NotFoundError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from calendars.caldav_sync import CalDavError, pull_busy, push_staff, staff_with_caldav
from calendars.publish import publish_plan
from domain.models import CalendarEntry, Staff, StaffBusy
from tests.calendars import factories as f
from tests.calendars.conftest import Radicale, free_port

DAY = date(2026, 12, 9)  # a Wednesday, no clock change


def Z(*args: int) -> datetime:  # noqa: N802
    return datetime(*args, tzinfo=UTC)


def _caldav_staff(session: Session, calendar: caldav.Calendar, radicale: Radicale, **kw) -> Staff:
    return f.staff(
        session,
        name="Tere",
        caldav_url=str(calendar.url),
        caldav_username=radicale.username,
        caldav_password=kw.pop("password", radicale.password),
        **kw,
    )


def _server_events(calendar: caldav.Calendar) -> dict[str, object]:
    return {
        str(obj.icalendar_component["uid"]): obj.icalendar_component for obj in calendar.events()
    }


def _entry(engine: Engine, visit_id: int) -> CalendarEntry:
    with Session(engine) as s:
        return s.exec(select(CalendarEntry).where(CalendarEntry.visit_id == visit_id)).one()


def test_push_creates_updates_and_deletes_by_uid_idempotently(
    engine: Engine, session: Session, radicale: Radicale
) -> None:
    calendar = radicale.new_calendar()
    tere = _caldav_staff(session, calendar, radicale)
    sale = f.sale(session, f.customer(session), f.product(session))
    keep, drop = f.visit(session, sale, "keep"), f.visit(session, sale, "drop")
    publish_plan(
        engine,
        f.approved_plan(
            session,
            DAY,
            [(tere, keep, Z(2026, 12, 9, 8), 90), (tere, drop, Z(2026, 12, 9, 11), 60)],
        ).id,
    )
    assert staff_with_caldav(engine) == [tere.id]
    first = push_staff(engine, tere.id)
    assert (first.created, first.updated, first.deleted, first.pushed) == (2, 0, 0, 2)
    events = _server_events(calendar)
    uid_keep, uid_drop = _entry(engine, keep.id).uid, _entry(engine, drop.id).uid
    assert set(events) == {uid_keep, uid_drop}
    assert events[uid_keep].decoded("dtstart").astimezone(UTC) == Z(2026, 12, 9, 8)
    etags = {obj.url: obj.get_property(dav.GetEtag()) for obj in calendar.events()}

    again = push_staff(engine, tere.id)
    assert (again.created, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 0)
    assert again.pushed == 0
    assert {obj.url: obj.get_property(dav.GetEtag()) for obj in calendar.events()} == etags

    publish_plan(engine, f.approved_plan(session, DAY, [(tere, keep, Z(2026, 12, 9, 9), 90)]).id)
    second = push_staff(engine, tere.id)
    assert (second.created, second.updated, second.deleted) == (0, 1, 1)
    events = _server_events(calendar)
    assert set(events) == {uid_keep}
    assert int(events[uid_keep]["sequence"]) == 1
    assert events[uid_keep].decoded("dtstart").astimezone(UTC) == Z(2026, 12, 9, 9)
    with pytest.raises(NotFoundError):
        calendar.event_by_uid(uid_drop)
    assert push_staff(engine, tere.id).updated == 0


def test_push_survives_an_event_deleted_on_the_server(
    engine: Engine, session: Session, radicale: Radicale
) -> None:
    calendar = radicale.new_calendar()
    tere = _caldav_staff(session, calendar, radicale)
    visit = f.visit(session, f.sale(session, f.customer(session), f.product(session)), "v")
    publish_plan(engine, f.approved_plan(session, DAY, [(tere, visit, Z(2026, 12, 9, 8), 60)]).id)
    push_staff(engine, tere.id)
    calendar.event_by_uid(_entry(engine, visit.id).uid).delete()
    publish_plan(engine, f.approved_plan(session, DAY, []).id)
    result = push_staff(engine, tere.id)
    assert (result.deleted, result.unchanged) == (0, 1)
    assert _entry(engine, visit.id).caldav_pushed_sequence == 1


DENTIST = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//dentist//EN
BEGIN:VEVENT
UID:dentist-1@example.com
DTSTAMP:20261201T000000Z
DTSTART;TZID=Europe/Madrid:20261209T100000
DTEND;TZID=Europe/Madrid:20261209T110000
SUMMARY:Dentista
END:VEVENT
BEGIN:VTIMEZONE
TZID:Europe/Madrid
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
END:VCALENDAR
"""


def _event(uid: str, start: str, end: str, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//x//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART{start}\r\nDTEND{end}\r\n{extra}"
        "SUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_busy_time_is_read_back_without_our_own_free_or_cancelled_events(
    engine: Engine, session: Session, radicale: Radicale
) -> None:
    calendar = radicale.new_calendar()
    tere = _caldav_staff(session, calendar, radicale)
    calendar.save_event(DENTIST)
    # weekly gym on Wednesdays 18:00-19:00 UTC, since November
    calendar.save_event(
        _event("gym@x", ":20261104T180000Z", ":20261104T190000Z", "RRULE:FREQ=WEEKLY\r\n")
    )
    calendar.save_event(
        _event("free@x", ":20261209T120000Z", ":20261209T130000Z", "TRANSP:TRANSPARENT\r\n")
    )
    calendar.save_event(
        _event("off@x", ":20261209T140000Z", ":20261209T150000Z", "STATUS:CANCELLED\r\n")
    )
    calendar.save_event(_event("other-day@x", ":20261210T090000Z", ":20261210T100000Z"))
    # overnight flight back: only the part after local midnight counts for DAY
    calendar.save_event(_event("flight@x", ":20261208T220000Z", ":20261209T010000Z"))
    visit = f.visit(session, f.sale(session, f.customer(session), f.product(session)), "v")
    publish_plan(engine, f.approved_plan(session, DAY, [(tere, visit, Z(2026, 12, 9, 15), 60)]).id)
    push_staff(engine, tere.id)  # our own session must not come back as "busy"
    session.add(StaffBusy(staff_id=tere.id, starts_at=Z(2026, 12, 9, 7), ends_at=Z(2026, 12, 9, 8)))
    session.commit()

    assert pull_busy(engine, tere.id, DAY) == 3
    with Session(engine) as s:
        rows = s.exec(select(StaffBusy).order_by(StaffBusy.starts_at)).all()
    assert [(r.starts_at, r.ends_at, r.source_uid) for r in rows] == [
        (Z(2026, 12, 8, 23), Z(2026, 12, 9, 1), "flight@x"),
        (Z(2026, 12, 9, 9), Z(2026, 12, 9, 10), "dentist-1@example.com"),
        (Z(2026, 12, 9, 18), Z(2026, 12, 9, 19), "gym@x"),
    ]
    calendar.event_by_uid("dentist-1@example.com").delete()
    assert pull_busy(engine, tere.id, DAY) == 2, "the day's rows are replaced, not added to"


def test_bad_credentials_are_not_retryable_and_shown_to_the_dispatcher(
    engine: Engine, session: Session, radicale: Radicale
) -> None:
    calendar = radicale.new_calendar()
    tere = _caldav_staff(session, calendar, radicale, password="wrong")
    session.commit()
    with pytest.raises(CalDavError) as raised:
        pull_busy(engine, tere.id, DAY)
    assert raised.value.retryable is False
    with Session(engine) as s:
        error = s.get(Staff, tere.id).caldav_last_error
    assert error and "username or password" in error and "wrong" not in error
    tere.caldav_password = radicale.password
    session.add(tere)
    session.commit()
    assert pull_busy(engine, tere.id, DAY) == 0
    with Session(engine) as s:
        assert s.get(Staff, tere.id).caldav_last_error is None


def test_server_down_is_retryable_and_planning_data_is_kept(
    engine: Engine, session: Session
) -> None:
    tere = f.staff(
        session,
        caldav_url=f"http://127.0.0.1:{free_port()}/trainer/cal/",
        caldav_username="t",
        caldav_password="p",
    )
    visit = f.visit(session, f.sale(session, f.customer(session), f.product(session)), "v")
    session.add(
        StaffBusy(staff_id=tere.id, starts_at=Z(2026, 12, 9, 9), ends_at=Z(2026, 12, 9, 10))
    )
    session.commit()
    publish_plan(engine, f.approved_plan(session, DAY, [(tere, visit, Z(2026, 12, 9, 8), 60)]).id)
    for call in (lambda: push_staff(engine, tere.id), lambda: pull_busy(engine, tere.id, DAY)):
        with pytest.raises(CalDavError) as raised:
            call()
        assert raised.value.retryable is True
    with Session(engine) as s:
        assert "could not be reached" in (s.get(Staff, tere.id).caldav_last_error or "")
        assert len(s.exec(select(StaffBusy)).all()) == 1, "old busy rows stay when the pull fails"
        assert _entry(engine, visit.id).caldav_pushed_sequence is None, "will be pushed later"


def test_staff_without_caldav_is_skipped(engine: Engine, session: Session) -> None:
    tere = f.staff(session)
    session.commit()
    assert staff_with_caldav(engine) == []
    assert push_staff(engine, tere.id).skipped_reason == "no_caldav"
    assert pull_busy(engine, tere.id, DAY) == 0


def test_a_wrong_calendar_url_is_not_retryable(
    engine: Engine, session: Session, radicale: Radicale
) -> None:
    tere = f.staff(
        session,
        caldav_url=radicale.base_url + f"{radicale.username}/no-such-calendar/",
        caldav_username=radicale.username,
        caldav_password=radicale.password,
    )
    session.commit()
    with pytest.raises(CalDavError) as raised:
        pull_busy(engine, tere.id, DAY)
    assert raised.value.retryable is False
    assert "not found" in raised.value.message
