"""Web fixtures: an app on the test database, logged-in clients per role, a small world."""

from __future__ import annotations

import asyncio
import html
import re
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from posventa.config import Settings
from tests.conftest import venv_binary
from tests.web.factories import PASSWORD, World, make_world
from tests.workflows.support import running_worker, with_own_queue
from web import create_app


def engine_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def make_app(
    settings: Settings, engine: Engine, temporal_address: str = "127.0.0.1:1", **config: object
) -> Flask:
    """The app on ``engine``; Temporal at ``temporal_address`` (default: a closed port)."""
    app = create_app(
        settings.replace(database_url=engine_url(engine), temporal_address=temporal_address)
    )
    app.config.update(BOARD_SOLVE_SECONDS=1.0, **config)
    return app


@pytest.fixture
def app(settings: Settings, sqlite_engine: Engine) -> Flask:
    """The app on SQLite (the role matrix and page tests; the domain is tested on both DBs)."""
    return make_app(settings, sqlite_engine)


@pytest.fixture
def world(sqlite_engine: Engine) -> World:
    return make_world(sqlite_engine)


def csrf_token_in(html: str) -> str:
    """The CSRF token a page carries in its ``csrf-token`` meta tag."""
    marker = 'name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def flashes(html: str) -> list[str]:
    """The flashed messages a page shows, in order."""
    return [m.strip() for m in re.findall(r'class="flash flash-\w+"[^>]*>([^<]*)<', html)]


def board_banner(client: FlaskClient, day: object, banner_id: str) -> str | None:
    """The text of the plan board's banner ``banner_id`` on ``day`` (None: not shown)."""
    page = client.get(f"/board/{day}").get_data(as_text=True)
    found = re.search(rf'id="{banner_id}">\s*<span>([^<]*)</span>', page)
    return html.unescape(found.group(1)) if found else None


def csrf_from(client: FlaskClient, path: str = "/login") -> str:
    return csrf_token_in(client.get(path, follow_redirects=True).get_data(as_text=True))


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form (with its CSRF token); return a CSRF token for later posts."""
    token = csrf_from(client)
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return csrf_from(client, "/")


@pytest.fixture
def client_for(app: Flask, world: World) -> Iterator[Callable[[str], tuple[FlaskClient, str]]]:
    """``client_for("dispatcher")`` -> (a logged-in client, its CSRF token)."""

    def make(role: str) -> tuple[FlaskClient, str]:
        client = app.test_client()
        token = login(client, world.users[role])
        return client, token

    yield make


async def _until_polled(client: Client, cfg: Settings, seconds: float = 60) -> None:
    """Wait until the worker has polled its task queue: only then does Temporal know of it."""
    request = DescribeTaskQueueRequest(
        namespace=cfg.temporal_namespace,
        task_queue=TaskQueue(name=cfg.temporal_task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (await client.workflow_service.describe_task_queue(request)).pollers:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no worker polled {cfg.temporal_task_queue!r} within {seconds:.0f} s")


@pytest.fixture
def temporal_with_worker(
    sqlite_engine: Engine, settings: Settings
) -> Iterator[tuple[str, Settings]]:
    """A dev server and a worker on their own event loop in a thread; yields (address, settings)."""
    cfg = with_own_queue(settings)
    ready: dict[str, str] = {}
    started = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        async with await WorkflowEnvironment.start_local(
            dev_server_existing_path=venv_binary("temporal"), ui=False
        ) as env:
            ready["address"] = env.client.service_client.config.target_host
            async with running_worker(env.client, cfg, sqlite_engine):
                await _until_polled(env.client, cfg)
                started.set()
                await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(60), "Temporal dev server did not start"
    yield ready["address"], cfg
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=60)
