"""JSON API ``/api/v1`` for integrations (bearer tokens) — described at ``/api/v1/openapi.json``.

Every error is JSON ``{"error": "...", "details": [...]}`` with a 4xx status (503 only when
Temporal is unreachable for an action that needs it). Input is validated with the domain's
pydantic schemas before anything is written; a refused request writes nothing.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select
from werkzeug.exceptions import HTTPException

from domain.db import session_scope
from domain.errors import Conflict, DomainError, NotFound
from domain.geocoding import GeocoderUnavailable, GeocodingError
from domain.lifecycle import MAX_CONTRACT_MONTHS
from domain.models import DailyPlan, Product, Sale, SaleStage, Staff, Visit, VisitStatus
from domain.schemas import ProductIn
from domain.services import create_product, update_product
from web.api_tokens import user_for_token
from web.auth import AccountUser
from web.board_view import build_board, plan_counts
from web.extensions import csrf, engine, settings, workflows
from web.gateway_errors import gateway_errors, is_pending, is_unavailable
from web.locate import locate_missing_json
from web.openapi import openapi_document
from web.sale_start import NewSale, register_new_sale, start_sale_workflow
from web.serializers import product_dict, sale_dict, staff_dict, visit_dict
from workflows.contracts import FAILED_VISIT_ACTIONS

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DISPATCH = ("admin", "dispatcher")


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []


MAX_ID = 2**31 - 1
PLAN_HORIZON_DAYS = 366


class OptimizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(default=10.0, ge=1, le=120, description="solver time limit")


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_id: int = Field(gt=0, le=MAX_ID)


class FaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    description: str = Field(min_length=1, max_length=1000)
    fault_ref: str = Field(default="", max_length=100)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=400)
    kind: str = Field(default="cancelled", pattern="^(cancelled|returned)$")


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contract_months: int = Field(ge=0, le=MAX_CONTRACT_MONTHS, strict=True)


class SoldOnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sold_on: date = Field(strict=False, description="the corrected sale date (YYYY-MM-DD)")


class FailedVisitDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    action: str = Field(pattern=f"^({'|'.join(FAILED_VISIT_ACTIONS)})$")
    note: str = Field(default="", max_length=400)


def _error(status: int, message: str, details: list[Any] | None = None):  # type: ignore[no-untyped-def]
    return jsonify({"error": message, "details": details or []}), status


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):  # type: ignore[no-untyped-def]
    return _error(exc.status, exc.message, exc.details)


@bp.errorhandler(ValidationError)
def _validation_error(exc: ValidationError):  # type: ignore[no-untyped-def]
    details = [
        {"loc": [str(p) for p in err["loc"]], "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    return _error(422, "the input is not valid", details)


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):  # type: ignore[no-untyped-def]
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 422
    return _error(status, str(exc))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    return _error(exc.code or 500, exc.description or exc.name)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


@bp.before_request
def _authenticate() -> Any:
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            return _error(404, "not found")
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return _error(401, "send an API token as 'Authorization: Bearer <token>'")
    with Session(engine()) as s:
        user = user_for_token(s, raw.strip())
        if user is None:
            return _error(401, "the API token is unknown or revoked")
        g.api_user = AccountUser.from_row(user)
    return None


def _user() -> AccountUser:
    return g.api_user  # type: ignore[no-any-return]


def _require(*roles: str) -> None:
    if _user().role not in roles:
        raise ApiError(403, "this token's account may not do this")


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(415, "send a JSON body with 'Content-Type: application/json'")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    if _has_nul(body):
        raise ApiError(422, "text may not contain NUL characters")
    return body


def _id_arg(name: str) -> int | None:
    """An optional id in the query string (a number from 1 to 2^31-1)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number") from None
    if not 0 < value <= MAX_ID:
        raise ApiError(400, f"{name} is out of range")
    return value


