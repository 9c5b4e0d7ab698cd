"""The quick first plan (cheapest insertion): every rule kept, on problems whose answer is known.

Skills and priority: the ``[first-plan]`` cases of ``test_solver``."""

from __future__ import annotations

import time

from hypothesis import given

from optimizer import solver as solver_module
from optimizer.check import check_solution
from optimizer.insertion import _order, _Planner, insertion_plan
from optimizer.model import Break, SolveParams, Unavailability
from optimizer.solver import _prepare, solve
from tests.optimizer.helpers import H, fast, problem, staff, visit, window
from tests.optimizer.test_properties import PROPERTY_SETTINGS, problems


def first_plan(p):
    """What ``solution_limit=1`` returns: the insertion plan, checked independently."""
    sol = solve(p, fast(solution_limit=1))
    assert check_solution(p, sol) == []
    assert sol.status == "first_solution"
    return sol


def staff_of(sol, vid):
    found = sol.stop_of(vid)
    return None if found is None else found[0]


def test_cheapest_place_is_taken():
    # ana lives at 0, ben at 7: each visit goes to the nearer one (either order costs the same)
    p = problem(
        [staff("ana", start=0), staff("ben", start=7)],
        [visit(1, 1), visit(2, 6), visit(3, 2), visit(4, 5)],
    )
    sol = first_plan(p)
    assert set(sol.route_of("ana").visit_ids) == {1, 3}
    assert set(sol.route_of("ben").visit_ids) == {2, 4}
    assert sol.totals.travel_seconds == 2 * (2 * 2 * 600)  # out to 2 and back, twice


def test_windows_order_the_route_and_the_gap_between_windows_is_never_used():
    p = problem(
        [staff("ana")],
        [
            visit(1, 1, windows=(window(14, 15),)),
            visit(2, 5, windows=(window(9, 10),)),
            visit(3, 1, windows=(window(8, 10), window(13, 16))),
        ],
    )
    sol = first_plan(p)
    route = sol.route_of("ana")
    assert route.visit_ids.index(2) < route.visit_ids.index(1)
    assert 14 * H <= sol.stop_of(1)[1].start <= 15 * H
    start3 = sol.stop_of(3)[1].start
    assert start3 <= 10 * H or start3 >= 13 * H


def test_lunch_break_placed_in_its_window_between_visits():
    lunch = Break(duration=H, windows=(window(12, 14),))
    p = problem([staff("ana", breaks=(lunch,))], [visit(i, i, duration=2 * H) for i in (1, 2, 3)])
    route = first_plan(p).route_of("ana")
    assert len(route.stops) == 3
    [b] = route.breaks
    assert 12 * H <= b.start and b.end <= 14 * H and b.end - b.start == H
    for s in route.stops:
        assert s.end <= b.start or s.start >= b.end


def test_unavailability_and_pinned_start_respected():
    busy = Unavailability(9 * H, 12 * H, "dentist")
    p = problem(
        [staff("ana", unavailability=(busy,))],
        [visit(1, 1, windows=(window(9, 13),)), visit(2, 3, pinned_start=15 * H)],
    )
    sol = first_plan(p)
    assert sol.stop_of(1)[1].start >= 12 * H
    assert sol.stop_of(2)[1].start == 15 * H


def test_locked_visit_keeps_staff_and_window():
    locked = visit(
        1, 6, locked=True, previous_staff="ana", previous_start=15 * H,
        previous_window=window(15, 16),
    )  # fmt: skip
    p = problem([staff("ana", start=0), staff("ben", start=6)], [locked])
    who, stop = first_plan(p).stop_of(1)
    assert who == "ana" and 15 * H <= stop.start <= 16 * H


def test_max_working_time_and_capacity():
    p = problem(
        [staff("ana", {"y"}, max_working_seconds=3 * H), staff("van", {"x"}, capacity=10)],
        [visit(i, 1, duration=H, required_skills={"y"}) for i in (1, 2, 3)]
        + [visit(10 + i, 2, duration=600, demand=6, required_skills={"x"}) for i in (1, 2)],
    )
    sol = first_plan(p)
    assert len(sol.route_of("ana").stops) == 2  # 10 min there, 2 visits, 10 min back
    assert len(sol.route_of("van").stops) == 1


