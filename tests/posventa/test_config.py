"""Settings: the only reader of the environment, safe defaults, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from posventa.config import ENV_DOC, ConfigError, Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_are_local_and_embedded() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path(".posventa")
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_database_url.endswith(".posventa/posventa.db")
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.temporal_namespace == "default"
    assert settings.sms_gateway == "outbox"
    assert settings.rate_limit_storage_url == "memory://"


def test_environment_overrides() -> None:
    settings = Settings.from_env(
        {
            "POSVENTA_DATABASE_URL": "postgresql://u@db/posventa",
            "POSVENTA_DATA_DIR": "/srv/posventa",
            "TEMPORAL_ADDRESS": "temporal:7233",
            "TEMPORAL_NAMESPACE": "prod",
            "POSVENTA_SECRET_KEY": "s3cret",
            "POSVENTA_SMS_GATEWAY": "twilio",
            "TWILIO_ACCOUNT_SID": "AC123",
            "TWILIO_AUTH_TOKEN": "tok",
            "TWILIO_MESSAGING_SERVICE_SID": "MG123",
            "POSVENTA_RATE_LIMIT_STORAGE_URL": "redis://redis:6379/0",
            "POSVENTA_SMS_RETENTION_DAYS": "730",
        }
    )
    assert settings.rate_limit_storage_url == "redis://redis:6379/0"
    assert settings.sms_retention_days == 730
    assert settings.resolved_database_url == "postgresql://u@db/posventa"
    assert settings.data_dir == Path("/srv/posventa")
    assert settings.temporal_namespace == "prod"
    assert settings.twilio_messaging_service_sid == "MG123"


def test_twilio_gateway_without_credentials_is_refused() -> None:
    with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID"):
        Settings.from_env({"POSVENTA_SMS_GATEWAY": "twilio"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("POSVENTA_SMS_GATEWAY", "pigeon", "outbox"),
        ("POSVENTA_PLANNING_HOUR", "25", "between 0 and 23"),
        ("POSVENTA_WEB_PORT", "http", "whole number"),
        ("POSVENTA_ARRIVAL_WINDOW_MINUTES", "0", "positive"),
        ("POSVENTA_SMS_RETENTION_DAYS", "-1", "0 \\(keep\\) or more days"),
        ("POSVENTA_RATE_LIMIT_STORAGE_URL", "127.0.0.1:6379", "memory:// or a redis:// URL"),
        ("POSVENTA_RATE_LIMIT_STORAGE_URL", "mongodb://db/x", "memory:// or a redis:// URL"),
    ],
)
def test_bad_values_get_clear_errors(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: value})


def test_to_env_round_trips() -> None:
    original = Settings.from_env(
        {
            "POSVENTA_DATA_DIR": "/x",
            "POSVENTA_WEB_PORT": "5050",
            "POSVENTA_PROXY_HOPS": "2",
            "POSVENTA_SMS_RETENTION_DAYS": "365",
        }  # fmt: skip
    )
    assert Settings.from_env(original.to_env()) == original


def test_dev_secret_is_generated_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    first = settings.with_dev_secret().secret_key
    second = Settings(data_dir=tmp_path / "d").with_dev_secret().secret_key
    assert first == second and len(first) >= 40
    assert (tmp_path / "d" / "secret_key").stat().st_mode & 0o077 == 0


def test_every_variable_is_documented_in_the_readme() -> None:
    readme = README.read_text()
    table_names = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert set(ENV_DOC) <= table_names, set(ENV_DOC) - table_names
