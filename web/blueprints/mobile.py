"""The technicians' and trainers' phone page: today's route; report each visit's outcome.

A technician or trainer sees only their own route (their account's staff record);
dispatchers may open anyone's with ``?staff=<id>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlmodel import Session, col, func, select

from domain.db import session_scope
from domain.errors import Conflict
from domain.models import (
    SCHEDULED_VISIT_STATUSES,
    Customer,
    DailyPlan,
    PlanStop,
    Sale,
    Staff,
    Visit,
    VisitStatus,
)
from domain.visits import (
    Position,
    announce_arrival,
    away_metres,
    lateness_minutes,
    record_arrival,
)
from web.auth import current_user, role_required
from web.board_view import approved_plan, awaits_approval, plans_for_day
from web.extensions import engine, settings, workflows
from web.gateway_errors import flash_workflow_error, gateway_errors
from web.i18n import kilometres
from web.params import db_id, form_nonce, nonce

bp = Blueprint("mobile", __name__, url_prefix="/me")

OUTCOMES = ("done", "follow_up", "absent")
REPORTED_KEY = "reported_visits"  # the visits this browser reported lately (session cookie)
REPORTED_KEPT = 20
ROUTE_POLL_SECONDS = 60  # how often the phone page asks whether the route changed
FINISH_STEP = timedelta(minutes=5)
FINISH_CHOICES_MAX = 96  # eight hours of five-minute steps back from now
ROUTE_STATUSES = (
    VisitStatus.PLANNED,
    VisitStatus.AWAITING_CONFIRMATION,
    VisitStatus.CONFIRMED,
    VisitStatus.DECLINED,
    VisitStatus.COMPLETED,
    VisitStatus.FAILED,
)


def local_now(tz: ZoneInfo) -> datetime:
    """The time now where the company works (the page's one clock)."""
    return datetime.now(tz)


def _staff_id() -> int | None:
    """Whose route: one's own; a dispatcher may ask for anyone's (None: an office account
    without a route of its own asked for none, so it has to pick one)."""
    requested = request.args.get("staff", type=db_id)
    if current_user.is_dispatcher:
        if requested is not None:
            return requested
        if current_user.staff_id is None:
            if "staff" in request.args:
                abort(404)  # a staff id that cannot exist
            return None
        return current_user.staff_id  # type: ignore[no-any-return]
    if current_user.staff_id is None:
        abort(403)
    if requested is not None and requested != current_user.staff_id:
        abort(403)
    return current_user.staff_id  # type: ignore[no-any-return]


def next_route_day(s: Session, staff_id: int, after: date, tz: ZoneInfo) -> date | None:
    """The first day after ``after`` with a visit on this staff member's route (None: none)."""
    start = datetime.combine(after + timedelta(days=1), time(0), tz)
    first = s.exec(
        select(func.min(Visit.planned_start)).where(
            Visit.assigned_staff_id == staff_id,
            col(Visit.planned_start) >= start,
            col(Visit.status).in_([v.value for v in SCHEDULED_VISIT_STATUSES]),
        )
    ).one()
    return first.astimezone(tz).date() if first is not None else None  # aware: UTCDateTime


def route_for(s: Session, staff_id: int, day: date, tz: ZoneInfo) -> list[tuple[Visit, Customer]]:
    start = datetime.combine(day, time(0), tz)
    end = start + timedelta(days=1)
    return list(
        s.exec(
            select(Visit, Customer)
            .join(Sale, col(Sale.id) == col(Visit.sale_id))
            .join(Customer, col(Customer.id) == col(Sale.customer_id))
            .where(
                Visit.assigned_staff_id == staff_id,
                col(Visit.planned_start) >= start,
                col(Visit.planned_start) < end,
                col(Visit.status).in_([v.value for v in ROUTE_STATUSES]),
            )
            .order_by(col(Visit.planned_start))
        )
    )


PAST_VISITS_SHOWN = 3
ON_THE_WAY_MINUTES = (15, 30, 45, 60)  # "on my way, arriving in ..." choices


def planned_drives(s: Session, plan: DailyPlan | None, visit_ids: list[int]) -> dict[int, int]:
    """The drive to each visit in the day's approved ``plan``, in minutes rounded up to five
    (at least five): the first choice of "on my way, arriving in"."""
    if plan is None or not visit_ids:
        return {}
    rows = s.exec(
        select(PlanStop.visit_id, PlanStop.travel_seconds).where(
            PlanStop.plan_id == plan.id, col(PlanStop.visit_id).in_(visit_ids)
        )
    )
    return {vid: max(5, -(-seconds // 300) * 5) for vid, seconds in rows if vid is not None}


def past_visits(s: Session, stops: list[tuple[Visit, Customer]]) -> dict[int, list[Visit]]:
    """For each sale on the route, its latest closed visits (newest first): what was done and
    noted there before (the filter changed last time, the fault reported)."""
    sale_ids = {v.sale_id for v, _ in stops}
    on_route = {v.id for v, _ in stops}
    closed = s.exec(
        select(Visit)
        .where(
            col(Visit.sale_id).in_(sale_ids),
            col(Visit.status).in_([VisitStatus.COMPLETED.value, VisitStatus.FAILED.value]),
        )
        .order_by(col(Visit.planned_start).desc(), col(Visit.id).desc())
    )
    found: dict[int, list[Visit]] = {}
    for visit in closed:
        kept = found.setdefault(visit.sale_id, [])
        if visit.id not in on_route and len(kept) < PAST_VISITS_SHOWN:
            kept.append(visit)
    return found


@bp.get("/")
@role_required()
def today():  # type: ignore[no-untyped-def]
    staff_id = _staff_id()
    if staff_id is None:  # whose route is picked on the staff pages
        flash(_("Open a staff member to see their route."), "info")
        return redirect(url_for("staff.index"))
    tz = ZoneInfo(settings().timezone)
    now = local_now(tz)
    day, today = _route_day(now), now.date()
    with Session(engine()) as s:
        member = s.get(Staff, staff_id)
        if member is None:
            abort(404)
        stops = route_for(s, staff_id, day, tz)
        history = past_visits(s, stops) if stops else {}
        staff_names = {m.id: m.name for m in s.exec(select(Staff))} if history else {}
        plans = plans_for_day(s, day)
        route_plan = approved_plan(plans)
        on_route = [v.id for v, _ in stops if v.id]
        drives = planned_drives(s, route_plan, on_route) if day == today else {}
        finish_times = {v.id: finish_choices(v, now, tz) for v, _ in stops} if day == today else {}
        next_day_with_visits = None if stops else next_route_day(s, staff_id, day, tz)
    # a draft is not a route yet: say so rather than "no visits" (or under the approved route)
    draft, approved = awaits_approval(plans), route_plan is not None
    return render_template(
        "mobile/today.html", member=member, stops=stops, day=day, today=today,
        history=history, staff_names=staff_names, nonce=form_nonce(),
        route_version=route_version(stops),
        poll_seconds=current_app.config.get("ROUTE_POLL_SECONDS", ROUTE_POLL_SECONDS),
        on_the_way_minutes=ON_THE_WAY_MINUTES, drives=drives, finish_times=finish_times,
        scheduled=[v.value for v in SCHEDULED_VISIT_STATUSES],
        next_day_with_visits=next_day_with_visits,
        draft_only=draft and not approved, draft_changes=draft and approved,
        prev_day=(day - timedelta(days=1)).isoformat(),
        next_day=(day + timedelta(days=1)).isoformat(),
    )  # fmt: skip


@bp.get("/route.json")
@role_required()
def route_status():  # type: ignore[no-untyped-def]
    """The route's version (the phone page polls it: a change shows "your route changed")."""
    staff_id = _staff_id()
    if staff_id is None:
        abort(404)
    tz = ZoneInfo(settings().timezone)
    day = _route_day(local_now(tz))
    with Session(engine()) as s:
        version = route_version(route_for(s, staff_id, day, tz))
    response = jsonify({"day": day.isoformat(), "version": version})
    response.headers["Cache-Control"] = "no-store"
    return response


def _route_day(now: datetime) -> date:
    """The day asked for (``?day=``; today by default); 404 for one that is not a date."""
    raw = request.args.get("day")
    try:
        return date.fromisoformat(raw) if raw else now.date()
    except ValueError:
        abort(404)


def route_version(stops: list[tuple[Visit, Customer]]) -> str:
    """A short fingerprint of the route's shape: which visits, when, in which window (not
    their statuses: a confirmation or one's own report is no change of route)."""
    shape = sorted(
        (v.id or 0, v.planned_start, v.promised_window_start, v.promised_window_end)
        for v, _ in stops
    )  # ids are unique: the times never need comparing
    return hashlib.sha256(repr(shape).encode()).hexdigest()[:16]


def finish_choices(visit: Visit, now: datetime, tz: ZoneInfo) -> list[str]:
    """The times ("HH:MM", today, newest first) a technician reporting later may say the visit
    ended at: five-minute steps from now back to the arrival (or the planned start); none when
    the visit began on another day or has not begun."""
    began = visit.arrived_at or visit.planned_start
    here = now.astimezone(tz)
    if began is None or began.astimezone(tz).date() != here.date():
        return []
    minute = here.replace(second=0, microsecond=0)
    step = minute - timedelta(minutes=here.minute % 5)
    if step == minute:
        step -= FINISH_STEP  # "just now" is the first choice already
    choices = []
    while step >= began and len(choices) < FINISH_CHOICES_MAX:
        choices.append(step.strftime("%H:%M"))
        step -= FINISH_STEP
    return choices


def _finished_at(visit: Visit, said: str, tz: ZoneInfo) -> str | None:
    """The form's "finished at" as the workflow takes it ("" = now); None: not a time the
    page offers."""
    if not said:
        return ""
    now = local_now(tz)
    if said not in finish_choices(visit, now, tz):
        return None
    hour, minute = (int(part) for part in said.split(":"))
    return datetime.combine(now.date(), time(hour, minute), tz).isoformat()


def _is_appointment(value: str) -> bool:
    """Empty (an older page) or the planned start the page showed, as ISO 8601."""
    if not value:
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return len(value) <= 40


def _remember_report(visit_id: int) -> None:
    """Keep the visit among this browser's latest reports: a report of a customer's absence
    takes the visit off the route, and the same form sent again is answered, not a 404."""
    kept = [v for v in session.get(REPORTED_KEY, []) if v != visit_id]
    session[REPORTED_KEY] = [*kept, visit_id][-REPORTED_KEPT:]


@bp.post("/visits/<int:visit_id>/outcome")
@role_required()
def outcome(visit_id: int):  # type: ignore[no-untyped-def]
    from workflows.contracts import VisitOutcomeInput

    with Session(engine()) as s:
        visit = s.get(Visit, visit_id)
        if visit is None or (
            not current_user.is_dispatcher and visit.assigned_staff_id != current_user.staff_id
        ):
            if visit is not None and visit_id in session.get(REPORTED_KEY, []):
                # the form sent again after "absent" took the visit off this route
                flash(_("This visit has already been reported."), "error")
                return redirect(url_for("mobile.today"))
            abort(404)
        staff_id = visit.assigned_staff_id
        closed = visit.status in (VisitStatus.COMPLETED, VisitStatus.FAILED, VisitStatus.CANCELLED)
        finished_at = _finished_at(visit, request.form.get("finished_at", ""),
                                   ZoneInfo(settings().timezone))  # fmt: skip
    result_kind = request.form.get("outcome", "")
    note = (request.form.get("note") or "").strip()
    appointment = request.form.get("appointment", "")
    if result_kind not in OUTCOMES or len(note) > 2000 or not _is_appointment(appointment):
        abort(400)
    if finished_at is None and not closed:
        flash(_("Pick when the visit ended from the times offered."), "error")
        return redirect(url_for("mobile.today", **_route_args(visit)))
    if closed:
        flash(_("This visit has already been reported."), "error")
    elif result_kind != "done" and not note:
        flash(_("Add a note saying what happened."), "error")
    else:
        try:
            result = workflows().report_outcome(
                visit_id,
                VisitOutcomeInput(
                    outcome=result_kind,
                    note=note,
                    reported_by=current_user.email,
                    report_ref=appointment,
                    finished_at=finished_at or "",
                ),
            )
        except gateway_errors() as exc:
            flash_workflow_error(exc)
        else:
            _remember_report(visit_id)
            if result.status == VisitStatus.FAILED:
                flash(_("Visit #%(id)d reported. The customer was absent too often: the office "
                        "will call them.", id=visit_id), "success")  # fmt: skip
            else:
                flash(_("Visit #%(id)d reported.", id=visit_id), "success")
    args = {"staff": staff_id} if current_user.is_dispatcher else {}
    return redirect(url_for("mobile.today", **args))


def _visit_of_my_route(s: Session, visit_id: int) -> Visit:
    """The visit, if it is on the user's own route (a dispatcher: anyone's); else 404."""
    visit = s.get(Visit, visit_id)
    if visit is None or (
        not current_user.is_dispatcher and visit.assigned_staff_id != current_user.staff_id
    ):
        abort(404)
    return visit


def _planned_on(visit: Visit, day: date, tz: ZoneInfo) -> bool:
    return visit.planned_start is not None and visit.planned_start.astimezone(tz).date() == day


def _position(form: Mapping[str, str]) -> Position | None:
    """The phone's position the check-in form carries (its script asks the browser), or None
    when the phone gave none; aborts 400 on one that is not a position."""
    raw = [form.get(name, "").strip() for name in ("lat", "lon", "accuracy")]
    if not any(raw):
        return None
    try:
        return Position(*(float(value) for value in raw))
    except ValueError:
        abort(400)


def _route_args(visit: Visit) -> dict[str, int | None]:
    """The phone page's arguments that lead back to the visit's route."""
    return {"staff": visit.assigned_staff_id} if current_user.is_dispatcher else {}


@bp.post("/visits/<int:visit_id>/arrived")
@role_required()
def arrived(visit_id: int):  # type: ignore[no-untyped-def]
    """The technician is at the customer's ("I'm here"; today's visits of one's own route, a
    dispatcher may record it for anyone). The time is kept; a second tap keeps the first."""
    position = _position(request.form)
    tz = ZoneInfo(settings().timezone)
    now = local_now(tz)
    with session_scope(engine()) as s:
        visit = _visit_of_my_route(s, visit_id)
        args = _route_args(visit)
        arrival: tuple[datetime, int | None] | None = None
        away: int | None = None
        if _planned_on(visit, now.date(), tz):
            try:
                record_arrival(s, visit_id, current_user.email, at=now, position=position)
            except Conflict:  # closed, declined or taken off the route meanwhile
                pass
            else:
                assert visit.arrived_at is not None
                arrival = visit.arrived_at.astimezone(tz), lateness_minutes(visit)
                away = away_metres(visit)
    if arrival is None:
        flash(_("Only a visit of today's route that is still to happen can be checked in."),
              "error")  # fmt: skip
    elif arrival[1]:
        flash(_("Arrival at %(at)s recorded, %(late)d min after the promised window.",
                at=arrival[0].strftime("%H:%M"), late=arrival[1]), "success")  # fmt: skip
    else:
        flash(_("Arrival at %(at)s recorded.", at=arrival[0].strftime("%H:%M")), "success")
    if away is not None:
        flash(_("Your phone places you %(km)s km from the customer's address: if the address "
                "is wrong, tell the office.", km=kilometres(away)), "info")  # fmt: skip
    return redirect(url_for("mobile.today", **args) + f"#stop-{visit_id}")


@bp.post("/visits/<int:visit_id>/on-the-way")
@role_required()
def on_the_way(visit_id: int):  # type: ignore[no-untyped-def]
    """Tell the customer the technician is on the way and when they will arrive (today's
    visits of one's own route; a dispatcher may do it for anyone)."""
    from sms.errors import SmsError
    from web.blueprints.sms import services

    minutes = request.form.get("minutes", type=int)
    key = request.form.get("nonce", type=nonce)
    if minutes is None or key is None:
        abort(400)
    tz = ZoneInfo(settings().timezone)
    now = local_now(tz)
    with Session(engine()) as s:
        visit = _visit_of_my_route(s, visit_id)
        args = _route_args(visit)
        today = _planned_on(visit, now.date(), tz)
        scheduled = visit.status in {v.value for v in SCHEDULED_VISIT_STATUSES}
        plan = approved_plan(plans_for_day(s, now.date()))
        choices = {*ON_THE_WAY_MINUTES, *planned_drives(s, plan, [visit_id]).values()}
    if minutes not in choices:  # only what the page offered
        abort(400)
    if not (today and scheduled):
        flash(_("Only a visit of today's route that is still to happen can be announced."),
              "error")  # fmt: skip
        return redirect(url_for("mobile.today", **args))
    eta = now + timedelta(minutes=minutes)
    eta = eta.replace(minute=eta.minute - eta.minute % 5, second=0, microsecond=0)
    with session_scope(engine()) as s:  # the board reads the route's delay from it
        announce_arrival(s, visit_id, current_user.email, eta)  # the time the customer is told
    try:
        sent = services().messenger.send_for_visit(
            visit_id, "visit_on_the_way", f"on-the-way/{visit_id}/{key}", eta=eta
        )
    except SmsError:
        flash(_("The message could not be sent: call the customer."), "error")
    else:
        if sent.message_id is None:  # opted out of SMS, or no number
            flash(_("The customer takes no SMS: call them."), "error")
        else:
            flash(_("The customer knows you arrive around %(eta)s.", eta=eta.strftime("%H:%M")),
                  "success")  # fmt: skip
    return redirect(url_for("mobile.today", **args) + f"#stop-{visit_id}")
