"""Accounts in the web app: Flask-Login sessions, login/logout views and role checks.

``role_required("admin", "dispatcher")`` guards a view: anonymous users are sent to the login
page (JSON callers get 401), logged-in users with another role get 403.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlmodel import Session
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from domain import audit
from domain.db import session_scope
from domain.errors import DomainError
from domain.models import User, UserRole
from domain.users import (
    MIN_PASSWORD_LENGTH,
    ShortPassword,
    WrongPassword,
    authenticate,
    change_own_password,
    session_key,
)
from web.extensions import LIMITER_KEY, engine

__all__ = ["bp", "current_user", "init_auth", "role_required", "AccountUser"]

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
# "basic", not "strong": technicians' phones change networks (and addresses) all day, and
# "strong" would log them out at every change. Fixation is prevented by a fresh session at login.
login_manager.session_protection = "basic"

LOGIN_RATE_LIMIT = "10 per minute"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AccountUser(UserMixin):
    """The logged-in account as a plain object (no database row outlives its session)."""

    id: int
    email: str
    name: str
    role: str
    staff_id: int | None
    locale: str
    session_key: str = ""  # see domain.users.session_key

    def get_id(self) -> str:
        return f"{self.id}:{self.session_key}"

    @property
    def is_dispatcher(self) -> bool:
        return self.role in (UserRole.ADMIN, UserRole.DISPATCHER)

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN

    @classmethod
    def from_row(cls, user: User) -> AccountUser:
        assert user.id is not None
        return cls(
            user.id,
            user.email,
            user.name,
            user.role,
            user.staff_id,
            user.locale,
            session_key(user.password_hash),
        )


@login_manager.user_loader
def _load_user(user_id: str) -> AccountUser | None:
    """The session's account, if it is still active and its password has not changed since
    the session signed in."""
    uid_text, _, key = user_id.partition(":")
    try:
        uid = int(uid_text)
    except ValueError:
        return None
    with Session(engine()) as s:
        user = s.get(User, uid)
        if user is None or not user.active:
            return None
        account = AccountUser.from_row(user)
    return account if key and secrets.compare_digest(key, account.session_key) else None


@login_manager.unauthorized_handler
def _unauthorized():  # type: ignore[no-untyped-def]
    if _wants_json():
        return {"error": "authentication required"}, 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def role_required(*roles: str) -> Callable[[F], F]:
    """Only logged-in users with one of ``roles`` may call the view (no roles: any user)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                if _wants_json():
                    return {"error": "your account may not do this"}, 403
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


class LoginForm(FlaskForm):
    email = EmailField("email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("password", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user: AccountUser) -> str:
    if user.role == UserRole.TECHNICIAN:
        return url_for("mobile.today")
    return url_for("board.board")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(home_for(current_user))
    if form.validate_on_submit():
        with session_scope(engine()) as s:
            user = authenticate(s, form.email.data or "", form.password.data or "")
            if user is not None:
                audit.record(s, user.email, "user.login", "user", user.id)
                account = AccountUser.from_row(user)
        if user is None:
            flash(_("Wrong email or password."), "error")
            return render_template("auth/login.html", form=form), 401
        # A fresh session at login: nothing set before authentication survives (fixation).
        session.clear()
        login_user(account)
        session.permanent = True
        return redirect(_safe_next(request.args.get("next")) or home_for(account))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/account/locale")
@role_required()
def set_locale():  # type: ignore[no-untyped-def]
    locale = request.form.get("locale", "")
    if locale not in ("es", "en"):
        abort(400)
    with session_scope(engine()) as s:
        user = s.get(User, current_user.id)
        assert user is not None
        user.locale = locale
    return redirect(_safe_next(request.form.get("next")) or home_for(current_user))


class PasswordForm(FlaskForm):
    current = PasswordField("current", validators=[DataRequired(), Length(max=200)])
    new = PasswordField("new", validators=[DataRequired(), Length(max=200)])
    repeat = PasswordField("repeat", validators=[DataRequired(), Length(max=200)])


@bp.route("/account/password", methods=["GET", "POST"])
@role_required()
def change_password():  # type: ignore[no-untyped-def]
    """Change one's own password; other sessions signed in with the old one end."""
    form = PasswordForm()
    errors: list[str] = []
    if form.validate_on_submit():
        if form.new.data != form.repeat.data:
            errors = [_("The two new passwords differ.")]
        else:
            try:
                with session_scope(engine()) as s:
                    user = change_own_password(
                        s, current_user.id, form.current.data or "", form.new.data or ""
                    )
                    account = AccountUser.from_row(user)
            except WrongPassword:
                errors = [_("The current password is not right.")]
            except ShortPassword:
                errors = [_("The new password needs at least %(num)d characters.",
                            num=MIN_PASSWORD_LENGTH)]  # fmt: skip
            except DomainError as exc:
                errors = [str(exc)]
            else:
                login_user(account)  # this session carries the new password's key
                flash(_("Password changed. Other sessions were signed out."), "success")
                return redirect(home_for(account))
    elif request.method == "POST":
        errors = [_("Fill in the three fields.")]
    return render_template("auth/password.html", form=form, errors=errors), (422 if errors else 200)


def init_auth(app: Flask) -> None:
    """Register the login manager, the auth views and the rate limit on the views that check
    a password (signing in, changing one's password: both can be used to guess one)."""
    login_manager.init_app(app)
    app.register_blueprint(bp)
    limiter = app.extensions[LIMITER_KEY]
    limit = app.config.get("LOGIN_RATE_LIMIT", LOGIN_RATE_LIMIT)
    for endpoint in ("auth.login", "auth.change_password"):
        app.view_functions[endpoint] = limiter.limit(limit, methods=["POST"])(
            app.view_functions[endpoint]
        )
