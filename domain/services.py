"""Domain services: create and change records from validated input, with an audit entry each.

Every function takes an open session and adds to it; the caller's ``session_scope`` commits or
rolls back the whole unit, so a refused request writes nothing.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from domain import audit
from domain.errors import Conflict, DomainError, NotFound
from domain.models import (
    OPEN_VISIT_STATUSES,
    Customer,
    Product,
    Sale,
    SaleStatus,
    Staff,
    StaffAbsence,
    User,
    Visit,
    VisitWindow,
)
from domain.schemas import AbsenceIn, CustomerIn, ProductIn, SaleIn, StaffIn, VisitIn


def create_customer(session: Session, data: CustomerIn, actor: str = "system") -> Customer:
    customer = Customer(**data.model_dump(exclude={"default_region"}))
    session.add(customer)
    session.flush()
    audit.record(session, actor, "customer.create", "customer", customer.id)
    return customer


def update_customer(
    session: Session, customer_id: int, data: CustomerIn, actor: str = "system"
) -> Customer:
    """Correct a customer's details (audited field by field). Their SMS opt-out is theirs:
    only their own STOP/START messages change it, so it is left as it is here."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"unknown customer {customer_id}")
    values = data.model_dump(exclude={"default_region", "sms_opt_out"})
    _apply(session, customer, values, actor, "customer.update", "customer")
    return customer


def same_customer(session: Session, data: CustomerIn) -> Customer | None:
    """A stored customer with the same name and phone at the same place (address, and
    coordinates within about ten metres): a second sale to them must not make a duplicate, whose
    SMS replies could not be told apart. The same person at another address is a new customer
    (the visits go to each sale's customer's address)."""

    def place(text: str) -> str:
        return " ".join(text.casefold().replace(",", " ").split())

    for found in session.exec(
        select(Customer)
        .where(Customer.phone == data.phone, Customer.name == data.name)
        .order_by(Customer.id)  # type: ignore[arg-type]
    ):
        if (
            place(found.address) == place(data.address)
            and abs(found.latitude - data.latitude) < 1e-4
            and abs(found.longitude - data.longitude) < 1e-4
        ):
            return found
    return None


def find_or_create_customer(
    session: Session, data: CustomerIn, actor: str = "system"
) -> tuple[Customer, bool]:
    """The customer :func:`same_customer` finds, else a new one; and whether it was created."""
    found = same_customer(session, data)
    if found is not None:
        return found, False
    return create_customer(session, data, actor=actor), True


def create_product(session: Session, data: ProductIn, actor: str = "system") -> Product:
    if session.exec(select(Product).where(Product.sku == data.sku)).first():
        raise Conflict(f"a product with SKU {data.sku!r} already exists")
    product = Product(**data.model_dump())
    session.add(product)
    session.flush()
    audit.record(session, actor, "product.create", "product", product.id, sku=product.sku)
    return product


def update_product(
    session: Session, product_id: int, data: ProductIn, actor: str = "system"
) -> Product:
    """Change a product; sales already registered plan their next visits with the new values
    (their lifecycles read the product when they request each visit)."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(f"unknown product {product_id}")
    taken = session.exec(
        select(Product).where(Product.sku == data.sku, Product.id != product_id)
    ).first()
    if taken is not None:
        raise Conflict(f"a product with SKU {data.sku!r} already exists")
    _apply(session, product, data.model_dump(), actor, "product.update", "product")
    return product


def product_by_sku(session: Session, sku: str) -> Product:
    product = session.exec(select(Product).where(Product.sku == sku)).first()
    if product is None:
        raise NotFound(f"unknown product {sku!r}")
    return product


def register_sale(session: Session, data: SaleIn, actor: str = "system") -> Sale:
    """Record a sale; the caller starts its lifecycle workflow once this has committed."""
    product = product_by_sku(session, data.product_sku)
    if session.get(Customer, data.customer_id) is None:
        raise NotFound(f"unknown customer {data.customer_id}")
    if (
        data.external_ref
        and session.exec(select(Sale).where(Sale.external_ref == data.external_ref)).first()
    ):
        raise Conflict(f"a sale with reference {data.external_ref!r} is already registered")
    assert product.id is not None
    sale = Sale(
        customer_id=data.customer_id,
        product_id=product.id,
        sold_on=data.sold_on,
        contract_months=(
            data.contract_months if data.contract_months is not None else product.contract_months
        ),
        external_ref=data.external_ref,
    )
    session.add(sale)
    session.flush()
    sale.workflow_id = f"sale-{sale.id}"
    audit.record(session, actor, "sale.register", "sale", sale.id, sku=product.sku)
    return sale


def set_sale_reference(
    session: Session, sale_id: int, reference: str | None, actor: str = "system"
) -> Sale:
    """Correct a sale's reference in the seller's system (a mistyped ERP number; empty: none);
    references stay unique. Audited."""
    sale = session.get(Sale, sale_id)
    if sale is None:
        raise NotFound(f"unknown sale {sale_id}")
    reference = (reference or "").strip() or None
    if reference is not None and len(reference) > 100:
        raise DomainError("a reference is at most 100 characters")
    if reference == sale.external_ref:
        return sale
    taken = session.exec(select(Sale.id).where(Sale.external_ref == reference)).first()
    if reference is not None and taken is not None:
        raise Conflict(f"sale {taken} already has the reference {reference!r}")
    audit.record(session, actor, "sale.reference", "sale", sale_id,
                 external_ref=[sale.external_ref, reference])  # fmt: skip
    sale.external_ref = reference
    session.add(sale)
    session.flush()
    return sale


def create_staff(session: Session, data: StaffIn, actor: str = "system") -> Staff:
    staff = Staff(**data.model_dump(exclude={"default_region"}))
    session.add(staff)
    session.flush()
    audit.record(session, actor, "staff.create", "staff", staff.id)
    return staff


def update_staff(
    session: Session, staff_id: int, data: StaffIn, active: bool = True, actor: str = "system"
) -> Staff:
    """Change a staff member (audited, field by field). Deactivating one (they left) keeps
    their history, stops planning routes for them and stops their sign-in (reactivating gives
    both back), and unpins the open visits pinned to them, which the next plans give to
    someone else."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound(f"unknown staff member {staff_id}")
    values = {**data.model_dump(exclude={"default_region"}), "active": active}
    changed = _apply(session, staff, values, actor, "staff.update", "staff")
    if "active" in changed:
        for user in session.exec(select(User).where(User.staff_id == staff_id)):
            user.active = active
            session.add(user)
        if not active:
            _unpin_from(session, staff_id, actor)
        session.flush()
    return staff


