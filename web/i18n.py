"""Spanish and English (Flask-Babel): the logged-in user's locale, else the browser's choice."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, request
from flask_babel import Babel, format_date, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from domain.models import Product
from web.extensions import settings

LOCALES = ("es", "en")
TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    if current_user and getattr(current_user, "is_authenticated", False):
        locale = getattr(current_user, "locale", None)
        if locale in LOCALES:
            return locale
    return request.accept_languages.best_match(LOCALES) or "es"


def local_time(value: datetime | None, fmt: str = "%H:%M") -> str:
    """A UTC datetime shown in the business time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(settings().timezone)).strftime(fmt)


def local_datetime(value: datetime | None) -> str:
    return local_time(value, "%Y-%m-%d %H:%M")


def iso_date(value: date | None) -> str:
    return value.isoformat() if value else ""


def long_date(value: date | None) -> str:
    """A day as people say it, in the page's language ("lunes, 7 de diciembre de 2026")."""
    return format_date(value, "full") if value else ""


def kilometres(metres: int | None) -> str:
    """Metres as kilometres with one decimal, in the page's language ("2,3" in Spanish)."""
    return format_decimal(metres / 1000, "0.0") if metres is not None else ""


def product_name(product: Product | None) -> str:
    """A product's name in the page's language (its English name, if it has one, in English)."""
    return product.name_for(str(get_locale())) if product is not None else ""


def init_i18n(app: Flask) -> None:
    Babel(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS),
    )
    app.jinja_env.filters["localtime"] = local_time
    app.jinja_env.filters["localdatetime"] = local_datetime
    app.jinja_env.filters["isodate"] = iso_date
    app.jinja_env.filters["longdate"] = long_date
    app.jinja_env.filters["product_name"] = product_name
    app.jinja_env.filters["km"] = kilometres
    app.jinja_env.globals["get_locale"] = get_locale


# Names stored as data (visit kinds, statuses, stages, roles, message statuses, weekdays):
# listed here so the translation catalogue has them; templates translate them with ``_(value)``
# (tests/web/test_translations.py checks every stored name is here).
DATA_NAMES = [
    _l("installation"), _l("training"), _l("maintenance"), _l("repair"),
    _l("requested"), _l("planned"), _l("awaiting_confirmation"), _l("confirmed"),
    _l("declined"), _l("completed"), _l("failed"), _l("cancelled"),
    _l("active"), _l("returned"), _l("registered"), _l("survey"), _l("ended"),
    _l("draft"), _l("approved"), _l("superseded"),
    # message statuses (sms.status.KNOWN)
    _l("accepted"), _l("scheduled"), _l("queued"), _l("sending"), _l("sent"), _l("receiving"),
    _l("received"), _l("delivered"), _l("read"), _l("undelivered"), _l("canceled"),
    _l("admin"), _l("dispatcher"), _l("technician"), _l("trainer"),
    _l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"),
]  # fmt: skip
