"""Why a visit is left out, in the dispatcher's language (``web.reasons``), on the board and API."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from sqlalchemy.engine import Engine
from sqlmodel import select

from domain.db import session_scope
from domain.models import PlanUnassigned, User
from optimizer.model import Problem, Unassigned, Unavailability
from optimizer.solver import solve
from tests.optimizer.helpers import H, fast, problem, staff, visit, window
from tests.web.factories import PLAN_DAY, World
from web.reasons import WORDING, reason_text

DAY = PLAN_DAY.isoformat()
BUSY = (Unavailability(12 * H, 16 * H),)


def _two(*visits) -> Problem:  # type: ignore[no-untyped-def]
    return problem(
        [staff("ana", {"boiler"}, unavailability=BUSY), staff("ben", {"ac"}, unavailability=BUSY)],
        list(visits),
    )


def optimizer_reasons() -> list[Unassigned]:
    """One real reason of every code and variant the optimizer gives."""
    problems = [
        _two(
            visit(1, 1, required_skills={"solar"}),
            visit(2, 1, required_skills={"boiler", "ac"}),
            visit(3, 1, windows=(window(19, 21),)),
            visit(4, 1, windows=(window(19, 21),), required_skills={"ac"}),
            visit(5, 7, windows=(window(8, 8.5),)),
            visit(6, 7, windows=(window(8, 8.5),), required_skills={"ac"}),
            visit(7, 1, windows=(window(13, 14), window(14.5, 15))),
            visit(8, 1, windows=(window(13, 14),), required_skills={"ac"}),
            visit(9, 1, pinned_staff="ben", required_skills={"boiler"}),
            visit(
                10,
                1,
                locked=True,
                previous_staff="ana",
                previous_start=10 * H,
                required_skills={"ac"},
            ),
        ),
        problem(
            [staff("van", capacity=5), staff("truck", capacity=8)],
            [visit(1, 1, demand=9), visit(2, 1, demand=6, pinned_staff="van")],
        ),
        problem(
            [staff("ana", name="Ana Pérez")],
            [
                visit(1, 1, locked=True, previous_staff="ana", previous_start=10 * H),
                visit(2, 1, locked=True, previous_staff="ana", previous_start=10 * H),
            ],
        ),
        problem(
            [staff("ana")], [visit(i, 1, duration=2 * H, windows=(window(9, 9),)) for i in (1, 2)]
        ),
        problem(
            [staff(s, name=n) for s, n in (("s1", "Pablo Ruiz"), ("s2", "Marina"), ("s3", ""))],
            [visit(i, 1, duration=2 * H, windows=(window(9, 9),)) for i in range(1, 5)],
        ),
        problem(
            [staff("ana", max_working_seconds=3 * H)], [visit(i, 1, duration=H) for i in (1, 2, 3)]
        ),
        problem(
            [staff("ana", max_working_seconds=3 * H), staff("ben", {"x"}, max_working_seconds=H)],
            [visit(i, 1, duration=H) for i in (1, 2, 3)],
        ),
        Problem(staff=(), visits=(visit(1, 1),), matrix=problem([], []).matrix),
    ]
    found = [u for p in problems for u in solve(p, fast()).unassigned]
    shapes = {
        (u.reason_code, u.params.get("variant"), len(u.params.get("candidates", ()))) for u in found
    }
    assert shapes == {  # every sentence shape: code, variant, number of staff who could do it
        ("missing_skill", "none_has", 0), ("missing_skill", "not_together", 0),
        ("outside_shifts", None, 1), ("outside_shifts", None, 2),
        ("travel_exceeds_window", None, 1), ("travel_exceeds_window", None, 2),
        ("staff_unavailable", "busy", 1), ("staff_unavailable", "busy", 2),
        ("pinned_staff_lacks_skill", "lacks_skill", 0),
        ("pinned_staff_lacks_skill", "lacks_capacity", 0),
        ("locked_conflict", "lacks_skill", 0), ("locked_conflict", "no_longer_fits", 0),
        ("over_capacity", None, 0), ("no_staff", None, 0),
        ("fully_booked", "late", 1), ("fully_booked", "late", 3),
        ("fully_booked", "breaks_rules", 1), ("fully_booked", "breaks_rules", 2),
    }  # fmt: skip
    return found


PLANNING_REASONS = [
    Unassigned(
        1,
        "staff_unavailable",  # type: ignore[arg-type]
        "it is pinned to Ana Ruiz, who is off that day (holiday)",
        {"variant": "pinned_off", "staff": "Ana Ruiz", "staff_id": 3, "absence": "holiday"},
    ),
    Unassigned(
        2,
        "staff_unavailable",  # type: ignore[arg-type]
        "it is pinned to staff member 4, who does not work that day",
        {"variant": "pinned_not_working", "staff": "", "staff_id": 4, "absence": ""},
    ),
    Unassigned(
        3,
        "declined",  # type: ignore[arg-type]
        "the customer declined the time offered in the previous plan; "
        "it goes back into the pool for the next days",
        {},
    ),
    Unassigned(
        4,
        "window_passed",  # type: ignore[arg-type]
        "its time window today is over or ends less than 30 min from now",
        {"variant": "window", "minutes": 30},
    ),  # fmt: skip
    Unassigned(
        5,
        "window_passed",  # type: ignore[arg-type]
        "its pinned time today is past or less than 30 min from now",
        {"variant": "pinned", "minutes": 30},
    ),  # fmt: skip
    Unassigned(
        6,
        "planned_elsewhere",  # type: ignore[arg-type]
        "the plan of 2026-12-10, approved meanwhile, has it",
        {"day": "2026-12-10"},
    ),  # fmt: skip
]


def as_stored(params) -> dict:  # type: ignore[no-untyped-def]
    """The params as they come back from the JSON column (tuples become lists)."""
    return json.loads(json.dumps(dict(params)))


def in_locale(app: Flask, locale: str, u: Unassigned) -> str:
    with app.test_request_context(headers={"Accept-Language": locale}):
        return reason_text(u.reason_code, as_stored(u.params), u.reason)


def test_english_wording_is_the_stored_sentence_for_every_reason(app: Flask) -> None:
    reasons = optimizer_reasons() + PLANNING_REASONS
    assert {u.reason_code for u in reasons} == set(WORDING)
    for u in reasons:
        assert in_locale(app, "en", u) == u.reason


def test_spanish_wording_of_every_reason_keeps_its_facts(app: Flask) -> None:
    for u in optimizer_reasons() + PLANNING_REASONS:
        spanish = in_locale(app, "es", u)
        assert spanish != u.reason, u.reason
        for key in ("staff", "minutes", "minutes_late", "minutes_left", "demand"):
            if u.params.get(key):
                assert str(u.params[key]) in spanish, (key, spanish)
        for key in ("skills", "windows", "candidates"):
            for fact in u.params.get(key, ()):  # type: ignore[attr-defined]
                assert fact in spanish, (key, spanish)


@pytest.mark.parametrize(
    ("code", "params", "english", "spanish"),
    [
        (
            "missing_skill",
            {"variant": "none_has", "skills": ["hvac"]},
            "no staff member has skill hvac",
            "ningún técnico tiene la habilidad hvac",
        ),
        (
            "fully_booked",
            {
                "variant": "late",
                "candidates": ["Ana (T1)"],
                "staff": "Ana (T1)",
                "after": "12",
                "minutes_late": 25,
                "minutes_left": 40,
            },
            "Ana (T1), the only one who could do it, is fully booked: the best place for it, "
            "Ana (T1) (after 12), would run 25 min late; 40 min of shift left in total",
            "Ana (T1), la única persona que podría hacerla, no tiene hueco: en el mejor sitio "
            "posible, Ana (T1) (después de la visita 12), llegaría 25 min tarde; quedan 40 min de "
            "turno en total",
        ),
        (
            "staff_unavailable",
            {"variant": "busy", "candidates": ["Pablo", "Marina", "Toni"], "windows": []},
            "Pablo, Marina and Toni, who could do it, are busy (own calendar) during its window "
            "(any time)",
            "Pablo, Marina y Toni, que podrían hacerla, tienen el calendario ocupado durante su "
            "franja (cualquier hora)",
        ),
        (
            "staff_unavailable",
            {"variant": "pinned_off", "staff": "", "staff_id": 7, "absence": "absent"},
            "it is pinned to staff member 7, who is off that day (absent)",
            "está fijada a persona 7, que no está disponible ese día (ausente)",
        ),
        (
            "staff_unavailable",
            {"variant": "pinned_inactive", "staff": "Ben", "staff_id": 8, "absence": ""},
            "it is pinned to Ben, who no longer works here",
            "está fijada a Ben, que ya no trabaja aquí",
        ),
    ],  # fmt: skip
)
def test_known_sentences_in_both_languages(app: Flask, code, params, english, spanish) -> None:  # type: ignore[no-untyped-def]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert reason_text(code, params, "stored") == english
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert reason_text(code, params, "stored") == spanish


def test_rows_without_facts_or_with_unknown_ones_keep_the_stored_text(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert reason_text("missing_skill", None, "old English text") == "old English text"
        assert reason_text("no_time", {}, "unknown code") == "unknown code"
        assert reason_text("missing_skill", {"variant": "new"}, "new variant") == "new variant"
        assert reason_text("missing_skill", {"variant": "none_has"}, "no skills") == "no skills"


# ---------------------------------------------------------------- board, review page and API


def give_reason(engine: Engine, world: World) -> None:
    """The world's unassigned visit: left out because nobody has the boiler skill (with facts)."""
    with session_scope(engine) as s:
        row = s.exec(
            select(PlanUnassigned).where(PlanUnassigned.visit_id == world.unassigned_visit)
        ).one()
        row.reason_code = "missing_skill"
        row.reason = "no staff member has skill boiler"
        row.reason_params = {"variant": "none_has", "skills": ["boiler"]}


