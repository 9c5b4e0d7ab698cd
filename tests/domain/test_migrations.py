"""Migrations: one linear history that builds the same schema as the models on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from domain.db import make_engine
from domain.migrate import current_heads, downgrade, upgrade
from tests.conftest import create_pg_database, drop_pg_database


def test_single_head() -> None:
    assert len(current_heads()) == 1


def _assert_matches_models(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_sqlite_upgrade_downgrade_upgrade(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    _assert_matches_models(url)
    downgrade(url, "base")
    engine = make_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    _assert_matches_models(url)


def test_postgres_upgrade_downgrade_upgrade() -> None:
    url = create_pg_database()
    try:
        upgrade(url)
        _assert_matches_models(url)
        downgrade(url, "base")
        upgrade(url)
        _assert_matches_models(url)
    finally:
        drop_pg_database(url)
