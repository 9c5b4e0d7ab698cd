"""``solve(problem, params) -> Solution`` on OR-Tools routing.

Travel and service times go to OR-Tools as matrices and vectors (``RegisterTransitMatrix`` /
``RegisterUnaryTransitVector``), so the search stays in C++; the one exception is the time transit
of models with breaks, a numpy lookup that OR-Tools can copy cheaply (see ``_by_routing_index``:
measured 3.3 times as many search rounds). Each visit is optional (a
disjunction whose penalty grows with its priority), so a plan always exists; visits that cannot be
planned at all are found by checks before the search and never enter the model; every visit left out
gets a reason in words. With ``num_workers > 1`` independent searches with different strategies run
in separate processes and the best plan wins. On field-service days a quick insertion plan
(``optimizer.insertion``, about a second for 1,000 visits) is built first: it is the plan returned
with ``solution_limit=1`` and a candidate the OR-Tools searches must beat; on large days (see
``default_strategies``) one of the searches starts from it.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_ils_pb2
from ortools.constraint_solver.routing_heuristic_parameters_pb2 import (
    LocalCheapestInsertionParameters,
)
from ortools.util import optional_boolean_pb2

from optimizer.costs import arc_cost_matrix
from optimizer.insertion import insertion_plan
from optimizer.model import (
    Location,
    MovedVisit,
    PlacedBreak,
    Problem,
    ReasonParam,
    Route,
    Solution,
    SolveParams,
    StaffMember,
    Stop,
    TimeWindow,
    Totals,
    Unassigned,
    Visit,
)
from optimizer.travel import TravelProvider, default_provider

LOCKED_PENALTY_FACTOR = 1000  # a locked visit costs this many top-priority visits to drop
PRIORITY_WEIGHT = (
    100  # penalty = drop_penalty * (1 + PRIORITY_WEIGHT * priority): near-lexicographic
)
RESULT_MARGIN_S = 0.1  # time kept back for building the result...
RESULT_MARGIN_PER_VISIT_S = 0.0005  # ...and the reasons for unassigned visits
WORKER_EXIT_S = 0.1  # a worker stops searching this much earlier, to hand its plan over
WORKER_GRACE_S = 0.5  # how long a worker may overrun the deadline before it is killed
FIRST_PLAN_SECONDS = 30.0  # upper bound for the rescue search when the budget found nothing
MIN_SECONDS_FOR_WORKERS = 1.5  # below this, search in this process only

RULES = (
    "required skills (all of them)",
    "customer time windows (service starts inside one)",
    "shift hours (leave and return inside the shift)",
    "breaks inside their windows",
    "unavailability (no work during busy intervals)",
    "maximum working time",
    "pinned staff member",
    "pinned start time",
    "locked visits keep staff member and promised window",
    "capacity",
    "preferred staff member (soft)",
    "plan stability: moving a visit costs a penalty (soft)",
)


# --------------------------------------------------------------------- compiled model


@dataclass
class _BreakSpec:
    vehicle: int
    id: str
    start_min: int
    start_max: int
    duration: int
    kind: str  # "break" | "unavailable"
    holes: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _Compiled:
    """Everything the search needs, in plain lists (picklable for worker processes)."""

    n_nodes: int
    starts: list[int]
    ends: list[int]
    node_visit: list[int]  # visit position in problem.visits, -1 for depots
    dur: list[list[int]]
    dist: list[list[int]]
    service: list[int]
    windows: list[list[tuple[int, int]] | None]
    allowed: list[list[int] | None]
    penalty: list[int]
    shifts: list[tuple[int, int]]
    span_max: list[int | None]
    breaks: list[_BreakSpec]
    capacity: list[int] | None
    demand: list[int] | None
    arc_costs: list[tuple[int, int, int]]  # per vehicle: (class key, time weight, dist weight)
    staff_soft: list[list[int]] | None  # per vehicle: unary cost vector over nodes
    soft_bounds: list[tuple[int, int, int, int]]  # node, lo, hi, coef per second
    horizon: int
    objective: str
    optional_visits: bool = True  # False: no disjunctions (every visit must be planned)


def _place_key(p: Location | int) -> Any:
    return ("i", p) if isinstance(p, int) else ("l", p.lat, p.lon)


def _matrices(
    problem: Problem, places: list[Location | int], travel: TravelProvider | None
) -> tuple[np.ndarray, np.ndarray]:
    """Travel seconds and metres between ``places`` (node order)."""
    if not places:
        empty = np.zeros((0, 0), dtype=np.int64)
        return empty, empty.copy()
    if all(isinstance(p, int) for p in places):
        assert problem.matrix is not None
        idx = np.array(places, dtype=np.int64)
        dur = np.array(problem.matrix.durations, dtype=np.int64)[np.ix_(idx, idx)]
        if problem.matrix.distances is not None:
            dist = np.array(problem.matrix.distances, dtype=np.int64)[np.ix_(idx, idx)]
        else:
            dist = dur.copy()
        return dur, dist
    if any(isinstance(p, int) for p in places):
        raise ValueError("mix of matrix indices and Location places in one problem")
    unique: dict[Any, int] = {}
    for p in places:
        unique.setdefault(_place_key(p), len(unique))
    locs = [None] * len(unique)
    for p in places:
        locs[unique[_place_key(p)]] = p
    provider = travel or default_provider()
    m = provider.matrix(locs)  # type: ignore[arg-type]
    idx = np.array([unique[_place_key(p)] for p in places], dtype=np.int64)
    dur = np.array(m.durations, dtype=np.int64).reshape(len(locs), len(locs))[np.ix_(idx, idx)]
    if m.distances is not None:
        dist = np.array(m.distances, dtype=np.int64).reshape(len(locs), len(locs))
        dist = dist[np.ix_(idx, idx)]
    else:
        dist = dur.copy()
    return dur, dist


def _fmt(t: int) -> str:
    sign = "-" if t < 0 else ""
    t = abs(t)
    return f"{sign}{t // 3600:02d}:{t % 3600 // 60:02d}"


def _skill_list(skills: Iterable[str]) -> str:
    return ", ".join(sorted(skills))


def _skill_tuple(skills: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(skills))


def _staff_labels(staff: Sequence[StaffMember]) -> list[str]:
    """How reasons name each staff member: the name, or the id when the name is empty.

    A name shared by several staff members gets the id added ("Pablo (3)").
    """
    names = [s.name.strip() for s in staff]
    shared = Counter(n for n in names if n)
    return [
        (f"{n} ({s.id})" if shared[n] > 1 else n) if n else str(s.id)
        for n, s in zip(names, staff, strict=True)
    ]


def _and_list(items: Sequence[str]) -> str:
    """'Pablo', 'Pablo and Marina', 'Pablo, Marina and Toni'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _who_could_do_it(labels: Sequence[str]) -> str:
    """The subject of a reason: '<one>, the only one who could do it, is' or '<all>, ... are'."""
    if len(labels) == 1:
        return f"{labels[0]}, the only one who could do it, is"
    return f"{_and_list(labels)}, who could do it, are"


def _intersect(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int] | None:
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None


