"""A fast first plan: cheapest feasible insertion, visit by visit, in plain Python.

OR-Tools' first-solution strategies propagate every break interval on every insertion, which on
large days with lunch breaks takes tens of seconds (BENCHMARKS.md). This heuristic keeps each
route as a sequence of *elements*, visits and breaks, and replays a route's timeline only from the
insertion point until it meets its old schedule again, so a plan for 1,000 visits takes about a
second. Each route also keeps the latest arrival each of its elements allows, so most places that
cannot fit are rejected without a replay. Breaks are taken at a stop (before driving on), which
every rule allows.

It reads the same compiled model as the OR-Tools search and returns the same plain description
(routes of ``(node, start)``, placed breaks, objective in the search's units), so the solver keeps
whichever plan is cheaper. It imports nothing from OR-Tools.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.costs import arc_cost_matrix

if TYPE_CHECKING:  # the solver imports this module; only its types are needed here
    from optimizer.solver import _Compiled

NEVER = -(10**18)  # a latest time before any time: nothing fits


@dataclass
class _Route:
    """One staff member's sequence: ``elems`` holds node ids (visits) and ``-1 - k`` (break k)."""

    vehicle: int
    elems: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    locs: list[int] = field(default_factory=list)  # where the staff member is after element i
    load: int = 0
    n_visits: int = 0
    latest: list[int] = field(default_factory=list)  # see _Planner._latest_arrivals


