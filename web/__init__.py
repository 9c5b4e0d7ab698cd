"""The dispatcher web app (Flask application factory)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, abort, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from domain.visits import away_metres, lateness_minutes
from posventa.config import Settings
from web.params import MAX_ID
from web.sessions import BackgroundAwareSessions


def _cookie_config(settings: Settings) -> dict[str, object]:
    """Session cookies: HttpOnly, SameSite=Lax, Secure unless testing or a plain-http dev URL."""
    secure = not (settings.testing or settings.public_url.startswith("http://"))
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_NAME": "posventa_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    }


def content_security_policy(settings: Settings) -> str:
    """Own scripts only (no inline ones); inline styles for the board's positions; map tiles from
    the configured tile server."""
    images = "'self' data:"
    if settings.map_tile_url:
        parts = urlsplit(settings.map_tile_url.replace("{s}", "a"))  # the board uses server "a"
        if parts.scheme and parts.netloc:
            images += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'self'; object-src 'none'"
    )


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app from settings (the environment's when none are given)."""
    settings = (settings or Settings.from_env()).with_dev_secret()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        POSVENTA_SETTINGS=settings,
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
        **_cookie_config(settings),
    )
    app.session_interface = BackgroundAwareSessions()
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    from web import audit_view, auth, health
    from web.blueprints import (
        admin,
        api,
        board,
        calendars,
        customers,
        field_work,
        inbox,
        mobile,
        products,
        sales,
        staff,
        surveys,
        visits,
    )
    from web.blueprints import sms as sms_blueprints
    from web.extensions import csrf, init_database, init_limiter
    from web.i18n import init_i18n

    init_database(app, settings)
    csrf.init_app(app)
    init_limiter(app, settings)
    init_i18n(app)
    app.jinja_env.filters["audit_action"] = audit_view.action_label
    app.jinja_env.filters["audit_details"] = audit_view.details_text
    auth.init_auth(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(board.bp)
    app.register_blueprint(sales.bp)
    app.register_blueprint(visits.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(products.bp)
    app.register_blueprint(customers.bp)
    app.register_blueprint(surveys.bp)
    app.register_blueprint(field_work.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(mobile.bp)
    app.register_blueprint(sms_blueprints.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(calendars.bp)
    api.init_api(app)

    @app.before_request
    def _ids_in_range():  # type: ignore[no-untyped-def]
        """An id in the path beyond what the database stores is simply not found."""
        for value in (request.view_args or {}).values():
            if isinstance(value, int) and not 0 < value <= MAX_ID:
                abort(404)

    app.add_template_filter(lateness_minutes, "lateness")
    app.add_template_filter(away_metres, "away_metres")

    @app.context_processor
    def _layout_helpers() -> dict[str, object]:
        return {
            "has_endpoint": lambda name: name in app.view_functions,
            "office_replies_to_handle": inbox.office_replies_to_handle,
        }

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = exc.code or 500
        if request.path.startswith("/api/"):
            return {"error": exc.description or exc.name, "details": []}, code
        return render_template("error.html", code=code, message=exc.description), code

    csp = content_security_policy(settings)

    @app.after_request
    def _security_headers(response):  # type: ignore[no-untyped-def]
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app
