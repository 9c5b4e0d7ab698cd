"""``/healthz``: 200 when the database, Temporal and a worker answer; 503 naming what failed."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from posventa.net import port_open, split_address
from web.extensions import engine, settings, workflows

bp = Blueprint("health", __name__)


def _database_ok() -> str | None:
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"database: {type(exc).__name__}"
    return None


def _temporal_ok() -> str | None:
    host, port = split_address(settings().temporal_address)
    if not port_open(host, port, timeout=1):
        return f"temporal: no answer at {host}:{port}"
    return None


def _worker_ok() -> str | None:
    from workflows.client import WorkflowRejected, WorkflowUnavailable

    try:
        pollers = workflows().worker_pollers()
    except (WorkflowUnavailable, WorkflowRejected) as exc:
        return f"worker: {exc}"
    if pollers == 0:
        return f"worker: none polls task queue {settings().temporal_task_queue!r}"
    return None


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    problems = [p for p in (_database_ok(), _temporal_ok()) if p]
    if not problems:
        problems = [p for p in (_worker_ok(),) if p]
    body = {"status": "ok" if not problems else "degraded", "problems": problems}
    return jsonify(body), (200 if not problems else 503)
