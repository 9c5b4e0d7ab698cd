"""posventa's configuration: the one place that reads the environment.

Every other module receives a :class:`Settings` (or the values it needs from it) instead of
looking at ``os.environ`` itself. Defaults are safe for a laptop: SQLite in ``./.posventa``, the
embedded SMS outbox, a local Temporal dev server.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ENV_DOC: dict[str, str] = {
    "POSVENTA_DATABASE_URL": "SQLAlchemy URL of the database "
    "(default: SQLite file `posventa.db` in the data dir)",
    "POSVENTA_DATA_DIR": "Where local state lives: SQLite file, Temporal dev-server state, "
    "dev secret key (default `./.posventa`)",
    "TEMPORAL_ADDRESS": "Temporal frontend host:port (default `127.0.0.1:7233`)",
    "TEMPORAL_NAMESPACE": "Temporal namespace (default `default`)",
    "TEMPORAL_TASK_QUEUE": "Task queue of the posventa workers (default `posventa`)",
    "POSVENTA_SECRET_KEY": "Flask session signing key; required in production "
    "(dev: generated once into the data dir)",
    "POSVENTA_PAYLOAD_KEY": "Base64 32-byte key; when set, Temporal payloads and failure "
    "messages are encrypted (AES-GCM)",
    "POSVENTA_SMS_GATEWAY": "`outbox` (embedded, default) or `twilio`",
    "TWILIO_ACCOUNT_SID": "Twilio account SID",
    "TWILIO_AUTH_TOKEN": "Twilio auth token (also validates webhook signatures)",
    "TWILIO_FROM": "Sender phone number in E.164",
    "TWILIO_MESSAGING_SERVICE_SID": "Messaging service SID (used instead of TWILIO_FROM)",
    "POSVENTA_PUBLIC_URL": "Public base URL of the web app, for status callbacks and links "
    "(default `http://127.0.0.1:5000`)",
    "POSVENTA_DEFAULT_REGION": "Region for phone numbers written without a country code "
    "(default `ES`)",
    "POSVENTA_PROXY_HOPS": "Number of TLS-terminating proxies in front of the web app "
    "(default `0`)",
    "POSVENTA_PLANNING_HOUR": "Local hour at which the next day's plan is drafted (default `17`)",
    "POSVENTA_TIMEZONE": "Business time zone for planning days (default `Europe/Madrid`)",
    "POSVENTA_ARRIVAL_WINDOW_MINUTES": "Width of the arrival window promised to customers "
    "(default `120`)",
    "POSVENTA_OSRM_URL": "OSRM base URL for road travel times (default: haversine estimate)",
    "POSVENTA_GEOCODER_URL": "Nominatim base URL: sale and staff forms left without coordinates "
    "are located from their address, within `POSVENTA_DEFAULT_REGION` (default: none, "
    "coordinates are typed in)",
    "POSVENTA_MAP_TILE_URL": "Optional map tile URL template for the plan board",
    "POSVENTA_RATE_LIMIT_STORAGE_URL": "Where login attempts are counted: `memory://` (default, "
    "per process) or `redis://host:6379/0`, shared by every web worker",
    "POSVENTA_WEB_HOST": "Web bind host (default `127.0.0.1`)",
    "POSVENTA_WEB_PORT": "Web port (default `5000`)",
    "POSVENTA_TEMPORAL_UI_PORT": "Port of the dev server's web UI (default `8233`)",
}


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


# storages of the `limits` library that posventa supports (redis needs the `redis` package)
RATE_LIMIT_STORAGE_SCHEMES = frozenset(
    {"memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster"}
)


class ConfigError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """All of posventa's configuration, read once from the environment."""

    data_dir: Path = Path(".posventa")
    database_url: str = ""
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "posventa"
    temporal_ui_port: int = 8233
    secret_key: str = ""
    payload_key: str = ""
    sms_gateway: str = "outbox"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_messaging_service_sid: str = ""
    public_url: str = "http://127.0.0.1:5000"
    default_region: str = "ES"
    proxy_hops: int = 0
    planning_hour: int = 17
    timezone: str = "Europe/Madrid"
    arrival_window_minutes: int = 120
    sms_retention_days: int = 0  # texts older than this are blanked daily (0: kept)
    osrm_url: str = ""
    geocoder_url: str = ""
    map_tile_url: str = ""
    rate_limit_storage_url: str = "memory://"
    web_host: str = "127.0.0.1"
    web_port: int = 5000
    testing: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from an environment mapping (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("POSVENTA_DATA_DIR") or ".posventa")
        gateway = (env.get("POSVENTA_SMS_GATEWAY") or "outbox").strip().lower()
        if gateway not in {"outbox", "twilio"}:
            raise ConfigError(f"POSVENTA_SMS_GATEWAY must be 'outbox' or 'twilio', got {gateway!r}")
        settings = cls(
            data_dir=data_dir,
            database_url=env.get("POSVENTA_DATABASE_URL", ""),
            temporal_address=env.get("TEMPORAL_ADDRESS") or "127.0.0.1:7233",
            temporal_namespace=env.get("TEMPORAL_NAMESPACE") or "default",
            temporal_task_queue=env.get("TEMPORAL_TASK_QUEUE") or "posventa",
            temporal_ui_port=_int(
                "POSVENTA_TEMPORAL_UI_PORT", env.get("POSVENTA_TEMPORAL_UI_PORT"), 8233
            ),
            secret_key=env.get("POSVENTA_SECRET_KEY", ""),
            payload_key=env.get("POSVENTA_PAYLOAD_KEY", ""),
            sms_gateway=gateway,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            twilio_from=env.get("TWILIO_FROM", ""),
            twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID", ""),
            public_url=(env.get("POSVENTA_PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/"),
            default_region=(env.get("POSVENTA_DEFAULT_REGION") or "ES").upper(),
            proxy_hops=_int("POSVENTA_PROXY_HOPS", env.get("POSVENTA_PROXY_HOPS"), 0),
            planning_hour=_int("POSVENTA_PLANNING_HOUR", env.get("POSVENTA_PLANNING_HOUR"), 17),
            timezone=env.get("POSVENTA_TIMEZONE") or "Europe/Madrid",
            arrival_window_minutes=_int(
                "POSVENTA_ARRIVAL_WINDOW_MINUTES", env.get("POSVENTA_ARRIVAL_WINDOW_MINUTES"), 120
            ),
            sms_retention_days=_int(
                "POSVENTA_SMS_RETENTION_DAYS", env.get("POSVENTA_SMS_RETENTION_DAYS"), 0
            ),
            osrm_url=env.get("POSVENTA_OSRM_URL", ""),
            geocoder_url=(env.get("POSVENTA_GEOCODER_URL") or "").strip(),
            map_tile_url=env.get("POSVENTA_MAP_TILE_URL", ""),
            rate_limit_storage_url=(
                env.get("POSVENTA_RATE_LIMIT_STORAGE_URL") or "memory://"
            ).strip(),
            web_host=env.get("POSVENTA_WEB_HOST") or "127.0.0.1",
            web_port=_int("POSVENTA_WEB_PORT", env.get("POSVENTA_WEB_PORT"), 5000),
            testing=_bool(env.get("POSVENTA_TESTING")),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse combinations that cannot work, with a message that says what to set."""
        if not 0 <= self.planning_hour <= 23:
            raise ConfigError("POSVENTA_PLANNING_HOUR must be between 0 and 23")
        if self.arrival_window_minutes <= 0:
            raise ConfigError("POSVENTA_ARRIVAL_WINDOW_MINUTES must be positive")
        if self.sms_retention_days < 0:
            raise ConfigError("POSVENTA_SMS_RETENTION_DAYS must be 0 (keep) or more days")
        scheme = self.rate_limit_storage_url.partition("://")[0]
        if scheme not in RATE_LIMIT_STORAGE_SCHEMES or "://" not in self.rate_limit_storage_url:
            raise ConfigError(
                "POSVENTA_RATE_LIMIT_STORAGE_URL must be memory:// or a redis:// URL, got "
                f"{self.rate_limit_storage_url!r}"
            )
        if self.proxy_hops < 0:
            raise ConfigError("POSVENTA_PROXY_HOPS must be 0 or more")
        if self.sms_gateway == "twilio":
            missing = [
                name
                for name, value in (
                    ("TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                    ("TWILIO_AUTH_TOKEN", self.twilio_auth_token),
                )
                if not value
            ]
            if not (self.twilio_from or self.twilio_messaging_service_sid):
                missing.append("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
            if missing:
                raise ConfigError("the Twilio gateway needs " + ", ".join(missing))

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'posventa.db').resolve()}"

    def ensure_data_dir(self) -> Path:
        """Create the data dir if needed and return it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    def with_dev_secret(self) -> Settings:
        """Settings with a secret key: the configured one, or a dev key kept in the data dir."""
        if self.secret_key:
            return self
        path = self.ensure_data_dir() / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return replace(self, secret_key=path.read_text().strip())

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings (for child processes)."""
        env = {
            "POSVENTA_DATA_DIR": str(self.data_dir),
            "POSVENTA_DATABASE_URL": self.database_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "TEMPORAL_NAMESPACE": self.temporal_namespace,
            "TEMPORAL_TASK_QUEUE": self.temporal_task_queue,
            "POSVENTA_TEMPORAL_UI_PORT": str(self.temporal_ui_port),
            "POSVENTA_SECRET_KEY": self.secret_key,
            "POSVENTA_PAYLOAD_KEY": self.payload_key,
            "POSVENTA_SMS_GATEWAY": self.sms_gateway,
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "TWILIO_FROM": self.twilio_from,
            "TWILIO_MESSAGING_SERVICE_SID": self.twilio_messaging_service_sid,
            "POSVENTA_PUBLIC_URL": self.public_url,
            "POSVENTA_DEFAULT_REGION": self.default_region,
            "POSVENTA_PROXY_HOPS": str(self.proxy_hops),
            "POSVENTA_PLANNING_HOUR": str(self.planning_hour),
            "POSVENTA_TIMEZONE": self.timezone,
            "POSVENTA_ARRIVAL_WINDOW_MINUTES": str(self.arrival_window_minutes),
            "POSVENTA_SMS_RETENTION_DAYS": str(self.sms_retention_days),
            "POSVENTA_OSRM_URL": self.osrm_url,
            "POSVENTA_GEOCODER_URL": self.geocoder_url,
            "POSVENTA_MAP_TILE_URL": self.map_tile_url,
            "POSVENTA_RATE_LIMIT_STORAGE_URL": self.rate_limit_storage_url,
            "POSVENTA_WEB_HOST": self.web_host,
            "POSVENTA_WEB_PORT": str(self.web_port),
        }
        if self.testing:
            env["POSVENTA_TESTING"] = "1"
        return env

    def replace(self, **changes: object) -> Settings:
        """A copy with some values changed (tests and the CLI use this)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def setting_names() -> list[str]:
    """Names of the dataclass fields, for documentation checks."""
    return [f.name for f in fields(Settings)]
