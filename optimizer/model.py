"""The optimizer's input and output: frozen dataclasses, integer seconds and metres.

Times are integer seconds from the problem's origin (for a day plan: midnight of the plan day,
``Problem.origin``). Distances are integer metres. A place is either a ``Location`` (latitude,
longitude; travel comes from a ``optimizer.travel`` provider) or an ``int`` index into
``Problem.matrix``.

Conventions:
- a visit's time windows constrain its *start* of service (arrival earlier means waiting);
- a break (lunch) must lie entirely inside one of its windows; unavailability intervals are fixed
  breaks during which the staff member does no work (travel or service);
- ``max_working_seconds`` bounds the route's span (leaving the start until arriving at the end)
  minus the breaks taken.

Everything here is read-only; the ``Solution`` explains itself (``Solution.explain()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

StaffId = str | int
VisitId = str | int


@dataclass(frozen=True)
class Location:
    """A point on Earth in decimal degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (-90.0 <= self.lat <= 90.0) or not (-180.0 <= self.lon <= 180.0):
            raise ValueError(f"location out of range: lat={self.lat}, lon={self.lon}")


Place = Location | int
"""A ``Location`` or an index into ``Problem.matrix``."""


@dataclass(frozen=True)
class TimeWindow:
    """Closed interval [start, end] in seconds from the origin."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"time window ends before it starts: {self.start}..{self.end}")

    def contains(self, t: int) -> bool:
        return self.start <= t <= self.end


@dataclass(frozen=True)
class Break:
    """A break of ``duration`` seconds that must lie inside one of ``windows`` (e.g. lunch)."""

    duration: int
    windows: tuple[TimeWindow, ...]
    id: str = "lunch"

    def __post_init__(self) -> None:
        if self.duration < 0:
            raise ValueError("break duration must be >= 0")
        if not self.windows:
            raise ValueError("a break needs at least one window")
        for w in self.windows:
            if w.end - w.start < self.duration:
                raise ValueError(
                    f"break {self.id!r}: window {w.start}..{w.end} shorter than {self.duration}s"
                )


@dataclass(frozen=True)
class Unavailability:
    """A fixed interval [start, end) when the staff member is busy (own calendar, meeting...)."""

    start: int
    end: int
    reason: str = "busy"

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"unavailability must have positive length: {self.start}..{self.end}")


@dataclass(frozen=True)
class StaffMember:
    """A technician or trainer: one route per solve."""

    id: StaffId
    shift: TimeWindow
    start: Place
    end: Place | None = None  # None: same as start
    skills: frozenset[str] = frozenset()
    breaks: tuple[Break, ...] = ()
    unavailability: tuple[Unavailability, ...] = ()
    max_working_seconds: int | None = None
    cost_per_hour: float | None = None
    cost_per_km: float | None = None
    capacity: int | None = None  # for capacitated benchmark problems
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "skills", frozenset(self.skills))
        object.__setattr__(self, "breaks", tuple(self.breaks))
        object.__setattr__(self, "unavailability", tuple(self.unavailability))
        if self.max_working_seconds is not None and self.max_working_seconds < 0:
            raise ValueError(f"staff {self.id!r}: max_working_seconds must be >= 0")

    @property
    def end_place(self) -> Place:
        return self.start if self.end is None else self.end


@dataclass(frozen=True)
class Visit:
    """A job at a customer's place."""

    id: VisitId
    location: Place
    duration: int
    required_skills: frozenset[str] = frozenset()
    windows: tuple[TimeWindow, ...] = ()  # empty: any time within a shift
    priority: int = 50  # 0..100; a dropped visit costs more the higher it is
    pinned_staff: StaffId | None = None
    pinned_start: int | None = None
    preferred_staff: StaffId | None = None  # soft
    locked: bool = False  # re-plan: keeps previous_staff and previous_window (or previous_start)
    previous_staff: StaffId | None = None
    previous_start: int | None = None
    previous_window: TimeWindow | None = None  # the arrival window promised in the previous plan
    demand: int = 0  # for capacitated benchmark problems

    def __post_init__(self) -> None:
        object.__setattr__(self, "required_skills", frozenset(self.required_skills))
        object.__setattr__(self, "windows", tuple(sorted(self.windows, key=lambda w: w.start)))
        if self.duration < 0:
            raise ValueError(f"visit {self.id!r}: duration must be >= 0")
        if not 0 <= self.priority <= 100:
            raise ValueError(f"visit {self.id!r}: priority must be within 0..100")
        for a, b in zip(self.windows, self.windows[1:], strict=False):
            if b.start <= a.end:
                raise ValueError(f"visit {self.id!r}: time windows overlap")
        if self.locked and self.previous_staff is None:
            raise ValueError(f"visit {self.id!r}: a locked visit needs previous_staff")
        if self.locked and self.previous_start is None and self.previous_window is None:
            raise ValueError(
                f"visit {self.id!r}: a locked visit needs previous_start or previous_window"
            )


