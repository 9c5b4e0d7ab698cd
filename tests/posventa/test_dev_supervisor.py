"""The dev supervisor starts the Temporal dev server again, and explains it when it fails."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from posventa.config import Settings
from posventa.dev import ChildDied, Supervisor, child_env, start_temporal


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_temporal_that_cannot_start_is_tried_again_then_explained(tmp_path: Path) -> None:
    """A taken UI port makes the dev server exit at once: every attempt is made, and the error
    carries the server's own words instead of a bare exit code."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ui_port = taken.getsockname()[1]
        settings = Settings(
            data_dir=tmp_path,
            secret_key="test-secret",
            testing=True,
            temporal_address=f"127.0.0.1:{_free_port()}",
            temporal_ui_port=ui_port,
        )
        supervisor = Supervisor(tmp_path)
        try:
            with pytest.raises(ChildDied) as failure:
                start_temporal(supervisor, settings, child_env(settings), attempts=2)
        finally:
            supervisor.stop_all()

    message = str(failure.value)
    assert "temporal exited with code 1" in message
    assert f"can't set UI port {ui_port}" in message
    log = (tmp_path / "temporal.log").read_text()
    assert log.count(f"can't set UI port {ui_port}") == 2, "expected two attempts"
    assert len(supervisor.children) == 1, "the first, dead attempt is no longer watched"
