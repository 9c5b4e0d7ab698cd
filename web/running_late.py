"""Routes running late on the day: from the technicians' check-ins, how far behind the plan
each route is, and which customers still to visit will likely see the technician after the
window they were promised (so the office can warn them).

A route's delay is read from its latest check-in: the arrival against that stop's planned
start (never negative: an early arrival waits for its window). The visits after it, not yet
checked in nor reported, are expected that much later; one whose promised window ends before
its expected start is at risk."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

LATE_FROM = timedelta(minutes=15)  # a smaller delay is within what travel times vary by


@dataclass(frozen=True)
class StopTimes:
    """One planned visit of a route, as the plan placed it and as the day went."""

    visit_id: int
    staff_id: int
    sequence: int
    planned_start: datetime
    window_end: datetime | None = None
    arrived_at: datetime | None = None
    reported: bool = False


@dataclass
class Lateness:
    delay_minutes: dict[int, int] = field(default_factory=dict)  # staff id -> minutes behind
    at_risk: dict[int, int] = field(default_factory=dict)  # visit id -> minutes past its window


def running_late(stops: list[StopTimes]) -> Lateness:
    """Routes at least ``LATE_FROM`` behind, and the visits at risk on them."""
    found = Lateness()
    routes: dict[int, list[StopTimes]] = defaultdict(list)
    for stop in stops:
        routes[stop.staff_id].append(stop)
    for staff_id, route in routes.items():
        route.sort(key=lambda s: s.sequence)
        checked_in = [i for i, s in enumerate(route) if s.arrived_at is not None]
        if not checked_in:
            continue
        last = route[checked_in[-1]]
        assert last.arrived_at is not None
        delay = max(timedelta(0), last.arrived_at - last.planned_start)
        if delay < LATE_FROM:
            continue
        found.delay_minutes[staff_id] = int(delay.total_seconds() // 60)
        for stop in route[checked_in[-1] + 1 :]:
            if stop.arrived_at is not None or stop.reported or stop.window_end is None:
                continue
            past = stop.planned_start + delay - stop.window_end
            if past > timedelta(0):
                found.at_risk[stop.visit_id] = int(past.total_seconds() // 60)
    return found