def set_locale(engine: Engine, email: str, locale: str) -> None:
    with session_scope(engine) as s:
        s.exec(select(User).where(User.email == email)).one().locale = locale


def board_reasons(html: str) -> dict[str, str]:
    found = re.findall(r'<li data-visit="(\d+)">.*?<span class="muted">([^<]*)<', html, re.S)
    return dict(found)


def test_board_shows_the_reason_in_the_dispatchers_language(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    give_reason(sqlite_engine, world)
    loose = str(world.unassigned_visit)
    client, token = client_for("dispatcher")  # an English user
    html = client.get(f"/board/{DAY}").get_data(as_text=True)
    assert board_reasons(html)[loose] == "no staff member has skill boiler"

    # switched to Spanish in the header: the same reason, in Spanish
    client.post("/account/locale", data={"csrf_token": token, "locale": "es"})
    html = client.get(f"/board/{DAY}").get_data(as_text=True)
    assert "Visitas sin asignar" in html  # the page itself is in Spanish
    assert board_reasons(html)[loose] == "ningún técnico tiene la habilidad boiler"
    review = client.get(f"/board/{DAY}/approve?plan={world.plan_id}").get_data(as_text=True)
    assert "ningún técnico tiene la habilidad boiler" in review
    assert "no staff member has skill boiler" not in review


def test_a_spanish_user_sees_old_rows_in_their_stored_words(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    set_locale(sqlite_engine, world.users["dispatcher"], "es")
    client, _ = client_for("dispatcher")
    html = client.get(f"/board/{DAY}").get_data(as_text=True)
    reason = board_reasons(html)[str(world.unassigned_visit)]
    assert reason == "No technician with the skill boiler has time left that day"


def test_api_keeps_the_english_reason_and_adds_its_facts(
    app: Flask, world: World, sqlite_engine: Engine
) -> None:
    from tests.web.test_api import token_for

    give_reason(sqlite_engine, world)
    set_locale(sqlite_engine, world.users["dispatcher"], "es")
    client = app.test_client()
    token = token_for(sqlite_engine, world.users["dispatcher"])
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    [entry] = client.get(f"/api/v1/plans/{DAY}").get_json()["unassigned"]
    assert entry == {
        "visit_id": world.unassigned_visit,
        "reason_code": "missing_skill",
        "reason": "no staff member has skill boiler",
        "reason_params": {"variant": "none_has", "skills": ["boiler"]},
    }
    document = client.get("/api/v1/openapi.json").get_json()
    unassigned = document["components"]["schemas"]["Plan"]["properties"]["unassigned"]["items"]
    assert "reason_params" in unassigned["properties"]
