"""Fixtures of the activity tests: a small company in the database under test (both DBs)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine

from tests.workflows.support import make_company


@pytest.fixture
def company(engine: Engine) -> dict[str, int]:
    """Customer, technician, product (installation, 2 trainings, maintenance) and a sale."""
    return make_company(engine, sold_on=date(2026, 11, 2))
