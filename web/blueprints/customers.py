"""A customer's details: correct a phone number, a language or an address (where the visits
go), with their sales listed."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import ValidationError
from sqlmodel import Session, col, select
from werkzeug.datastructures import MultiDict

from domain.db import session_scope
from domain.errors import DomainError, NotFound
from domain.geocoding import GeocodingError
from domain.models import Customer, Product, Sale
from domain.schemas import CustomerIn, validation_messages
from domain.services import update_customer
from domain.visits import upcoming_visit_days
from web.auth import current_user, role_required
from web.day_links import with_day_links
from web.extensions import business_today, engine, settings
from web.locate import geocoder, locate_missing

bp = Blueprint("customers", __name__, url_prefix="/customers")

DISPATCH = ("admin", "dispatcher")
FIELDS = ("name", "phone", "email", "locale", "address", "latitude", "longitude")


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@role_required(*DISPATCH)
def edit(customer_id: int):  # type: ignore[no-untyped-def]
    with Session(engine()) as s:
        customer = s.get(Customer, customer_id)
    if customer is None:
        abort(404)
    errors: list[str] = []
    form: MultiDict[str, str] = request.form
    if request.method == "POST":
        try:
            place = (customer.address, customer.latitude, customer.longitude)
            form, located = locate_missing(form, "address", "latitude", "longitude", place)
            data = CustomerIn(
                **{k: form.get(k, "") for k in FIELDS if k != "email"},
                email=form.get("email") or None,
                default_region=settings().default_region,
            )
            moved = (data.latitude, data.longitude) != (customer.latitude, customer.longitude)
            with session_scope(engine()) as s:
                update_customer(s, customer_id, data, actor=current_user.email)
                days = []  # the routes only change when the place does
                if moved:
                    days = upcoming_visit_days(
                        s, business_today(), settings().timezone, customer_id=customer_id
                    )
            flash(_("Customer saved."), "success")
            if located:
                flash(_("Address located: %(place)s", place=located), "info")
            if days:
                flash(with_day_links(_("Visits are planned at their address on %(days)s: "
                                        "re-optimize those days so that the routes go to the "
                                        "new one."), days), "info")  # fmt: skip
            back = request.args.get("sale", type=int)
            if back is not None:
                return redirect(url_for("sales.detail", sale_id=back))
            return redirect(url_for("customers.edit", customer_id=customer_id))
        except GeocodingError as exc:
            errors = [_("The address could not be located (%(why)s): enter its latitude and "
                        "longitude.", why=str(exc))]  # fmt: skip
        except ValidationError as exc:
            errors = validation_messages(exc, whole=_("form"))
        except DomainError as exc:
            errors = [str(exc)]
    else:
        form = MultiDict(
            {k: "" if getattr(customer, k) is None else str(getattr(customer, k)) for k in FIELDS}
        )
    with Session(engine()) as s:  # read only when the page is shown
        sales = list(
            s.exec(
                select(Sale, Product)
                .join(Product, col(Product.id) == col(Sale.product_id))
                .where(Sale.customer_id == customer_id)
                .order_by(col(Sale.id).desc())
            )
        )
    return render_template(
        "customers/edit.html", errors=errors, form=form, customer=customer, sales=sales,
        geocoding=geocoder() is not None,
    ), (422 if errors else 200)  # fmt: skip


@bp.post("/<int:customer_id>/erase")
@role_required("admin")
def erase(customer_id: int):  # type: ignore[no-untyped-def]
    """Erase the customer's personal data at their request (GDPR): their sales and visits
    stay, without anything that names, reaches or locates them."""
    from domain.erasure import erase_customer

    if request.form.get("confirm") != "1":
        flash(_("Tick the box to confirm the customer asked to be erased."), "error")
        return redirect(url_for("customers.edit", customer_id=customer_id))
    try:
        with session_scope(engine()) as s:
            erase_customer(s, customer_id, actor=current_user.email)
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("The customer's personal data is erased; their sales and visits stay."),
              "success")  # fmt: skip
    return redirect(url_for("customers.edit", customer_id=customer_id))
