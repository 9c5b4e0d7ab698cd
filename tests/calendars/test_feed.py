"""The staff feed read back by four independent parsers, around daylight-saving changes too."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from sqlmodel import Session, select

from calendars.feed import customer_visit_ics, event_times, staff_feed
from calendars.publish import publish_plan
from domain.models import CalendarEntry, Staff, Visit, VisitKind, VisitStatus
from tests.calendars import factories as f
from tests.calendars.parsers import all_parsers, with_icaljs_raw


def Z(*args: int) -> datetime:  # noqa: N802 - reads like the iCalendar 'Z' suffix
    return datetime(*args, tzinfo=UTC)


NOW = Z(2026, 6, 1)  # "today" for feeds of June 2026 plans (the feed drops events 90 days old)

# (label, start UTC, end UTC): the local wall-clock meaning is in the comment
MADRID = [
    ("normal-cet", Z(2026, 3, 28, 9), Z(2026, 3, 28, 10)),  # 10:00-11:00 CET
    ("over-the-gap", Z(2026, 3, 29, 0, 30), Z(2026, 3, 29, 2, 30)),  # 01:30 CET - 04:30 CEST
    ("normal-cest", Z(2026, 3, 30, 8), Z(2026, 3, 30, 9)),  # 10:00-11:00 CEST
    ("first-0230", Z(2026, 10, 25, 0, 30), Z(2026, 10, 25, 0, 45)),  # 02:30 CEST (ambiguous)
    ("second-0230", Z(2026, 10, 25, 1, 30), Z(2026, 10, 25, 1, 45)),  # 02:30 CET (ambiguous)
    ("over-fall-back", Z(2026, 10, 24, 22), Z(2026, 10, 25, 3)),  # 00:00 CEST - 04:00 CET
    ("after-fall-back", Z(2026, 10, 26, 9), Z(2026, 10, 26, 10)),  # 10:00 CET
]
MEXICO = [
    ("mx-2021-gap", Z(2021, 4, 4, 7, 30), Z(2021, 4, 4, 9, 30)),  # 01:30 CST - 04:30 CDT
    ("mx-2021-summer", Z(2021, 7, 15, 15), Z(2021, 7, 15, 16)),  # 10:00 CDT (old rules)
    ("mx-2021-first-0130", Z(2021, 10, 31, 6, 30), Z(2021, 10, 31, 6, 45)),  # 01:30 CDT
    ("mx-2021-second-0130", Z(2021, 10, 31, 7, 30), Z(2021, 10, 31, 7, 45)),  # 01:30 CST
    ("mx-2022-last-change", Z(2022, 10, 30, 6, 30), Z(2022, 10, 30, 8)),  # 01:30 CDT - 02:00 CST
    ("mx-2023-summer", Z(2023, 7, 13, 16), Z(2023, 7, 13, 17)),  # 10:00 CST: no DST any more
    ("mx-2026-old-gap", Z(2026, 4, 5, 8, 30), Z(2026, 4, 5, 9, 30)),  # 02:30 CST: exists now
    ("mx-2026-old-repeat", Z(2026, 10, 25, 7, 30), Z(2026, 10, 25, 8)),  # 01:30 CST: once now
]


def _entries(session: Session, staff: Staff, times: list[tuple[str, datetime, datetime]]) -> None:
    prod = f.product(session, sku=f"P-{staff.id}")
    sale = f.sale(session, f.customer(session), prod)
    for label, start, end in times:
        visit = f.visit(session, sale, f"{staff.id}-{label}")
        assert staff.id is not None and visit.id is not None
        session.add(
            CalendarEntry(
                uid=f"{label}@test",
                staff_id=staff.id,
                visit_id=visit.id,
                starts_at=start,
                ends_at=end,
                summary=label,
                last_modified=Z(2020, 1, 1),
            )
        )
    session.commit()


@pytest.mark.parametrize(
    ("tz", "times"), [("Europe/Madrid", MADRID), ("America/Mexico_City", MEXICO)]
)
def test_every_parser_reads_the_same_utc_times_around_dst(
    session: Session, tz: str, times: list[tuple[str, datetime, datetime]]
) -> None:
    staff = f.staff(session, tz=tz)
    _entries(session, staff, times)
    body = staff_feed(session, staff, now=Z(2020, 1, 2))
    expected = {f"{label}@test": (start, end) for label, start, end in times}
    for parser, found in all_parsers(body).items():
        assert found == expected, parser


def test_times_are_local_with_a_vtimezone_except_ambiguous_ones(session: Session) -> None:
    staff = f.staff(session, tz="America/Mexico_City")
    _entries(session, staff, MEXICO)
    text = staff_feed(session, staff, now=Z(2020, 1, 2)).decode()
    assert "BEGIN:VTIMEZONE\r\nTZID:America/Mexico_City\r\n" in text
    # 02:30 on 2026-04-05 was skipped under the pre-2022 rules; today it is an ordinary time
    assert "DTSTART;TZID=America/Mexico_City:20260405T023000\r\n" in text
    assert "DTSTART;TZID=America/Mexico_City:20230713T100000\r\n" in text
    assert "DTSTART;TZID=America/Mexico_City:20210715T100000\r\n" in text
    # the repeated hour of 2021 cannot be written as a local time: UTC instead
    assert "DTSTART:20211031T063000Z\r\n" in text
    assert "DTSTART:20211031T073000Z\r\n" in text
    # ical.js resolves zones only through the document's VTIMEZONE: it must know the zone
    tzids = {e["tzid"] for e in with_icaljs_raw(text.encode())["events"]}
    assert tzids == {"America/Mexico_City", "UTC"}


def test_event_times_fall_back_to_utc_only_when_ambiguous() -> None:
    start, end = event_times(Z(2026, 7, 1, 8), Z(2026, 7, 1, 9), "Europe/Madrid")
    assert (start.hour, str(start.tzinfo)) == (10, "Europe/Madrid")
    start, end = event_times(Z(2026, 10, 25, 1, 30), Z(2026, 10, 25, 2), "Europe/Madrid")
    assert start.tzinfo is UTC and end.tzinfo is UTC


def test_feed_format_crlf_folding_and_calendar_properties(session: Session) -> None:
    staff = f.staff(session, name="Íñigo Núñez")
    prod = f.product(session, name="Lavavajillas Industrial de Cúpula Ñandú " * 3)
    cust = f.customer(session, address="Avenida de la Constitución 123, 41004 Sevilla, España")
    visit = f.visit(
        session, f.sale(session, cust, prod), "v1", description="Acceso por el muelle trasero " * 8
    )
    plan = f.approved_plan(session, date(2026, 6, 2), [(staff, visit, Z(2026, 6, 2, 8), 90)])
    publish_plan(session.get_bind(), plan.id)  # type: ignore[arg-type]
    body = staff_feed(session, staff, now=NOW)
    assert body.endswith(b"\r\n")
    lines = body.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines), "long lines are folded"
    text = body.decode()
    assert "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "\r\nX-PUBLISHED-TTL:PT1H\r\n" in text
    cal = icalendar.Calendar.from_ical(body)
    assert str(cal["x-wr-calname"]) == "posventa – Íñigo Núñez"
    assert str(cal["name"]) == "posventa – Íñigo Núñez"
    assert cal["refresh-interval"].dt == timedelta(hours=1)
    (event,) = cal.walk("VEVENT")
    for prop in (
        "uid",
        "dtstamp",
        "dtstart",
        "dtend",
        "summary",
        "location",
        "description",
        "sequence",
        "last-modified",
    ):
        assert prop in event, prop
    assert "Lucía" in str(event["description"]) and "Fernández" not in str(event["description"])
    assert "Acceso por el muelle trasero" in str(event["description"])


def test_no_phone_number_reaches_the_feed(session: Session) -> None:
    staff = f.staff(session)
    cust = f.customer(
        session, phone="+34612345678", address="Calle Luna 4, Madrid (tel 912 345 678)"
    )
    visit = f.visit(
        session,
        f.sale(session, cust, f.product(session)),
        "v1",
        description="Llamar antes al +34 612 34 56 78 o al 600-111-222",
    )
    plan = f.approved_plan(session, date(2026, 6, 2), [(staff, visit, Z(2026, 6, 2, 8), 90)])
    publish_plan(session.get_bind(), plan.id)  # type: ignore[arg-type]
    body = staff_feed(session, staff, now=NOW).decode()
    unfolded = body.replace("\r\n ", "")
    digits_only = re.sub(r"\D", "", unfolded)
    for number in ("612345678", "912345678", "600111222"):
        assert number not in digits_only
    assert "Llamar antes al" in unfolded and "Calle Luna 4" in unfolded


def _feed_events(body: bytes) -> dict[str, icalendar.Event]:
    return {str(e["uid"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def test_two_versions_of_a_feed_keep_uid_raise_sequence_and_show_cancellations(
    engine, session: Session
) -> None:
    ana, luis = f.staff(session, name="Ana"), f.staff(session, name="Luis")
    sale = f.sale(session, f.customer(session), f.product(session))
    install = f.visit(session, sale, "install")
    training = f.visit(session, sale, "training-1", kind=VisitKind.TRAINING.value, sequence=1)
    dropped = f.visit(session, sale, "maintenance")
    day = date(2026, 6, 2)
    v1 = f.approved_plan(
        session,
        day,
        [
            (ana, install, Z(2026, 6, 2, 7), 90),
            (ana, training, Z(2026, 6, 2, 10), 60),
            (ana, dropped, Z(2026, 6, 2, 13), 60),
        ],
    )
    publish_plan(engine, v1.id)
    before = _feed_events(staff_feed(session, ana, now=NOW))
    assert {int(e["sequence"]) for e in before.values()} == {0}
    uid_install = next(
        u
        for u, e in before.items()
        if "Horno" in str(e["summary"]) and "Instalación" in str(e["summary"])
    )

    v2 = f.approved_plan(
        session,
        day,
        [(ana, install, Z(2026, 6, 2, 8), 90), (luis, training, Z(2026, 6, 2, 10), 60)],
    )
    publish_plan(engine, v2.id)
    session.expire_all()
    after = _feed_events(staff_feed(session, ana, now=NOW))
    assert len(before) == 3
    assert set(after) == set(before), "UIDs are kept; removed events stay, cancelled"
    moved = after[uid_install]
    assert int(moved["sequence"]) == 1
    assert moved.decoded("dtstart").astimezone(UTC) == Z(2026, 6, 2, 8)
    assert moved["last-modified"].dt > before[uid_install]["last-modified"].dt
    cancelled = [e for u, e in after.items() if u != uid_install]
    assert [str(e["status"]) for e in cancelled] == ["CANCELLED", "CANCELLED"]
    assert all(int(e["sequence"]) == 1 for e in cancelled)
    luis_feed = _feed_events(staff_feed(session, luis, now=NOW))
    (luis_event,) = luis_feed.values()
    assert str(luis_event["status"]) == "CONFIRMED" and int(luis_event["sequence"]) == 0
    assert set(luis_feed).isdisjoint(after), "the new staff member gets a new UID"
    for parser, found in all_parsers(staff_feed(session, ana, now=NOW)).items():
        assert set(found) == set(before), parser


def test_cancelled_events_are_kept_for_30_days(engine, session: Session) -> None:
    ana = f.staff(session)
    sale = f.sale(session, f.customer(session), f.product(session))
    visit = f.visit(session, sale, "v")
    day = date(2026, 6, 2)
    publish_plan(engine, f.approved_plan(session, day, [(ana, visit, Z(2026, 6, 2, 8), 60)]).id)
    publish_plan(engine, f.approved_plan(session, day, []).id)
    session.expire_all()
    (entry,) = session.exec(select(CalendarEntry)).all()
    assert entry.cancelled and entry.cancelled_at is not None
    soon = entry.cancelled_at + timedelta(days=29)
    late = entry.cancelled_at + timedelta(days=31)
    assert b"STATUS:CANCELLED" in staff_feed(session, ana, now=soon)
    assert b"BEGIN:VEVENT" not in staff_feed(session, ana, now=late)


def test_feed_output_is_stable_between_requests(engine, session: Session) -> None:
    ana = f.staff(session)
    sale = f.sale(session, f.customer(session), f.product(session))
    visit = f.visit(session, sale, "v")
    plan = f.approved_plan(session, date(2026, 6, 2), [(ana, visit, Z(2026, 6, 2, 8), 60)])
    publish_plan(engine, plan.id)
    assert staff_feed(session, ana, now=NOW) == staff_feed(session, ana, now=NOW)


def test_customer_ics_shows_the_promised_window_in_the_business_zone(session: Session) -> None:
    cust = f.customer(session, locale="en")
    visit = f.visit(
        session,
        f.sale(session, cust, f.product(session, name_en="Combi oven 10")),
        "v",
        planned_start=Z(2026, 3, 29, 9),
        promised_window_start=Z(2026, 3, 29, 8),
        promised_window_end=Z(2026, 3, 29, 10),
    )
    body = customer_visit_ics(session, visit, "Europe/Madrid", "posventa.example.com")
    for parser, found in all_parsers(body).items():
        assert found == {
            f"posventa-visit-{visit.id}-customer@posventa.example.com": (
                Z(2026, 3, 29, 8),
                Z(2026, 3, 29, 10, 30),
            )
        }, parser
    text = body.decode().replace("\r\n ", "")
    assert "between 10:00 and 12:00 (Europe/Madrid)" in text
    assert "SUMMARY:Service visit: Installation – Combi oven 10" in text  # its English name
    assert "612345678" not in re.sub(r"\D", "", text)


def test_a_rendered_feed_is_reused_only_while_nothing_in_it_changed(session: Session) -> None:
    staff = f.staff(session)
    _entries(session, staff, MADRID[:2])
    first = staff_feed(session, staff, now=Z(2020, 1, 2))
    assert staff_feed(session, staff, now=Z(2020, 1, 2)) is first
    entry = session.exec(select(CalendarEntry).where(CalendarEntry.uid == "normal-cet@test")).one()
    entry.summary = "renamed"
    session.add(entry)
    session.commit()
    assert b"SUMMARY:renamed" in staff_feed(session, staff, now=Z(2020, 1, 2))
    staff.name = "Marta Gil Ruiz"
    session.add(staff)
    session.commit()
    assert b"Marta Gil Ruiz" in staff_feed(session, staff, now=Z(2020, 1, 2))


def test_customer_ics_sequence_grows_with_changes_and_shows_cancellation(
    engine, session: Session
) -> None:
    ana, luis = f.staff(session, name="Ana"), f.staff(session, name="Luis")
    visit = f.visit(session, f.sale(session, f.customer(session), f.product(session)), "v")
    day = date(2026, 6, 2)

    def customer_event() -> icalendar.Event:
        session.expire_all()
        fresh = session.get(Visit, visit.id)
        body = customer_visit_ics(session, fresh, "Europe/Madrid", "example.com")
        (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
        return event

    publish_plan(engine, f.approved_plan(session, day, [(ana, visit, Z(2026, 6, 2, 8), 60)]).id)
    first = customer_event()
    publish_plan(engine, f.approved_plan(session, day, [(luis, visit, Z(2026, 6, 2, 9), 60)]).id)
    moved = customer_event()
    assert str(moved["uid"]) == str(first["uid"])
    assert int(moved["sequence"]) > int(first["sequence"])
    assert moved.decoded("dtstart").astimezone(UTC) == Z(2026, 6, 2, 9)
    session.expire_all()
    row = session.get(Visit, visit.id)
    row.status = VisitStatus.CANCELLED.value
    session.add(row)
    session.commit()
    assert str(customer_event()["status"]) == "CANCELLED"
