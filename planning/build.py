"""From the day's candidates (database rows) to the optimizer's :class:`~optimizer.model.Problem`.

Every time becomes whole seconds from the day's origin (:class:`planning.clock.DayClock`):
customer windows in the business time zone, shifts and lunch in each staff member's own zone,
busy intervals (CalDAV) and promised windows from their UTC instants.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from domain.models import Staff, VisitStatus
from optimizer.model import (
    Break,
    Location,
    Place,
    Problem,
    StaffMember,
    TimeWindow,
    Unavailability,
)
from optimizer.model import Visit as OptVisit
from optimizer.travel import CachedProvider, OsrmProvider, TravelProvider, default_provider
from planning.candidates import (
    CLOSED_STATUSES,
    HISTORY_STATUSES,
    SCHEDULED_STATUSES,
    AvailableStaff,
    BaseStop,
    CandidateVisit,
    DayCandidates,
    Excluded,
)
from planning.clock import DayClock, local_to_utc, zone
from planning.lateness import StopTimes, route_news

MAX_PRIORITY = 100
STABILITY_PRIORITY_BONUS = 1
#: Re-planning the day itself: what starts before now plus this stays with its staff member
#: (who is there or on the way); nothing new is placed before it.
TODAY_LEAD_SECONDS = 30 * 60


def effective_priority(priority: int, due_date: date | None, plan_date: date) -> int:
    """The visit's priority raised as its due date approaches (and more once it has passed)."""
    base = max(0, min(MAX_PRIORITY, priority))
    if due_date is None:
        return base
    days_left = (due_date - plan_date).days
    if days_left < 0:
        boost = 40 + min(20, 2 * -days_left)
    elif days_left == 0:
        boost = 30
    elif days_left == 1:
        boost = 20
    elif days_left <= 3:
        boost = 10
    elif days_left <= 7:
        boost = 5
    else:
        boost = 0
    return min(MAX_PRIORITY, base + boost)


def merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted union of closed intervals (touching ones are joined)."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if hi < lo:
            continue
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


@dataclass(frozen=True)
class Prior:
    """Where a visit stood before this plan: its staff, start and promised window (UTC)."""

    staff_id: int
    start: datetime
    window_start: datetime | None
    window_end: datetime | None


@dataclass
class BuiltProblem:
    """The optimizer's problem plus what the adapter needs to store the answer."""

    problem: Problem
    clock: DayClock
    candidates: DayCandidates
    excluded: list[Excluded]
    priors: dict[int, Prior] = field(default_factory=dict)
    locked_ids: set[int] = field(default_factory=set)
    # kept where the base plan has them because done or failed (the day's history)
    history_ids: set[int] = field(default_factory=set)
    kept_before: datetime | None = None  # today: what starts before it stays as it is
    # kept, later or longer than planned: visit id -> its staff member
    slipped: dict[int, int] = field(default_factory=dict)
    route_delays: dict[int, int] = field(default_factory=dict)  # staff id -> minutes followed
    delays_ignored: frozenset[int] = frozenset()  # staff whose delay did not fit their day
    released_locks: dict[int, str] = field(default_factory=dict)
    effective_priorities: dict[int, int] = field(default_factory=dict)


def clock_for(plan_date: date, tz_name: str, staff: list[AvailableStaff]) -> DayClock:
    """The day's clock: origin at business midnight, or earlier if someone starts before it."""
    starts = [local_to_utc(plan_date, s.staff.work_start, zone(s.staff.timezone)) for s in staff]
    return DayClock.for_day(plan_date, tz_name, min(starts) if starts else None)


def staff_member(member: AvailableStaff, clock: DayClock) -> StaffMember | None:
    """The optimizer's view of a staff member, or None when their shift has no length."""
    s: Staff = member.staff
    tz = zone(s.timezone)
    lo, hi = clock.local_interval(s.work_start, s.work_end, tz)
    lo = max(lo, 0)
    if hi <= lo:
        return None
    breaks: tuple[Break, ...] = ()
    if s.lunch_earliest is not None and s.lunch_latest is not None and s.lunch_minutes > 0:
        duration = s.lunch_minutes * 60
        b_lo = max(lo, clock.local_seconds(s.lunch_earliest, tz))
        b_hi = min(hi, clock.local_seconds(s.lunch_latest, tz) + duration)
        if b_hi - b_lo >= duration:
            breaks = (Break(duration=duration, windows=(TimeWindow(b_lo, b_hi),), id="lunch"),)
    busy = merge_intervals(
        [
            (max(lo, clock.seconds(b.starts_at)), min(hi, clock.seconds(b.ends_at)))
            for b in member.busy
        ]
    )
    unavailability = tuple(Unavailability(a, b, "busy") for a, b in busy if b > a)
    home = Location(s.home_latitude, s.home_longitude)
    return StaffMember(
        id=member.id,
        shift=TimeWindow(lo, hi),
        start=home,
        end=home,
        skills=frozenset(k.lower() for k in s.skills or []),
        breaks=breaks,
        unavailability=unavailability,
        max_working_seconds=s.max_work_minutes * 60 if s.max_work_minutes else None,
        cost_per_hour=s.cost_per_hour,
        cost_per_km=s.cost_per_km,
        name=s.name,
    )