class _Planner:
    def __init__(self, c: _Compiled) -> None:
        self.c = c
        self.dur = c.dur
        self.costs: dict[tuple[int, int, int], list[list[int]]] = {
            (0, 1, 0): c.dur,
            (0, 0, 1): c.dist,
        }
        for key in c.arc_costs:
            if key not in self.costs:
                m = arc_cost_matrix(np.array(c.dur), np.array(c.dist), key)
                self.costs[key] = m.tolist()
        self.routes: list[_Route | None] = []
        for v in range(len(c.starts)):
            r = _Route(v)
            r.elems = [
                -1 - k
                for k, _ in sorted(
                    ((k, b) for k, b in enumerate(c.breaks) if b.vehicle == v),
                    key=lambda kb: (kb[1].start_min, kb[1].start_max),
                )
            ]
            sched = self._replay(v, r.elems, 0, c.shifts[v][0], c.starts[v], None)
            if sched is None and r.elems:
                self.routes.append(None)  # its breaks alone do not fit its shift: unusable
                continue
            r.starts, r.locs = sched or ([], [])
            r.latest = self._latest_arrivals(r)
            self.routes.append(r)

    # ------------------------------------------------------------------ timeline

    def _start_at(self, node: int, arrival: int) -> int | None:
        ws = self.c.windows[node]
        if ws is None:
            return arrival if arrival <= self.c.horizon else None
        for lo, hi in ws:
            if arrival <= hi:
                return max(arrival, lo)
        return None

    def _break_start(self, k: int, t: int) -> int | None:
        b = self.c.breaks[k]
        s = max(t, b.start_min)
        for h_lo, h_hi in b.holes:
            if h_lo <= s <= h_hi:
                s = h_hi + 1
        return s if s <= b.start_max else None

    def _end(self, k_elem: int, start: int) -> int:
        if k_elem >= 0:
            return start + self.c.service[k_elem]
        return start + self.c.breaks[-1 - k_elem].duration

    def _replay(
        self, v: int, elems: list[int], i0: int, t: int, loc: int, old: _Route | None
    ) -> tuple[list[int], list[int]] | None:
        """Starts and locations of ``elems[i0:]`` when leaving ``loc`` at ``t``; None if a rule
        breaks. With ``old`` (the route before ``elems[i0]`` was inserted) the replay stops as
        soon as it meets the old schedule: from there on nothing changes."""
        c = self.c
        starts: list[int] = []
        locs: list[int] = []
        for i in range(i0, len(elems)):
            e = elems[i]
            if e >= 0:
                s = self._start_at(e, t + self.dur[loc][e])
                new_loc = e
            else:
                s = self._break_start(-1 - e, t)
                new_loc = loc
            if s is None:
                return None
            if old is not None and i > i0 and old.starts[i - 1] == s and old.locs[i - 1] == new_loc:
                return starts + old.starts[i - 1 :], locs + old.locs[i - 1 :]
            starts.append(s)
            locs.append(new_loc)
            t = self._end(e, s)
            loc = new_loc
        lo, hi = c.shifts[v]
        end = t + self.dur[loc][c.ends[v]]
        if end > hi:
            return None
        span_max = c.span_max[v]
        if span_max is not None and i0 == 0 and elems and elems[0] >= 0:
            begin = max(lo, starts[0] - self.dur[c.starts[v]][elems[0]])
            if end - begin > span_max:
                return None
        elif span_max is not None and any(e >= 0 for e in elems) and end - lo > span_max:
            return None
        return starts, locs

    # ------------------------------------------------------------------ quick rejection

    def _latest_visit_arrival(self, node: int, latest_start: int) -> int:
        """The latest arrival at ``node`` from which it can start by ``latest_start``."""
        ws = self.c.windows[node]
        if ws is None:
            return min(latest_start, self.c.horizon)
        best = NEVER
        for lo, hi in ws:  # windows in order: the last one opening in time gives the most room
            if lo <= latest_start:
                best = min(hi, latest_start)
        return best

    def _latest_break_ready(self, k: int, latest_start: int) -> int:
        """The latest time the staff member may be ready for break ``k`` so that it starts by
        ``latest_start`` (``_break_start`` is monotone in that time: a binary search)."""
        b = self.c.breaks[k]
        bound = min(latest_start, b.start_max)
        start = self._break_start(k, b.start_min)
        if start is None or start > bound:
            return NEVER
        lo, hi = b.start_min, bound  # _break_start(lo) fits; find the largest time that does
        while lo < hi:
            mid = (lo + hi + 1) // 2
            start = self._break_start(k, mid)
            if start is not None and start <= bound:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _latest_arrivals(self, r: _Route) -> list[int]:
        """For each element of ``r`` the latest arrival (ready time, for a break) from which the
        rest of the route still keeps every rule, and for the route's end the latest return:
        an insertion right before a visit (or at the end) that arrives later cannot fit, so it
        needs no replay. ``NEVER`` where nothing fits."""
        c = self.c
        v = r.vehicle
        n = len(r.elems)
        latest = [NEVER] * (n + 1)
        latest[n] = c.shifts[v][1]
        for i in range(n - 1, -1, -1):
            e = r.elems[i]
            loc = r.locs[i]
            if i + 1 == n:
                leg = self.dur[loc][c.ends[v]]
            else:
                nxt = r.elems[i + 1]
                leg = self.dur[loc][nxt] if nxt >= 0 else 0
            if latest[i + 1] == NEVER:
                break
            latest_end = latest[i + 1] - leg
            if e >= 0:
                latest[i] = self._latest_visit_arrival(e, latest_end - c.service[e])
            else:
                latest[i] = self._latest_break_ready(-1 - e, latest_end - c.breaks[-1 - e].duration)
        return latest

    def _departure(self, r: _Route, pos: int) -> tuple[int, int]:
        """When and where the staff member leaves for the element at ``pos``."""
        if pos == 0:
            return self.c.shifts[r.vehicle][0], self.c.starts[r.vehicle]
        return self._end(r.elems[pos - 1], r.starts[pos - 1]), r.locs[pos - 1]

    def _cannot_fit(self, r: _Route, node: int, pos: int) -> bool:
        """True when ``node`` at ``pos`` surely breaks a rule (no replay needed); False when a
        replay must tell (before a break the next legs start elsewhere; working-time limits)."""
        c = self.c
        v = r.vehicle
        if c.span_max[v] is not None or (pos < len(r.elems) and r.elems[pos] < 0):
            return False
        t, loc = self._departure(r, pos)
        start = self._start_at(node, t + self.dur[loc][node])
        if start is None:
            return True
        nxt = r.elems[pos] if pos < len(r.elems) else c.ends[v]
        return start + c.service[node] + self.dur[node][nxt] > r.latest[pos]

    # ------------------------------------------------------------------ insertion

    def _try(self, r: _Route, node: int, pos: int) -> tuple[list[int], list[int]] | None:
        """The route's schedule with ``node`` at ``pos``, or None if that breaks a rule."""
        c = self.c
        v = r.vehicle
        elems = r.elems[:pos] + [node] + r.elems[pos:]
        if c.span_max[v] is not None:
            # working time depends on the whole route: replay it all
            return self._replay(v, elems, 0, c.shifts[v][0], c.starts[v], None)
        t, loc = self._departure(r, pos)
        tail = self._replay(v, elems, pos, t, loc, r)
        if tail is None:
            return None
        return r.starts[:pos] + tail[0], r.locs[:pos] + tail[1]

    def insert(self, node: int) -> bool:
        """Put ``node`` where it adds least cost among the feasible places; False if none."""
        c = self.c
        vehicles = c.allowed[node]
        cands: list[tuple[int, int, int]] = []
        for v in vehicles if vehicles is not None else range(len(c.starts)):
            r = self.routes[v]
            if r is None:
                continue
            if c.demand is not None and c.capacity is not None:
                if r.load + c.demand[node] > c.capacity[v]:
                    continue
            cost = self.costs[c.arc_costs[v]]
            extra = c.staff_soft[v][node] if c.staff_soft is not None else 0
            # the next real place after each position (breaks are taken where one stands)
            nxt = c.ends[v]
            after = [0] * (len(r.elems) + 1)
            after[len(r.elems)] = nxt
            for i in range(len(r.elems) - 1, -1, -1):
                if r.elems[i] >= 0:
                    nxt = r.elems[i]
                after[i] = nxt
            prev = c.starts[v]
            row_node = cost[node]
            for pos in range(len(r.elems) + 1):
                if pos:
                    prev = r.locs[pos - 1]
                b = after[pos]
                if r.n_visits == 0:
                    delta = cost[prev][node] + row_node[c.ends[v]]
                else:
                    delta = cost[prev][node] + row_node[b] - cost[prev][b]
                cands.append((delta + extra, v, pos))
        cands.sort()
        for _, v, pos in cands:
            r = self.routes[v]
            assert r is not None
            if self._cannot_fit(r, node, pos):
                continue
            sched = self._try(r, node, pos)
            if sched is None:
                continue
            r.elems.insert(pos, node)
            r.starts, r.locs = sched
            r.latest = self._latest_arrivals(r)
            r.n_visits += 1
            if c.demand is not None:
                r.load += c.demand[node]
            return True
        return False

    # ------------------------------------------------------------------ result

    def result(self) -> dict[str, Any]:
        c = self.c
        routes = []
        placed = []
        objective = 0
        served: set[int] = set()
        for v in range(len(c.starts)):
            r = self.routes[v]
            lo = c.shifts[v][0]
            if r is None or r.n_visits == 0:
                # an unused route: its breaks are never shown, so none are placed
                routes.append({"start": lo, "end": lo, "stops": []})
                continue
            stops = [(e, s) for e, s in zip(r.elems, r.starts, strict=True) if e >= 0]
            placed += [(-1 - e, s) for e, s in zip(r.elems, r.starts, strict=True) if e < 0]
            last = r.elems[-1]
            t_end = self._end(last, r.starts[-1])
            end = t_end + c.dur[r.locs[-1]][c.ends[v]]
            routes.append({"start": lo, "end": end, "stops": stops})
            cost = self.costs[c.arc_costs[v]]
            path = [c.starts[v], *(n for n, _ in stops), c.ends[v]]
            objective += sum(cost[a][b] for a, b in zip(path, path[1:], strict=False))
            if c.staff_soft is not None:
                objective += sum(c.staff_soft[v][n] for n, _ in stops)
            served.update(n for n, _ in stops)
        starts = {n: s for r in routes for n, s in r["stops"]}
        for node, slo, shi, coef in c.soft_bounds:
            if node in starts:
                objective += coef * (max(0, slo - starts[node]) + max(0, starts[node] - shi))
        objective += sum(
            c.penalty[n] for n in range(c.n_nodes) if c.node_visit[n] >= 0 and n not in served
        )
        return {
            "objective": objective,
            "routes": routes,
            "breaks": placed,
            "strategy": "insertion",
            "first_only": True,
        }


def _order(c: _Compiled) -> list[int]:
    """Visits most costly to leave out first; among equals, tightest and earliest windows."""
    nodes = [n for n in range(c.n_nodes) if c.node_visit[n] >= 0]

    def key(n: int) -> tuple[int, int, int, int]:
        ws = c.windows[n]
        width = sum(b - a for a, b in ws) if ws else c.horizon
        end = ws[-1][1] if ws else c.horizon
        n_staff = len(c.allowed[n]) if c.allowed[n] is not None else len(c.starts)
        return (-c.penalty[n], n_staff, end, width)

    return sorted(nodes, key=key)


def insertion_plan(c: _Compiled, deadline: float | None = None) -> dict[str, Any]:
    """A feasible plan built by cheapest insertion; visits that fit nowhere stay unplanned.

    Visits go in order of their drop penalty (priority), then fewest capable staff, then
    earliest window. Stops early (with what it has planned) once ``deadline`` passes."""
    planner = _Planner(c)
    for node in _order(c):
        if deadline is not None and time.time() > deadline:
            break
        planner.insert(node)
    return planner.result()