def test_every_visit_that_fits_nowhere_is_left_out_without_breaking_the_plan():
    # a working day with a long busy spell: only what fits before and after it is planned
    busy = Unavailability(10 * H, 15 * H, "training")
    p = problem(
        [staff("ana", unavailability=(busy,))],
        [visit(i, i, duration=H) for i in range(1, 8)],
    )
    sol = first_plan(p)
    # one hour of work fits before 10:00 and one after 15:00 (10 min from home, back by 17:00)
    [before, after] = sol.route_of("ana").stops
    assert before.end <= 10 * H and after.start >= 15 * H
    reasons = {u.visit_id: u.reason_code for u in sol.unassigned}
    assert reasons.pop(7) == "staff_unavailable"  # 70 min away: fits neither before nor after
    assert set(reasons.values()) == {"fully_booked"}


def two_staff_eight_visits():
    """The quick plan's objective and a solve of the same day, both searched for 1 s."""
    p = problem(
        [staff("ana", start=0), staff("ben", start=7)],
        [visit(i, i % 8, duration=1800, priority=i * 10) for i in range(1, 9)],
    )
    params = fast(time_limit_seconds=1.0)
    quick = insertion_plan(_prepare(p, params, None).compiled)
    sol = solve(p, params)
    assert check_solution(p, sol) == []
    return quick["objective"], sol


def test_the_search_keeps_the_cheaper_plan():
    quick_objective, sol = two_staff_eight_visits()
    assert sol.objective <= quick_objective


def test_the_insertion_plan_is_kept_when_the_search_finds_nothing_in_time(monkeypatch):
    # on very large days OR-Tools may have no plan by the deadline: the quick plan is the answer
    monkeypatch.setattr(solver_module, "_run_search", lambda *args, **kwargs: None)
    quick_objective, sol = two_staff_eight_visits()
    assert sol.status == "optimized"
    assert sol.totals.visits_assigned == 8
    assert sol.objective == quick_objective


@PROPERTY_SETTINGS
@given(problems())
def test_every_first_plan_passes_the_independent_check(p):
    sol = solve(p, SolveParams(time_limit_seconds=0.3, num_workers=1, solution_limit=1))
    assert check_solution(p, sol) == []
    assert sol.totals.visits_assigned + sol.totals.visits_unassigned == len(p.visits)


def test_large_days_start_the_second_search_from_the_insertion_plan():
    field = solver_module.FIELD_STRATEGIES
    assert solver_module.default_strategies(SolveParams(), 180) == field
    large = solver_module.default_strategies(SolveParams(), solver_module.LARGE_DAY_VISITS)
    assert large == (field[0], solver_module.INSERTION_GLS)
    assert solver_module.default_strategies(SolveParams(objective="distance"), 1000) == (
        solver_module.STRATEGIES
    )


def test_search_from_the_insertion_plan_keeps_its_rules_and_never_does_worse():
    """The insertion plan, lunch breaks included, read into the OR-Tools model and improved."""
    lunch = Break(45 * 60, (window(12, 14),))
    p = problem(
        [staff("ana", start=0, breaks=(lunch,)), staff("ben", start=7, breaks=(lunch,))],
        [
            visit(1, 3, priority=90, windows=(window(9, 11),)),
            visit(2, 4, priority=50),
            visit(3, 1, duration=2 * H, windows=(window(13, 16),)),
            visit(4, 6, duration=2 * H),
            visit(5, 2, windows=(window(8, 9), window(15, 16))),
            visit(6, 5, priority=20),
        ],
    )
    params = fast(time_limit_seconds=1.0)
    prep = _prepare(p, params, None)
    quick = insertion_plan(prep.compiled)
    deadline = time.time() + 1.0
    found = solver_module._run_search(
        prep.compiled, solver_module.INSERTION_GLS, deadline, params, first_only=False
    )
    assert found is not None and found["strategy"].startswith("insertion+gls")
    assert found["objective"] <= quick["objective"]
    sol = solver_module._to_solution(p, params, prep, found, "optimized", 1.0)
    assert check_solution(p, sol) == []
    assert sol.totals.visits_assigned == 6
    assert all(r.breaks for r in sol.routes if r.stops)  # lunch placed on every working route


@PROPERTY_SETTINGS
@given(problems())
def test_a_place_rejected_without_a_replay_never_fits(p):
    """The quick rejection (latest arrivals per route) is exact where it answers: every place it
    rejects, replaying the route rejects too."""
    c = _prepare(p, SolveParams(), None).compiled
    planner = _Planner(c)
    for node in _order(c):
        for r in planner.routes:
            if r is None or (c.allowed[node] is not None and r.vehicle not in c.allowed[node]):
                continue
            for pos in range(len(r.elems) + 1):
                if planner._cannot_fit(r, node, pos):
                    assert planner._try(r, node, pos) is None, (node, r.vehicle, pos)
        planner.insert(node)
