"""The ``posventa`` command line."""

from __future__ import annotations

import asyncio
import getpass
import sys

import click
from pydantic import ValidationError

from posventa.config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _validation_message(exc: ValidationError) -> str:
    from domain.schemas import validation_messages

    return "; ".join(validation_messages(exc))


@click.group()
@click.version_option(package_name="posventa")
def cli() -> None:
    """posventa: after-sales field service and training scheduler."""


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from domain.migrate import upgrade

    settings = _settings()
    settings.ensure_data_dir()
    upgrade(settings.resolved_database_url, revision)
    click.echo(f"database at {revision}")


@cli.command("seed-demo")
@click.option("--force", is_flag=True, help="Seed even if the database already has sales.")
def seed_demo(force: bool) -> None:
    """Fill the database with the demo company (staff, products, customers, 60 sales)."""
    from domain.db import get_engine
    from domain.demo import seed_demo as do_seed
    from domain.migrate import upgrade

    settings = _settings()
    settings.ensure_data_dir()
    upgrade(settings.resolved_database_url)
    result = do_seed(get_engine(settings.resolved_database_url), force=force)
    click.echo(result.summary())


@cli.group()
def user() -> None:
    """Accounts for the web app."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "dispatcher", "technician"]), required=True)
@click.option("--staff-id", type=int, default=None, help="Staff record of a technician/trainer.")
@click.option("--locale", type=click.Choice(["es", "en"]), default="es", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(
    email: str, name: str, role: str, staff_id: int | None, locale: str, password_stdin: bool
) -> None:
    """Create an account (the first admin comes from here: there is no default password)."""
    from domain.db import get_engine, session_scope
    from domain.errors import DomainError
    from domain.users import UserIn, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != password:
            raise click.ClickException("the passwords differ")
    settings = _settings()
    try:
        data = UserIn(
            email=email, name=name, role=role, password=password, staff_id=staff_id, locale=locale
        )
        with session_scope(get_engine(settings.resolved_database_url)) as session:
            created = create_user(session, data, actor="cli")
            click.echo(f"created {created.role} {created.email} (id {created.id})")
    except ValidationError as exc:
        raise click.ClickException(_validation_message(exc)) from exc
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option(
    "--schedule/--no-schedule",
    default=False,
    help="Create or update the daily planning Schedule (POSVENTA_PLANNING_HOUR) at start.",
)
def worker(schedule: bool) -> None:
    """Run a Temporal worker (workflows and activities) until interrupted."""
    from workflows.worker import run_worker

    settings = _settings()
    try:
        asyncio.run(run_worker(settings, ensure_schedule=schedule))
    except KeyboardInterrupt:
        pass


@cli.command("start-lifecycles")
def start_lifecycles() -> None:
    """Start the lifecycle workflow of every active sale that has none (after an import)."""
    from domain.db import get_engine
    from posventa.startup import start_missing_lifecycles
    from workflows.client import WorkflowGateway, WorkflowUnavailable

    settings = _settings()
    gateway = WorkflowGateway(settings)
    try:
        count = start_missing_lifecycles(get_engine(settings.resolved_database_url), gateway)
    except WorkflowUnavailable as exc:
        raise click.ClickException(f"Temporal is not reachable: {exc}") from exc
    finally:
        gateway.close()
    click.echo(f"{count} active sales have a running lifecycle")


@cli.command()
@click.option("--host", default=None, help="Bind host (default POSVENTA_WEB_HOST).")
@click.option("--port", type=int, default=None, help="Port (default POSVENTA_WEB_PORT).")
@click.option("--workers", type=int, default=2, show_default=True, help="gunicorn workers.")
def web(host: str | None, port: int | None, workers: int) -> None:
    """Serve the web app with gunicorn (production)."""
    from posventa.serve import serve_gunicorn

    settings = _settings()
    serve_gunicorn(settings, host or settings.web_host, port or settings.web_port, workers)


@cli.command()
@click.option("--no-demo", is_flag=True, help="Do not seed demo data on first start.")
@click.option("--port", type=int, default=None, help="Web port (default 5000).")
def dev(no_demo: bool, port: int | None) -> None:
    """Run everything on embedded defaults: Temporal dev server, a worker and the web app."""
    from posventa.dev import run_dev

    settings = _settings()
    if port:
        settings = settings.replace(web_port=port)
    sys.exit(run_dev(settings, seed=not no_demo))


def _register_optional_commands() -> None:
    """Commands that live beside the code they drive."""
    from optimizer.cli import solve
    from planning.cli import plan

    cli.add_command(solve)
    cli.add_command(plan)


_register_optional_commands()


def main() -> None:
    cli(prog_name="posventa")


if __name__ == "__main__":
    main()
