"""Property: every plan the solver returns passes the independent feasibility check."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.check import check_solution
from optimizer.model import Break, Problem, StaffMember, TimeWindow, Unavailability, Visit
from optimizer.solver import solve
from tests.optimizer.helpers import H, fast, line_matrix

SKILLS = ["boiler", "ac", "solar", "gas"]


@st.composite
def problems(draw):
    n_staff = draw(st.integers(1, 3))
    staff = []
    for k in range(n_staff):
        start_h = draw(st.integers(6, 10))
        end_h = draw(st.integers(start_h + 4, 19))
        breaks = ()
        if draw(st.booleans()):
            lo = draw(st.integers(start_h, end_h - 2))
            breaks = (
                Break(
                    duration=draw(st.sampled_from([900, 1800, 3600])),
                    windows=(TimeWindow(lo * H, (lo + 2) * H),),
                ),
            )
        busy = ()
        if draw(st.booleans()):
            b0 = draw(st.integers(start_h, end_h - 1))
            busy = (Unavailability(b0 * H, b0 * H + draw(st.integers(1800, 3 * H))),)
        staff.append(
            StaffMember(
                id=f"s{k}",
                shift=TimeWindow(start_h * H, end_h * H),
                start=draw(st.integers(0, 7)),
                skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=3))),
                breaks=breaks,
                unavailability=busy,
                max_working_seconds=draw(st.one_of(st.none(), st.integers(3 * H, 9 * H))),
            )
        )
    visits = []
    for i in range(draw(st.integers(1, 7))):
        windows = ()
        kind = draw(st.sampled_from(["none", "one", "two"]))
        if kind != "none":
            a = draw(st.integers(6, 16))
            windows = (TimeWindow(a * H, (a + draw(st.integers(0, 3))) * H),)
            if kind == "two":
                b = draw(st.integers(a + 4, 22))
                windows += (TimeWindow(b * H, (b + 1) * H),)
        pinned = draw(st.one_of(st.none(), st.sampled_from([s.id for s in staff])))
        visits.append(
            Visit(
                id=i,
                location=draw(st.integers(0, 7)),
                duration=draw(st.sampled_from([900, 1800, 3600, 7200])),
                required_skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=2))),
                windows=windows,
                priority=draw(st.integers(0, 100)),
                pinned_staff=pinned if draw(st.integers(0, 4)) == 0 else None,
                preferred_staff=draw(st.one_of(st.none(), st.sampled_from([s.id for s in staff]))),
                previous_staff=draw(st.one_of(st.none(), st.sampled_from([s.id for s in staff]))),
                previous_start=draw(st.one_of(st.none(), st.integers(8 * H, 16 * H))),
            )
        )
    return Problem(staff=tuple(staff), visits=tuple(visits), matrix=line_matrix())


PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("OPTIMIZER_PROPERTY_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(problems())
def test_every_plan_passes_the_independent_check(p):
    sol = solve(p, fast(time_limit_seconds=0.3))
    assert check_solution(p, sol) == []
    assert sol.totals.visits_assigned + sol.totals.visits_unassigned == len(p.visits)
    for u in sol.unassigned:
        assert u.reason and u.reason_code