def _free_intervals(s: StaffMember) -> list[tuple[int, int]]:
    """Shift minus unavailability."""
    free = [(s.shift.start, s.shift.end)]
    for u in sorted(s.unavailability, key=lambda u: u.start):
        nxt = []
        for lo, hi in free:
            if u.end <= lo or u.start >= hi:
                nxt.append((lo, hi))
                continue
            if u.start > lo:
                nxt.append((lo, u.start))
            if u.end < hi:
                nxt.append((u.end, hi))
        free = nxt
    return free


@dataclass
class _Prepared:
    compiled: _Compiled
    node_of_visit: dict[int, int]  # visit position -> node
    excluded: list[Unassigned]
    capable: dict[int, list[int]]  # visit position -> staff positions
    eff_windows: dict[int, list[tuple[int, int]]]
    full_dur: np.ndarray  # node x node
    full_dist: np.ndarray


def _effective_windows(v: Visit, params: SolveParams) -> list[tuple[int, int]] | None:
    if v.locked:
        if v.previous_window is not None:
            return [(v.previous_window.start, v.previous_window.end)]
        assert v.previous_start is not None
        return [(v.previous_start, v.previous_start)]
    if v.pinned_start is not None:
        return [(v.pinned_start, v.pinned_start)]
    if v.windows:
        return [(w.start, w.end) for w in v.windows]
    return None


def _prepare(problem: Problem, params: SolveParams, travel: TravelProvider | None) -> _Prepared:
    staff = problem.staff
    visits = problem.visits
    nv = len(staff)
    # depot nodes: one per distinct start/end place
    depot_key: dict[Any, int] = {}
    depot_places: list[Location | int] = []
    starts, ends = [], []
    for s in staff:
        for place, out in ((s.start, starts), (s.end_place, ends)):
            k = _place_key(place)
            if k not in depot_key:
                depot_key[k] = len(depot_places)
                depot_places.append(place)
            out.append(depot_key[k])
    n_depots = len(depot_places)
    all_places = depot_places + [v.location for v in visits]
    full_dur, full_dist = _matrices(problem, all_places, travel)

    staff_index = {s.id: i for i, s in enumerate(staff)}
    label = _staff_labels(staff)
    excluded: list[Unassigned] = []
    capable: dict[int, list[int]] = {}
    eff_windows: dict[int, list[tuple[int, int]]] = {}
    all_skills = set().union(*(s.skills for s in staff)) if staff else set()
    kept: list[int] = []
    for vi, v in enumerate(visits):
        node = n_depots + vi
        reason: tuple[str, str, dict[str, ReasonParam]] | None = None
        cands = [i for i, s in enumerate(staff) if v.required_skills <= s.skills]
        if not cands:
            missing = v.required_skills - all_skills
            if not staff:
                reason = ("no_staff", "no staff member is working that day", {})
            elif missing:
                reason = (
                    "missing_skill",
                    f"no staff member has skill {_skill_list(missing)}",
                    {"variant": "none_has", "skills": _skill_tuple(missing)},
                )
            else:
                reason = (
                    "missing_skill",
                    f"no staff member has all of {_skill_list(v.required_skills)} together",
                    {"variant": "not_together", "skills": _skill_tuple(v.required_skills)},
                )
        else:
            with_cap = [
                i for i in cands if staff[i].capacity is None or staff[i].capacity >= v.demand
            ]
            if not with_cap:
                reason = (
                    "over_capacity",
                    f"demand {v.demand} exceeds every vehicle's capacity",
                    {"demand": v.demand},
                )
            cands = with_cap
        fixed = v.previous_staff if v.locked else v.pinned_staff
        if reason is None and fixed is not None:
            si = staff_index[fixed]
            if si not in cands:
                code = "locked_conflict" if v.locked else "pinned_staff_lacks_skill"
                lacking = _skill_tuple(v.required_skills - staff[si].skills)
                reason = (
                    code,
                    f"{'locked to' if v.locked else 'pinned to'} {label[si]}, who lacks skill "
                    f"{_skill_list(lacking) or '(capacity)'}",
                    {
                        "variant": "lacks_skill" if lacking else "lacks_capacity",
                        "staff": label[si],
                        "skills": lacking,
                    },
                )
            cands = [si]
        wins = _effective_windows(v, params)
        if reason is None:
            plain_ok = travel_ok = free_ok = False
            for si in cands:
                s = staff[si]
                plain = (s.shift.start, s.shift.end - v.duration)
                t_in = int(full_dur[starts[si], node])
                t_out = int(full_dur[node, ends[si]])
                reach = (s.shift.start + t_in, s.shift.end - v.duration - t_out)
                for w in wins or [plain]:
                    if _intersect(w, plain):
                        plain_ok = True
                    r = _intersect(w, reach)
                    if r is None:
                        continue
                    if s.max_working_seconds is not None and (
                        t_in + v.duration + t_out > s.max_working_seconds
                    ):
                        continue
                    travel_ok = True
                    for f_lo, f_hi in _free_intervals(s):
                        t = max(r[0], f_lo)
                        if t <= r[1] and t + v.duration <= f_hi:
                            free_ok = True
            who = [label[i] for i in cands]
            wlist = tuple(f"{_fmt(a)}-{_fmt(b)}" for a, b in wins or ())
            wtxt = ", ".join(wlist) if wlist else "any time"
            if not plain_ok:
                whose = (
                    f"the shift of {who[0]}, the only one who could do it"
                    if len(who) == 1
                    else f"every shift of the staff who could do it ({_and_list(who)})"
                )
                reason = (
                    "outside_shifts",
                    f"its window ({wtxt}) lies outside {whose}",
                    {"candidates": tuple(who), "windows": wlist},
                )
            elif not travel_ok:
                best, nearest = min(
                    (int(full_dur[starts[i], node]) + int(full_dur[node, ends[i]]), k)
                    for k, i in enumerate(cands)
                )
                whom = (
                    f"{who[nearest]}, the only one who could do it"
                    if len(who) == 1
                    else f"{who[nearest]}, the nearest of {_and_list(who)}"
                )
                reason = (
                    "travel_exceeds_window",
                    f"travel alone ({best // 60} min there and back for {whom}) "
                    f"makes its window ({wtxt}) unreachable within the shift",
                    {
                        "minutes": best // 60,
                        "staff": who[nearest],
                        "candidates": tuple(who),
                        "windows": wlist,
                    },
                )
            elif not free_ok:
                reason = (
                    "staff_unavailable",
                    f"{_who_could_do_it(who)} busy (own calendar) during its window ({wtxt})",
                    {"variant": "busy", "candidates": tuple(who), "windows": wlist},
                )
        if reason is not None:
            code, text, facts = reason
            excluded.append(Unassigned(v.id, code, text, facts))  # type: ignore[arg-type]
            continue
        capable[vi] = cands
        if wins is not None:
            eff_windows[vi] = wins
        kept.append(vi)

    node_list = list(range(n_depots)) + [n_depots + vi for vi in kept]
    nidx = np.array(node_list, dtype=np.int64)
    dur = full_dur[np.ix_(nidx, nidx)]
    dist = full_dist[np.ix_(nidx, nidx)]
    n_nodes = len(node_list)
    node_of_visit = {vi: n_depots + k for k, vi in enumerate(kept)}
    node_visit = [-1] * n_depots + kept
    service = [0] * n_depots + [visits[vi].duration for vi in kept]

    horizon = max(
        [s.shift.end for s in staff] + [b for ws in eff_windows.values() for _, b in ws] + [1]
    )
    windows: list[list[tuple[int, int]] | None] = [None] * n_depots
    allowed: list[list[int] | None] = [None] * n_depots
    penalty = [0] * n_depots
    for vi in kept:
        v = visits[vi]
        ws = eff_windows.get(vi)
        windows.append([(max(0, a), min(horizon, b)) for a, b in ws] if ws else None)
        allowed.append(None if len(capable[vi]) == nv else capable[vi])
        p = params.drop_penalty * (1 + PRIORITY_WEIGHT * v.priority)
        if v.locked:
            p = params.drop_penalty * (1 + PRIORITY_WEIGHT * 100) * LOCKED_PENALTY_FACTOR
        penalty.append(p)

    breaks: list[_BreakSpec] = []
    span_max: list[int | None] = []
    for si, s in enumerate(staff):
        lunch_total = 0
        for b in s.breaks:
            lo = min(w.start for w in b.windows)
            hi = max(w.end for w in b.windows) - b.duration
            holes = []
            ws = sorted(b.windows, key=lambda w: w.start)
            for a, c in zip(ws, ws[1:], strict=False):
                if c.start - 1 >= a.end - b.duration + 1:
                    holes.append((a.end - b.duration + 1, c.start - 1))
            breaks.append(_BreakSpec(si, b.id, lo, hi, b.duration, "break", holes))
            lunch_total += b.duration
        for k, u in enumerate(s.unavailability):
            lo, hi = max(u.start, s.shift.start), min(u.end, s.shift.end)
            if lo < hi:
                breaks.append(_BreakSpec(si, f"busy{k}:{u.reason}", lo, lo, hi - lo, "unavailable"))
        span_max.append(
            None if s.max_working_seconds is None else s.max_working_seconds + lunch_total
        )

    capacity = demand = None
    if any(s.capacity is not None for s in staff):
        capacity = [s.capacity if s.capacity is not None else 10**9 for s in staff]
        demand = [0] * n_depots + [visits[vi].demand for vi in kept]

    arc_costs = []
    for s in staff:
        if params.objective == "distance" or (s.cost_per_hour is None and s.cost_per_km is None):
            arc_costs.append((0, 1, 0) if params.objective != "distance" else (0, 0, 1))
        else:
            # cents per second / per metre, scaled by 1000 to stay integer
            wt = round((s.cost_per_hour or 0.0) * 100 / 3600 * 1000)
            wd = round((s.cost_per_km or 0.0) * 100 / 1000 * 1000)
            arc_costs.append((1, wt, wd))

    staff_soft = None
    soft_bounds: list[tuple[int, int, int, int]] = []
    soft_needed = any(
        (not visits[vi].locked)
        and (visits[vi].preferred_staff is not None or visits[vi].previous_staff is not None)
        for vi in kept
    )
    if soft_needed:
        staff_soft = []
        for s in staff:
            vec = [0] * n_nodes
            for k, vi in enumerate(kept):
                v = visits[vi]
                if v.locked:
                    continue
                c = 0
                if v.preferred_staff is not None and v.preferred_staff != s.id:
                    c += params.preferred_staff_penalty
                if v.previous_staff is not None and v.previous_staff != s.id:
                    c += params.move_penalty
                vec[n_depots + k] = c
            staff_soft.append(vec)
    coef = max(1, round(params.move_penalty_per_hour / 3600)) if params.move_penalty_per_hour else 0
    for vi in kept:
        v = visits[vi]
        if v.locked or v.previous_start is None or not coef:
            continue
        pw = _previous_window(v, params)
        soft_bounds.append((node_of_visit[vi], pw.start, pw.end, coef))

    compiled = _Compiled(
        n_nodes=n_nodes,
        starts=starts,
        ends=ends,
        node_visit=node_visit,
        dur=dur.tolist(),
        dist=dist.tolist(),
        service=service,
        windows=windows,
        allowed=allowed,
        penalty=penalty,
        shifts=[(s.shift.start, s.shift.end) for s in staff],
        span_max=span_max,
        breaks=breaks,
        capacity=capacity,
        demand=demand,
        arc_costs=arc_costs,
        staff_soft=staff_soft,
        soft_bounds=soft_bounds,
        horizon=horizon,
        objective=params.objective,
    )
    return _Prepared(
        compiled=compiled,
        node_of_visit=node_of_visit,
        excluded=excluded,
        capable=capable,
        eff_windows=eff_windows,
        full_dur=dur,
        full_dist=dist,
    )


