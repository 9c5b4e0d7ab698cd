"""An independent feasibility check of a ``Solution`` against its ``Problem``.

It shares no code with the solver: it recomputes travel from the problem's places (the matrix, or
the given travel provider for ``Location`` places) and replays every route's timeline. Used by the
property tests and the benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable

from optimizer.model import Location, Problem, Solution, StaffMember
from optimizer.travel import TravelProvider, default_provider


def _travel_fn(problem: Problem, travel: TravelProvider | None) -> Callable[[object, object], int]:
    if problem.matrix is not None:
        m = problem.matrix

        def from_matrix(a: object, b: object) -> int:
            return m.durations[a][b]  # type: ignore[index]

        return from_matrix
    places: list[Location] = []
    seen: dict[Location, int] = {}
    for p in [v.location for v in problem.visits] + [
        q for s in problem.staff for q in (s.start, s.end_place)
    ]:
        if p not in seen:
            seen[p] = len(places)
            places.append(p)  # type: ignore[arg-type]
    matrix = (travel or default_provider()).matrix(places)

    def from_locations(a: object, b: object) -> int:
        return matrix.durations[seen[a]][seen[b]]  # type: ignore[index]

    return from_locations


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def check_solution(
    problem: Problem, solution: Solution, travel: TravelProvider | None = None
) -> list[str]:
    """Every rule violation found, in words; an empty list means the plan is feasible."""
    errors: list[str] = []
    t = _travel_fn(problem, travel)
    visits = {v.id: v for v in problem.visits}
    staff = {s.id: s for s in problem.staff}
    seen: dict[object, str] = {}

    for u in solution.unassigned:
        if u.visit_id not in visits:
            errors.append(f"unassigned visit {u.visit_id!r} is not in the problem")
        if u.visit_id in seen:
            errors.append(f"visit {u.visit_id!r} listed twice")
        seen[u.visit_id] = "unassigned"
        if not u.reason or not u.reason_code:
            errors.append(f"unassigned visit {u.visit_id!r} has no reason")

    for route in solution.routes:
        s = staff.get(route.staff_id)
        if s is None:
            errors.append(f"route for unknown staff {route.staff_id!r}")
            continue
        if not route.stops:
            continue
        errors += _check_route(problem, s, route, visits, t, seen)

    for vid in visits:
        if vid not in seen:
            errors.append(f"visit {vid!r} is neither planned nor unassigned")
    return errors


def _check_route(problem, s: StaffMember, route, visits, t, seen) -> list[str]:
    errors: list[str] = []
    who = f"{s.id}"
    if route.start_time < s.shift.start or route.end_time > s.shift.end:
        errors.append(
            f"{who}: route {route.start_time}..{route.end_time} outside shift "
            f"{s.shift.start}..{s.shift.end}"
        )
    # breaks: each placed once, inside a window
    pauses: list[tuple[int, int]] = []
    lunch_ids = [b.id for b in s.breaks]
    placed_lunch = [b for b in route.breaks if b.kind == "break"]
    if sorted(b.id for b in placed_lunch) != sorted(lunch_ids):
        errors.append(f"{who}: breaks placed {[b.id for b in placed_lunch]}, expected {lunch_ids}")
    for pb in placed_lunch:
        spec = next((b for b in s.breaks if b.id == pb.id), None)
        if spec is None:
            continue
        if pb.end - pb.start != spec.duration:
            errors.append(f"{who}: break {pb.id} lasts {pb.end - pb.start}s, not {spec.duration}s")
        if not any(w.start <= pb.start and pb.end <= w.end for w in spec.windows):
            errors.append(f"{who}: break {pb.id} at {pb.start}..{pb.end} outside its windows")
        pauses.append((pb.start, pb.end))
    pauses += [(u.start, u.end) for u in s.unavailability]

    def paused(lo: int, hi: int) -> int:
        # union of pause intervals inside [lo, hi]
        segs = sorted((max(lo, a), min(hi, b)) for a, b in pauses if min(hi, b) > max(lo, a))
        total, cur_end = 0, lo
        for a, b in segs:
            a = max(a, cur_end)
            if b > a:
                total += b - a
                cur_end = b
        return total

    prev_place = s.start
    prev_end = route.start_time
    load = 0
    for stop in route.stops:
        v = visits.get(stop.visit_id)
        if v is None:
            errors.append(f"{who}: unknown visit {stop.visit_id!r}")
            continue
        if stop.visit_id in seen:
            errors.append(f"visit {stop.visit_id!r} planned twice")
        seen[stop.visit_id] = who
        if not v.required_skills <= s.skills:
            errors.append(f"{who} lacks {set(v.required_skills - s.skills)} for visit {v.id!r}")
        if v.pinned_staff is not None and v.pinned_staff != s.id:
            errors.append(f"visit {v.id!r} pinned to {v.pinned_staff!r} but planned for {who}")
        if v.pinned_start is not None and not v.locked and stop.start != v.pinned_start:
            errors.append(f"visit {v.id!r} pinned at {v.pinned_start} but starts {stop.start}")
        if v.locked:
            if s.id != v.previous_staff:
                errors.append(f"locked visit {v.id!r} moved from {v.previous_staff!r} to {who}")
            if v.previous_window is not None:
                if not v.previous_window.contains(stop.start):
                    errors.append(f"locked visit {v.id!r} left its promised window")
            elif stop.start != v.previous_start:
                errors.append(f"locked visit {v.id!r} moved from {v.previous_start}")
        elif v.pinned_start is None and v.windows:
            if not any(w.contains(stop.start) for w in v.windows):
                errors.append(f"visit {v.id!r} starts {stop.start} outside its windows")
        if stop.end - stop.start != v.duration:
            errors.append(f"visit {v.id!r} lasts {stop.end - stop.start}s, not {v.duration}s")
        leg = t(prev_place, v.location)
        if stop.travel_seconds != leg:
            errors.append(f"visit {v.id!r}: reported travel {stop.travel_seconds}s, real {leg}s")
        if stop.start - prev_end - paused(prev_end, stop.start) < leg:
            errors.append(f"{who}: cannot reach visit {v.id!r} by {stop.start}")
        if paused(stop.start, stop.end):
            errors.append(f"{who}: visit {v.id!r} overlaps a break or busy interval")
        if not stop.promised_window.contains(stop.start):
            errors.append(f"visit {v.id!r}: planned start outside its promised window")
        load += v.demand
        prev_place, prev_end = v.location, stop.end
    back = t(prev_place, s.end_place)
    if route.end_time - prev_end - paused(prev_end, route.end_time) < back:
        errors.append(f"{who}: cannot return by {route.end_time}")
    if s.capacity is not None and load > s.capacity:
        errors.append(f"{who}: load {load} over capacity {s.capacity}")
    if s.max_working_seconds is not None:
        lunch = sum(b.duration for b in s.breaks)
        if route.end_time - route.start_time - lunch > s.max_working_seconds:
            errors.append(f"{who}: works more than {s.max_working_seconds}s")
    return errors
