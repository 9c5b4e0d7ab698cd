"""Why a visit was left out of a plan, in the user's language.

The optimizer (``optimizer.solver``) and the day planning (``planning.build``,
``planning.candidates``) give each unassigned visit a reason code, an English sentence and the
facts that sentence uses (``PlanUnassigned.reason_params``). :func:`reason_text` words the same
facts with Flask-Babel, one message per code and variant; each English message is the optimizer's
sentence itself, so an English user reads exactly what was stored. Rows stored without facts
(older plans) and codes or variants this module does not know keep their stored text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask_babel import gettext as _

Facts = Mapping[str, Any]


def and_list(items: Sequence[str]) -> str:
    """'Pablo', 'Pablo and Marina', 'Pablo, Marina and Toni' in the current language."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return _("%(items)s and %(last)s", items=", ".join(items[:-1]), last=items[-1])


def _list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _skills(p: Facts) -> str:
    return ", ".join(_list(p["skills"]))


def _windows(p: Facts) -> str:
    windows = _list(p["windows"])
    return ", ".join(windows) if windows else _("any time")


def _no_staff(p: Facts) -> str:
    return _("no staff member is working that day")


def _missing_skill(p: Facts) -> str:
    if p["variant"] == "none_has":
        return _("no staff member has skill %(skills)s", skills=_skills(p))
    if p["variant"] == "not_together":
        return _("no staff member has all of %(skills)s together", skills=_skills(p))
    raise ValueError(p["variant"])


def _over_capacity(p: Facts) -> str:
    return _("demand %(demand)s exceeds every vehicle's capacity", demand=p["demand"])


def _pinned_staff_lacks_skill(p: Facts) -> str:
    if p["variant"] == "lacks_skill":
        return _("pinned to %(staff)s, who lacks skill %(skills)s", staff=p["staff"],
                 skills=_skills(p))  # fmt: skip
    if p["variant"] == "lacks_capacity":
        return _("pinned to %(staff)s, who lacks skill (capacity)", staff=p["staff"])
    raise ValueError(p["variant"])


def _locked_conflict(p: Facts) -> str:
    if p["variant"] == "lacks_skill":
        return _("locked to %(staff)s, who lacks skill %(skills)s", staff=p["staff"],
                 skills=_skills(p))  # fmt: skip
    if p["variant"] == "lacks_capacity":
        return _("locked to %(staff)s, who lacks skill (capacity)", staff=p["staff"])
    if p["variant"] == "no_longer_fits":
        return _(
            "locked to %(staff)s in its promised window, but that no longer fits "
            "(shift, breaks or other locked visits)",
            staff=p["staff"],
        )
    raise ValueError(p["variant"])


def _outside_shifts(p: Facts) -> str:
    who = _list(p["candidates"])
    if len(who) == 1:
        return _(
            "its window (%(windows)s) lies outside the shift of %(staff)s, "
            "the only one who could do it",
            windows=_windows(p), staff=who[0],
        )  # fmt: skip
    return _(
        "its window (%(windows)s) lies outside every shift of the staff who could do it "
        "(%(staff)s)",
        windows=_windows(p), staff=and_list(who),
    )  # fmt: skip


def _travel_exceeds_window(p: Facts) -> str:
    who = _list(p["candidates"])
    if len(who) == 1:
        return _(
            "travel alone (%(minutes)s min there and back for %(staff)s, the only one who could "
            "do it) makes its window (%(windows)s) unreachable within the shift",
            minutes=p["minutes"], staff=p["staff"], windows=_windows(p),
        )  # fmt: skip
    return _(
        "travel alone (%(minutes)s min there and back for %(staff)s, the nearest of "
        "%(candidates)s) makes its window (%(windows)s) unreachable within the shift",
        minutes=p["minutes"], staff=p["staff"], candidates=and_list(who), windows=_windows(p),
    )  # fmt: skip