def _previous_window(v: Visit, params: SolveParams) -> TimeWindow:
    if v.previous_window is not None:
        return v.previous_window
    assert v.previous_start is not None
    half = params.arrival_window_seconds // 2
    return TimeWindow(v.previous_start - half, v.previous_start + half)


# --------------------------------------------------------------------- OR-Tools model + search


@dataclass(frozen=True)
class Strategy:
    """One independent search: first-solution strategies tried in turn (multi-start), each
    followed by the metaheuristic; the best plan is kept."""

    name: str
    first_solution: str
    metaheuristic: str | None  # None: OR-Tools' iterated local search (ruin and recreate)
    ruin: str = "sisr"  # ILS ruin: "sisr" (strings removal) or "routes" (spatially close)
    ruin_size: int = 15  # SISR: visits removed on average; "routes": routes ruined
    restarts: tuple[str, ...] = ()  # further first-solution strategies when time allows
    operators: tuple[str, ...] = ()  # extra local-search operators switched on
    operators_off: tuple[str, ...] = ()  # default operators switched off
    neighbors_ratio: float | None = None  # operators look at this share of nearest neighbours
    recreate: str = "LOCAL_CHEAPEST_INSERTION"  # ILS: how removed visits are put back
    acceptance: str = "simulated_annealing"  # ILS: "simulated_annealing" or "greedy_descent"
    # ILS simulated annealing: (initial, final) temperature as fractions of the mean arc cost;
    # None: OR-Tools' automatic temperatures (0.1 and 0.001 of it)
    temperatures: tuple[float, float] | None = None
    max_string: int = 10  # SISR: longest string removed from one route
    bypass_factor: float = 0.01  # SISR: chance of keeping a visit inside a removed string
    ruin_neighbors: int = 100  # ruin: nearest visits among which the ruined routes are chosen
    random_walk: int = 0  # ILS: also ruin by a random walk of this many visits (drawn in turn)
    recreate_order: tuple[str, ...] = ()  # ILS local cheapest insertion: order of re-insertion
    from_insertion_plan: bool = False  # start from optimizer.insertion's plan, not first_solution