def _plannable_day(value: str) -> date:
    """A day that can still be planned: today (business time zone) to a year ahead."""
    day = _day(value)
    today = datetime.now(ZoneInfo(settings().timezone)).date()
    if day < today:
        raise ApiError(409, f"{day} is over; only today and later days can be planned")
    if day > today + timedelta(days=PLAN_HORIZON_DAYS):
        raise ApiError(422, f"plans reach at most {PLAN_HORIZON_DAYS} days ahead")
    return day


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _limit_offset() -> tuple[int, int]:
    limit = request.args.get("limit", default=100, type=int)
    offset = request.args.get("offset", default=0, type=int)
    if limit is None or not 1 <= limit <= 500:
        raise ApiError(400, "limit must be between 1 and 500")
    if offset is None or not 0 <= offset <= MAX_ID:
        raise ApiError(400, "offset must be between 0 and 2147483647")
    return limit, offset


def _workflow_failure(exc: BaseException):  # type: ignore[no-untyped-def]
    if is_pending(exc):
        body, status = _error(
            503,
            "the workflow accepted the request and is still carrying it out; "
            "send the same request again later for its result",
        )
        body.headers["Retry-After"] = "10"
        return body, status
    if is_unavailable(exc):
        return _error(503, "the workflow service (Temporal) is not reachable; nothing was changed")
    return _error(409, str(exc))


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document())


# -- sales ------------------------------------------------------------------------------------


@bp.post("/sales")
def create_sale():  # type: ignore[no-untyped-def]
    _require(*DISPATCH)
    body = _json_body()
    located = None
    if isinstance(body.get("customer"), dict):
        body["customer"] = {**body["customer"], "default_region": settings().default_region}
        try:
            body["customer"], located = locate_missing_json(body["customer"])
        except GeocoderUnavailable as exc:
            raise ApiError(503, f"the address could not be located: {exc}") from exc
        except GeocodingError as exc:
            raise ApiError(422, f"the address could not be located: {exc}", [
                {"loc": ["customer", "address"], "message": str(exc)}
            ]) from exc  # fmt: skip
    data = NewSale.model_validate(body)
    with session_scope(engine()) as s:
        sale, _reused = register_new_sale(s, data, actor=_user().email)
        sale_id = sale.id
    assert sale_id is not None
    started = start_sale_workflow(engine(), workflows(), sale_id, actor=_user().email)
    with Session(engine()) as s:
        out = sale_dict(s, s.get(Sale, sale_id), with_visits=True)  # type: ignore[arg-type]
    out["workflow_started"] = started
    if located is not None:
        out["address_located"] = located
    return jsonify(out), 201


@bp.get("/sales")
def list_sales():  # type: ignore[no-untyped-def]
    _require(*DISPATCH)
    limit, offset = _limit_offset()
    stage = request.args.get("stage")
    if stage is not None and stage not in {s.value for s in SaleStage}:
        raise ApiError(400, f"unknown stage {stage!r}")
    with Session(engine()) as s:
        query = select(Sale).order_by(col(Sale.id).desc()).limit(limit).offset(offset)
        if stage:
            query = query.where(Sale.stage == stage)
        items = [sale_dict(s, sale) for sale in s.exec(query)]
    return jsonify({"items": items, "limit": limit, "offset": offset})


def _sale(s: Session, sale_id: int) -> Sale:
    sale = s.get(Sale, sale_id)
    if sale is None:
        raise ApiError(404, f"there is no sale {sale_id}")
    return sale


@bp.get("/sales/<int:sale_id>")
def get_sale(sale_id: int):  # type: ignore[no-untyped-def]
    _require(*DISPATCH)
    with Session(engine()) as s:
        return jsonify(sale_dict(s, _sale(s, sale_id), with_visits=True))


