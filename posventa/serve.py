"""Run the web app under gunicorn (the production WSGI server) from Python."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from posventa.config import Settings
from posventa.redaction import redact


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's access log without secret tokens in the request line."""

    def access(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        clean = dict(environ)
        for key in ("RAW_URI", "PATH_INFO", "HTTP_REFERER"):
            if isinstance(clean.get(key), str):
                clean[key] = redact(clean[key])
        super().access(resp, req, clean, request_time)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from web import create_app

        return create_app(self._settings)


def serve_gunicorn(settings: Settings, host: str, port: int, workers: int = 2) -> None:
    """Serve until SIGINT/SIGTERM; gunicorn stops its workers gracefully."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": 4,
        "worker_class": "gthread",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "logger_class": RedactingLogger,
    }
    _Gunicorn(settings, options).run()
