"""Texting technicians whose route for today a newly approved plan gives or changes: they are
out on the road and may not have the phone page open."""

from __future__ import annotations

from sqlmodel import Session

from domain.models import Customer, Sale, Visit
from planning.route_changes import changed_routes
from sms import templates as t
from sms.messenger import Messenger


def tell_staff_of_route_changes(
    messenger: Messenger, plan_id: int, previous_plan_id: int | None
) -> list[int]:
    """Text every staff member whose visits still to do plan ``plan_id`` changed from
    ``previous_plan_id`` (both plans of the day, which is today; None: the day's first plan,
    approved on the day: each route is news): how many are left and the next one. Returns the
    ids of those texted (one without a phone number is not). Idempotent: one text per plan and
    staff member, however often this runs."""
    with Session(messenger.engine) as session:
        texts: list[tuple[int, str, dict[str, str], int | None]] = []
        for change in changed_routes(session, plan_id, previous_plan_id):
            if change.next_visit_id is None or change.next_start is None:
                texts.append((change.staff_id, "staff_route_cleared", {}, None))
                continue
            visit = session.get(Visit, change.next_visit_id)
            sale = session.get(Sale, visit.sale_id) if visit else None
            customer = session.get(Customer, sale.customer_id) if sale else None
            template = "staff_route_changed" if previous_plan_id else "staff_route_new"
            texts.append((change.staff_id, template, {
                "count": str(change.to_go),
                "start": t.format_clock(change.next_start, messenger.settings.timezone),
                "customer": t.shorten(customer.name, t.CUSTOMER_MAX) if customer else "",
                "address": t.shorten(customer.address, t.ADDRESS_MAX) if customer else "",
            }, change.next_visit_id))  # fmt: skip
    texted = []
    for staff_id, template, values, visit_id in texts:
        key = f"route/{plan_id}/{staff_id}"
        sent = messenger.send_to_staff(staff_id, template, key, values, visit_id)
        if sent.message_id is not None:
            texted.append(staff_id)
    return texted