def _staff_unavailable(p: Facts) -> str:
    variant = p["variant"]
    if variant == "busy":
        who = _list(p["candidates"])
        if len(who) == 1:
            return _(
                "%(staff)s, the only one who could do it, is busy (own calendar) during its "
                "window (%(windows)s)",
                staff=who[0], windows=_windows(p),
            )  # fmt: skip
        return _(
            "%(staff)s, who could do it, are busy (own calendar) during its window (%(windows)s)",
            staff=and_list(who), windows=_windows(p),
        )  # fmt: skip
    staff = p["staff"] or _("staff member %(id)s", id=p["staff_id"])
    if variant == "pinned_off":
        absence = p["absence"]
        if absence == "absent":  # planning's word when the absence has no reason
            absence = _("absent")
        return _("it is pinned to %(staff)s, who is off that day (%(absence)s)", staff=staff,
                 absence=absence)  # fmt: skip
    if variant == "pinned_not_working":
        return _("it is pinned to %(staff)s, who does not work that day", staff=staff)
    if variant == "pinned_inactive":
        return _("it is pinned to %(staff)s, who no longer works here", staff=staff)
    raise ValueError(variant)


def _fully_booked(p: Facts) -> str:
    who = _list(p["candidates"])
    if p["after"]:
        place = _("%(staff)s (after %(visit)s)", staff=p["staff"], visit=p["after"])
    else:
        place = _("%(staff)s (first)", staff=p["staff"])
    if p["variant"] == "late":
        if len(who) == 1:
            return _(
                "%(staff)s, the only one who could do it, is fully booked: the best place for it, "
                "%(place)s, would run %(late)s min late; %(left)s min of shift left in total",
                staff=who[0], place=place, late=p["minutes_late"], left=p["minutes_left"],
            )  # fmt: skip
        return _(
            "%(staff)s, who could do it, are fully booked: the best place for it, %(place)s, "
            "would run %(late)s min late; %(left)s min of shift left in total",
            staff=and_list(who), place=place, late=p["minutes_late"], left=p["minutes_left"],
        )  # fmt: skip
    if p["variant"] == "breaks_rules":
        if len(who) == 1:
            return _(
                "%(staff)s, the only one who could do it, is fully booked: fitting it in "
                "(%(place)s) would break a lunch break, a busy interval or the maximum working "
                "time",
                staff=who[0], place=place,
            )  # fmt: skip
        return _(
            "%(staff)s, who could do it, are fully booked: fitting it in (%(place)s) would break "
            "a lunch break, a busy interval or the maximum working time",
            staff=and_list(who), place=place,
        )  # fmt: skip
    raise ValueError(p["variant"])


def _declined(p: Facts) -> str:
    return _(
        "the customer declined the time offered in the previous plan; "
        "it goes back into the pool for the next days"
    )


def _planned_elsewhere(p: Facts) -> str:
    return _("the plan of %(day)s, approved meanwhile, has it", day=p["day"])


def _window_passed(p: Facts) -> str:
    if p["variant"] == "pinned":
        return _("its pinned time today is past or less than %(minutes)d min from now",
                 minutes=p["minutes"])  # fmt: skip
    if p["variant"] == "window":
        return _("its time window today is over or ends less than %(minutes)d min from now",
                 minutes=p["minutes"])  # fmt: skip
    raise ValueError(p["variant"])


WORDING: dict[str, Callable[[Facts], str]] = {
    "no_staff": _no_staff,
    "missing_skill": _missing_skill,
    "over_capacity": _over_capacity,
    "pinned_staff_lacks_skill": _pinned_staff_lacks_skill,
    "locked_conflict": _locked_conflict,
    "outside_shifts": _outside_shifts,
    "travel_exceeds_window": _travel_exceeds_window,
    "staff_unavailable": _staff_unavailable,
    "fully_booked": _fully_booked,
    "declined": _declined,
    "window_passed": _window_passed,
    "planned_elsewhere": _planned_elsewhere,
}
"""Reason code -> its wording from the facts (every code the optimizer and planning give)."""


def reason_text(code: str, params: Facts | None, stored: str) -> str:
    """The reason in the current locale; ``stored`` (English) without facts or when unknown."""
    wording = WORDING.get(code)
    if params is None or wording is None:
        return stored
    try:
        return wording(params)
    except (KeyError, TypeError, ValueError):
        return stored
