"""Administration: API tokens for integrations (issued once, revocable)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlmodel import Session, col, select

from domain.db import session_scope
from domain.errors import NotFound
from domain.models import ApiToken, User
from web.api_tokens import issue_api_token, revoke_api_token
from web.auth import current_user, role_required
from web.extensions import engine
from web.params import db_id

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
