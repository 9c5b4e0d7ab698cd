"""Shared per-app objects: database engine, settings, CSRF, rate limiter and the workflow gateway.

Other areas import from here: ``csrf`` (exempt a signed webhook blueprint with
``csrf.exempt(bp)``), ``engine()``, ``settings()`` and ``workflows()``.
"""

from __future__ import annotations

import threading
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.engine import Engine

from domain.db import get_engine
from posventa.config import Settings

if TYPE_CHECKING:  # pragma: no cover
    from workflows.client import WorkflowGateway

csrf = CSRFProtect()

WORKFLOWS_KEY = "posventa.workflows"
LIMITER_KEY = "posventa.limiter"
_gateway_lock = threading.Lock()


def init_database(app: Flask, settings: Settings) -> None:
    settings.ensure_data_dir()
    app.extensions["posventa.engine"] = get_engine(settings.resolved_database_url)


def init_limiter(app: Flask, settings: Settings) -> Limiter:
    """A rate limiter per app, counting in ``settings.rate_limit_storage_url``.

    With Redis every web worker process counts the same attempts (in memory each gunicorn
    worker would allow the limit on its own); if Redis is down, counting falls back to memory
    rather than refusing every login."""
    limiter = Limiter(
        key_func=get_remote_address,
        storage_uri=settings.rate_limit_storage_url,
        default_limits=[],
        in_memory_fallback_enabled=True,
        key_prefix="posventa",
    )
    limiter.init_app(app)
    app.extensions[LIMITER_KEY] = limiter
    return limiter


def engine() -> Engine:
    """The current app's database engine."""
    return current_app.extensions["posventa.engine"]


def settings() -> Settings:
    """The current app's settings."""
    return current_app.config["POSVENTA_SETTINGS"]


def business_today() -> date:
    """Today's date where the business works (``settings().timezone``), not the server's."""
    return datetime.now(ZoneInfo(settings().timezone)).date()


def workflows() -> WorkflowGateway:
    """The app's :class:`workflows.client.WorkflowGateway`, created on first use.

    Tests may put their own gateway in ``app.extensions["posventa.workflows"]``.
    """
    gateway: Any = current_app.extensions.get(WORKFLOWS_KEY)
    if gateway is None:
        from workflows.client import WorkflowGateway

        with _gateway_lock:
            gateway = current_app.extensions.get(WORKFLOWS_KEY)
            if gateway is None:
                gateway = WorkflowGateway(settings())
                current_app.extensions[WORKFLOWS_KEY] = gateway
    return gateway