@dataclass(frozen=True)
class TravelMatrix:
    """Square matrices indexed by place index: seconds and metres."""

    durations: tuple[tuple[int, ...], ...]
    distances: tuple[tuple[int, ...], ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.durations)
        if any(len(row) != n for row in self.durations):
            raise ValueError("durations matrix must be square")
        if self.distances is not None and (
            len(self.distances) != n or any(len(row) != n for row in self.distances)
        ):
            raise ValueError("distances matrix must be the size of the durations matrix")

    @property
    def size(self) -> int:
        return len(self.durations)


@dataclass(frozen=True)
class Problem:
    """Staff, visits and (optionally) a travel matrix for integer places."""

    staff: tuple[StaffMember, ...]
    visits: tuple[Visit, ...]
    matrix: TravelMatrix | None = None
    origin: datetime | None = None  # the instant of second 0 (for adapters)
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "staff", tuple(self.staff))
        object.__setattr__(self, "visits", tuple(self.visits))
        staff_list = [s.id for s in self.staff]
        visit_list = [v.id for v in self.visits]
        for kind, ids in (("staff", staff_list), ("visit", visit_list)):
            if len(set(ids)) != len(ids):
                raise ValueError(f"duplicate {kind} ids")
        places = [v.location for v in self.visits]
        places += [s.start for s in self.staff] + [s.end_place for s in self.staff]
        if any(isinstance(p, int) for p in places):
            if self.matrix is None:
                raise ValueError("integer places need Problem.matrix")
            bad = [p for p in places if isinstance(p, int) and not 0 <= p < self.matrix.size]
            if bad:
                raise ValueError(f"place index out of the matrix: {bad[0]}")
        staff_ids = {s.id for s in self.staff}
        for v in self.visits:
            for ref in (v.pinned_staff, v.locked and v.previous_staff or None):
                if ref is not None and ref not in staff_ids:
                    raise ValueError(f"visit {v.id!r} refers to unknown staff {ref!r}")


@dataclass(frozen=True)
class SolveParams:
    """How to search. ``time_limit_seconds`` is wall-clock for the whole ``solve`` call."""

    time_limit_seconds: float = 5.0
    arrival_window_seconds: int = 7200  # promised arrival window around the planned start
    move_penalty: int = 3600  # cost of moving a non-locked visit off its previous staff member
    move_penalty_per_hour: int = 1800  # cost per hour the start moves outside the previous window
    preferred_staff_penalty: int = 1800  # cost of not using the preferred staff member
    drop_penalty: int = 100_000  # cost of leaving a priority-0 visit out (grows with priority)
    objective: Literal["travel_time", "distance"] = "travel_time"
    num_workers: int = 2  # independent parallel searches (processes); keep the best
    first_solution: str | None = None  # OR-Tools FirstSolutionStrategy name; None: automatic
    metaheuristic: str | None = None  # OR-Tools LocalSearchMetaheuristic name; None: automatic
    solution_limit: int | None = None  # 1: stop at the first feasible plan
    log_search: bool = False


# ---------------------------------------------------------------- result


@dataclass(frozen=True)
class Stop:
    """One visit on a route; ``travel_*`` is the leg that leads to it."""

    visit_id: VisitId
    arrival: int
    start: int
    end: int
    travel_seconds: int
    travel_metres: int
    wait_seconds: int
    promised_window: TimeWindow