def _unpin_from(session: Session, staff_id: int, actor: str) -> None:
    """Release the open visits pinned to a staff member who left (each unpin audited)."""
    pinned = session.exec(
        select(Visit).where(
            Visit.pinned_staff_id == staff_id,
            col(Visit.status).in_([s.value for s in OPEN_VISIT_STATUSES]),
        )
    )
    for visit in pinned:  # a pinned time stays: it may have been promised to the customer
        visit.pinned_staff_id = None
        session.add(visit)
        start = visit.pinned_start.isoformat() if visit.pinned_start else None
        audit.record(session, actor, "visit.unpin", "visit", visit.id, staff_id=None,
                     start=start, reason="staff left")  # fmt: skip


def _plain(value: Any) -> Any:
    """A value as the audit log's JSON keeps it."""
    return value.isoformat() if isinstance(value, time) else value


def _apply(
    session: Session, row: Any, values: dict[str, Any], actor: str, action: str, entity: str
) -> dict[str, list[Any]]:
    """Set ``values`` on ``row``; audit what changed (field: [before, after]) and return it."""
    changed: dict[str, list[Any]] = {}
    for key, value in values.items():
        before = getattr(row, key)
        if before != value:
            changed[key] = [_plain(before), _plain(value)]
            setattr(row, key, value)
    if changed:
        session.add(row)
        session.flush()
        audit.record(session, actor, action, entity, row.id, changed=changed)
    return changed


def add_absence(session: Session, data: AbsenceIn, actor: str = "system") -> StaffAbsence:
    if session.get(Staff, data.staff_id) is None:
        raise NotFound(f"unknown staff member {data.staff_id}")
    absence = StaffAbsence(**data.model_dump())
    session.add(absence)
    session.flush()
    audit.record(
        session,
        actor,
        "staff.absence",
        "staff",
        data.staff_id,
        starts_on=data.starts_on.isoformat(),
        ends_on=data.ends_on.isoformat(),
    )
    return absence


def withdraw_absence(
    session: Session, staff_id: int, absence_id: int, today: date, actor: str = "system"
) -> StaffAbsence | None:
    """Take back a day off from ``today`` on (entered by mistake, leave cancelled, back early).

    One still to come is removed (None is returned); one already under way ends the day before
    ``today`` and is returned, so the days taken stay on record. A past one cannot change."""
    absence = session.get(StaffAbsence, absence_id)
    if absence is None or absence.staff_id != staff_id:
        raise NotFound(f"unknown day off {absence_id} of staff member {staff_id}")
    if absence.ends_on < today:
        raise Conflict("a day off that has passed stays on record")
    details = {"starts_on": absence.starts_on.isoformat(), "ends_on": absence.ends_on.isoformat()}
    if absence.starts_on >= today:
        session.delete(absence)
        session.flush()
        audit.record(session, actor, "staff.absence_remove", "staff", staff_id, **details)
        return None
    absence.ends_on = today - timedelta(days=1)
    session.add(absence)
    session.flush()
    audit.record(session, actor, "staff.absence_end", "staff", staff_id, **details,
                 new_ends_on=absence.ends_on.isoformat())  # fmt: skip
    return absence


def request_visit(session: Session, data: VisitIn, actor: str = "system") -> Visit:
    """Create a visit, or return the existing one with the same business key (idempotent)."""
    existing = session.exec(select(Visit).where(Visit.business_key == data.business_key)).first()
    if existing is not None:
        return existing
    sale = session.get(Sale, data.sale_id)
    if sale is None:
        raise NotFound(f"unknown sale {data.sale_id}")
    if sale.status != SaleStatus.ACTIVE:
        raise Conflict(f"sale {sale.id} is {sale.status}; no new visits")
    visit = Visit(**data.model_dump(exclude={"windows", "kind"}), kind=data.kind.value)
    session.add(visit)
    session.flush()
    assert visit.id is not None
    for window in data.windows:
        session.add(
            VisitWindow(
                visit_id=visit.id, day=window.day, start_time=window.start, end_time=window.end
            )
        )
    audit.record(
        session, actor, "visit.request", "visit", visit.id, kind=visit.kind, key=visit.business_key
    )
    return visit


def visit_windows(session: Session, visit_id: int) -> list[VisitWindow]:
    return list(session.exec(select(VisitWindow).where(VisitWindow.visit_id == visit_id)))