# Local-search operators that cost more than they bring inside iterated local search: the
# heuristic LNS operators (full re-insertions) and the slower chain/sub-trip/path operators.
# Without them each descent after a ruin is short, so many more ruin-and-recreate rounds fit.
ILS_OPERATORS_OFF = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_lin_kernighan",
    "use_relocate_expensive_chain",
    "use_relocate_subtrip",
    "use_exchange_subtrip",
    "use_shortest_path_swap_active",
    "use_shortest_path_two_opt",
    "use_swap_active_chain",
)
# Benchmark mode (objective "distance"), measured on Solomon (BENCHMARKS.md): iterated local
# search (SISR ruin, simulated annealing) from a savings start beats guided local search by far
# once its descents are light; the two processes ruin differently sized strings for diversity.
STRATEGIES = (
    Strategy("savings+ils-sisr15", "SAVINGS", None, "sisr", 15, operators_off=ILS_OPERATORS_OFF),
    Strategy("savings+ils-sisr20", "SAVINGS", None, "sisr", 20, operators_off=ILS_OPERATORS_OFF),
)
# Field-service days (objective "travel_time", optional visits with priorities), measured with
# benchmarks/optimizer/field_day.py (BENCHMARKS.md): iterated local search from parallel cheapest
# insertion, short strings ruined; the two processes ruin 15 resp. 8 visits. Removed visits go
# back highest penalty per capable staff member first (high priority, rare skills): at least
# VROOM's priority on 8 of 9 seeded days, 5 with the default order (allowed staff first). A
# perturbed plan is kept by simulated annealing at a low temperature, from 1/125 of the mean
# arc cost down to 1/100 of that: plans of equal cost and slightly longer drives are taken,
# never a lost visit (a drop penalty is 27 mean arcs and more on field days). OR-Tools'
# automatic temperatures (12 times higher) and greedy acceptance (equal plans refused) both did
# worse (BENCHMARKS.md (b)).
RECREATE_ORDER = ("PENALTY_OVER_ALLOWED_VEHICLES_RATIO",)
FIELD_TEMPERATURES = (0.008, 0.00008)
FIELD_STRATEGIES = (
    Strategy(
        "pci+ils-sisr15",
        "PARALLEL_CHEAPEST_INSERTION",
        None,
        "sisr",
        15,
        operators_off=ILS_OPERATORS_OFF,
        acceptance="simulated_annealing",
        temperatures=FIELD_TEMPERATURES,
        max_string=5,
        recreate_order=RECREATE_ORDER,
    ),
    Strategy(
        "pci+ils-sisr8",
        "PARALLEL_CHEAPEST_INSERTION",
        None,
        "sisr",
        8,
        operators_off=ILS_OPERATORS_OFF,
        acceptance="simulated_annealing",
        temperatures=FIELD_TEMPERATURES,
        max_string=5,
        recreate_order=RECREATE_ORDER,
    ),
)
# Large days (LARGE_DAY_VISITS and more): OR-Tools' first-solution strategies take a large
# share of the budget there (they propagate every break interval), so the second process starts
# from the quick insertion plan instead and improves it by guided local search with the light
# operators. Measured on the 1,000-visit day at 60 s (BENCHMARKS.md (c)): the insertion plan's
# 522 visits -> 582, where iterated local search from PCI had not beaten 522 on a slow machine.
LARGE_DAY_VISITS = 500
INSERTION_GLS = Strategy(
    "insertion+gls",
    "PARALLEL_CHEAPEST_INSERTION",
    "GUIDED_LOCAL_SEARCH",
    operators_off=ILS_OPERATORS_OFF,
    from_insertion_plan=True,
)
# Stand-ins where iterated local search may not run (see _ils_safe), and in this process.
GLS_FALLBACK_DISTANCE = Strategy(
    "savings+gls", "SAVINGS", "GUIDED_LOCAL_SEARCH", restarts=("PATH_CHEAPEST_ARC",)
)
GLS_FALLBACK_FIELD = Strategy(
    "pci+gls+close-nodes-lns",
    "PARALLEL_CHEAPEST_INSERTION",
    "GUIDED_LOCAL_SEARCH",
    operators=(
        "use_global_cheapest_insertion_close_nodes_lns",
        "use_local_cheapest_insertion_close_nodes_lns",
    ),
)
ILS_MIN_VISITS_PER_STAFF = 2
MIN_SECONDS_PER_START = 3.0  # a restart only when each start gets at least this long
MAX_NODES_FOR_RESTARTS = 300
TEXTBOOK = Strategy("textbook", "PATH_CHEAPEST_ARC", "GUIDED_LOCAL_SEARCH")


def _by_routing_index(matrix: np.ndarray, manager: Any, routing: Any) -> np.ndarray:
    """``matrix`` (by node) re-indexed by OR-Tools' routing indices (vehicle ends included).

    For the time transit of models with breaks: OR-Tools 9.15 copies a matrix callback's whole
    matrix every time the break constraint or the cumul filter takes the evaluator, which was
    60 % of a field day's search (py-spy); a Python callable is copied by reference, and
    ``ndarray.item`` keeps each lookup in C. Measured on a field day: 3.3 times as many
    ruin-and-recreate rounds in 30 s (BENCHMARKS.md). Without breaks the matrix stays faster."""
    nodes = [manager.IndexToNode(i) for i in range(routing.Size() + routing.vehicles())]
    return np.ascontiguousarray(matrix[np.ix_(nodes, nodes)], dtype=np.int64)


def _build(c: _Compiled):
    manager = pywrapcp.RoutingIndexManager(c.n_nodes, len(c.starts), c.starts, c.ends)
    routing = pywrapcp.RoutingModel(manager)
    nv = len(c.starts)

    # arc costs (one evaluator per distinct weighting)
    dur = np.array(c.dur, dtype=np.int64)
    dist = np.array(c.dist, dtype=np.int64)
    evaluators: dict[tuple[int, int, int], int] = {}
    for v, key in enumerate(c.arc_costs):
        if key not in evaluators:
            m = arc_cost_matrix(dur, dist, key)
            evaluators[key] = routing.RegisterTransitMatrix(m.tolist())
        routing.SetArcCostEvaluatorOfVehicle(evaluators[key], v)

    # time: travel + service of the origin node
    transit = dur + np.array(c.service, dtype=np.int64)[:, None]
    if c.breaks:
        time_cb = routing.RegisterTransitCallback(_by_routing_index(transit, manager, routing).item)
    else:
        time_cb = routing.RegisterTransitMatrix(transit.tolist())
    routing.AddDimension(time_cb, c.horizon, c.horizon, False, "time")
    time = routing.GetDimensionOrDie("time")
    for node in range(c.n_nodes):
        ws = c.windows[node]
        if c.node_visit[node] < 0:
            continue
        index = manager.NodeToIndex(node)
        if ws:
            cv = time.CumulVar(index)
            cv.SetRange(ws[0][0], ws[-1][1])
            for (_, a_end), (b_start, _) in zip(ws, ws[1:], strict=False):
                if b_start - 1 >= a_end + 1:
                    cv.RemoveInterval(a_end + 1, b_start - 1)
        if c.optional_visits:
            routing.AddDisjunction([index], c.penalty[node])
        if c.allowed[node] is not None:
            # (SetAllowedVehiclesForIndex's Span argument is unusable from Python in 9.15)
            routing.VehicleVar(index).SetValues([-1, *c.allowed[node]])
    for v in range(nv):
        lo, hi = c.shifts[v]
        time.CumulVar(routing.Start(v)).SetRange(lo, hi)
        time.CumulVar(routing.End(v)).SetRange(lo, hi)
        if c.span_max[v] is not None:
            time.SetSpanUpperBoundForVehicle(c.span_max[v], v)
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(v)))
    for node, lo, hi, coef in c.soft_bounds:
        index = manager.NodeToIndex(node)
        time.SetCumulVarSoftLowerBound(index, lo, coef)
        time.SetCumulVarSoftUpperBound(index, hi, coef)

    # breaks and unavailability
    solver = routing.solver()
    intervals: list[Any] = []
    if c.breaks:
        visit_transit = [0] * routing.Size()
        for index in range(routing.Size()):
            node = manager.IndexToNode(index)
            visit_transit[index] = c.service[node]
        per_vehicle: dict[int, list[Any]] = {}
        for k, b in enumerate(c.breaks):
            iv = solver.FixedDurationIntervalVar(
                b.start_min, b.start_max, b.duration, False, f"b{k}"
            )
            for h_lo, h_hi in b.holes:
                iv.StartExpr().Var().RemoveInterval(h_lo, h_hi)
            per_vehicle.setdefault(b.vehicle, []).append(iv)
            intervals.append(iv)
            routing.AddIntervalToAssignment(iv)
        for v, ivs in per_vehicle.items():
            time.SetBreakIntervalsOfVehicle(ivs, v, visit_transit)

    if c.capacity is not None and c.demand is not None:
        dem_cb = routing.RegisterUnaryTransitVector(c.demand)
        routing.AddDimensionWithVehicleCapacity(dem_cb, 0, c.capacity, True, "load")

    if c.staff_soft is not None:
        cache: dict[tuple[int, ...], int] = {}
        cbs = []
        for vec in c.staff_soft:
            key = tuple(vec)
            if key not in cache:
                cache[key] = routing.RegisterUnaryTransitVector(vec)
            cbs.append(cache[key])
        cap = int(sum(max(vec) for vec in c.staff_soft) + 1)
        cap = max(cap, int(sum(sum(v) for v in c.staff_soft[:1])) + 1)
        routing.AddDimensionWithVehicleTransits(cbs, 0, cap, True, "staff_preference")
        routing.GetDimensionOrDie("staff_preference").SetSpanCostCoefficientForAllVehicles(1)
    return manager, routing, time, intervals


