"""Sales pages: list with stages, register (form or CSV), a sale's timeline, cancel, faults,
decisions on failed visits."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from pydantic import ValidationError
from sqlmodel import Session, col, select
from werkzeug.datastructures import MultiDict

from domain import audit, lifecycle
from domain.csv_import import OPTIONAL, REQUIRED, CsvImportError, import_sales, parse_sales_csv
from domain.db import session_scope
from domain.errors import DomainError, NotFound
from domain.geocoding import GeocodingError
from domain.models import (
    Customer,
    Product,
    Sale,
    SaleStage,
    SmsMessage,
    Staff,
    SurveyAnswer,
    Visit,
)
from domain.schemas import CustomerIn, validation_messages
from domain.services import set_sale_reference
from domain.visits import count_sales_awaiting_decision
from sms import templates as sms_templates
from sms.office_replies import FOR_THE_OFFICE
from web.audit_view import sale_history
from web.auth import current_user, role_required
from web.csv_export import csv_download
from web.extensions import business_today, engine, settings, workflows
from web.gateway_errors import flash_workflow_error, gateway_errors
from web.locate import geocoder, locate_missing
from web.params import form_nonce, iso_day, nonce, page_number
from web.renewals import RENEWAL_WINDOWS, contracts_ending
from web.sale_start import (
    NewSale,
    pending_sale_ids,
    register_new_sale,
    start_pending_workflows,
    start_sale_workflow,
)
from web.sales_query import SalesFilter, sales_query
from web.sessions import leaves_session_alone

bp = Blueprint("sales", __name__, url_prefix="/sales")

DISPATCH = ("admin", "dispatcher")
PAGE = 50
MESSAGES_SHOWN = 30  # the customer's latest SMS on a sale's page
DECISIONS = {"retry": _l("requested again"), "close": _l("closed without a visit")}


def _errors(exc: ValidationError) -> list[str]:
    return validation_messages(exc, whole=_("form"))


@bp.get("/")
@role_required(*DISPATCH)
def index():  # type: ignore[no-untyped-def]
    f = SalesFilter.from_args(request.args)
    page = max(request.args.get("page", default=1, type=page_number) or 1, 1)
    with Session(engine()) as s:
        query, count = sales_query(f)
        total = s.exec(count).one()
        found = list(s.exec(query.limit(PAGE).offset((page - 1) * PAGE)))
        rows = [tuple(row[:3]) for row in found]
        waiting_since = {row[0].id: row[3] for row in found} if f.deciding else {}
        pending = len(pending_sale_ids(s))
        products = list(s.exec(select(Product).order_by(Product.name)))
        decisions = count_sales_awaiting_decision(s)
    return render_template(
        "sales/index.html",
        pending=pending,
        decisions=decisions,
        deciding=f.deciding,
        rows=rows,
        waiting_since=waiting_since,
        stage=f.stage,
        product_sku=f.product_sku,
        products=products,
        q=f.q,
        page=page,
        pages=max(1, -(-total // PAGE)),
        total=total,
        stages=[st.value for st in SaleStage],
    )


def _register_and_start(data: NewSale) -> int:
    with session_scope(engine()) as s:
        sale, reused = register_new_sale(s, data, actor=current_user.email)
        sale_id, customer_id = sale.id, sale.customer_id
    assert sale_id is not None
    if reused:
        flash(_("Customer #%(id)d, already registered with this name, phone and address, has "
                "the new sale.", id=customer_id), "info")  # fmt: skip
    if start_sale_workflow(engine(), workflows(), sale_id, actor=current_user.email):
        flash(
            _("Sale %(id)d registered; its after-sales lifecycle has started.", id=sale_id),
            "success",
        )
    else:
        flash(
            _(
                "Sale %(id)d registered. Temporal is not reachable: its lifecycle will start "
                "as soon as the worker is back.",
                id=sale_id,
            ),
            "error",
        )
    return sale_id


def _renewal_window() -> int:
    days = request.args.get("days", type=int)
    return days if days in RENEWAL_WINDOWS else 90


@bp.get("/renewals")
@role_required(*DISPATCH)
def renewals():  # type: ignore[no-untyped-def]
    """Contracts ending soon (or just ended): the customers to offer a renewal to."""
    days, today = _renewal_window(), business_today()
    with Session(engine()) as s:
        found = contracts_ending(s, today, days)
    return render_template(
        "sales/renewals.html", renewals=found, days=days, windows=RENEWAL_WINDOWS, today=today
    )


RENEWAL_COLUMNS = (
    "sale_id", "customer_name", "phone", "email", "locale", "product_sku", "product_name",
    "sold_on", "contract_months", "contract_ends_on", "external_ref",
)  # fmt: skip


@bp.get("/renewals.csv")
@role_required(*DISPATCH)
def renewals_csv():  # type: ignore[no-untyped-def]
    days, today = _renewal_window(), business_today()
    with Session(engine()) as s:
        rows = [
            (r.sale.id, r.customer.name, r.customer.phone, r.customer.email, r.customer.locale,
             r.product.sku, r.product.name, r.sale.sold_on.isoformat(), r.sale.contract_months,
             r.ends_on.isoformat(), r.sale.external_ref)
            for r in contracts_ending(s, today, days)
        ]  # fmt: skip
    return csv_download(f"renewals-{today.isoformat()}-{days}d.csv", RENEWAL_COLUMNS, rows)


EXPORT_COLUMNS = (
    "sale_id", "customer_name", "phone", "email", "locale", "address", "product_sku",
    "product_name", "sold_on", "stage", "status", "external_ref",
)  # fmt: skip


@bp.get("/export.csv")
@role_required(*DISPATCH)
def export_csv():  # type: ignore[no-untyped-def]
    """The sales the list's filters select, every page, as a CSV file (a recall's call list)."""
    f = SalesFilter.from_args(request.args)
    with Session(engine()) as s:
        query, _count = sales_query(f)
        rows = [
            (sale.id, customer.name, customer.phone, customer.email, customer.locale,
             customer.address, product.sku, product.name, sale.sold_on.isoformat(), sale.stage,
             sale.status, sale.external_ref)
            for sale, customer, product, *_ in s.exec(query)
        ]  # fmt: skip
    name = f"sales-{f.product_sku or 'all'}-{business_today().isoformat()}.csv"
    return csv_download(name, EXPORT_COLUMNS, rows)


@bp.post("/start-pending")
@role_required(*DISPATCH)
def start_pending():  # type: ignore[no-untyped-def]
    """Start the lifecycles that could not start while Temporal was down."""
    started = start_pending_workflows(engine(), workflows())
    with Session(engine()) as s:
        left = len(pending_sale_ids(s))
    if left:
        flash(ngettext("%(num)d lifecycle started; still waiting for Temporal: %(left)d.",
                       "%(num)d lifecycles started; still waiting for Temporal: %(left)d.",
                       started, left=left), "error")  # fmt: skip
    else:
        flash(ngettext("%(num)d lifecycle started.", "%(num)d lifecycles started.", started),
              "success")  # fmt: skip
    return redirect(url_for("sales.index"))


CUSTOMER_MATCHES = 10


@bp.get("/customers.json")
@leaves_session_alone
@role_required(*DISPATCH)
def customer_matches():  # type: ignore[no-untyped-def]
    """Customers whose name, phone or address holds ``q`` (the sale form's customer picker)."""
    q = " ".join((request.args.get("q") or "").split())[:100]
    if len(q) < 2:
        return jsonify([])
    digits = "".join(ch for ch in q if ch.isdigit())
    like = f"%{q}%"
    cond = col(Customer.name).ilike(like) | col(Customer.address).ilike(like)
    if len(digits) >= 3:
        cond = cond | col(Customer.phone).contains(digits)
    with Session(engine()) as s:
        found = s.exec(
            select(Customer).where(cond).order_by(col(Customer.name), col(Customer.id))
            .limit(CUSTOMER_MATCHES)
        ).all()  # fmt: skip
    return jsonify([
        {"id": c.id, "label": f"{c.name} · {c.phone} · {c.address}".rstrip(" ·")} for c in found
    ])  # fmt: skip


@bp.route("/new", methods=["GET", "POST"])
@role_required(*DISPATCH)
def new():  # type: ignore[no-untyped-def]
    with Session(engine()) as s:
        products = list(
            s.exec(select(Product).where(col(Product.active).is_(True)).order_by(Product.name))
        )
    errors: list[str] = []
    form: MultiDict[str, str] = request.form
    located: str | None = None
    if request.method == "POST":
        try:
            customer = None
            customer_id = None
            if form.get("customer_id", "").strip():
                customer_id = form["customer_id"].strip()
                if not customer_id.isdigit():  # a name typed, no suggestion picked
                    raise ValueError(_("Pick the customer among the suggestions (their number), "
                                       "or leave it empty for a new customer."))  # fmt: skip
            else:
                form, located = locate_missing(form, "address", "latitude", "longitude")
                customer = CustomerIn(
                    name=form.get("name", ""),
                    phone=form.get("phone", ""),
                    email=form.get("email") or None,
                    locale=form.get("locale") or "es",
                    address=form.get("address", ""),
                    latitude=form.get("latitude", ""),
                    longitude=form.get("longitude", ""),
                    default_region=settings().default_region,
                )
            data = NewSale(
                customer_id=customer_id,
                customer=customer,
                product_sku=form.get("product_sku", ""),
                sold_on=form.get("sold_on", ""),
                contract_months=form.get("contract_months") or None,
                external_ref=form.get("external_ref") or None,
            )
            sale_id = _register_and_start(data)
            if located:
                flash(_("Address located: %(place)s", place=located), "info")
            return redirect(url_for("sales.detail", sale_id=sale_id))
        except GeocodingError as exc:
            errors = [_("The address could not be located (%(why)s): enter its latitude and "
                        "longitude.", why=str(exc))]  # fmt: skip
        except ValidationError as exc:
            errors = _errors(exc)
        except (DomainError, ValueError) as exc:
            errors = [str(exc)]
    status = 422 if errors else 200
    return render_template(
        "sales/new.html", products=products, errors=errors, form=form,
        today=business_today().isoformat(), geocoding=geocoder() is not None,
    ), status  # fmt: skip


@bp.route("/import", methods=["GET", "POST"])
@role_required(*DISPATCH)
def import_csv():  # type: ignore[no-untyped-def]
    problems: list[str] = []
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            problems = [_("Choose a CSV file.")]
        else:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                problems = [_("The file is not UTF-8 text.")]
            else:
                try:
                    rows = parse_sales_csv(text, settings().default_region, geocoder())
                    with session_scope(engine()) as s:
                        sale_ids = import_sales(s, rows, actor=current_user.email)
                except CsvImportError as exc:
                    problems = exc.problems
                else:
                    pending = sum(
                        not start_sale_workflow(engine(), workflows(), sid, current_user.email)
                        for sid in sale_ids
                    )
                    flash(ngettext("%(num)d sale imported.", "%(num)d sales imported.",
                                   len(sale_ids)), "success")  # fmt: skip
                    located = sum(1 for r in rows if r.located)
                    if located:
                        flash(ngettext("%(num)d address located by the geocoder.",
                                       "%(num)d addresses located by the geocoder.",
                                       located), "info")  # fmt: skip
                    if pending:
                        flash(ngettext("%(num)d lifecycle will start when Temporal is back.",
                                       "%(num)d lifecycles will start when Temporal is back.",
                                       pending), "error")  # fmt: skip
                    return redirect(url_for("sales.index"))
    return render_template(
        "sales/import.html", problems=problems, geocoding=geocoder() is not None
    ), (422 if problems else 200)


@bp.get("/import/template.csv")
@role_required(*DISPATCH)
def import_template():  # type: ignore[no-untyped-def]
    """A CSV file with every column the import reads and one example row to overwrite."""
    with Session(engine()) as s:
        product = s.exec(select(Product).where(col(Product.active).is_(True))).first()
    example = {
        "customer_name": "Lucía Martínez", "phone": "612 345 678",
        "product_sku": product.sku if product else "SKU-1",
        "sold_on": business_today().isoformat(), "latitude": "39.4699", "longitude": "-0.3763",
        "email": "lucia@example.com", "locale": "es", "address": "Calle de Colón 1, València",
        "contract_months": "", "external_ref": "ERP-0001",
    }  # fmt: skip
    columns = REQUIRED + OPTIONAL
    return csv_download("sales-import-template.csv", columns, [[example[c] for c in columns]])


@bp.get("/<int:sale_id>")
@role_required(*DISPATCH)
def detail(sale_id: int):  # type: ignore[no-untyped-def]
    with Session(engine()) as s:
        sale = s.get(Sale, sale_id)
        if sale is None:
            abort(404)
        customer = s.get(Customer, sale.customer_id)
        product = s.get(Product, sale.product_id)
        visits = list(s.exec(select(Visit).where(Visit.sale_id == sale_id).order_by(col(Visit.id))))
        staff = {m.id: m.name for m in s.exec(select(Staff))}
        survey = s.exec(select(SurveyAnswer).where(SurveyAnswer.sale_id == sale_id)).first()
        # the customer's SMS conversation (one phone, all their sales): what they were told
        # and what they answered, for the dispatcher on the phone with them
        messages = list(
            s.exec(
                select(SmsMessage)
                .where(SmsMessage.customer_id == sale.customer_id)
                .order_by(col(SmsMessage.id).desc())
                .limit(MESSAGES_SHOWN)
            )
        )
        changes = sale_history(s, sale)
    contract_ends = None
    if sale.contract_months:
        contract_ends = lifecycle.contract_end(sale.sold_on, sale.contract_months)
    return render_template(
        "sales/detail.html",
        sale=sale,
        customer=customer,
        product=product,
        visits=visits,
        staff=staff,
        survey=survey,
        contract_ends=contract_ends,
        messages=messages,
        for_the_office=FOR_THE_OFFICE,
        changes=changes,
        sms_nonce=form_nonce(),
        sms_draft=_running_late_draft(customer.locale),
        today=business_today(),
        max_contract_months=lifecycle.MAX_CONTRACT_MONTHS,
    )


def _running_late_draft(locale: str | None) -> str:
    """The office message the board's "text the customer" link asks for (``?eta=HH:MM``: the
    technician is running late), in the customer's language; "" without one."""
    eta = request.args.get("eta", "")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", eta):
        return ""
    return sms_templates.render("office_running_late", locale, eta=eta)


@bp.post("/<int:sale_id>/sms")
@role_required(*DISPATCH)
def send_sms(sale_id: int):  # type: ignore[no-untyped-def]
    """Text the sale's customer a message written here (the technician is running late)."""
    from sms.errors import PermanentSmsError, TransientSmsError
    from sms.messenger import OFFICE_TEXT_MAX, OPTED_OUT_REASON
    from web.blueprints.sms import services

    with Session(engine()) as s:
        sale = s.get(Sale, sale_id)
        if sale is None:
            abort(404)
        customer_id = sale.customer_id
    text = (request.form.get("text") or "").strip()
    form_key = request.form.get("nonce", type=nonce)
    if form_key is None:
        abort(400)
    if not text or len(text) > OFFICE_TEXT_MAX:
        flash(_("Write the message (up to %(max)d characters).", max=OFFICE_TEXT_MAX), "error")
        return redirect(url_for("sales.detail", sale_id=sale_id))
    key = f"office/{sale_id}/{form_key}"  # the form's nonce: the same form sent twice is one SMS
    try:
        sent = services().messenger.send_text(customer_id, text, key, sale_id=sale_id)
    except PermanentSmsError as exc:
        flash(_("The message could not be delivered (%(code)s): call the customer.",
                code=exc.code or "?"), "error")  # fmt: skip
    except TransientSmsError:
        flash(_("The SMS service is not answering; the message is not sent. Try again in a "
                "moment."), "error")  # fmt: skip
    else:
        if sent.message_id is None:
            flash(_("Not sent: the customer has asked for no SMS (STOP). Call them.")
                  if sent.skipped_reason == OPTED_OUT_REASON
                  else _("Not sent: the customer has no phone number."), "error")  # fmt: skip
        else:
            if not sent.repeated:  # the same form again sent nothing: nothing to record
                with session_scope(engine()) as s:
                    audit.record(s, current_user.email, "customer.sms", "customer", customer_id,
                                 message_id=sent.message_id, sale_id=sale_id)  # fmt: skip
            flash(_("Message sent."), "success")
    return redirect(url_for("sales.detail", sale_id=sale_id) + "#sms-thread")


@bp.post("/<int:sale_id>/reference")
@role_required(*DISPATCH)
def reference(sale_id: int):  # type: ignore[no-untyped-def]
    """Correct the sale's reference in the seller's system (a mistyped ERP number)."""
    try:
        with session_scope(engine()) as s:
            set_sale_reference(
                s, sale_id, request.form.get("external_ref", ""), actor=current_user.email
            )
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Reference saved."), "success")
    return redirect(url_for("sales.detail", sale_id=sale_id))


@bp.post("/<int:sale_id>/contract")
@role_required(*DISPATCH)
def contract(sale_id: int):  # type: ignore[no-untyped-def]
    """Renew, extend or correct the maintenance contract: the lifecycle plans its rounds again."""
    from workflows.contracts import ChangeContractInput

    with Session(engine()) as s:
        if s.get(Sale, sale_id) is None:
            abort(404)
    raw = (request.form.get("contract_months") or "").strip()
    months = int(raw) if raw.isdigit() and len(raw) <= 4 else -1
    if not 0 <= months <= lifecycle.MAX_CONTRACT_MONTHS:
        flash(_("The contract is a whole number of months, 0 to %(max)d.",
                max=lifecycle.MAX_CONTRACT_MONTHS), "error")  # fmt: skip
        return redirect(url_for("sales.detail", sale_id=sale_id))
    try:
        result = workflows().change_contract(
            sale_id, ChangeContractInput(contract_months=months, requested_by=current_user.email)
        )
    except gateway_errors() as exc:
        flash_workflow_error(exc)
    else:
        flash(ngettext("Contract changed to %(months)d months: %(num)d maintenance visit in all; "
                       "the after-sales service runs until %(end)s.",
                       "Contract changed to %(months)d months: %(num)d maintenance visits in all; "
                       "the after-sales service runs until %(end)s.",
                       result.maintenance_rounds, months=result.contract_months,
                       end=result.ends_on), "success")  # fmt: skip
    return redirect(url_for("sales.detail", sale_id=sale_id))


@bp.post("/<int:sale_id>/sold-on")
@role_required(*DISPATCH)
def sold_on(sale_id: int):  # type: ignore[no-untyped-def]
    """Correct the sale's date: the lifecycle plans warranty, contract and rounds from it."""
    from workflows.contracts import CorrectSoldOnInput

    with Session(engine()) as s:
        sale = s.get(Sale, sale_id)
        if sale is None:
            abort(404)
        before = sale.sold_on
    day = request.form.get("sold_on", type=iso_day)
    if day is None:
        flash(_("Give the sale date (YYYY-MM-DD)."), "error")
        return redirect(url_for("sales.detail", sale_id=sale_id))
    if day == before:
        flash(_("The sale date is already %(day)s.", day=day.isoformat()), "info")
        return redirect(url_for("sales.detail", sale_id=sale_id))
    try:
        result = workflows().correct_sold_on(
            sale_id, CorrectSoldOnInput(sold_on=day.isoformat(), requested_by=current_user.email)
        )
    except gateway_errors() as exc:
        flash_workflow_error(exc)
    else:
        flash(ngettext("Sale date corrected to %(day)s: %(num)d maintenance visit in all; the "
                       "after-sales service runs until %(end)s.",
                       "Sale date corrected to %(day)s: %(num)d maintenance visits in all; the "
                       "after-sales service runs until %(end)s.",
                       result.maintenance_rounds, day=result.sold_on, end=result.ends_on),
              "success")  # fmt: skip
    return redirect(url_for("sales.detail", sale_id=sale_id))


@bp.post("/<int:sale_id>/cancel")
@role_required(*DISPATCH)
def cancel(sale_id: int):  # type: ignore[no-untyped-def]
    from workflows.contracts import CancelSaleInput

    reason = (request.form.get("reason") or "").strip()
    kind = request.form.get("kind", "cancelled")
    with Session(engine()) as s:
        if s.get(Sale, sale_id) is None:
            abort(404)
    if not reason or kind not in ("cancelled", "returned") or len(reason) > 400:
        flash(_("Give a reason (up to 400 characters) and choose cancelled or returned."), "error")
        return redirect(url_for("sales.detail", sale_id=sale_id))
    try:
        workflows().cancel_sale(
            sale_id, CancelSaleInput(reason=reason, kind=kind, requested_by=current_user.email)
        )
    except gateway_errors() as exc:
        flash_workflow_error(exc)
    else:
        flash(_("The sale is %(kind)s; its pending visits are cancelled.", kind=_(kind)), "success")
    return redirect(url_for("sales.detail", sale_id=sale_id))


@bp.post("/<int:sale_id>/fault")
@role_required(*DISPATCH)
def fault(sale_id: int):  # type: ignore[no-untyped-def]
    from workflows.contracts import ReportFaultInput

    description = (request.form.get("description") or "").strip()
    with Session(engine()) as s:
        if s.get(Sale, sale_id) is None:
            abort(404)
    if not description or len(description) > 1000:
        flash(_("Describe the fault (up to 1000 characters)."), "error")
        return redirect(url_for("sales.detail", sale_id=sale_id))
    try:
        result = workflows().report_fault(
            sale_id, ReportFaultInput(description=description, reported_by=current_user.email)
        )
    except gateway_errors() as exc:
        flash_workflow_error(exc)
    else:
        flash(
            _(
                "Repair visit #%(id)d requested (%(billing)s).",
                id=result.visit_id,
                billing=_("billable") if result.billable else _("under warranty"),
            ),
            "success",
        )
    return redirect(url_for("sales.detail", sale_id=sale_id))


@bp.post("/<int:sale_id>/visits/<int:visit_id>/decision")
@role_required(*DISPATCH)
def failed_visit_decision(sale_id: int, visit_id: int):  # type: ignore[no-untyped-def]
    """After phoning the customer: request the failed visit again, or close its step."""
    from workflows.contracts import FAILED_VISIT_ACTIONS, FailedVisitDecisionInput

    action = request.form.get("action", "")
    note = (request.form.get("note") or "").strip()
    with Session(engine()) as s:
        visit = s.get(Visit, visit_id)
        if visit is None or visit.sale_id != sale_id:
            abort(404)
    if action not in FAILED_VISIT_ACTIONS or len(note) > 400:
        flash(_("Choose to request the visit again or to close it (note up to 400 characters)."),
              "error")  # fmt: skip
        return redirect(url_for("sales.detail", sale_id=sale_id))
    try:
        # the update id is the visit's: a repeated post gets the first decision back
        result = workflows().decide_failed_visit(
            sale_id,
            FailedVisitDecisionInput(
                visit_id=visit_id, action=action, note=note, requested_by=current_user.email
            ),
        )
    except gateway_errors() as exc:
        flash_workflow_error(exc)
    else:
        if result.action != action:
            flash(_("Visit #%(id)d was already decided: %(decision)s.", id=visit_id,
                    decision=DECISIONS[result.action]), "error")  # fmt: skip
        elif action == "retry":
            flash(_("Visit #%(id)d will be requested again.", id=visit_id), "success")
        else:
            flash(_("Visit #%(id)d closed without a visit; the lifecycle goes on.", id=visit_id),
                  "success")  # fmt: skip
    return redirect(url_for("sales.detail", sale_id=sale_id))
