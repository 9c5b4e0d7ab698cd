"""``posventa plan ...``: draft, show, compare and approve a day's plan without the workflows.

For dispatchers' scripts and operations (the daily planning workflow calls the same service).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date

import click
from sqlmodel import Session, col, select

from domain.errors import DomainError


def _settings():  # type: ignore[no-untyped-def]
    from posventa.config import ConfigError, Settings

    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _engine(settings):  # type: ignore[no-untyped-def]
    from domain.db import get_engine

    return get_engine(settings.resolved_database_url)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


@click.group("plan")
def plan() -> None:
    """Daily plans: draft, show, diff, approve."""


@plan.command("draft")
@click.argument("plan_date")
@click.option("--seconds", type=click.FloatRange(min=0.5), default=20.0, show_default=True)
@click.option(
    "--base",
    "base_plan_id",
    type=int,
    default=None,
    help="Plan to stay close to (default: the day's approved plan).",
)
def draft(plan_date: str, seconds: float, base_plan_id: int | None) -> None:
    """Solve PLAN_DATE (YYYY-MM-DD) and store a draft plan; print its summary as JSON."""
    from planning.service import draft_plan

    settings = _settings()
    try:
        result = draft_plan(
            _engine(settings),
            settings,
            _day(plan_date),
            seconds,
            base_plan_id,
            on_progress=lambda message: click.echo(message, err=True),
        )
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    summary = dict(result.summary)
    explanation = summary.pop("explanation", "")
    click.echo(explanation, err=True)
    click.echo(json.dumps({**asdict(result), "summary": summary}, indent=2, default=str))


@plan.command("show")
@click.argument("plan_date")
def show(plan_date: str) -> None:
    """List PLAN_DATE's plans and the latest one's stops."""
    from domain.models import DailyPlan, PlanStop, PlanUnassigned

    settings = _settings()
    day = _day(plan_date)
    with Session(_engine(settings)) as session:
        plans = session.exec(
            select(DailyPlan).where(DailyPlan.plan_date == day).order_by(col(DailyPlan.version))
        ).all()
        if not plans:
            raise click.ClickException(f"no plan for {day.isoformat()}")
        for p in plans:
            click.echo(
                f"plan {p.id} v{p.version} {p.status}"
                + (f" by {p.approved_by}" if p.approved_by else "")
            )
        latest = plans[-1]
        stops = session.exec(
            select(PlanStop)
            .where(PlanStop.plan_id == latest.id)
            .order_by(col(PlanStop.staff_id), col(PlanStop.sequence))
        ).all()
        for s in stops:
            what = f"visit {s.visit_id}" if s.visit_id else s.kind
            flags = "".join(f" [{f}]" for f, on in (("locked", s.locked), ("moved", s.moved)) if on)
            click.echo(
                f"  staff {s.staff_id} #{s.sequence} {s.start:%H:%MZ}-{s.end:%H:%MZ} {what}{flags}"
            )
        for u in session.exec(select(PlanUnassigned).where(PlanUnassigned.plan_id == latest.id)):
            click.echo(f"  not planned: visit {u.visit_id} ({u.reason_code}) {u.reason}")


@plan.command("diff")
@click.argument("plan_id", type=int)
@click.option(
    "--base",
    "base_plan_id",
    type=int,
    default=None,
    help="Compare with this plan (default: the plan it was drafted from).",
)
def diff(plan_id: int, base_plan_id: int | None) -> None:
    """What approving PLAN_ID would change, as JSON."""
    from domain.models import DailyPlan
    from planning.service import plan_difference

    settings = _settings()
    with Session(_engine(settings)) as session:
        found = session.get(DailyPlan, plan_id)
        if found is None:
            raise click.ClickException(f"unknown plan {plan_id}")
        base = base_plan_id if base_plan_id is not None else found.based_on_plan_id
        try:
            result = plan_difference(session, plan_id, base)
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(asdict(result), indent=2, default=str))


@plan.command("approve")
@click.argument("plan_id", type=int)
@click.option("--by", "approved_by", required=True, help="Who approves (e-mail or name).")
def approve(plan_id: int, approved_by: str) -> None:
    """Approve PLAN_ID directly in the database.

    Use the web board (or the planning workflow's approve update) in normal operation: this
    command does not notify the visit workflows or publish calendars.
    """
    from planning.service import approve_plan

    settings = _settings()
    try:
        result = approve_plan(_engine(settings), plan_id, approved_by)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(asdict(result), indent=2))