def _search_parameters(
    strategy: Strategy,
    seconds: float,
    params: SolveParams,
    first_solution: str | None = None,
    mean_arc_cost: float = 0.0,
):
    sp = pywrapcp.DefaultRoutingSearchParameters()
    fs = params.first_solution or first_solution or strategy.first_solution
    sp.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, fs)
    meta = params.metaheuristic or strategy.metaheuristic
    if meta is None:
        # OR-Tools' iterated local search: ruin and recreate, each perturbed plan improved by
        # greedy descent, accepted by simulated annealing or greedily. Only
        # SolveWithIteratedLocalSearch runs it (SolveWithParameters ignores these settings in
        # 9.15); see _one_search.
        sp.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        sp.use_iterated_local_search = True
        ils = sp.iterated_local_search_parameters
        ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
        rr = ils.ruin_recreate_parameters
        del rr.ruin_strategies[:]
        ruin = rr.ruin_strategies.add()
        if strategy.ruin == "sisr":
            ruin.sisr.max_removed_sequence_size = strategy.max_string
            ruin.sisr.avg_num_removed_visits = strategy.ruin_size
            ruin.sisr.bypass_factor = strategy.bypass_factor
        else:
            ruin.spatially_close_routes.num_ruined_routes = strategy.ruin_size
        if strategy.random_walk:
            rr.ruin_strategies.add().random_walk.num_removed_visits = strategy.random_walk
        rr.route_selection_max_neighbors = strategy.ruin_neighbors
        rr.ruin_composition_strategy = routing_ils_pb2.RuinCompositionStrategy.RUN_ONE_RANDOMLY
        rr.recreate_strategy.heuristic = getattr(
            routing_enums_pb2.FirstSolutionStrategy, strategy.recreate
        )
        if strategy.recreate_order:
            lci = rr.recreate_strategy.parameters.local_cheapest_insertion
            for name in strategy.recreate_order:
                lci.insertion_sorting_properties.append(
                    getattr(LocalCheapestInsertionParameters, f"SORTING_PROPERTY_{name}")
                )
        ils.improve_perturbed_solution = True  # (without it 9.15 aborts on break intervals)
        if strategy.acceptance == "greedy_descent":
            ils.reference_solution_acceptance_strategy.greedy_descent.SetInParent()
        else:
            sa = ils.reference_solution_acceptance_strategy.simulated_annealing
            sa.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
            if strategy.temperatures is None or not mean_arc_cost:
                sa.automatic_temperatures = True
            else:
                sa.automatic_temperatures = False
                sa.initial_temperature = strategy.temperatures[0] * mean_arc_cost
                sa.final_temperature = strategy.temperatures[1] * mean_arc_cost
        ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()
    else:
        sp.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, meta)
    for name in strategy.operators:
        setattr(sp.local_search_operators, name, optional_boolean_pb2.BOOL_TRUE)
    for name in strategy.operators_off:
        setattr(sp.local_search_operators, name, optional_boolean_pb2.BOOL_FALSE)
    if strategy.neighbors_ratio is not None:
        sp.ls_operator_neighbors_ratio = strategy.neighbors_ratio
        sp.ls_operator_min_neighbors = 10
    sp.time_limit.FromMilliseconds(max(10, int(seconds * 1000)))
    if params.log_search:
        sp.log_search = True
    return sp


def _run_search(
    c: _Compiled,
    strategy: Strategy,
    deadline: float,
    params: SolveParams,
    first_only: bool,
    rescue: bool = False,
) -> dict[str, Any] | None:
    """Build and search one model (or several starts); a plain description of the best plan."""
    t0 = time.time()
    starts = [strategy.first_solution]
    if not first_only and params.first_solution is None and c.n_nodes <= MAX_NODES_FOR_RESTARTS:
        for extra in strategy.restarts:
            if (deadline - t0) / (len(starts) + 1) >= MIN_SECONDS_PER_START:
                starts.append(extra)
    best = None
    for k, fs in enumerate(starts):
        slice_end = t0 + (deadline - t0) * (k + 1) / len(starts)
        found = _one_search(c, strategy, fs, slice_end, params, first_only, rescue)
        if found is not None and (best is None or found["objective"] < best["objective"]):
            best = found
    if best is not None:
        best["seconds"] = time.time() - t0
    return best


def _mean_arc_cost(c: _Compiled) -> float:
    """The mean cost of an arc between two places of the day, over the staff, in the
    objective's units: the scale of simulated annealing's temperatures."""
    dur = np.array(c.dur, dtype=np.int64)
    dist = np.array(c.dist, dtype=np.int64)
    means = {key: float(arc_cost_matrix(dur, dist, key).mean()) for key in set(c.arc_costs)}
    return sum(means[key] for key in c.arc_costs) / max(1, len(c.arc_costs))


def _solve(routing: Any, sp: Any) -> Any:
    """Run the search ``sp`` describes: iterated local search has its own entry point."""
    if sp.use_iterated_local_search and sp.solution_limit != 1:
        return routing.SolveWithIteratedLocalSearch(sp)
    return routing.SolveWithParameters(sp)