@dataclass(frozen=True)
class PlacedBreak:
    id: str
    start: int
    end: int
    kind: Literal["break", "unavailable"] = "break"


@dataclass(frozen=True)
class Route:
    staff_id: StaffId
    stops: tuple[Stop, ...]
    breaks: tuple[PlacedBreak, ...]
    start_time: int  # leaves the start place
    end_time: int  # arrives at the end place
    return_travel_seconds: int
    return_travel_metres: int
    travel_seconds: int
    travel_metres: int
    service_seconds: int
    working_seconds: int  # span minus breaks
    utilisation: float  # working seconds / shift length

    @property
    def visit_ids(self) -> tuple[VisitId, ...]:
        return tuple(s.visit_id for s in self.stops)


ReasonCode = Literal[
    "no_staff",
    "missing_skill",
    "pinned_staff_lacks_skill",
    "outside_shifts",
    "travel_exceeds_window",
    "staff_unavailable",
    "over_capacity",
    "fully_booked",
    "locked_conflict",
]


ReasonParam = str | int | tuple[str, ...]
"""A fact a reason sentence uses: a name, a number of minutes, a list of labels or skills."""


@dataclass(frozen=True)
class Unassigned:
    """A visit left out, why (``reason_code``), the English sentence and the facts it uses.

    ``params`` lets an interface say the same thing in another language (``web.reasons``): the
    staff labels, skills, windows ("HH:MM-HH:MM"; empty: any time) and minutes of ``reason``, plus
    a ``variant`` where one code has several sentences. Values are strings, integers or tuples of
    strings (never mutated; left out of the hash).
    """

    visit_id: VisitId
    reason_code: ReasonCode
    reason: str
    params: Mapping[str, ReasonParam] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class MovedVisit:
    visit_id: VisitId
    previous_staff: StaffId | None
    new_staff: StaffId | None
    previous_start: int | None
    new_start: int | None


@dataclass(frozen=True)
class Totals:
    travel_seconds: int
    travel_metres: int
    service_seconds: int
    working_seconds: int
    utilisation: float  # working seconds / sum of shift lengths of staff used
    visits_assigned: int
    visits_unassigned: int
    priority_served: int
    priority_total: int


@dataclass(frozen=True)
class Solution:
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    moved: tuple[MovedVisit, ...]
    totals: Totals
    rules_checked: tuple[str, ...]
    objective: int
    status: str  # "optimized" (local search ran) | "first_solution" | "empty"
    solve_seconds: float
    params: SolveParams = field(default_factory=SolveParams)

    def route_of(self, staff_id: StaffId) -> Route | None:
        return next((r for r in self.routes if r.staff_id == staff_id), None)

    def stop_of(self, visit_id: VisitId) -> tuple[StaffId, Stop] | None:
        for r in self.routes:
            for s in r.stops:
                if s.visit_id == visit_id:
                    return r.staff_id, s
        return None

    def explain(self) -> str:
        """A plain-words summary: routes, totals, every unassigned visit with its reason."""
        t = self.totals
        lines = [
            f"{t.visits_assigned} visits planned, {t.visits_unassigned} left out; "
            f"travel {t.travel_seconds // 60} min, {t.travel_metres / 1000:.1f} km; "
            f"utilisation {t.utilisation:.0%}; "
            f"priority served {t.priority_served}/{t.priority_total}.",
        ]
        for r in self.routes:
            if r.stops:
                lines.append(
                    f"{r.staff_id}: {len(r.stops)} visits, "
                    f"{_hhmm(r.start_time)}-{_hhmm(r.end_time)}, "
                    f"travel {r.travel_seconds // 60} min"
                )
        for u in self.unassigned:
            lines.append(f"not planned {u.visit_id}: {u.reason}")
        for m in self.moved:
            lines.append(
                f"moved {m.visit_id}: {m.previous_staff}@{_hhmm(m.previous_start)} -> "
                f"{m.new_staff}@{_hhmm(m.new_start)}"
            )
        lines.append("rules checked: " + ", ".join(self.rules_checked))
        return "\n".join(lines)


def _hhmm(t: int | None) -> str:
    if t is None:
        return "-"
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}"
