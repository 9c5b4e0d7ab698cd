"""VROOM's documented JSON input and output (https://github.com/VROOM-Project/vroom/blob/master/docs/API.md).

Supported input: ``jobs`` (``id``, ``location`` [lon, lat] or ``location_index``, ``service``,
``setup``, ``delivery``/``pickup``/``amount`` (one dimension), ``skills``, ``priority``,
``time_windows``), ``vehicles`` (``id``, ``start``/``start_index``, ``end``/``end_index``,
``capacity`` (one dimension), ``skills``, ``time_window``, ``breaks`` with ``id``, ``time_windows``
(slots for the break's start, as in VROOM) and ``service``, ``max_travel_time`` is not
supported), ``matrices.<profile>.durations`` / ``distances`` (or the legacy top-level
``matrix``). Shipments are refused with a clear error. A vehicle without ``end`` returns to its
start (VROOM would end at its last job); a job's ``setup`` is always added to its service (VROOM
adds it only when arriving from another location).

Output: ``code``, ``summary`` (cost, routes, unassigned, service, duration, waiting_time, priority,
distance), ``unassigned`` (id, type, location, plus ``reason``/``reason_code``), ``routes`` with
``vehicle``, ``steps`` (``type`` start/job/break/end, ``id``, ``job``, ``arrival``, ``service``,
``waiting_time``, ``duration`` = travel so far, ``distance``).
"""

from __future__ import annotations

from typing import Any

from optimizer.model import (
    Break,
    Location,
    Place,
    Problem,
    Solution,
    StaffMember,
    TimeWindow,
    TravelMatrix,
    Visit,
)

HORIZON = 2**31 - 1  # VROOM's "no time window"


class VroomInputError(ValueError):
    """The JSON is not a VROOM problem this solver can read."""


def _place(obj: dict[str, Any], key: str, what: str, has_matrix: bool) -> Place | None:
    idx = obj.get(f"{key}_index")
    if idx is not None and has_matrix:
        if not isinstance(idx, int) or idx < 0:
            raise VroomInputError(f"{what}: {key}_index must be a non-negative integer")
        return idx
    loc = obj.get(key)
    if loc is None:
        if idx is not None:
            raise VroomInputError(f"{what}: {key}_index given but no matrix in the input")
        return None
    if not (isinstance(loc, list) and len(loc) == 2):
        raise VroomInputError(f"{what}: {key} must be [lon, lat]")
    try:
        return Location(lat=float(loc[1]), lon=float(loc[0]))
    except ValueError as exc:
        raise VroomInputError(f"{what}: {exc}") from exc


def _amount(values: Any, what: str) -> int:
    if values is None:
        return 0
    if not isinstance(values, list) or len(values) > 1:
        raise VroomInputError(f"{what}: only one capacity dimension is supported")
    return int(values[0]) if values else 0


def _windows(raw: Any, what: str) -> tuple[TimeWindow, ...]:
    if raw is None:
        return ()
    try:
        return tuple(TimeWindow(int(a), int(b)) for a, b in raw)
    except (TypeError, ValueError) as exc:
        raise VroomInputError(f"{what}: bad time_windows ({exc})") from exc


def _matrix(data: dict[str, Any]) -> TravelMatrix | None:
    matrices = data.get("matrices")
    if matrices:
        profile = matrices.get("car") or next(iter(matrices.values()))
        durations = profile.get("durations")
        distances = profile.get("distances")
    elif "matrix" in data:
        durations, distances = data["matrix"], None
    else:
        return None
    if durations is None:
        raise VroomInputError("matrices: durations are required")
    try:
        return TravelMatrix(
            durations=tuple(tuple(int(x) for x in row) for row in durations),
            distances=None
            if distances is None
            else tuple(tuple(int(x) for x in row) for row in distances),
        )
    except (TypeError, ValueError) as exc:
        raise VroomInputError(f"matrices: {exc}") from exc


