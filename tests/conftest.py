"""Shared fixtures: migrated databases (SQLite and PostgreSQL), settings, Temporal binaries."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import domain.models  # noqa: F401
from domain.db import make_engine
from domain.migrate import upgrade
from posventa.config import Settings

PG_ADMIN_URL = os.environ.get("POSVENTA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


def create_pg_database() -> str:
    """Create an empty PostgreSQL database for this test run; return its URL."""
    name = f"posventa_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _pg_url(name)


def drop_pg_database(url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("db") / "posventa.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = create_pg_database()
    upgrade(url)
    yield url
    drop_pg_database(url)


def clear_tables(engine: Engine) -> None:
    """Empty every table (between tests) without dropping the migrated schema."""
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: each test using it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


def _emptied_engine(url: str) -> Iterator[Engine]:
    eng = make_engine(url)
    clear_tables(eng)
    yield eng
    clear_tables(eng)
    eng.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    yield from _emptied_engine(database_url)


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """PostgreSQL only (concurrency, load)."""
    yield from _emptied_engine(postgres_url)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    yield from _emptied_engine(sqlite_url)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a test: its own data dir, testing on, no environment read."""
    return Settings(data_dir=tmp_path / "data", secret_key="test-secret", testing=True)


def venv_binary(name: str) -> str:
    """A console binary installed beside the running Python (a venv is not always on PATH)."""
    candidate = Path(sys.executable).parent / name
    if not candidate.exists():
        pytest.fail(f"{name} not found beside {sys.executable}: install the test extras")
    return str(candidate)


@pytest.fixture(autouse=True)
def _stop_sms_sweepers() -> Iterator[None]:
    """No app's SMS hand-off sweeper outlives its test (its database is dropped after it)."""
    yield
    sms_blueprint = sys.modules.get("web.blueprints.sms")
    if sms_blueprint is not None:
        sms_blueprint.stop_sweepers()
