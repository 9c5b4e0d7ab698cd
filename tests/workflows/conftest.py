"""Fixtures of the workflow tests: real Temporal servers from the venv's binaries."""

from __future__ import annotations

import pytest

from posventa.config import Settings
from tests.conftest import venv_binary
from tests.workflows.support import with_own_queue


@pytest.fixture
def wf_settings(settings: Settings) -> Settings:
    """Settings with a task queue of the test's own."""
    return with_own_queue(settings)


@pytest.fixture(scope="session")
def test_server_path() -> str:
    return venv_binary("temporal-test-server")


@pytest.fixture(scope="session")
def dev_server_path() -> str:
    return venv_binary("temporal")