def _one_search(
    c: _Compiled,
    strategy: Strategy,
    first_solution: str,
    deadline: float,
    params: SolveParams,
    first_only: bool,
    rescue: bool,
) -> dict[str, Any] | None:
    manager, routing, time_dim, intervals = _build(c)
    if strategy.from_insertion_plan and not first_only:
        assignment = _improve_insertion_plan(c, strategy, deadline, params, manager, routing)
    else:
        remaining = deadline - time.time()
        scale = _mean_arc_cost(c) if strategy.temperatures is not None else 0.0
        sp = _search_parameters(strategy, max(0.05, remaining), params, first_solution, scale)
        if first_only:
            sp.solution_limit = 1
        assignment = _solve(routing, sp)
    if assignment is None and rescue and not first_only:
        # out of time before any plan: take the first plan found, whatever the budget
        sp = _search_parameters(strategy, FIRST_PLAN_SECONDS, params, first_solution)
        sp.solution_limit = 1
        assignment = _solve(routing, sp)
    if assignment is None:
        return None
    routes = []
    for v in range(len(c.starts)):
        index = routing.Start(v)
        stops = []
        start_cumul = assignment.Value(time_dim.CumulVar(index))
        index = assignment.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            stops.append((manager.IndexToNode(index), assignment.Value(time_dim.CumulVar(index))))
            index = assignment.Value(routing.NextVar(index))
        end_cumul = assignment.Value(time_dim.CumulVar(index))
        routes.append({"start": start_cumul, "end": end_cumul, "stops": stops})
    placed = []
    if intervals:
        container = assignment.IntervalVarContainer()
        by_name = {}
        for i in range(container.Size()):
            el = container.Element(i)
            by_name[el.Var().Name()] = el
        for k, iv in enumerate(intervals):
            el = by_name.get(iv.Name())
            if el is not None and el.PerformedValue():
                placed.append((k, el.StartValue()))
    return {
        "objective": assignment.ObjectiveValue(),
        "routes": routes,
        "breaks": placed,
        "strategy": f"{strategy.name}:{first_solution}",
        "first_only": first_only,
    }


def _improve_insertion_plan(
    c: _Compiled,
    strategy: Strategy,
    deadline: float,
    params: SolveParams,
    manager: Any,
    routing: Any,
) -> Any:
    """The quick insertion plan read into the model, then improved by ``strategy``'s search
    until ``deadline`` (None if the plan cannot be read: the caller's rescue takes over)."""
    plan = insertion_plan(c, deadline)
    sp = _search_parameters(strategy, max(0.05, deadline - time.time()), params)
    routing.CloseModelWithParameters(sp)
    routes = [[manager.NodeToIndex(node) for node, _ in r["stops"]] for r in plan["routes"]]
    initial = routing.ReadAssignmentFromRoutes(routes, True)
    if initial is None:
        return None
    sp.time_limit.FromMilliseconds(max(10, int((deadline - time.time()) * 1000)))
    return routing.SolveFromAssignmentWithParameters(initial, sp)


