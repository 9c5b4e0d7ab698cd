"""/healthz: 200 only when the database, Temporal and a worker are all there."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from posventa.config import Settings
from tests.web.conftest import make_app


def test_temporal_down_is_named(settings: Settings, sqlite_engine: Engine) -> None:
    response = make_app(settings, sqlite_engine).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["problems"][0].startswith("temporal:")


def test_healthy_with_a_worker_and_not_without(
    temporal_with_worker: tuple[str, Settings], sqlite_engine: Engine
) -> None:
    address, worker_settings = temporal_with_worker
    app = make_app(worker_settings, sqlite_engine, temporal_address=address)
    ok = app.test_client().get("/healthz")
    assert ok.status_code == 200, ok.json
    assert ok.json == {"status": "ok", "problems": []}

    idle = make_app(
        worker_settings.replace(temporal_task_queue="nobody-polls-this-queue"),
        sqlite_engine,
        temporal_address=address,
    )
    down = idle.test_client().get("/healthz")
    assert down.status_code == 503
    assert down.json["problems"] == ["worker: none polls task queue 'nobody-polls-this-queue'"]