def _prior(c: CandidateVisit, clock: DayClock) -> Prior | None:
    if c.base is not None:
        b: BaseStop = c.base
        return Prior(b.staff_id, b.start, b.window_start, b.window_end)
    v = c.visit
    if (
        v.status in SCHEDULED_STATUSES
        and v.assigned_staff_id is not None
        and v.planned_start is not None
        and 0 <= clock.seconds(v.planned_start) < clock.horizon
    ):
        return Prior(
            v.assigned_staff_id, v.planned_start, v.promised_window_start, v.promised_window_end
        )
    return None


@dataclass(frozen=True)
class Slip:
    """How a base-plan visit slips as the day went: ``start`` seconds later than planned, and
    running ``end`` seconds past its planned end."""

    start: int = 0
    end: int = 0


def _whole_minutes(delay: timedelta) -> int:
    """``delay`` in seconds, rounded up to whole minutes."""
    return -(-int(delay.total_seconds()) // 60) * 60


def day_slips(
    candidates: DayCandidates, clock: DayClock, now: datetime | None = None
) -> dict[int, Slip]:
    """Visit id -> how it slips, from each base-plan route's latest news on the day (see
    :func:`planning.lateness.route_news`): the visit checked in at runs as long past its planned
    end as the route is behind; the one reported done or failed, as late as it finished; the
    one the technician is on the way to, and those after the news, start as late as the delay
    carried to them. A time outside the day (another day's check-in) is no news."""

    def on_the_day(moment: datetime | None) -> datetime | None:
        return moment if moment is not None and clock.origin <= moment < clock.day_end else None

    routes: dict[int, list[StopTimes]] = defaultdict(list)
    for c in candidates.visits:
        b, v = c.base, c.visit
        if b is None:
            continue
        routes[b.staff_id].append(StopTimes(
            c.id, b.staff_id, b.sequence, b.start, b.window_end, on_the_day(v.arrived_at),
            reported=v.status in HISTORY_STATUSES, planned_arrival=b.arrival, planned_end=b.end,
            finished_at=on_the_day(v.finished_at), expected_at=on_the_day(v.expected_at),
            duration=timedelta(minutes=v.duration_minutes),
        ))  # fmt: skip
    slips: dict[int, Slip] = {}
    for route in routes.values():
        news = route_news(route, now)
        if news is None:
            continue
        stop = news.news
        if stop.reported:
            slips[stop.visit_id] = Slip(end=_whole_minutes(stop.delay()))
        elif stop.arrived_at is not None:
            slips[stop.visit_id] = Slip(end=_whole_minutes(news.behind))
        else:
            slips[stop.visit_id] = Slip(start=_whole_minutes(news.behind))
        for ahead, delay in news.ahead:
            slips[ahead.visit_id] = Slip(start=_whole_minutes(delay))
    return slips


def _window(clock: DayClock, lo: datetime | None, hi: datetime | None) -> TimeWindow | None:
    if lo is None or hi is None:
        return None
    a, b = clock.seconds(lo), clock.seconds(hi)
    return TimeWindow(max(a, 0), max(b, 0)) if b >= a else None


def build_problem(
    candidates: DayCandidates,
    tz_name: str,
    staff_names: dict[int, str] | None = None,
    now: datetime | None = None,
    delays_ignored: frozenset[int] = frozenset(),
) -> BuiltProblem:
    """The day's optimizer problem; visits that cannot go in at all are listed as excluded.

    The base plan's visits done or failed keep their place (the day's history), and so do
    those a technician checked in at. With ``now`` on the day itself, so do those starting
    before ``now`` plus ``TODAY_LEAD_SECONDS``, and no other visit starts before it (a window
    that has passed leaves its visit out); a dispatcher's pin elsewhere wins over keeping.
    What is kept keeps its staff member and planned start, later where its route runs late
    (:func:`day_slips`), and lasts longer where the technician stays or stayed longer (as
    planned on the routes of the staff ids in ``delays_ignored``)."""
    clock = clock_for(candidates.plan_date, tz_name, candidates.staff)
    not_before = None
    if now is not None and 0 < clock.seconds(now) + TODAY_LEAD_SECONDS < clock.horizon:
        not_before = clock.seconds(now) + TODAY_LEAD_SECONDS
    members = [m for m in (staff_member(s, clock) for s in candidates.staff) if m is not None]
    staff_ids = {m.id for m in members}
    names = staff_names or {}
    # only the day itself has news (a report made days later says nothing of the route)
    slips = day_slips(candidates, clock, now) if not_before is not None else {}
    shift_end = {m.id: m.shift.end for m in members}
    built = BuiltProblem(
        problem=Problem(staff=(), visits=()),
        clock=clock,
        candidates=candidates,
        excluded=list(candidates.excluded),
        kept_before=clock.datetime(not_before) if not_before is not None else None,
        delays_ignored=delays_ignored,
    )
    visits: list[OptVisit] = []
    for c in candidates.visits:
        v = c.visit
        prior = _prior(c, clock)
        pinned_staff = v.pinned_staff_id
        if pinned_staff is not None and pinned_staff not in staff_ids:
            who = names.get(pinned_staff, f"staff member {pinned_staff}")
            why = candidates.staff_off.get(pinned_staff)
            gone = pinned_staff in candidates.inactive_staff
            if gone:
                state, variant = "no longer works here", "pinned_inactive"
            elif why:
                state, variant = f"is off that day ({why})", "pinned_off"
            else:
                state, variant = "does not work that day", "pinned_not_working"
            built.excluded.append(
                Excluded(
                    c.id,
                    "staff_unavailable",
                    f"it is pinned to {who}, who {state}",
                    {
                        "variant": variant,
                        "staff": names.get(pinned_staff, ""),
                        "staff_id": pinned_staff,
                        "absence": why or "",
                    },
                )
            )
            continue
        pinned_start = None
        if v.pinned_start is not None:
            pinned_start = clock.seconds(v.pinned_start)
            if not 0 <= pinned_start < clock.horizon:
                pinned_start = None
        windows = [
            TimeWindow(lo, hi)
            for lo, hi in merge_intervals(
                [clock.local_interval(w.start_time, w.end_time) for w in c.windows]
            )
            if hi >= 0
        ]
        windows = [TimeWindow(max(w.start, 0), w.end) for w in windows]
        locked = False
        previous_staff = None
        previous_start = None
        previous_window = None
        if prior is not None:
            built.priors[c.id] = prior
            previous_start = clock.seconds(prior.start)
            previous_window = _window(clock, prior.window_start, prior.window_end)
            if prior.staff_id in staff_ids:
                previous_staff = prior.staff_id
            if v.status == VisitStatus.CONFIRMED.value:
                if previous_staff is not None:
                    locked = True
                    built.locked_ids.add(c.id)
                else:
                    # The customer was promised a time; keep it, with whoever can come.
                    who = names.get(prior.staff_id, f"staff member {prior.staff_id}")
                    if prior.staff_id in candidates.inactive_staff:
                        built.released_locks[c.id] = f"{who} no longer works here"
                    else:
                        why = candidates.staff_off.get(prior.staff_id, "not available")
                        built.released_locks[c.id] = f"{who} is off ({why})"
                    if previous_window is not None:
                        windows = [previous_window]
                    else:
                        windows = [TimeWindow(previous_start, previous_start)]
        closed = v.status in CLOSED_STATUSES
        # the dispatcher pinned it elsewhere than the base plan has it: the pin wins
        repinned = (pinned_staff is not None and pinned_staff != previous_staff) or (
            pinned_start is not None and pinned_start != previous_start
        )
        # the technician checked in (maybe early): it is under way whenever it was planned
        on_site = v.arrived_at is not None and v.status in SCHEDULED_STATUSES
        under_way = on_site or (
            not_before is not None and previous_start is not None and previous_start < not_before
        )
        frozen = (
            previous_staff is not None
            and previous_start is not None
            and (closed or (under_way and not repinned))
        )
        if closed and not frozen:
            continue  # done by someone not working now: history, not a visit to plan
        duration = v.duration_minutes * 60
        if frozen:
            assert previous_start is not None
            if c.base is not None and c.base.end is not None:
                # as long as the base plan kept for it (longer, when that plan followed a delay)
                duration = max(duration, int((c.base.end - c.base.start).total_seconds()))
            pinned_staff, pinned_start, locked = previous_staff, previous_start, False
            slip = slips.get(c.id) if previous_staff not in delays_ignored else None
            if slip is not None:  # later, longer: never past the shift (that would drop it)
                room = max(0, shift_end[previous_staff] - previous_start - duration)
                later = min(slip.start, room)
                longer = min(slip.end, room - later)
                pinned_start, duration = pinned_start + later, duration + longer
                if later or longer:
                    built.slipped[c.id] = previous_staff
                    minutes = max(later, longer) // 60
                    delays = built.route_delays
                    delays[previous_staff] = max(delays.get(previous_staff, 0), minutes)
            built.locked_ids.discard(c.id)
            if closed:
                built.history_ids.add(c.id)
        elif not_before is not None:
            if locked and previous_window is not None:
                previous_window = TimeWindow(
                    max(previous_window.start, not_before), max(previous_window.end, not_before)
                )
            later = [TimeWindow(max(w.start, not_before), w.end) for w in windows
                     if w.end >= not_before]  # fmt: skip
            passed = None
            if pinned_start is not None and pinned_start < not_before:
                passed = "pinned"
            elif windows and not later:
                passed = "window"
            if passed is not None:
                lead = TODAY_LEAD_SECONDS // 60
                why = (
                    f"its pinned time today is past or less than {lead} min from now"
                    if passed == "pinned"
                    else f"its time window today is over or ends less than {lead} min from now"
                )
                built.excluded.append(Excluded(
                    c.id, "window_passed", why, {"variant": passed, "minutes": lead}
                ))  # fmt: skip
                continue
            windows = later or [TimeWindow(not_before, clock.horizon)]
        priority = effective_priority(v.priority, v.due_date, candidates.plan_date)
        if frozen:
            priority = MAX_PRIORITY  # what already happened is not traded for anything
        elif previous_staff is not None and priority < MAX_PRIORITY:
            # Stability: keeping a visit its staff member can still do beats taking a new one
            # of the same priority (its customer may already have been told).
            priority += STABILITY_PRIORITY_BONUS
        built.effective_priorities[c.id] = priority
        preferred = c.preferred_staff_id if c.preferred_staff_id in staff_ids else None
        visits.append(
            OptVisit(
                id=c.id,
                location=Location(c.latitude, c.longitude),
                duration=duration,
                required_skills=frozenset(k.lower() for k in v.required_skills or []),
                windows=tuple(windows),
                priority=priority,
                pinned_staff=pinned_staff,
                pinned_start=pinned_start,
                preferred_staff=preferred,
                locked=locked,
                previous_staff=previous_staff,
                previous_start=previous_start,
                previous_window=previous_window,
            )
        )
    built.problem = Problem(
        staff=tuple(members),
        visits=tuple(visits),
        origin=clock.origin,
        name=f"plan {candidates.plan_date.isoformat()}",
    )
    return built


def with_matrix(problem: Problem, provider: TravelProvider) -> Problem:
    """The same problem with every place an index into one matrix from ``provider``.

    One provider call per plan (OSRM answers a whole table at once); identical places share an
    index, so a technician's home shared with a customer costs nothing extra.
    """
    index: dict[Location, int] = {}

    def place(p: Place) -> int:
        if isinstance(p, int):
            raise ValueError("the problem already uses matrix indices")
        return index.setdefault(p, len(index))

    visits = tuple(replace(v, location=place(v.location)) for v in problem.visits)
    staff = tuple(replace(s, start=place(s.start), end=place(s.end_place)) for s in problem.staff)
    if not index:
        return problem  # nothing to travel between
    matrix = provider.matrix(list(index))
    return replace(problem, staff=staff, visits=visits, matrix=matrix)


_providers: dict[str, TravelProvider] = {}


def travel_provider(osrm_url: str) -> TravelProvider:
    """The process's cached provider: OSRM when a URL is configured, else haversine."""
    if not osrm_url:
        return default_provider()
    if osrm_url not in _providers:
        _providers[osrm_url] = CachedProvider(OsrmProvider(osrm_url))
    return _providers[osrm_url]
