"""A real Radicale CalDAV server (from PyPI) on 127.0.0.1, with plain htpasswd users."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import caldav
import pytest

USER, PASSWORD = "trainer", "s3cret-pass"


@dataclass(frozen=True)
class Radicale:
    base_url: str
    username: str = USER
    password: str = PASSWORD

    def client(self, password: str | None = None) -> caldav.DAVClient:
        return caldav.DAVClient(
            url=self.base_url,
            username=self.username,
            password=password or self.password,
            timeout=10,
            enable_rfc6764=False,
        )

    def new_calendar(self) -> caldav.Calendar:
        """A fresh, empty calendar for one test."""
        cal_id = f"cal-{uuid.uuid4().hex[:10]}"
        return self.client().principal().make_calendar(name=cal_id, cal_id=cal_id)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    root: Path = tmp_path_factory.mktemp("radicale")
    (root / "users").write_text(f"{USER}:{PASSWORD}\n")
    port = free_port()
    config = root / "config"
    config.write_text(
        f"""[server]
hosts = 127.0.0.1:{port}
[auth]
type = htpasswd
htpasswd_filename = {root / "users"}
htpasswd_encryption = plain
delay = 0
[storage]
filesystem_folder = {root / "collections"}
[rights]
type = owner_only
[logging]
level = warning
"""
    )
    log = (root / "radicale.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)], stdout=log, stderr=log
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(
                    "radicale did not start: " + (root / "radicale.log").read_text()
                ) from None
            time.sleep(0.1)
    try:
        yield Radicale(base_url=f"http://127.0.0.1:{port}/")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
