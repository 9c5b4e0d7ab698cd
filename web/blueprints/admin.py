"""Administration: accounts (created with a password shown once, reset, deactivated) and API
tokens for integrations (issued once, revocable)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user
from pydantic import ValidationError
from sqlmodel import Session, col, select

from domain.db import session_scope
from domain.errors import DomainError, NotFound
from domain.models import ApiToken, Staff, User, UserRole
from domain.schemas import validation_messages
from domain.users import UserIn, create_user, set_active, set_password, temporary_password
from web.api_tokens import issue_api_token, revoke_api_token
from web.auth import AccountUser, current_user, role_required
from web.extensions import engine, settings
from web.params import db_id, page_number

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page(new_token: str | None = None):  # type: ignore[no-untyped-def]
    with Session(engine()) as s:
        tokens = list(
            s.exec(
                select(ApiToken, User)
                .join(User, col(User.id) == col(ApiToken.user_id))
                .order_by(col(ApiToken.id).desc())
            )
        )
        users = list(s.exec(select(User).where(User.active).order_by(User.email)))
    body = render_template("admin/tokens.html", tokens=tokens, users=users, new_token=new_token)
    return body, 200, {"Cache-Control": "no-store"}


@bp.get("/tokens")
@role_required("admin")
def tokens():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("/tokens")
@role_required("admin")
def create_token():  # type: ignore[no-untyped-def]
    user_id = request.form.get("user_id", type=db_id)
    name = (request.form.get("name") or "").strip()
    if user_id is None or not name:
        flash(_("Choose the account the token acts as and give it a name."), "error")
        return redirect(url_for("admin.tokens"))
    try:
        with session_scope(engine()) as s:
            raw = issue_api_token(s, user_id, name, actor=current_user.email)
    except NotFound:
        abort(404)
    return _page(new_token=raw)


@bp.post("/tokens/<int:token_id>/revoke")
@role_required("admin")
def revoke(token_id: int):  # type: ignore[no-untyped-def]
    try:
        with session_scope(engine()) as s:
            revoke_api_token(s, token_id, actor=current_user.email)
    except NotFound:
        abort(404)
    flash(_("Token revoked."), "success")
    return redirect(url_for("admin.tokens"))


def _users_page(shown: tuple[str, str] | None = None, errors: list[str] | None = None, form=None):  # type: ignore[no-untyped-def]
    """The accounts page; ``shown`` is (email, password) to hand over once."""
    with Session(engine()) as s:
        users = list(s.exec(select(User).order_by(col(User.active).desc(), User.email)))
        staff = {m.id: m for m in s.exec(select(Staff).order_by(Staff.name))}
    linked = {u.staff_id for u in users if u.staff_id is not None}
    body = render_template(
        "admin/users.html", users=users, staff=staff, unlinked=[
            m for m in staff.values() if m.id not in linked and m.active
        ], shown=shown, errors=errors or [], form=form or request.form,
        roles=[r.value for r in UserRole],
    )  # fmt: skip
    return body, (422 if errors else 200), {"Cache-Control": "no-store"}


@bp.get("/users")
@role_required("admin")
def users():  # type: ignore[no-untyped-def]
    return _users_page()


@bp.post("/users")
@role_required("admin")
def create_account():  # type: ignore[no-untyped-def]
    form = request.form
    password = temporary_password()
    try:
        data = UserIn(
            email=form.get("email", ""),
            name=form.get("name", ""),
            role=form.get("role", ""),
            staff_id=form.get("staff_id", type=db_id),
            locale=form.get("locale", "es"),
            password=password,
        )
        with session_scope(engine()) as s:
            user = create_user(s, data, actor=current_user.email)
            email = user.email
    except ValidationError as exc:
        return _users_page(errors=validation_messages(exc, whole=_("form")))
    except DomainError as exc:
        return _users_page(errors=[str(exc)])
    return _users_page(shown=(email, password), form={})


@bp.post("/users/<int:user_id>/password")
@role_required("admin")
def reset_password(user_id: int):  # type: ignore[no-untyped-def]
    """A new password for someone who lost theirs, shown once; their sessions end."""
    password = temporary_password()
    try:
        with session_scope(engine()) as s:
            user = set_password(s, user_id, password, actor=current_user.email)
            email, account = user.email, AccountUser.from_row(user)
    except NotFound:
        abort(404)
    if user_id == current_user.id:
        login_user(account)  # an admin's own reset ends their other sessions, not this one
    return _users_page(shown=(email, password))


@bp.post("/users/<int:user_id>/active")
@role_required("admin")
def set_account_active(user_id: int):  # type: ignore[no-untyped-def]
    active = request.form.get("active") == "1"
    if user_id == current_user.id and not active:
        flash(_("You cannot deactivate your own account."), "error")
        return redirect(url_for("admin.users"))
    try:
        with session_scope(engine()) as s:
            set_active(s, user_id, active, actor=current_user.email)
    except NotFound:
        abort(404)
    flash(_("Account reactivated.") if active else _("Account deactivated."), "success")
    return redirect(url_for("admin.users"))


AUDIT_PAGE = 100


@bp.get("/audit")
@role_required("admin")
def audit_log():  # type: ignore[no-untyped-def]
    """Who did what and when, newest first (filters: who, record, dates)."""
    from web.audit_view import ENTITIES, AuditFilter, audit_query

    f = AuditFilter.from_args(request.args)
    page = max(request.args.get("page", default=1, type=page_number) or 1, 1)
    rows, count = audit_query(f, settings().timezone)
    with Session(engine()) as s:
        total = s.exec(count).one()
        entries = list(s.exec(rows.limit(AUDIT_PAGE).offset((page - 1) * AUDIT_PAGE)))
    return render_template(
        "admin/audit.html", entries=entries, f=f, entities=ENTITIES, page=page, total=total,
        pages=max(1, -(-total // AUDIT_PAGE)),
    )  # fmt: skip