@bp.post("/sales/<int:sale_id>/faults")
def report_fault(sale_id: int):  # type: ignore[no-untyped-def]
    from workflows.contracts import ReportFaultInput

    _require(*DISPATCH)
    data = FaultIn.model_validate(_json_body())
    with Session(engine()) as s:
        _sale(s, sale_id)
    try:
        result = workflows().report_fault(
            sale_id,
            ReportFaultInput(
                description=data.description, reported_by=_user().email, fault_ref=data.fault_ref
            ),
        )
    except gateway_errors() as exc:
        return _workflow_failure(exc)
    return jsonify({"visit_id": result.visit_id, "billable": result.billable}), 202


@bp.post("/sales/<int:sale_id>/cancel")
def cancel_sale(sale_id: int):  # type: ignore[no-untyped-def]
    from workflows.contracts import CancelSaleInput

    _require(*DISPATCH)
    data = CancelIn.model_validate(_json_body())
    with Session(engine()) as s:
        _sale(s, sale_id)
    try:
        workflows().cancel_sale(
            sale_id,
            CancelSaleInput(reason=data.reason, kind=data.kind, requested_by=_user().email),
        )
    except gateway_errors() as exc:
        return _workflow_failure(exc)
    return jsonify({"sale_id": sale_id, "status": data.kind}), 202


@bp.post("/sales/<int:sale_id>/contract")
def change_contract(sale_id: int):  # type: ignore[no-untyped-def]
    """Renew, extend or correct the maintenance contract (its new length from the sale day)."""
    from workflows.contracts import ChangeContractInput

    _require(*DISPATCH)
    data = ContractIn.model_validate(_json_body())
    with Session(engine()) as s:
        _sale(s, sale_id)
    try:
        result = workflows().change_contract(
            sale_id,
            ChangeContractInput(contract_months=data.contract_months, requested_by=_user().email),
        )
    except gateway_errors() as exc:
        return _workflow_failure(exc)
    return jsonify({"sale_id": sale_id, **dataclasses.asdict(result)})


@bp.post("/sales/<int:sale_id>/sold-on")
def correct_sold_on(sale_id: int):  # type: ignore[no-untyped-def]
    """Correct the sale's date (warranty, contract and maintenance rounds run from it)."""
    from workflows.contracts import CorrectSoldOnInput

    _require(*DISPATCH)
    data = SoldOnIn.model_validate(_json_body())
    with Session(engine()) as s:
        _sale(s, sale_id)
    try:
        result = workflows().correct_sold_on(
            sale_id,
            CorrectSoldOnInput(sold_on=data.sold_on.isoformat(), requested_by=_user().email),
        )
    except gateway_errors() as exc:
        return _workflow_failure(exc)
    return jsonify({"sale_id": sale_id, **dataclasses.asdict(result)})


@bp.post("/sales/<int:sale_id>/visits/<int:visit_id>/decision")
def decide_failed_visit(sale_id: int, visit_id: int):  # type: ignore[no-untyped-def]
    """A visit that failed (customer absent too often): request it again or close its step."""
    from workflows.contracts import FailedVisitDecisionInput

    _require(*DISPATCH)
    data = FailedVisitDecisionIn.model_validate(_json_body())
    with Session(engine()) as s:
        _sale(s, sale_id)
        visit = s.get(Visit, visit_id)
        if visit is None or visit.sale_id != sale_id:
            raise ApiError(404, f"sale {sale_id} has no visit {visit_id}")
    try:
        result = workflows().decide_failed_visit(
            sale_id,
            FailedVisitDecisionInput(
                visit_id=visit_id, action=data.action, note=data.note, requested_by=_user().email
            ),
        )
    except gateway_errors() as exc:
        return _workflow_failure(exc)
    if result.action != data.action:  # the update id is the visit's: the first decision
        return _error(409, f"visit {visit_id} was already decided: {result.action}")
    return jsonify({"visit_id": result.visit_id, "action": result.action}), 202


# -- visits -----------------------------------------------------------------------------------


