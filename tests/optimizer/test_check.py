"""The independent checker catches broken plans (so the property tests can fail)."""

from __future__ import annotations

import dataclasses

from optimizer.check import check_solution
from optimizer.model import Break, Unavailability
from optimizer.solver import solve
from tests.optimizer.helpers import H, fast, problem, staff, visit, window


def _plan():
    p = problem(
        [staff("ana", {"gas"}, breaks=(Break(1800, (window(12, 14),)),))],
        [visit(1, 1, windows=(window(9, 10),)), visit(2, 3, required_skills={"gas"})],
    )
    sol = solve(p, fast())
    assert check_solution(p, sol) == []
    return p, sol


def _replace_stop(sol, vid, **changes):
    routes = []
    for r in sol.routes:
        stops = tuple(
            dataclasses.replace(s, **changes) if s.visit_id == vid else s for s in r.stops
        )
        routes.append(dataclasses.replace(r, stops=stops))
    return dataclasses.replace(sol, routes=tuple(routes))


def test_window_violation_detected():
    p, sol = _plan()
    bad = _replace_stop(sol, 1, start=11 * H, end=12 * H)
    assert any("outside its windows" in e for e in check_solution(p, bad))


def test_missing_skill_detected():
    p, sol = _plan()
    p2 = dataclasses.replace(p, staff=(dataclasses.replace(p.staff[0], skills=frozenset()),))
    assert any("lacks" in e for e in check_solution(p2, sol))


def test_unreachable_and_busy_detected():
    p, sol = _plan()
    busy = Unavailability(8 * H, 17 * H)
    p2 = dataclasses.replace(p, staff=(dataclasses.replace(p.staff[0], unavailability=(busy,)),))
    errors = check_solution(p2, sol)
    assert any("overlaps a break or busy" in e for e in errors)


def test_dropped_visit_detected():
    p, sol = _plan()
    routes = tuple(dataclasses.replace(r, stops=r.stops[:1]) for r in sol.routes)
    errors = check_solution(p, dataclasses.replace(sol, routes=routes))
    assert any("neither planned nor unassigned" in e for e in errors)


def test_break_outside_window_detected():
    p, sol = _plan()
    r = sol.routes[0]
    moved = tuple(dataclasses.replace(b, start=16 * H, end=16 * H + 1800) for b in r.breaks)
    bad = dataclasses.replace(sol, routes=(dataclasses.replace(r, breaks=moved),))
    assert any("outside its windows" in e for e in check_solution(p, bad))
