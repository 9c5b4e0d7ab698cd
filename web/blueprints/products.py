"""Product catalogue: what each product owes its customer after the sale (installation,
training, maintenance, repairs, warranty) and the skills those visits need."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import ValidationError
from sqlmodel import Session, col, func, select
from werkzeug.datastructures import MultiDict

from domain.db import session_scope
from domain.errors import DomainError
from domain.models import Product, Sale, Staff
from domain.schemas import ProductIn, validation_messages
from domain.services import create_product, update_product
from web.auth import current_user, role_required
from web.extensions import engine

bp = Blueprint("products", __name__, url_prefix="/products")

DISPATCH = ("admin", "dispatcher")
SKILL_FIELDS = ("installation_skill", "training_skill", "maintenance_skill", "repair_skill")
NUMBER_FIELDS = (
    "installation_minutes",
    "training_sessions",
    "training_minutes",
    "maintenance_interval_days",
    "maintenance_minutes",
    "repair_minutes",
    "warranty_months",
    "contract_months",
)


def _product_in(form: MultiDict[str, str]) -> ProductIn:
    """The form's product (empty fields take ProductIn's defaults; the schema trims skills and
    reads an empty one as none); raises ValidationError."""
    numbers = {k: form.get(k, "").strip() for k in NUMBER_FIELDS}
    numbers = {k: v or ProductIn.model_fields[k].default for k, v in numbers.items()}
    skills = {k: form.get(k) for k in SKILL_FIELDS}
    return ProductIn(
        sku=form.get("sku", ""),
        name=form.get("name", ""),
        name_en=form.get("name_en", "") or None,
        active=bool(form.get("active")),
        **numbers,  # type: ignore[arg-type]
        **skills,
    )


def _staff_skills(s: Session) -> set[str]:
    return {sk for m in s.exec(select(Staff).where(col(Staff.active).is_(True))) for sk in m.skills}


def _unstaffed(product: Product, held: set[str]) -> list[str]:
    """The product's skills no active staff member holds (its visits could not be planned)."""
    wanted = {getattr(product, k) for k in SKILL_FIELDS} - {None}
    return sorted(wanted - held)  # type: ignore[arg-type]


@bp.get("/")
@role_required(*DISPATCH)
def index():  # type: ignore[no-untyped-def]
    with Session(engine()) as s:
        products = list(s.exec(select(Product).order_by(Product.name)))
        sales = dict(
            s.exec(select(Sale.product_id, func.count()).group_by(col(Sale.product_id))).all()
        )
        held = _staff_skills(s)
    unstaffed = {p.id: _unstaffed(p, held) for p in products}
    return render_template(
        "products/index.html", products=products, sales=sales, unstaffed=unstaffed
    )


def _form_page(product: Product | None):  # type: ignore[no-untyped-def]
    errors: list[str] = []
    form: MultiDict[str, str] = request.form
    if request.method == "POST":
        try:
            data = _product_in(form)
            with session_scope(engine()) as s:
                if product is None:
                    saved = create_product(s, data, actor=current_user.email)
                else:
                    saved = update_product(s, product.id, data, actor=current_user.email)  # type: ignore[arg-type]
                missing = _unstaffed(saved, _staff_skills(s))
            flash(_("Product saved.") if product else _("Product added."), "success")
            if missing:
                flash(_("No active staff member has the skill %(skills)s: this product's visits "
                        "cannot be planned until someone does.", skills=", ".join(missing)),
                      "error")  # fmt: skip
            return redirect(url_for("products.index"))
        except ValidationError as exc:
            errors = validation_messages(exc, whole=_("form"))
        except DomainError as exc:
            errors = [str(exc)]
    elif product is not None:
        form = MultiDict({k: "" if v is None else str(v) for k, v in product.model_dump().items()})
        form["active"] = "1" if product.active else ""
    with Session(engine()) as s:
        skills = sorted(_staff_skills(s))
    return render_template(
        "products/form.html", errors=errors, form=form, product=product, skills=skills
    ), (422 if errors else 200)


@bp.route("/new", methods=["GET", "POST"])
@role_required(*DISPATCH)
def new():  # type: ignore[no-untyped-def]
    return _form_page(None)


@bp.route("/<int:product_id>/edit", methods=["GET", "POST"])
@role_required(*DISPATCH)
def edit(product_id: int):  # type: ignore[no-untyped-def]
    with Session(engine()) as s:
        product = s.get(Product, product_id)
    if product is None:
        abort(404)
    return _form_page(product)
