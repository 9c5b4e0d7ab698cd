"""The posventa CLI: db upgrade, seed-demo, user create (through click's runner, real database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from domain.db import make_engine
from domain.models import Sale, User
from posventa.cli import cli


@pytest.fixture
def env(tmp_path: Path, database_url: str, engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Point the CLI at the migrated test database (SQLite and PostgreSQL)."""
    return {"POSVENTA_DATA_DIR": str(tmp_path / "data"), "POSVENTA_DATABASE_URL": database_url}


def test_db_upgrade_creates_a_fresh_sqlite_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"POSVENTA_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "posventa.db").exists()


def test_user_create_reads_the_password_and_refuses_duplicates(env, engine) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    args = [
        "user",
        "create",
        "--email",
        "Boss@Example.com",
        "--name",
        "Boss",
        "--role",
        "admin",
        "--password-stdin",
    ]
    result = runner.invoke(cli, args, input="a long enough password\n", env=env)
    assert result.exit_code == 0, result.output
    assert "created admin boss@example.com" in result.output
    again = runner.invoke(cli, args, input="a long enough password\n", env=env)
    assert again.exit_code != 0
    assert "already exists" in again.output
    with Session(engine) as s:
        assert len(s.exec(select(User)).all()) == 1


def test_user_create_refuses_a_short_password_and_writes_nothing(env, engine) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        cli,
        [
            "user",
            "create",
            "--email",
            "a@b.es",
            "--name",
            "A",
            "--role",
            "dispatcher",
            "--password-stdin",
        ],
        input="short\n",
        env=env,
    )
    assert result.exit_code != 0
    assert "password" in result.output
    with Session(engine) as s:
        assert s.exec(select(User)).all() == []


def test_technician_account_needs_a_staff_member(env) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        cli,
        [
            "user",
            "create",
            "--email",
            "t@b.es",
            "--name",
            "T",
            "--role",
            "technician",
            "--password-stdin",
        ],
        input="a long enough password\n",
        env=env,
    )
    assert result.exit_code != 0
    assert "staff member" in result.output


def test_seed_demo_once(env, database_url: str) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    first = runner.invoke(cli, ["seed-demo"], env=env)
    assert first.exit_code == 0, first.output
    assert "60 sales" in first.output
    second = runner.invoke(cli, ["seed-demo"], env=env)
    assert "nothing seeded" in second.output
    engine = make_engine(database_url)
    with Session(engine) as s:
        assert len(s.exec(select(Sale)).all()) == 60
    engine.dispose()


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["db", "upgrade"], env={"POSVENTA_DATA_DIR": str(tmp_path), "POSVENTA_WEB_PORT": "x"}
    )
    assert result.exit_code != 0
    assert "POSVENTA_WEB_PORT must be a whole number" in result.output
