"""Routes running late on the day: from the technicians' check-ins, reports and "on my way", how
far behind the plan each route is, and which customers still to visit will likely see the
technician after the window they were promised (so the office can warn them).

A route's delay is read from its latest news: a visit reported done or failed against its
planned end, or else a check-in against its planned start, less any time a plan that followed
a delay already kept for it (never negative: an early arrival waits for its window), or else
the arrival the technician announced ("on my way"); on the day
itself, the clock too (still on site past the planned end, not yet at the customer's past the
planned start). The delay carries to the visits after it, not yet checked in nor reported, less
the waiting the plan left before each of them (a technician planned to wait for a window to
open catches up there); one whose promised window ends before its expected start is at risk."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

LATE_FROM = timedelta(minutes=15)  # a smaller delay is within what travel times vary by


@dataclass(frozen=True)
class StopTimes:
    """One planned visit of a route, as the plan placed it and as the day went.

    ``planned_arrival`` is when the plan has the technician arrive (before ``planned_start``
    when waiting for the customer's window); ``None`` means no waiting."""

    visit_id: int
    staff_id: int
    sequence: int
    planned_start: datetime
    window_end: datetime | None = None
    arrived_at: datetime | None = None
    reported: bool = False
    planned_arrival: datetime | None = None
    planned_end: datetime | None = None
    finished_at: datetime | None = None
    expected_at: datetime | None = None  # the arrival the technician announced
    # how long the visit takes; a plan made while the route ran late may have kept more time
    # for it (planned end minus start), and an arrival is late against that end
    duration: timedelta | None = None

    @property
    def planned_wait(self) -> timedelta:
        """The waiting the plan left before this visit starts."""
        if self.planned_arrival is None:
            return timedelta(0)
        return max(timedelta(0), self.planned_start - self.planned_arrival)

    @property
    def kept_beyond_duration(self) -> timedelta:
        """The time a plan made while the route ran late kept for the visit beyond its
        duration (its planned end already holds that much delay)."""
        if self.duration is None or self.planned_end is None:
            return timedelta(0)
        return max(timedelta(0), self.planned_end - self.planned_start - self.duration)

    @property
    def has_news(self) -> bool:
        return (
            self.arrived_at is not None
            or self.expected_at is not None
            or (self.reported and self.finished_at is not None)
        )

    def delay(self) -> timedelta:
        """How far behind the plan the technician is, from this stop's news."""
        if self.reported and self.finished_at is not None and self.planned_end is not None:
            behind = self.finished_at - self.planned_end
        elif self.arrived_at is not None:
            behind = self.arrived_at - self.planned_start - self.kept_beyond_duration
        elif self.expected_at is not None:  # on the way: as late as announced
            behind = self.expected_at - self.planned_start
        else:
            behind = timedelta(0)
        return max(timedelta(0), behind)


@dataclass
class Lateness:
    delay_minutes: dict[int, int] = field(default_factory=dict)  # staff id -> minutes behind
    at_risk: dict[int, int] = field(default_factory=dict)  # visit id -> minutes past its window


@dataclass(frozen=True)
class RouteNews:
    """Where one route stands: its latest news, how far behind that makes it (``behind``, not
    negative), and the delay expected at each visit after it (``ahead``, in order)."""

    news: StopTimes
    behind: timedelta
    ahead: tuple[tuple[StopTimes, timedelta], ...]


def route_news(route: list[StopTimes], now: datetime | None = None) -> RouteNews | None:
    """The route's standing from its latest news (None: no news yet); ``route`` is one staff
    member's stops, in any order.

    With ``now`` (the day is today), time passing is news too on a route whose technician
    checks in: still on site after the visit's planned end, or not yet at the next customer's
    after its planned start, is at least that late."""
    route = sorted(route, key=lambda s: s.sequence)
    with_news = [i for i, s in enumerate(route) if s.has_news]
    if not with_news:
        return None
    last, after = route[with_news[-1]], route[with_news[-1] + 1 :]
    delay = last.delay()
    if now is not None and not last.reported:
        if last.arrived_at is not None and last.planned_end is not None:
            delay = max(delay, now - last.planned_end)  # still there
        elif last.arrived_at is None:
            delay = max(delay, now - last.planned_start)  # on the way, not there yet
    behind = delay
    ahead: list[tuple[StopTimes, timedelta]] = []
    for position, stop in enumerate(after):
        delay = max(timedelta(0), delay - stop.planned_wait)
        if now is not None and position == 0 and last.reported and not stop.reported:
            delay = max(delay, now - stop.planned_start)  # not there yet
            behind = max(behind, delay)
        ahead.append((stop, delay))
    return RouteNews(last, behind, tuple(ahead))


def running_late(stops: list[StopTimes], now: datetime | None = None) -> Lateness:
    """Routes at least ``LATE_FROM`` behind, and the visits at risk on them (``now``: see
    :func:`route_news`)."""
    found = Lateness()
    routes: dict[int, list[StopTimes]] = defaultdict(list)
    for stop in stops:
        routes[stop.staff_id].append(stop)
    for staff_id, route in routes.items():
        news = route_news(route, now)
        if news is None or news.behind < LATE_FROM:
            continue
        found.delay_minutes[staff_id] = int(news.behind.total_seconds() // 60)
        for stop, delay in news.ahead:
            if stop.arrived_at is not None or stop.reported or stop.window_end is None:
                continue
            past = stop.planned_start + delay - stop.window_end
            if past > timedelta(0):
                found.at_risk[stop.visit_id] = int(past.total_seconds() // 60)
    return found
