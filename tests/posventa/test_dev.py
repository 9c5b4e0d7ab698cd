"""Smoke test: `posventa dev` starts every part, answers /healthz, stops cleanly on SIGINT, and a
second start keeps the data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from domain.db import make_engine
from domain.models import Sale, Visit

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    """Direct children of ``pid`` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"posventa dev exited early:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"/healthz never answered 200:\n{log.read_text()}")


def _wait_for_text(log: Path, text: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        assert proc.poll() is None, f"posventa dev exited early:\n{log.read_text()}"
        time.sleep(0.5)
    pytest.fail(f"{text!r} never printed:\n{log.read_text()}")


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    posventa = str(Path(sys.executable).parent / "posventa")
    return subprocess.Popen(
        [posventa, "dev"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    children = _children(proc.pid)
    assert len(children) >= 3, "expected temporal, worker and web children"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0, log.read_text()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(c) for c in children):
        time.sleep(0.2)
    assert not any(_alive(c) for c in children), "a child process outlived posventa dev"
    assert "posventa stopped." in log.read_text()


def _cleanup(proc: subprocess.Popen[bytes]) -> None:
    """After a failure: stop posventa dev and make sure none of its children outlive the test."""
    if proc.poll() is not None:
        return
    children = _children(proc.pid)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
    for child in children:
        if _alive(child):
            try:
                os.killpg(child, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_dev_starts_answers_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    web_port = _free_port()
    env = dict(os.environ)
    env.update(
        POSVENTA_DATA_DIR=str(data_dir),
        TEMPORAL_ADDRESS=f"127.0.0.1:{_free_port()}",
        POSVENTA_TEMPORAL_UI_PORT=str(_free_port()),
        POSVENTA_WEB_PORT=str(web_port),
        POSVENTA_PLANNING_HOUR="17",
    )
    env.pop("POSVENTA_DATABASE_URL", None)
    health = f"http://127.0.0.1:{web_port}/healthz"

    first_log = tmp_path / "first.log"
    proc = _start(env, first_log)
    try:
        _wait_healthy(health, proc, first_log, 150)
        _wait_for_text(first_log, "sale lifecycles running", proc, 90)
        output = first_log.read_text()
        assert "seeded demo company" in output
        assert f"http://127.0.0.1:{web_port}/" in output
        assert "admin@posventa.demo" in output
        assert (data_dir / "temporal.db").exists()
        # the lifecycle workflows pick up where the seeded history ends: visits get requested
        engine = make_engine(f"sqlite:///{data_dir / 'posventa.db'}")
        deadline = time.monotonic() + 60
        requested = 0
        while time.monotonic() < deadline and requested < 14:
            with Session(engine) as s:
                requested = s.exec(
                    select(func.count()).select_from(Visit).where(Visit.status != "completed")
                ).one()
            time.sleep(1)
        engine.dispose()
        assert requested >= 14  # at least every sale waiting for its installation
        _stop(proc, first_log)
    finally:
        _cleanup(proc)

    second_log = tmp_path / "second.log"
    proc = _start(env, second_log)
    try:
        _wait_healthy(health, proc, second_log, 150)
        assert "seeded demo company" not in second_log.read_text()
        engine = make_engine(f"sqlite:///{data_dir / 'posventa.db'}")
        with Session(engine) as s:
            assert s.exec(select(func.count()).select_from(Sale)).one() == 60
        engine.dispose()
        _stop(proc, second_log)
    finally:
        _cleanup(proc)
