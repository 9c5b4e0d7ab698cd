"""The production topology of docker-compose.yml, run here as plain processes.

PostgreSQL and Redis (the machine's), a Temporal server, `posventa db upgrade`, `posventa web`
under gunicorn and two `posventa worker` processes: a sale registered through the web app's
database gets its lifecycle started and its installation visit requested by one of the workers,
and the gunicorn workers count failed logins together in Redis.
(The Temporal server here is the CLI's dev server; docker-compose uses the official server image
on PostgreSQL — the posventa processes cannot tell the difference.)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from pathlib import Path

import pytest
import redis
from sqlmodel import Session, select

from domain.db import make_engine, session_scope
from domain.models import Visit
from domain.schemas import CustomerIn, ProductIn, SaleIn
from domain.services import create_customer, create_product, register_sale
from posventa.config import Settings
from tests.conftest import create_pg_database, drop_pg_database
from tests.web.conftest import csrf_token_in

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, seconds: float, what: str, procs: list[subprocess.Popen[bytes]]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for proc in procs:
            assert proc.poll() is None, f"{proc.args} exited with {proc.returncode}"
        if check():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} did not happen within {seconds} s")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _failed_login_codes(base: str, attempts: int) -> list[int]:
    """Status codes of ``attempts`` wrong-password logins, each on a new connection."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    token = csrf_token_in(opener.open(f"{base}/login", timeout=10).read().decode())
    body = urllib.parse.urlencode(
        {"email": "nobody@example.com", "password": "guess", "csrf_token": token}
    ).encode()
    codes = []
    for _ in range(attempts):
        try:
            codes.append(opener.open(f"{base}/login", data=body, timeout=10).status)
        except urllib.error.HTTPError as exc:
            codes.append(exc.code)
    return codes


def test_compose_topology_as_processes(tmp_path: Path) -> None:
    db_url = create_pg_database()
    redis_url = "redis://127.0.0.1:6379/12"  # a database of the machine's Redis kept for this test
    redis.Redis.from_url(redis_url).flushdb()
    temporal_port, web_port = _free_port(), _free_port()
    env = dict(os.environ)
    env.update(
        POSVENTA_DATABASE_URL=db_url,
        POSVENTA_DATA_DIR=str(tmp_path / "data"),
        TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
        POSVENTA_SECRET_KEY="topology-test-secret",
        POSVENTA_WEB_PORT=str(web_port),
        POSVENTA_RATE_LIMIT_STORAGE_URL=redis_url,
    )
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        procs.append(proc)
        return proc

    try:
        start(
            "temporal",
            [
                str(BIN / "temporal"),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(temporal_port),
                "--headless",
                "--search-attribute",
                "PosventaStage=Keyword",
            ],
        )
        migrate = subprocess.run(
            [str(BIN / "posventa"), "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrate.returncode == 0, migrate.stderr
        _wait(lambda: _port_open(temporal_port), 60, "Temporal", procs)
        start("web", [str(BIN / "posventa"), "web", "--workers", "2"])
        start("worker-1", [str(BIN / "posventa"), "worker"])
        start("worker-2", [str(BIN / "posventa"), "worker"])
        _wait(lambda: _healthy(f"http://127.0.0.1:{web_port}/healthz"), 60, "/healthz", procs)

        engine = make_engine(db_url)
        with session_scope(engine) as s:
            create_product(
                s,
                ProductIn(
                    sku="AC-1", name="Split", installation_minutes=120, installation_skill="hvac"
                ),
            )
            customer = create_customer(
                s, CustomerIn(name="Ana", phone="+34612345678", latitude=39.47, longitude=-0.37)
            )
            sale = register_sale(
                s, SaleIn(customer_id=customer.id, product_sku="AC-1", sold_on=date.today())
            )
        from workflows.client import WorkflowGateway

        gateway = WorkflowGateway(Settings.from_env(env))
        try:
            gateway.start_sale(sale.id)  # type: ignore[arg-type]

            def installation_requested() -> bool:
                with Session(engine) as s:
                    return (
                        s.exec(
                            select(Visit).where(
                                Visit.sale_id == sale.id, Visit.kind == "installation"
                            )
                        ).first()
                        is not None
                    )

            _wait(installation_requested, 60, "installation visit requested", procs)
            codes = _failed_login_codes(f"http://127.0.0.1:{web_port}", 11)
            assert codes == [401] * 10 + [429]
            assert redis.Redis.from_url(redis_url).keys("*/posventa/*")
        finally:
            gateway.close()
            engine.dispose()
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        drop_pg_database(db_url)
