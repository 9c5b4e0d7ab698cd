"""Routes running late: the delay read from the latest check-in or report, carried along the
route less the waiting the plan left, and the visits at risk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from planning.lateness import Lateness, StopTimes, running_late

T9 = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)


def stop(visit: int, staff: int, seq: int, start_h: float, window_end_h: float | None,
         arrived_min: int | None = None, reported: bool = False, wait_min: int = 0,
         minutes: int = 45, finished_min: int | None = None) -> StopTimes:  # fmt: skip
    """A stop planned ``start_h`` hours after 09:00 for ``minutes``, the technician planned to
    arrive ``wait_min`` minutes before it starts; checked in ``arrived_min`` minutes after its
    planned start, reported ``finished_min`` minutes after its planned end."""
    start = T9 + timedelta(hours=start_h)
    end = start + timedelta(minutes=minutes)
    return StopTimes(
        visit, staff, seq, start,
        T9 + timedelta(hours=window_end_h) if window_end_h is not None else None,
        start + timedelta(minutes=arrived_min) if arrived_min is not None else None,
        reported or finished_min is not None,
        planned_arrival=start - timedelta(minutes=wait_min), planned_end=end,
        finished_at=end + timedelta(minutes=finished_min) if finished_min is not None else None,
    )  # fmt: skip


def test_a_route_behind_puts_the_tight_windows_after_it_at_risk() -> None:
    """Ana arrived 50 min late at her second stop: her third (window until 12:30, planned
    12:00) is expected at 12:50, at risk by 20 min; her fourth has room (window until 15:00)."""
    found = running_late([
        stop(1, 7, 1, 0, 1, arrived_min=5, reported=True),
        stop(2, 7, 2, 1.5, 2.5, arrived_min=50),
        stop(3, 7, 3, 3, 3.5),
        stop(4, 7, 4, 4, 6),
    ])  # fmt: skip
    assert (found.delay_minutes, found.at_risk) == ({7: 50}, {3: 20})


def test_the_latest_check_in_says_how_far_behind_a_route_is() -> None:
    """Bea was late at her first stop but on time at her second: not behind any more. An early
    arrival is no delay; a small one is within what travel varies by; no check-in, no news."""
    caught_up = [stop(1, 8, 1, 0, 1, arrived_min=40), stop(2, 8, 2, 2, 2.2, arrived_min=0),
                 stop(3, 8, 3, 3, 3.1)]  # fmt: skip
    early = [stop(4, 9, 1, 0, 1, arrived_min=-20), stop(5, 9, 2, 1, 1.1)]
    small = [stop(6, 10, 1, 0, 1, arrived_min=14), stop(7, 10, 2, 1, 1.1)]
    none = [stop(8, 11, 1, 0, 0.1), stop(9, 11, 2, 1, 1.1)]
    found = running_late(caught_up + early + small + none)
    assert (found.delay_minutes, found.at_risk) == ({}, {})


def test_visits_already_reached_reported_or_without_a_window_are_not_at_risk() -> None:
    found = running_late([
        stop(1, 7, 1, 0, 1, arrived_min=60),
        stop(2, 7, 2, 1, 1.5, reported=True),  # reported (e.g. absent, by phone)
        stop(3, 7, 3, 2, None),  # nothing promised
        stop(4, 7, 4, 3, 3.5),  # planned 12:00, expected 13:00, promised until 12:30
    ])  # fmt: skip
    assert found.at_risk == {4: 30}


def test_the_waiting_the_plan_left_absorbs_the_delay() -> None:
    """Ana is 50 min late at her first stop. Her second stop's plan has her wait 30 min for the
    window to open: 20 min late there, within its window (until 11:00, planned 10:30); her
    third has no waiting and a window until 11:45 (planned 11:30): 5 min past, not 50."""
    found = running_late([
        stop(1, 7, 1, 0, 1, arrived_min=50),
        stop(2, 7, 2, 1.5, 2, wait_min=30),
        stop(3, 7, 3, 2.5, 2.75),
    ])  # fmt: skip
    assert (found.delay_minutes, found.at_risk) == ({7: 50}, {3: 5})


def test_a_visit_reported_late_says_the_route_is_behind_even_after_an_on_time_arrival() -> None:
    """Bea arrived on time but reported the visit done 40 min after its planned end: the next
    customer (planned 11:00, promised until 11:15) is at risk by 25 min. A report on time after
    a late arrival says she caught up."""
    behind = [stop(1, 8, 1, 0, 1, arrived_min=0, finished_min=40), stop(2, 8, 2, 2, 2.25)]
    caught_up = [stop(3, 9, 1, 0, 1, arrived_min=60, finished_min=0), stop(4, 9, 2, 2, 2.1)]
    found = running_late(behind + caught_up)
    assert (found.delay_minutes, found.at_risk) == ({8: 40}, {2: 25})


def test_on_the_day_the_clock_is_news_on_a_route_that_checks_in() -> None:
    """At 10:30 Ana is still at her 09:00 visit (planned until 09:45): 45 min behind, and her
    10:00 customer (promised until 10:30) is at risk by 15. At 10:25 Bea, who reported her
    first visit on time, is not at her 10:00 customer's yet (promised until 10:15): 25 min
    behind, 10 past. Carlos never checks in: the clock alone says nothing of him. Without the
    clock (another day) none of them is news."""
    still_there = [stop(1, 7, 1, 0, 1, arrived_min=0), stop(2, 7, 2, 1, 1.5)]
    not_there = [stop(3, 8, 1, 0, 1, arrived_min=0, finished_min=0), stop(4, 8, 2, 1, 1.25)]
    silent = [stop(5, 9, 1, 0, 1), stop(6, 9, 2, 1, 1.1)]
    ana = running_late(still_there + silent, now=T9 + timedelta(minutes=90))
    assert (ana.delay_minutes, ana.at_risk) == ({7: 45}, {2: 15})
    bea = running_late(not_there + silent, now=T9 + timedelta(minutes=85))
    assert (bea.delay_minutes, bea.at_risk) == ({8: 25}, {4: 10})
    quiet = running_late(still_there + not_there + silent)
    assert (quiet.delay_minutes, quiet.at_risk) == ({}, {})


def test_on_my_way_says_how_late_the_technician_will_be() -> None:
    """Ana reported her first visit on time, then told her 10:30 customer (promised until
    10:45) she arrives at 11:10: 40 min behind, and her 12:00 customer (promised until 12:15,
    no waiting planned) is at risk by 25. Once checked in, the arrival is the news. At 11:30
    with the announcement and no check-in, the clock says 60."""
    first = stop(1, 7, 1, 0, 1, arrived_min=0, finished_min=0)
    announced = StopTimes(2, 7, 2, T9 + timedelta(minutes=90), T9 + timedelta(minutes=105),
                          expected_at=T9 + timedelta(minutes=130))  # fmt: skip
    third = stop(3, 7, 3, 3, 3.25)
    found = running_late([first, announced, third])
    assert (found.delay_minutes, found.at_risk) == ({7: 40}, {3: 25})
    arrived = StopTimes(2, 7, 2, T9 + timedelta(minutes=90), T9 + timedelta(minutes=105),
                        arrived_at=T9 + timedelta(minutes=100),
                        expected_at=T9 + timedelta(minutes=130))  # fmt: skip
    assert running_late([first, arrived, third]).delay_minutes == {}
    later = running_late([first, announced, third], now=T9 + timedelta(minutes=150))
    assert later.delay_minutes == {7: 60}


def test_an_arrival_is_late_against_the_end_a_late_plan_already_kept() -> None:
    """A re-plan followed Ana's 20 min delay: her 60 min visit now ends 20 min later, and the
    next starts later too. Her arrival 20 min late is what that plan expects: nobody is late."""
    first = StopTimes(
        1,
        7,
        1,
        T9,
        T9 + timedelta(hours=2),
        T9 + timedelta(minutes=20),
        planned_end=T9 + timedelta(minutes=80),
        duration=timedelta(minutes=60),
    )
    second = StopTimes(
        2,
        7,
        2,
        T9 + timedelta(minutes=100),
        T9 + timedelta(minutes=110),
        planned_arrival=T9 + timedelta(minutes=100),
    )
    assert running_late([first, second], now=T9 + timedelta(minutes=70)) == Lateness()
    assert first.delay() == timedelta(0)
    earlier = StopTimes(
        1,
        7,
        1,
        T9,
        T9 + timedelta(hours=2),
        T9 + timedelta(minutes=20),
        planned_end=T9 + timedelta(minutes=60),
        duration=timedelta(minutes=60),
    )
    assert earlier.delay() == timedelta(minutes=20)  # the plan that did not follow it
