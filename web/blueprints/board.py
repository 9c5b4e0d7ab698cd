"""The plan board: a day's routes per staff member, map, unassigned visits and actions.

Re-optimizing (and pinning or moving a visit, which re-optimizes) asks the day's planning
workflow for a new draft and waits for it; pins are honoured and visits confirmed in the
approved plan stay locked. Only when Temporal is unreachable is the draft made here with
:func:`planning.service.draft_plan`. Approving shows the difference from the last approved
plan, then hands the approval to the planning workflow (``WorkflowGateway.approve_plan``),
which tells each visit and publishes the calendars.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from time import monotonic, sleep
from typing import Any
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
    url_for,
)
from flask_babel import gettext as _
from sqlmodel import Session, col, select

from domain import audit
from domain.db import session_scope
from domain.errors import DomainError
from domain.models import DailyPlan, Staff, Visit
from domain.visits import (
    count_calls_to_make,
    count_overdue_visits,
    count_sales_awaiting_decision,
)
from web.auth import current_user, role_required
from web.blueprints.inbox import office_replies_to_handle
from web.board_view import (
    approved_plan,
    board_status,
    build_board,
    choose_plan,
    opening_day,
    plan_counts,
    plans_for_day,
)
from web.extensions import business_today, engine, settings, workflows
from web.gateway_errors import flash_workflow_error, gateway_errors
from web.params import db_id
from web.plan_diff_text import diff_lines, unassigned_lines
from web.sessions import leaves_session_alone

bp = Blueprint("board", __name__)

DISPATCH = ("admin", "dispatcher")


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(404)


def _solve_seconds() -> float:
    """Solver time for a draft asked from the board (the dispatcher waits for it)."""
    return float(current_app.config.get("BOARD_SOLVE_SECONDS", 10.0))


@bp.get("/")
@role_required()
def board():  # type: ignore[no-untyped-def]
    if not current_user.is_dispatcher:
        return redirect(url_for("mobile.today"))
    day = request.args.get("day")
    if day:
        target = _parse_day(day)
    else:
        with Session(engine()) as s:
            target = opening_day(s, business_today())
    return redirect(url_for("board.day", day=target.isoformat()))


@bp.get("/board/week")
@role_required(*DISPATCH)
def week():  # type: ignore[no-untyped-def]
    """Seven days at a glance (from ``?from=``, today by default): plans, visits, staff."""
    from web.week_view import DAYS, week_overview

    raw = request.args.get("from")
    first = _parse_day(raw) if raw else business_today()
    with Session(engine()) as s:
        days = week_overview(s, first, settings().timezone)
    return render_template(
        "board/week.html", days=days, today=business_today(),
        prev_week=(first - timedelta(days=DAYS)).isoformat(),
        next_week=(first + timedelta(days=DAYS)).isoformat(),
    )  # fmt: skip


def _clock(plan_date: date) -> datetime | None:
    """The time now, when the board shows today (time passing is news of the day's routes)."""
    return datetime.now(UTC) if plan_date == business_today() else None


@bp.get("/board/<day>")
@role_required(*DISPATCH)
def day(day: str):  # type: ignore[no-untyped-def]
    plan_date = _parse_day(day)
    plan_id = request.args.get("plan", type=db_id)
    with Session(engine()) as s:
        board_data = build_board(
            s, plan_date, settings().timezone, plan_id, tile_url=settings().map_tile_url,
            now=_clock(plan_date),
        )  # fmt: skip
        decisions = count_sales_awaiting_decision(s)
        late = count_overdue_visits(s, business_today())
        calls = count_calls_to_make(s)
    if plan_id is not None and board_data.plan is None:
        abort(404)
    return render_template(
        "board/board.html",
        board=board_data,
        decisions=decisions,
        overdue=late,
        calls=calls,
        replies=office_replies_to_handle(),
        day=plan_date.isoformat(),
        today=business_today().isoformat(),
        prev_day=(plan_date - timedelta(days=1)).isoformat(),
        next_day=(plan_date + timedelta(days=1)).isoformat(),
    )


@bp.get("/board/<day>/status.json")
@leaves_session_alone
@role_required(*DISPATCH)
def status(day: str):  # type: ignore[no-untyped-def]
    plan_date = _parse_day(day)
    with Session(engine()) as s:
        body = board_status(s, plan_date, now=_clock(plan_date))
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def draft_for_day(plan_date: date, actor: str, reason: str) -> int | None:
    """Draft a new plan for the day; flash the outcome; the new plan's id (None: no draft).

    The day's planning workflow drafts it (``replan``, or started when it is not running), so
    the draft is the one it will accept for approval. When Temporal is down the draft is made
    here directly so the dispatcher still sees one; approving it waits for Temporal.
    """
    from workflows.client import WorkflowRejected, WorkflowUnavailable

    try:
        plan_id = draft_through_workflow(plan_date, reason)
    except WorkflowUnavailable:
        plan_id = draft_directly(plan_date, actor, reason)
        if plan_id is not None:
            flash(
                _(
                    "Temporal is not reachable: this draft was made without the planning "
                    "workflow. Re-optimize again once Temporal is back to approve it."
                ),
                "error",
            )
        return plan_id
    except WorkflowRejected as exc:
        flash_workflow_error(exc)
        return None
    if plan_id is None:
        flash(_("The planning workflow is still drafting; reload the board in a moment."), "info")
        return None
    with session_scope(engine()) as s:
        audit.record(s, actor, "plan.replan", "dailyplan", plan_id, reason=reason)
        assigned, unassigned = plan_counts(s, plan_id)
        plan = s.get(DailyPlan, plan_id)
        summary = dict(plan.solver_summary) if plan is not None else {}
    _flash_draft(assigned, unassigned, summary)
    return plan_id


def _flash_draft(assigned: int, unassigned: int, summary: dict[str, Any]) -> None:
    flash(
        _(
            "New draft plan: %(assigned)d visits assigned, %(unassigned)d unassigned.",
            assigned=assigned,
            unassigned=unassigned,
        ),
        "success",
    )
    kept_before = summary.get("kept_before")
    if not kept_before:
        return
    at = datetime.fromisoformat(kept_before).astimezone(ZoneInfo(settings().timezone))
    flash(_("Today: what starts before %(at)s, and every visit checked in, stays with its "
            "technician, later where the route runs late; nothing else is placed earlier.",
            at=at.strftime("%H:%M")), "info")  # fmt: skip
    late = {int(k): v for k, v in (summary.get("running_late") or {}).items()}
    kept = [int(k) for k in summary.get("late_kept_as_planned") or []]
    if not late and not kept:
        return
    with Session(engine()) as s:
        found = s.exec(select(Staff).where(col(Staff.id).in_([*late, *kept])))
        names = {m.id: m.name for m in found}
    if late:
        routes = ", ".join(f"{names.get(k, k)} ({v} min)" for k, v in late.items())
        flash(_("Running late, planned with the delay: %(routes)s.", routes=routes), "info")
    if kept:
        routes = ", ".join(str(names.get(k, k)) for k in kept)
        flash(_("Too late to fit the day, kept as planned (check with the technician): "
                "%(routes)s.", routes=routes), "warning")  # fmt: skip


def draft_through_workflow(
    plan_date: date, reason: str, seconds: float | None = None
) -> int | None:
    """Ask the day's planning workflow for a new draft and wait for it (None: still drafting)."""
    from workflows.contracts import ReplanInput, planning_workflow_id

    gateway = workflows()
    seconds = seconds if seconds is not None else _solve_seconds()
    if gateway.is_running(planning_workflow_id(plan_date)):
        before = int(gateway.plan_state(plan_date).get("drafts") or 0)
        gateway.replan(plan_date, ReplanInput(reason=reason[:200]))
    else:
        before = 0
        gateway.start_planning(plan_date, draft_seconds=seconds)
    deadline = monotonic() + seconds + float(current_app.config.get("BOARD_DRAFT_WAIT", 30.0))
    while monotonic() < deadline:
        state = gateway.plan_state(plan_date)
        if int(state.get("drafts") or 0) > before and state.get("status") in (
            "awaiting_approval",
            "closed",
        ):
            return state.get("draft_plan_id") or state.get("last_draft", {}).get("plan_id")
        sleep(0.25)
    return None


def draft_directly(plan_date: date, actor: str, reason: str) -> int | None:
    """Draft with :func:`planning.service.draft_plan` in this request (Temporal is down)."""
    from planning.service import draft_plan

    with Session(engine()) as s:
        plans = plans_for_day(s, plan_date)
    approved = approved_plan(plans)
    base = approved.id if approved else None
    try:
        result = draft_plan(engine(), settings(), plan_date, _solve_seconds(), base_plan_id=base)
    except DomainError as exc:
        flash(_("The plan could not be drafted: %(error)s", error=str(exc)), "error")
        return None
    with session_scope(engine()) as s:
        audit.record(s, actor, "plan.draft", "dailyplan", result.plan_id, reason=reason)
    _flash_draft(result.assigned, result.unassigned, result.summary)
    return result.plan_id


@bp.post("/board/<day>/optimize")
@role_required(*DISPATCH)
def optimize(day: str):  # type: ignore[no-untyped-def]
    plan_date = _parse_day(day)
    if plan_date < business_today():
        flash(_("This day is over; only today and later days can be planned."), "error")
        return redirect(url_for("board.day", day=plan_date.isoformat()))
    plan_id = draft_for_day(plan_date, current_user.email, "re-optimize")
    return redirect(url_for("board.day", day=plan_date.isoformat(), plan=plan_id))


def _pin_start(plan_date: date, raw: str) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        at = time.fromisoformat(raw)
    except ValueError:
        return None
    local = datetime.combine(plan_date, at, tzinfo=ZoneInfo(settings().timezone))
    return local.astimezone(UTC)


@bp.post("/board/<day>/visits/<int:visit_id>/pin")
@role_required(*DISPATCH)
def pin(day: str, visit_id: int):  # type: ignore[no-untyped-def]
    """Pin a visit to a staff member and/or a start time (or clear its pin), then re-draft."""
    plan_date = _parse_day(day)
    if plan_date < business_today():
        flash(_("This day is over; only today and later days can be planned."), "error")
        return redirect(url_for("board.day", day=plan_date.isoformat()))
    action = request.form.get("action", "pin")
    staff_raw = request.form.get("staff_id", "").strip()
    start_raw = request.form.get("start", "")
    with session_scope(engine()) as s:
        visit = s.get(Visit, visit_id)
        if visit is None:
            abort(404)
        if action == "unpin":
            visit.pinned_staff_id = None
            visit.pinned_start = None
        else:
            try:
                staff_id = db_id(staff_raw) if staff_raw else None
            except ValueError:
                staff_id = -1
            if staff_id is not None and (staff_id < 0 or s.get(Staff, staff_id) is None):
                flash(_("Unknown staff member."), "error")
                return redirect(url_for("board.day", day=plan_date.isoformat()))
            start = _pin_start(plan_date, start_raw)
            if start_raw.strip() and start is None:
                flash(_("Write the time as HH:MM."), "error")
                return redirect(url_for("board.day", day=plan_date.isoformat()))
            if staff_id is None and start is None:
                flash(_("Choose a staff member or a time to pin the visit to."), "error")
                return redirect(url_for("board.day", day=plan_date.isoformat()))
            visit.pinned_staff_id = staff_id
            visit.pinned_start = start
        audit.record(
            s,
            current_user.email,
            f"visit.{action}",
            "visit",
            visit_id,
            staff_id=visit.pinned_staff_id,
            start=visit.pinned_start.isoformat() if visit.pinned_start else None,
        )
    plan_id = draft_for_day(plan_date, current_user.email, f"{action} visit {visit_id}")
    return redirect(url_for("board.day", day=plan_date.isoformat(), plan=plan_id))


@bp.get("/board/<day>/approve")
@role_required(*DISPATCH)
def review(day: str):  # type: ignore[no-untyped-def]
    """The difference between a draft and the last approved plan, before approving it."""
    from planning.diff import plan_difference

    plan_date = _parse_day(day)
    plan_id = request.args.get("plan", type=db_id)
    with Session(engine()) as s:
        plans = plans_for_day(s, plan_date)
        # without ?plan=, the plan the board shows for the day (its newest draft, else approved)
        plan = choose_plan(plans, plan_id)
        if plan is None:
            abort(404)
        base = approved_plan(plans)
        diff = plan_difference(s, plan.id, base.id if base else None)  # type: ignore[arg-type]
        sections = diff_lines(s, diff)
        left_out = unassigned_lines(s, plan.id)  # type: ignore[arg-type]
    return render_template(
        "board/approve.html",
        plan=plan,
        base=base,
        sections=sections,
        day=plan_date.isoformat(),
        workflow_note=_workflow_note(plan_date, plan.id),  # type: ignore[arg-type]
        left_out=left_out,
    )


def _workflow_note(plan_date: date, plan_id: int) -> str | None:
    """Why approving this plan would be refused, if the planning workflow says so."""
    from workflows.client import WorkflowRejected

    try:
        state = workflows().plan_state(plan_date)
    except WorkflowRejected:
        return _("No planning workflow is running for this day: press Re-optimize first.")
    except gateway_errors():
        return _("Temporal is not reachable: the plan cannot be approved right now.")
    waiting = state.get("draft_plan_id")
    if state.get("status") == "awaiting_approval" and waiting not in (None, plan_id):
        return _("The planning workflow waits for the approval of plan #%(id)d, a newer draft.",
                 id=waiting)  # fmt: skip
    return None


def approve_through_workflow(plan_date: date, plan_id: int, approved_by: str):  # type: ignore[no-untyped-def]
    """Hand the approval to the day's planning workflow (its validator accepts only its
    current draft; a refusal comes back as ``WorkflowRejected`` with the reason)."""
    from workflows.client import WorkflowRejected
    from workflows.contracts import ApprovePlanInput, planning_workflow_id

    gateway = workflows()
    if not gateway.is_running(planning_workflow_id(plan_date)):
        raise WorkflowRejected(
            _("no planning workflow is running for this day: press Re-optimize first")
        )
    return gateway.approve_plan(
        plan_date, ApprovePlanInput(plan_id=plan_id, approved_by=approved_by)
    )


@bp.post("/board/<day>/approve")
@role_required(*DISPATCH)
def approve(day: str):  # type: ignore[no-untyped-def]
    plan_date = _parse_day(day)
    plan_id = request.form.get("plan_id", type=db_id)
    with Session(engine()) as s:
        plan = s.get(DailyPlan, plan_id) if plan_id else None
        if plan is None or plan.plan_date != plan_date:
            abort(404)
    try:
        result = approve_through_workflow(plan_date, plan_id, current_user.email)
    except gateway_errors() as exc:
        flash_workflow_error(exc)
        return redirect(url_for("board.review", day=plan_date.isoformat(), plan=plan_id))
    flash(
        _(
            "Plan approved: %(count)d visits notified.",
            count=getattr(result, "visits_notified", 0),
        ),
        "success",
    )
    return redirect(url_for("board.day", day=plan_date.isoformat()))
