"""Tiny problems whose answers are obvious: places on a line, 10 minutes per step."""

from __future__ import annotations

from optimizer.model import Problem, SolveParams, StaffMember, TimeWindow, TravelMatrix, Visit

H = 3600
STEP = 600  # seconds between neighbouring places on the line
N_PLACES = 8


def line_matrix(n: int = N_PLACES) -> TravelMatrix:
    return TravelMatrix(
        durations=tuple(tuple(STEP * abs(i - j) for j in range(n)) for i in range(n)),
        distances=tuple(tuple(1000 * abs(i - j) for j in range(n)) for i in range(n)),
    )


def staff(sid: str, skills: set[str] | None = None, start: int = 0, **kw) -> StaffMember:
    kw.setdefault("shift", TimeWindow(8 * H, 17 * H))
    return StaffMember(id=sid, start=start, skills=frozenset(skills or ()), **kw)


def visit(vid: int, place: int, duration: int = H, **kw) -> Visit:
    return Visit(id=vid, location=place, duration=duration, **kw)


def problem(staff_list, visits) -> Problem:
    return Problem(staff=tuple(staff_list), visits=tuple(visits), matrix=line_matrix())


def fast(**kw) -> SolveParams:
    kw.setdefault("time_limit_seconds", 0.5)
    kw.setdefault("num_workers", 1)
    return SolveParams(**kw)


def window(h0: float, h1: float) -> TimeWindow:
    return TimeWindow(int(h0 * H), int(h1 * H))