def _spawn_worker() -> subprocess.Popen[bytes]:
    """Start a worker process now (its imports overlap with preparing the model)."""
    return subprocess.Popen(
        [sys.executable, "-m", "optimizer.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=str(Path(__file__).resolve().parent.parent),
    )


def _send_job(proc: subprocess.Popen[bytes], job: tuple[Any, ...]) -> bool:
    """Hand the job to the worker without waiting for it to finish its imports."""
    stdin = proc.stdin
    assert stdin is not None
    payload = pickle.dumps(job)
    proc.stdin = None  # ours now: communicate() must not touch it

    def write() -> None:
        try:
            stdin.write(payload)
            stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass

    threading.Thread(target=write, daemon=True).start()
    return True


def _collect(proc: subprocess.Popen[bytes], deadline: float) -> dict[str, Any] | None:
    """The worker's result, or None if it fails or overruns the deadline by more than a bit."""
    try:
        out, _ = proc.communicate(timeout=max(0.2, deadline - time.time() + WORKER_GRACE_S))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    if proc.returncode != 0 or not out:
        return None
    result = pickle.loads(out)
    if result is None or "error" in result:
        return None
    return result


def _enough_visits_for_ils(n_visits: int, n_staff: int) -> bool:
    """Whether OR-Tools 9.15's iterated local search may run on a day this size.

    Measured: with fewer visits than staff members whose homes differ it never returns (it
    ignores its time limit); with at least as many it behaves. Kept at twice as many for margin."""
    return n_visits >= ILS_MIN_VISITS_PER_STAFF * n_staff


def _ils_safe(c: _Compiled) -> bool:
    """Whether iterated local search may run on this model (visits that entered it)."""
    return _enough_visits_for_ils(sum(1 for n in c.node_visit if n >= 0), len(c.starts))


def _may_run_ils(
    problem: Problem, params: SolveParams, strategies: Sequence[Strategy] | None
) -> bool:
    """Whether ``_search`` may run iterated local search, judged before the model is built
    (workers are started first, so that their imports overlap with building it): never for a
    first plan, for strategies that name a metaheuristic, or for fewer visits than
    ``_ils_safe`` needs."""
    if params.solution_limit == 1:
        return False
    if strategies and all(s.metaheuristic is not None for s in strategies):
        return False
    return _enough_visits_for_ils(len(problem.visits), len(problem.staff))


def _fallback(strategy: Strategy, c: _Compiled) -> Strategy:
    """The guided-local-search stand-in for an iterated-local-search strategy."""
    if strategy.metaheuristic is not None:
        return strategy
    return GLS_FALLBACK_DISTANCE if c.objective == "distance" else GLS_FALLBACK_FIELD


def default_strategies(params: SolveParams, n_visits: int) -> tuple[Strategy, ...]:
    """The searches run side by side: benchmark distance, field days, or large field days."""
    if params.objective == "distance":
        return STRATEGIES
    if n_visits >= LARGE_DAY_VISITS:
        return (FIELD_STRATEGIES[0], INSERTION_GLS)
    return FIELD_STRATEGIES


def _search(
    c: _Compiled,
    params: SolveParams,
    deadline: float,
    strategies: Sequence[Strategy] | None,
    procs: list[subprocess.Popen[bytes]],
) -> dict[str, Any] | None:
    """Independent searches, the best plan kept.

    Iterated local search runs only in worker processes, which are killed if they overrun the
    deadline (it can hang in 9.15, see ``_ils_safe``); other searches run the first strategy in
    this process and the others in workers."""
    if not strategies:
        strategies = default_strategies(params, sum(1 for n in c.node_visit if n >= 0))
    strategies = list(strategies)
    if not _ils_safe(c):
        strategies = [_fallback(s, c) for s in strategies]
    first_only = params.solution_limit == 1
    quick = None
    if first_only:
        # a plan in about a second whatever the size of the day
        quick = insertion_plan(c, deadline)
        if any(r["stops"] for r in quick["routes"]):
            return quick
    ils = any(s.metaheuristic is None for s in strategies) and not first_only
    local: Strategy | None = None
    if not procs:
        local = _fallback(strategies[0], c)
    elif not ils:
        local, strategies = strategies[0], strategies[1:] or strategies
        procs = procs[: max(1, params.num_workers) - 1]  # this process searches too
    # workers hand over a little early when this process searches too, so both end together
    worker_deadline = deadline - WORKER_EXIT_S if local is not None else deadline
    running = []
    for i, proc in enumerate(procs):
        job = (c, strategies[i % len(strategies)], worker_deadline, params, first_only)
        if _send_job(proc, job):
            running.append(proc)
    results: list[dict[str, Any] | None] = []
    try:
        if quick is None and c.objective != "distance":
            # while the workers search: a candidate the OR-Tools plans must beat (they stall
            # on large days with breaks)
            quick = insertion_plan(c, deadline)
        if local is not None:
            results.append(_run_search(c, local, deadline, params, first_only, rescue=True))
    finally:
        results += [_collect(p, deadline) for p in running]
    found = [r for r in results if r is not None]
    if quick is not None:
        found.append({**quick, "first_only": False})
    if not found and local is None:
        # every worker failed or overran: a first plan here, whatever the budget
        fallback = _fallback(strategies[0], c)
        rescued = _run_search(c, fallback, time.time() + 0.05, params, False, rescue=True)
        found = [rescued] if rescued is not None else []
    if not found:
        return None
    return min(found, key=lambda r: r["objective"])


# --------------------------------------------------------------------- result


def solve(
    problem: Problem,
    params: SolveParams | None = None,
    travel: TravelProvider | None = None,
    strategies: Sequence[Strategy] | None = None,
) -> Solution:
    """Plan ``problem``; always returns a plan (possibly with every visit unassigned)."""
    params = params or SolveParams()
    started = time.time()
    margin = RESULT_MARGIN_S + RESULT_MARGIN_PER_VISIT_S * len(problem.visits)
    deadline = started + max(0.1, params.time_limit_seconds - margin)
    n_workers = max(1, params.num_workers)
    if params.time_limit_seconds < MIN_SECONDS_FOR_WORKERS or not problem.visits:
        n_workers = 1  # a worker's start-up would eat the whole budget
    # with two or more, every search may run in a worker (iterated local search must); without
    # iterated local search this process searches too, so one worker fewer is started
    n_procs = 0
    if n_workers > 1:
        n_procs = n_workers if _may_run_ils(problem, params, strategies) else n_workers - 1
    procs = [_spawn_worker() for _ in range(n_procs)]
    try:
        prep = _prepare(problem, params, travel)
        c = prep.compiled
        raw = None
        if any(n >= 0 for n in c.node_visit) and problem.staff:
            raw = _search(c, params, max(deadline, time.time() + 0.05), strategies, procs)
    finally:
        for proc in procs:
            if proc.poll() is None and proc.stdin is not None:
                proc.kill()  # never got a job
                proc.communicate()
    if raw is None:  # no visit to plan or no plan found: every visit unassigned
        raw = {
            "objective": 0,
            "routes": [
                {"start": c.shifts[v][0], "end": c.shifts[v][0], "stops": []}
                for v in range(len(c.starts))
            ],
            "breaks": [],
            "strategy": "none",
            "first_only": False,
        }
        status = "empty"
    else:
        status = "first_solution" if raw["first_only"] else "optimized"
    return _to_solution(problem, params, prep, raw, status, time.time() - started)


def _to_solution(
    problem: Problem,
    params: SolveParams,
    prep: _Prepared,
    raw: dict[str, Any],
    status: str,
    seconds: float,
) -> Solution:
    c = prep.compiled
    staff = problem.staff
    visits = problem.visits
    breaks_by_vehicle: dict[int, list[tuple[int, int, _BreakSpec]]] = {}
    for k, start in raw["breaks"]:
        b = c.breaks[k]
        breaks_by_vehicle.setdefault(b.vehicle, []).append((start, start + b.duration, b))

    def break_time_in(v: int, lo: int, hi: int) -> int:
        return sum(max(0, min(e, hi) - max(s, lo)) for s, e, _ in breaks_by_vehicle.get(v, []))

    def drive(v: int, t: int, seconds: int) -> int:
        """Arrival when leaving at ``t`` and driving ``seconds``, pausing for breaks."""
        for bs, be, _ in sorted(breaks_by_vehicle.get(v, []), key=lambda x: x[0]):
            if be <= t:
                continue
            if bs >= t + seconds:
                break
            seconds -= max(0, bs - t)
            t = max(t, be)
        return t + seconds

    routes: list[Route] = []
    assigned: dict[int, tuple[int, Stop]] = {}
    for v, r in enumerate(raw["routes"]):
        s = staff[v]
        stops: list[Stop] = []
        prev_node = c.starts[v]
        prev_end = r["start"]
        travel_s = travel_m = service_s = 0
        for node, start in r["stops"]:
            vi = c.node_visit[node]
            visit = visits[vi]
            leg_s = c.dur[prev_node][node]
            leg_m = c.dist[prev_node][node]
            if not stops and not break_time_in(v, prev_end, start):
                # leave as late as possible instead of waiting at the first customer
                prev_end = max(prev_end, start - leg_s)
                r = {**r, "start": prev_end}
            arrival = drive(v, prev_end, leg_s)
            wait = max(0, start - arrival - break_time_in(v, arrival, start))
            reach = (
                s.shift.start + c.dur[c.starts[v]][node],
                s.shift.end - visit.duration - c.dur[node][c.ends[v]],
            )
            promised = _promise(visit, start, params, reach)
            stop = Stop(
                visit_id=visit.id,
                arrival=min(arrival, start),
                start=start,
                end=start + visit.duration,
                travel_seconds=leg_s,
                travel_metres=leg_m,
                wait_seconds=wait,
                promised_window=promised,
            )
            stops.append(stop)
            assigned[vi] = (v, stop)
            travel_s += leg_s
            travel_m += leg_m
            service_s += visit.duration
            prev_node, prev_end = node, start + visit.duration
        ret_s = c.dur[prev_node][c.ends[v]]
        ret_m = c.dist[prev_node][c.ends[v]]
        if stops:
            end_time = min(r["end"], prev_end + ret_s + break_time_in(v, prev_end, r["end"]))
            end_time = max(end_time, prev_end + ret_s)
            start_time = r["start"]
        else:
            end_time = start_time = r["start"]
            ret_s = ret_m = 0
        travel_s += ret_s
        travel_m += ret_m
        placed = tuple(
            PlacedBreak(
                id=b.id.split(":", 1)[-1] if b.kind == "unavailable" else b.id,
                start=bs,
                end=be,
                kind=b.kind,
            )  # type: ignore[arg-type]
            for bs, be, b in sorted(breaks_by_vehicle.get(v, []), key=lambda x: x[0])
            if stops and (b.kind == "break" or (be > start_time and bs < end_time))
        )
        span = end_time - start_time
        working = span - break_time_in(v, start_time, end_time) if stops else 0
        shift_len = max(1, s.shift.end - s.shift.start)
        routes.append(
            Route(
                staff_id=s.id,
                stops=tuple(stops),
                breaks=placed,
                start_time=start_time,
                end_time=end_time,
                return_travel_seconds=ret_s,
                return_travel_metres=ret_m,
                travel_seconds=travel_s,
                travel_metres=travel_m,
                service_seconds=service_s,
                working_seconds=working,
                utilisation=round(working / shift_len, 4),
            )
        )

    unassigned = list(prep.excluded)
    insertion = _InsertionCheck(problem, prep, routes)
    for vi, _node in prep.node_of_visit.items():
        if vi not in assigned:
            unassigned.append(_dropped_reason(problem, prep, vi, routes, insertion))
    order = {v.id: i for i, v in enumerate(visits)}
    unassigned.sort(key=lambda u: order[u.visit_id])

    moved = []
    for vi, v in enumerate(visits):
        if v.previous_staff is None and v.previous_start is None:
            continue
        got = assigned.get(vi)
        new_staff = staff[got[0]].id if got else None
        new_start = got[1].start if got else None
        changed = new_staff != v.previous_staff
        if not changed and v.previous_start is not None and new_start is not None:
            changed = not _previous_window(v, params).contains(new_start)
        if changed:
            moved.append(MovedVisit(v.id, v.previous_staff, new_staff, v.previous_start, new_start))

    used = [r for r in routes if r.stops]
    shift_total = sum(
        staff[i].shift.end - staff[i].shift.start for i, r in enumerate(routes) if r.stops
    )
    work_total = sum(r.working_seconds for r in used)
    totals = Totals(
        travel_seconds=sum(r.travel_seconds for r in routes),
        travel_metres=sum(r.travel_metres for r in routes),
        service_seconds=sum(r.service_seconds for r in routes),
        working_seconds=work_total,
        utilisation=round(work_total / shift_total, 4) if shift_total else 0.0,
        visits_assigned=len(assigned),
        visits_unassigned=len(unassigned),
        priority_served=sum(visits[vi].priority for vi in assigned),
        priority_total=sum(v.priority for v in visits),
    )
    return Solution(
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        moved=tuple(moved),
        totals=totals,
        rules_checked=RULES,
        objective=int(raw["objective"]),
        status=status,
        solve_seconds=round(seconds, 3),
        params=params,
    )


def _promise(visit: Visit, start: int, params: SolveParams, reach: tuple[int, int]) -> TimeWindow:
    """The arrival window to promise: ``arrival_window_seconds`` around ``start``, moved to lie
    between the earliest and latest start the staff member's shift allows (``reach``: shift
    start plus the drive from home; shift end minus the visit and the drive home; narrower only
    when that span is), then cut to the customer's window. A technician who starts at 08:00
    twenty minutes away is not promised from 07:20."""
    if visit.locked and visit.previous_window is not None:
        return visit.previous_window
    width = params.arrival_window_seconds
    earliest, latest = reach
    if not earliest <= start <= latest:  # (not in a feasible plan): centred, as before
        earliest, latest = start - width, start + width
    lo = max(min(start - width // 2, latest - width), earliest)
    hi = min(lo + width, latest)
    for w in visit.windows:
        if w.contains(start):
            lo, hi = max(lo, w.start), min(hi, w.end)
    return TimeWindow(lo, hi)


def _dropped_reason(
    problem: Problem,
    prep: _Prepared,
    vi: int,
    routes: list[Route],
    insertion: _InsertionCheck,
) -> Unassigned:
    """Why the search left a plannable visit out: measured against the final routes."""
    v = problem.visits[vi]
    label = _staff_labels(problem.staff)
    if v.locked:
        held_by = next(
            (label[i] for i, s in enumerate(problem.staff) if s.id == v.previous_staff),
            str(v.previous_staff),
        )
        return Unassigned(
            v.id,
            "locked_conflict",
            f"locked to {held_by} in its promised window, but that no longer fits "
            "(shift, breaks or other locked visits)",
            {"variant": "no_longer_fits", "staff": held_by},
        )
    node = prep.node_of_visit[vi]
    best: tuple[int, str, str] | None = None  # lateness, staff label, visit before ("": first)
    places = ((si, pos) for si in prep.capable[vi] for pos in range(len(routes[si].stops) + 1))
    for si, pos in places:
        late = insertion.lateness(si, pos, node, best[0] if best is not None else None)
        if best is None or late < best[0]:
            best = (late, label[si], str(routes[si].stops[pos - 1].visit_id) if pos else "")
        if best[0] == 0:
            break  # no place can do better than on time
    candidates = tuple(label[i] for i in prep.capable[vi])
    who = _who_could_do_it(candidates)
    free = sum(
        max(
            0,
            (problem.staff[i].shift.end - problem.staff[i].shift.start) - routes[i].working_seconds,
        )
        for i in prep.capable[vi]
    )
    assert best is not None
    late, best_label, before = best
    place = f"{best_label} ({f'after {before}' if before else 'first'})"
    facts: dict[str, ReasonParam] = {
        "candidates": candidates,
        "staff": best_label,
        "after": before,
    }
    if late > 0:
        text = (
            f"{who} fully booked: the best place for it, "
            f"{place}, would run {max(1, late // 60)} min late; "
            f"{free // 60} min of shift left in total"
        )
        facts.update(variant="late", minutes_late=max(1, late // 60), minutes_left=free // 60)
    else:
        text = (
            f"{who} fully booked: fitting it in "
            f"({place}) would break a lunch break, a busy interval or the maximum working time"
        )
        facts["variant"] = "breaks_rules"
    return Unassigned(v.id, "fully_booked", text, facts)


class _InsertionCheck:
    """Lateness of each route with one more visit inserted (earliest starts, breaks ignored),
    for the reasons of unassigned visits: each route's prefix is walked once, and a walk stops
    as soon as it is as late as the best insertion found so far (lateness only grows)."""

    def __init__(self, problem: Problem, prep: _Prepared, routes: list[Route]) -> None:
        self.c = c = prep.compiled
        pos_of = {x.id: i for i, x in enumerate(problem.visits)}
        self.nodes = [
            [prep.node_of_visit[pos_of[st.visit_id]] for st in route.stops] for route in routes
        ]
        # prefixes[v][k]: (time, lateness, last node) after the first k stops of route v
        self.prefixes: list[list[tuple[int, int, int]]] = []
        for v, nodes in enumerate(self.nodes):
            state = (c.shifts[v][0], 0, c.starts[v])
            states = [state]
            for node in nodes:
                state = self._step(state, node)
                states.append(state)
            self.prefixes.append(states)

    def _step(self, state: tuple[int, int, int], node: int) -> tuple[int, int, int]:
        t, late, prev = state
        t += self.c.dur[prev][node]
        ws = self.c.windows[node]
        if ws:
            ok = [w for w in ws if t <= w[1]]
            if ok:
                t = max(t, ok[0][0])
            else:
                late += t - ws[-1][1]
        return t + self.c.service[node], late, node

    def lateness(self, v: int, pos: int, node: int, bound: int | None = None) -> int:
        """Total lateness of route ``v`` with ``node`` inserted before its stop ``pos``; once
        it reaches ``bound`` the walk stops and returns what it has (at least ``bound``)."""
        state = self._step(self.prefixes[v][pos], node)
        for nxt in self.nodes[v][pos:]:
            if bound is not None and state[1] >= bound:
                return state[1]
            state = self._step(state, nxt)
        t, late, prev = state
        t += self.c.dur[prev][self.c.ends[v]]
        return late + max(0, t - self.c.shifts[v][1])