@bp.get("/visits")
def list_visits():  # type: ignore[no-untyped-def]
    limit, offset = _limit_offset()
    query = select(Visit).order_by(col(Visit.id)).limit(limit).offset(offset)
    status = request.args.get("status")
    if status is not None:
        if status not in {v.value for v in VisitStatus}:
            raise ApiError(400, f"unknown status {status!r}")
        query = query.where(Visit.status == status)
    staff_id = _id_arg("staff_id")
    user = _user()
    if not user.is_dispatcher:  # technicians and trainers: their own visits only
        if user.staff_id is None:
            raise ApiError(403, "this token's account has no staff record")
        staff_id = user.staff_id
    if staff_id is not None:
        query = query.where(Visit.assigned_staff_id == staff_id)
    sale_id = _id_arg("sale_id")
    if sale_id is not None:
        query = query.where(Visit.sale_id == sale_id)
    with Session(engine()) as s:
        items = [visit_dict(v) for v in s.exec(query)]
    return jsonify({"items": items, "limit": limit, "offset": offset})


@bp.get("/visits/<int:visit_id>")
def get_visit(visit_id: int):  # type: ignore[no-untyped-def]
    from domain.services import visit_windows

    with Session(engine()) as s:
        visit = s.get(Visit, visit_id)
        user = _user()
        if visit is None or (not user.is_dispatcher and visit.assigned_staff_id != user.staff_id):
            raise ApiError(404, f"there is no visit {visit_id}")
        return jsonify(visit_dict(visit, visit_windows(s, visit_id)))


# -- plans ------------------------------------------------------------------------------------


@bp.get("/plans/<day>")
def get_plan(day: str):  # type: ignore[no-untyped-def]
    _require(*DISPATCH)
    plan_date = _day(day)
    plan_id = _id_arg("plan_id")
    with Session(engine()) as s:
        board = build_board(s, plan_date, settings().timezone, plan_id)
    if plan_id is not None and board.plan is None:
        raise ApiError(404, f"there is no plan {plan_id} for {plan_date}")
    plan = board.plan
    return jsonify(
        {
            "plan_date": plan_date.isoformat(),
            "plan": None
            if plan is None
            else {
                "id": plan.id,
                "version": plan.version,
                "status": plan.status,
                "based_on_plan_id": plan.based_on_plan_id,
                "approved_at": plan.approved_at.isoformat() if plan.approved_at else None,
                "approved_by": plan.approved_by,
                "summary": plan.solver_summary,
            },
            "approved_plan_id": board.approved.id if board.approved else None,
            "routes": [
                {
                    "staff_id": row.staff_id,
                    "staff_name": row.name,
                    "stops": [
                        {
                            "kind": "break" if b.kind == "break" else "visit",
                            "visit_id": b.visit_id,
                            "visit_kind": None if b.kind == "break" else b.kind,
                            "start": b.start.isoformat(),
                            "end": b.end.isoformat(),
                            "status": b.status or None,
                            "travel_minutes": b.travel_minutes,
                        }
                        for b in row.blocks
                    ],
                }
                for row in board.rows
            ],
            "unassigned": [
                {
                    "visit_id": u.visit_id,
                    "reason_code": u.reason_code,
                    "reason": u.reason,
                    "reason_params": u.reason_params,
                }
                for u in board.unassigned
            ],
            "figures": board.figures.as_dict(),
        }
    )


