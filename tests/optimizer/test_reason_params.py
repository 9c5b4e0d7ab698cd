"""Every reason for an unassigned visit carries the facts its sentence uses (``params``)."""

from __future__ import annotations

import pickle

import pytest

from optimizer.model import Problem, Unassigned, Unavailability
from optimizer.solver import solve
from tests.optimizer.helpers import H, fast, problem, staff, visit, window
from tests.optimizer.test_solver import solved

BUSY = (Unavailability(12 * H, 16 * H),)


def two_staff(*visits):  # type: ignore[no-untyped-def]
    """ana (boiler) and ben (ac), both at place 0, both busy 12:00-16:00."""
    return problem(
        [staff("ana", {"boiler"}, unavailability=BUSY), staff("ben", {"ac"}, unavailability=BUSY)],
        list(visits),
    )


@pytest.mark.parametrize(
    ("v", "code", "params"),
    [
        (
            visit(1, 1, required_skills={"solar", "hvac"}),
            "missing_skill",
            {"variant": "none_has", "skills": ("hvac", "solar")},
        ),
        (
            visit(1, 1, required_skills={"boiler", "ac"}),
            "missing_skill",
            {"variant": "not_together", "skills": ("ac", "boiler")},
        ),
        (
            visit(1, 1, windows=(window(19, 21),)),
            "outside_shifts",
            {"candidates": ("ana", "ben"), "windows": ("19:00-21:00",)},
        ),
        (
            visit(1, 1, windows=(window(19, 21),), required_skills={"boiler"}),
            "outside_shifts",
            {"candidates": ("ana",), "windows": ("19:00-21:00",)},
        ),
        (
            visit(1, 7, windows=(window(8, 8.5),)),
            "travel_exceeds_window",
            {
                "minutes": 140,
                "staff": "ana",
                "candidates": ("ana", "ben"),
                "windows": ("08:00-08:30",),
            },
        ),
        (
            visit(1, 7, windows=(window(8, 8.5),), required_skills={"ac"}),
            "travel_exceeds_window",
            {"minutes": 140, "staff": "ben", "candidates": ("ben",), "windows": ("08:00-08:30",)},
        ),
        (
            visit(1, 1, windows=(window(13, 14), window(14.5, 15))),
            "staff_unavailable",
            {
                "variant": "busy",
                "candidates": ("ana", "ben"),
                "windows": ("13:00-14:00", "14:30-15:00"),
            },
        ),
        (
            visit(1, 1, pinned_staff="ben", required_skills={"boiler"}),
            "pinned_staff_lacks_skill",
            {"variant": "lacks_skill", "staff": "ben", "skills": ("boiler",)},
        ),
        (
            visit(
                1,
                1,
                locked=True,
                previous_staff="ana",
                previous_start=10 * H,
                required_skills={"ac"},
            ),
            "locked_conflict",
            {"variant": "lacks_skill", "staff": "ana", "skills": ("ac",)},
        ),  # fmt: skip
    ],
)
def test_params_of_reasons_found_before_the_search(v, code, params) -> None:  # type: ignore[no-untyped-def]
    [u] = solved(two_staff(v)).unassigned
    assert (u.reason_code, dict(u.params)) == (code, params)


def test_params_of_windows_and_staff_appear_in_the_english_sentence() -> None:
    [u] = solved(two_staff(visit(1, 1, windows=(window(13, 14), window(14.5, 15))))).unassigned
    for fact in (*u.params["candidates"], *u.params["windows"]):  # type: ignore[misc]
        assert fact in u.reason


def test_params_without_facts_and_of_capacity() -> None:
    nobody = solve(Problem(staff=(), visits=(visit(1, 1),), matrix=problem([], []).matrix), fast())
    [u] = nobody.unassigned
    assert (u.reason_code, dict(u.params)) == ("no_staff", {})

    vans = [staff("van", capacity=5), staff("truck", capacity=8)]
    sol = solved(problem(vans, [visit(1, 1, demand=9), visit(2, 1, demand=6, pinned_staff="van")]))
    over, pinned = sol.unassigned
    assert (over.reason_code, dict(over.params)) == ("over_capacity", {"demand": 9})
    assert (pinned.reason_code, dict(pinned.params)) == (
        "pinned_staff_lacks_skill",
        {"variant": "lacks_capacity", "staff": "van", "skills": ()},
    )
    assert pinned.reason == "pinned to van, who lacks skill (capacity)"


def test_params_of_a_fully_booked_visit_that_would_run_late() -> None:
    p = problem(
        [staff("ana")], [visit(i, 1, duration=2 * H, windows=(window(9, 9),)) for i in (1, 2)]
    )
    sol = solved(p)
    [u] = sol.unassigned
    left = 9 * 60 - sol.route_of("ana").working_seconds // 60  # type: ignore[union-attr]
    # first or after the planned one: both 120 min late; the first place tried wins
    assert dict(u.params) == {
        "variant": "late",
        "candidates": ("ana",),
        "staff": "ana",
        "after": "",
        "minutes_late": 120,
        "minutes_left": left,
    }
    assert f"ana (first), would run 120 min late; {left} min of shift left" in u.reason


def test_params_name_the_visit_before_the_best_place() -> None:
    p = problem(
        [staff("ana")],
        [visit(1, 1, duration=4 * H, windows=(window(8, 8.5),), priority=90),
         visit(2, 1, duration=H, windows=(window(10, 10.5),))],
    )  # fmt: skip
    sol = solved(p)
    [u] = sol.unassigned
    assert u.visit_id == 2 and u.params["variant"] == "late"
    assert u.params["after"] == "1"
    assert "ana (after 1), would run" in u.reason


def test_params_of_a_fully_booked_visit_that_breaks_the_rules() -> None:
    p = problem(
        [staff("ana", max_working_seconds=3 * H), staff("ben", {"x"}, max_working_seconds=H)],
        [visit(i, 1, duration=H) for i in (1, 2, 3)],
    )
    sol = solved(p)
    [u] = sol.unassigned
    assert u.reason_code == "fully_booked"
    assert u.params["variant"] == "breaks_rules"
    assert u.params["candidates"] == ("ana", "ben")
    assert u.params["staff"] in ("ana", "ben")
    assert "minutes_late" not in u.params
    after = u.params["after"]
    place = f"{u.params['staff']} ({f'after {after}' if after else 'first'})"
    assert f"fitting it in ({place}) would break" in u.reason


def test_params_of_a_locked_visit_that_no_longer_fits() -> None:
    a = visit(1, 1, locked=True, previous_staff="ana", previous_start=10 * H)
    b = visit(2, 1, locked=True, previous_staff="ana", previous_start=10 * H)
    [u] = solved(problem([staff("ana", name="Ana Pérez")], [a, b])).unassigned
    assert (u.reason_code, dict(u.params)) == (
        "locked_conflict",
        {"variant": "no_longer_fits", "staff": "Ana Pérez"},
    )


def test_unassigned_stays_hashable_and_picklable_with_its_params() -> None:
    plain = Unassigned(1, "no_staff", "no staff member is working that day")
    assert plain.params == {}
    with_facts = Unassigned(1, "missing_skill", "x", {"variant": "none_has", "skills": ("ac",)})
    assert hash(with_facts) == hash(Unassigned(1, "missing_skill", "x", {}))
    assert pickle.loads(pickle.dumps(with_facts)) == with_facts