def to_problem(data: dict[str, Any]) -> Problem:
    """A ``Problem`` from VROOM's input JSON (already parsed)."""
    if not isinstance(data, dict):
        raise VroomInputError("the input must be a JSON object")
    if data.get("shipments"):
        raise VroomInputError("shipments (pickup-and-delivery pairs) are not supported")
    if not data.get("vehicles"):
        raise VroomInputError("no vehicles in the input")
    matrix = _matrix(data)
    has_matrix = matrix is not None
    staff = []
    for k, veh in enumerate(data["vehicles"]):
        what = f"vehicles[{k}]"
        if "id" not in veh:
            raise VroomInputError(f"{what}: id is required")
        start = _place(veh, "start", what, has_matrix)
        end = _place(veh, "end", what, has_matrix)
        if start is None and end is None:
            raise VroomInputError(f"{what}: needs a start or an end")
        tw = veh.get("time_window") or [0, HORIZON]
        breaks = []
        for b in veh.get("breaks") or []:
            try:
                duration = int(b.get("service", 0))
                # VROOM's windows bound the break's start; posventa's hold the whole break
                bw = tuple(
                    TimeWindow(w.start, w.end + duration)
                    for w in _windows(b.get("time_windows"), f"{what}.breaks")
                ) or (TimeWindow(0, HORIZON),)
                breaks.append(Break(duration=duration, windows=bw, id=str(b["id"])))
            except (KeyError, ValueError) as exc:
                raise VroomInputError(f"{what}.breaks: {exc}") from exc
        cap = veh.get("capacity")
        try:
            staff.append(
                StaffMember(
                    id=veh["id"],
                    shift=TimeWindow(int(tw[0]), int(tw[1])),
                    start=start if start is not None else end,  # type: ignore[arg-type]
                    end=end,
                    skills=frozenset(str(s) for s in veh.get("skills") or []),
                    breaks=tuple(breaks),
                    capacity=None if cap is None else _amount(cap, what),
                    name=str(veh.get("description", "")),
                )
            )
        except ValueError as exc:
            raise VroomInputError(f"{what}: {exc}") from exc
    visits = []
    for k, job in enumerate(data.get("jobs") or []):
        what = f"jobs[{k}]"
        if "id" not in job:
            raise VroomInputError(f"{what}: id is required")
        loc = _place(job, "location", what, has_matrix)
        if loc is None:
            raise VroomInputError(f"{what}: location or location_index is required")
        demand = _amount(job.get("delivery"), what) + _amount(job.get("pickup"), what)
        demand += _amount(job.get("amount"), what)
        try:
            visits.append(
                Visit(
                    id=job["id"],
                    location=loc,
                    duration=int(job.get("service", 0)) + int(job.get("setup", 0)),
                    required_skills=frozenset(str(s) for s in job.get("skills") or []),
                    windows=_windows(job.get("time_windows"), what),
                    priority=int(job.get("priority", 0)),
                    demand=demand,
                )
            )
        except ValueError as exc:
            raise VroomInputError(f"{what}: {exc}") from exc
    try:
        return Problem(staff=tuple(staff), visits=tuple(visits), matrix=matrix)
    except ValueError as exc:
        raise VroomInputError(str(exc)) from exc


def _loc_json(p: Place) -> dict[str, Any]:
    if isinstance(p, int):
        return {"location_index": p}
    return {"location": [p.lon, p.lat]}


def to_output(problem: Problem, solution: Solution, loading_ms: int = 0) -> dict[str, Any]:
    """VROOM-shaped output for ``solution``."""
    visits = {v.id: v for v in problem.visits}
    staff = {s.id: s for s in problem.staff}
    routes_json = []
    for r in solution.routes:
        if not r.stops:
            continue
        s = staff[r.staff_id]
        events: list[tuple[int, int, dict[str, Any]]] = []
        travel = dist = 0
        for st in r.stops:
            travel += st.travel_seconds
            dist += st.travel_metres
            events.append(
                (
                    st.start,
                    1,
                    {
                        "type": "job",
                        "id": st.visit_id,
                        "job": st.visit_id,
                        **_loc_json(visits[st.visit_id].location),
                        "arrival": st.arrival,
                        "setup": 0,
                        "service": st.end - st.start,
                        "waiting_time": st.wait_seconds,
                        "duration": travel,
                        "distance": dist,
                    },
                )
            )
        for b in r.breaks:
            if b.kind != "break":
                continue
            events.append(
                (
                    b.start,
                    0,
                    {
                        "type": "break",
                        "id": _maybe_int(b.id),
                        "arrival": b.start,
                        "service": b.end - b.start,
                        "waiting_time": 0,
                    },
                )
            )
        events.sort(key=lambda e: (e[0], e[1]))
        # breaks taken before leaving or after coming back still belong to the vehicle's day
        lunch = [b for b in r.breaks if b.kind == "break"]
        start_at = min([r.start_time] + [b.start for b in lunch])
        end_at = max([r.end_time] + [b.end for b in lunch])
        steps = [
            {
                "type": "start",
                **_loc_json(s.start),
                "arrival": start_at,
                "duration": 0,
                "distance": 0,
            }
        ]
        running = (0, 0)
        for _, _, step in events:
            if step["type"] == "job":
                running = (step["duration"], step["distance"])
            else:
                step["duration"], step["distance"] = running
            steps.append(step)
        steps.append(
            {
                "type": "end",
                **_loc_json(s.end_place),
                "arrival": end_at,
                "duration": r.travel_seconds,
                "distance": r.travel_metres,
            }
        )
        routes_json.append(
            {
                "vehicle": r.staff_id,
                "cost": r.travel_seconds,
                "setup": 0,
                "service": r.service_seconds,
                "duration": r.travel_seconds,
                "waiting_time": sum(st.wait_seconds for st in r.stops),
                "priority": sum(visits[st.visit_id].priority for st in r.stops),
                "distance": r.travel_metres,
                "steps": steps,
            }
        )
    unassigned = [
        {
            "id": u.visit_id,
            "type": "job",
            **_loc_json(visits[u.visit_id].location),
            "reason_code": u.reason_code,
            "reason": u.reason,
        }
        for u in solution.unassigned
    ]
    summary = {
        "cost": sum(r["cost"] for r in routes_json),
        "routes": len(routes_json),
        "unassigned": len(unassigned),
        "setup": 0,
        "service": sum(r["service"] for r in routes_json),
        "duration": sum(r["duration"] for r in routes_json),
        "waiting_time": sum(r["waiting_time"] for r in routes_json),
        "priority": sum(r["priority"] for r in routes_json),
        "distance": sum(r["distance"] for r in routes_json),
        "violations": [],
        "computing_times": {
            "loading": loading_ms,
            "solving": round(solution.solve_seconds * 1000),
        },
    }
    return {"code": 0, "summary": summary, "unassigned": unassigned, "routes": routes_json}


def _maybe_int(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text