@bp.post("/plans/<day>/optimize")
def optimize_plan(day: str):  # type: ignore[no-untyped-def]
    """A new draft by the day's planning workflow (or directly when Temporal is down)."""
    from planning.service import draft_plan
    from web.blueprints.board import draft_through_workflow
    from workflows.client import WorkflowRejected, WorkflowUnavailable

    _require(*DISPATCH)
    plan_date = _plannable_day(day)
    body = _json_body() if request.content_length else {}
    data = OptimizeIn.model_validate(body)
    seconds = min(data.seconds, float(current_app.config.get("PLAN_MAX_SECONDS", 120)))
    via = "workflow"
    try:
        plan_id = draft_through_workflow(plan_date, "api: re-optimize", seconds)
    except WorkflowRejected as exc:
        return _error(409, str(exc))
    except WorkflowUnavailable:
        via = "direct"
        with Session(engine()) as s:
            board = build_board(s, plan_date, settings().timezone)
            base = board.approved.id if board.approved else None
        plan_id = draft_plan(engine(), settings(), plan_date, seconds, base_plan_id=base).plan_id
    if plan_id is None:
        return jsonify({"plan_id": None, "status": "drafting", "via": via}), 202
    with Session(engine()) as s:
        plan = s.get(DailyPlan, plan_id)
        assert plan is not None
        summary = dict(plan.solver_summary)
        version, status = plan.version, plan.status
        assigned, unassigned = plan_counts(s, plan_id)
    return jsonify(
        {"plan_id": plan_id, "plan_date": plan_date.isoformat(), "version": version,
         "status": status, "assigned": assigned, "unassigned": unassigned,
         "summary": summary, "via": via}
    ), 201  # fmt: skip


@bp.post("/plans/<day>/approve")
def approve_plan(day: str):  # type: ignore[no-untyped-def]
    from web.blueprints.board import approve_through_workflow

    _require(*DISPATCH)
    plan_date = _day(day)
    data = ApproveIn.model_validate(_json_body())
    with Session(engine()) as s:
        plan = s.get(DailyPlan, data.plan_id)
        if plan is None or plan.plan_date != plan_date:
            raise ApiError(404, f"there is no plan {data.plan_id} for {plan_date}")
    try:
        result = approve_through_workflow(plan_date, data.plan_id, _user().email)
    except gateway_errors() as exc:
        return _workflow_failure(exc)
    return jsonify({"plan_id": result.plan_id, "visits_notified": result.visits_notified})


# -- products ---------------------------------------------------------------------------------


@bp.get("/products")
def list_products():  # type: ignore[no-untyped-def]
    _require(*DISPATCH)
    with Session(engine()) as s:
        items = [product_dict(p) for p in s.exec(select(Product).order_by(col(Product.sku)))]
    return jsonify({"items": items})


@bp.put("/products/<path:sku>")
def put_product(sku: str):  # type: ignore[no-untyped-def]
    _require(*DISPATCH)
    if _has_nul(sku):
        raise ApiError(422, "text may not contain NUL characters")
    data = ProductIn.model_validate(_json_body())
    with session_scope(engine()) as s:
        found = s.exec(select(Product).where(Product.sku == sku)).first()
        if found is None:
            if data.sku != sku:
                raise ApiError(422, f"a new product's sku must be the one in the path ({sku!r})")
            product = create_product(s, data, actor=_user().email)
        else:
            product = update_product(s, found.id, data, actor=_user().email)  # type: ignore[arg-type]
        out = product_dict(product)
    return jsonify(out), (201 if found is None else 200)


# -- staff ------------------------------------------------------------------------------------


@bp.get("/staff")
def list_staff():  # type: ignore[no-untyped-def]
    _require(*DISPATCH)
    with Session(engine()) as s:
        items = [staff_dict(s, m) for m in s.exec(select(Staff).order_by(col(Staff.name)))]
    return jsonify({"items": items})


@bp.get("/staff/<int:staff_id>")
def get_staff(staff_id: int):  # type: ignore[no-untyped-def]
    user = _user()
    if not user.is_dispatcher and user.staff_id != staff_id:
        raise ApiError(404, f"there is no staff member {staff_id}")
    with Session(engine()) as s:
        member = s.get(Staff, staff_id)
        if member is None:
            raise ApiError(404, f"there is no staff member {staff_id}")
        return jsonify(staff_dict(s, member, with_absences=True))


def init_api(app: Flask) -> None:
    """Register the API (CSRF does not apply: it takes bearer tokens, not cookies)."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
