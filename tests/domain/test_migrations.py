"""Migrations: one linear history that builds the same schema as the models on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


def _upgrade_keeps_the_catalogue_and_its_sales(url: str) -> None:
    """Migrations that change ``product`` run on a database with sales (whose foreign keys
    forbid copying and dropping the table, as SQLite's batch mode would)."""
    from sqlalchemy import text

    upgrade(url, "0003")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO customer (name, phone, locale, address, latitude, longitude, "
            "sms_opt_out, created_at) VALUES ('Ana', '+34600000001', 'es', '', 39.4, -0.3, "
            ":f, CURRENT_TIMESTAMP)"
        ), {"f": False})  # fmt: skip
        conn.execute(text(
            "INSERT INTO product (sku, name, installation_minutes, training_sessions, "
            "training_minutes, maintenance_minutes, repair_minutes, warranty_months, "
            "contract_months) VALUES ('OVEN-1', 'Horno', 60, 0, 0, 0, 60, 24, 0)"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO sale (customer_id, product_id, sold_on, contract_months, status, stage,"
            " created_at, updated_at) SELECT c.id, p.id, '2026-11-02', 0, 'active', "
            "'registered', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM customer c, product p"
        ))  # fmt: skip
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sku, name_en, active FROM product")).all()
        sales = conn.execute(text("SELECT count(*) FROM sale")).scalar_one()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("OVEN-1", None, True)] and sales == 1
    downgrade(url, "0003")
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT sku FROM product")).scalars().all() == ["OVEN-1"]
        assert conn.execute(text("SELECT count(*) FROM sale")).scalar_one() == 1
    engine.dispose()


def test_sqlite_product_migrations_keep_existing_sales(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _upgrade_keeps_the_catalogue_and_its_sales(f"sqlite:///{tmp_path / 'm.db'}")


def test_postgres_product_migrations_keep_existing_sales() -> None:
    url = create_pg_database()
    try:
        _upgrade_keeps_the_catalogue_and_its_sales(url)
    finally:
        drop_pg_database(url)


def _upgrade_marks_old_office_replies_handled(url: str) -> None:
    """0008: replies to the office older than a day count as handled (the board stopped
    pointing at them); newer ones and every other message stay as they were."""
    from sqlalchemy import text

    upgrade(url, "0007")
    engine = make_engine(url)
    with engine.begin() as conn:
        for body, direction, template, age in (
            ("old", "inbound", "office_message", timedelta(days=3)),
            ("new", "inbound", "visit_on_the_way", timedelta(hours=2)),
            ("si", "inbound", "visit_confirmation", timedelta(days=3)),
            ("ours", "outbound", "office_message", timedelta(days=3)),
        ):
            at = (datetime.now(UTC) - age).replace(tzinfo=None)
            conn.execute(text(
                "INSERT INTO smsmessage (direction, to_number, from_number, body, template, "
                "status, processed, created_at, updated_at) VALUES (:d, '+34600000000', "
                "'+34600000001', :b, :t, 'received', :p, :at, :at)"
            ), {"d": direction, "b": body, "t": template, "p": True, "at": at})  # fmt: skip
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT body, handled_by, handled_at = created_at FROM smsmessage ORDER BY id"
        )).all()  # fmt: skip
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("old", "before tracking", True),
        ("new", None, None),
        ("si", None, None),
        ("ours", None, None),
    ]
    downgrade(url, "0007")


def test_sqlite_office_replies_migration(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _upgrade_marks_old_office_replies_handled(f"sqlite:///{tmp_path / 'm.db'}")


def test_postgres_office_replies_migration() -> None:
    url = create_pg_database()
    try:
        _upgrade_marks_old_office_replies_handled(url)
    finally:
        drop_pg_database(url)
