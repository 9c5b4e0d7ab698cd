"""docker-compose.yml and the Dockerfile describe the production topology.

No Docker engine runs here: the structure is checked, and tests/posventa/test_topology.py runs the
same topology as plain processes."""

from __future__ import annotations

from pathlib import Path

import yaml

from posventa.config import ENV_DOC

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services() -> None:
    services = _compose()["services"]
    assert {"postgres", "temporal", "temporal-ui", "web", "worker", "migrate"} <= set(services)
    assert services["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["worker"]["command"] == ["posventa", "worker"]
    assert "gunicorn" not in str(services["web"]["command"])  # `posventa web` runs gunicorn
    assert services["web"]["command"][:2] == ["posventa", "web"]


def test_compose_dependencies_exist_and_order_startup() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    assert services["web"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["migrate"]["command"] == ["posventa", "db", "upgrade"]


def test_compose_only_sets_known_configuration() -> None:
    compose = _compose()
    env = compose["services"]["web"]["environment"]
    known = set(ENV_DOC)
    assert set(env) <= known, set(env) - known
    assert env["POSVENTA_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_dockerfile_installs_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    import tomllib

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    for pattern in include:
        package = pattern.rstrip("*")
        assert f"COPY {package} ./{package}" in dockerfile, package
        assert (ROOT / package / "__init__.py").exists(), package
