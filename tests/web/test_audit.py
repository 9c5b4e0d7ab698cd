"""The audit log as people read it: the admin's log with its filters, and a sale's history of
changes (the sale, its visits and its customer)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.engine import Engine

from domain import audit, lifecycle
from domain.db import session_scope
from domain.visits import set_status
from tests.web.factories import World
from web.audit_view import details_text


def test_details_read_as_one_line() -> None:
    assert details_text({"changed": {"name": ["Ana", "Ana Ruiz"], "phone": [None, "+34 6"]}}) == (
        "name: Ana → Ana Ruiz · phone: — → +34 6"
    )
    assert details_text({"contract_months": [12, 36], "note": "", "staff_id": 3}) == (
        "contract_months: 12 → 36 · staff_id: 3"
    )
    assert details_text({"skills": [["a", "b"], ["a"]]}) == "skills: a, b → a"


def _history(engine: Engine, w: World) -> None:
    """A contract renewed, a visit confirmed, the customer corrected; another sale's visit."""
    with session_scope(engine) as s:
        lifecycle.change_contract(s, w.sales[0], 36, date(2026, 12, 7), "ana@example.com")
        set_status(s, w.visits[0], "confirmed", actor="workflow:visit-1")
        audit.record(s, "dispatcher@example.com", "customer.update", "customer", w.customers[0],
                     changed={"name": ["Carmen", "Carmen Ruiz"]})  # fmt: skip
        set_status(s, w.visits[1], "confirmed", actor="workflow:visit-2")  # David's sale


def test_a_sale_page_lists_the_changes_to_the_sale_its_visits_and_customer(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    _history(sqlite_engine, world)
    client, _ = client_for("dispatcher")
    page = client.get(f"/sales/{world.sales[0]}").get_data(as_text=True)
    table = re.search(r'<table class="data" id="changes">(.*?)</table>', page, re.S)
    assert table is not None
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>"
                      r'<td class="muted">([^<]*)</td>', table.group(1))  # fmt: skip
    assert rows[:3] == [
        ("dispatcher@example.com", "customer corrected", "name: Carmen → Carmen Ruiz"),
        ("workflow:visit-1", f"visit status changed (#{world.visits[0]})",
         "status: confirmed · needs_phone_call: False"),
        ("ana@example.com", "contract changed", "contract_months: 0 → 36"),
    ]  # fmt: skip
    assert "workflow:visit-2" not in table.group(1)


def test_the_admin_reads_and_filters_the_audit_log(
    client_for, world: World, sqlite_engine: Engine
) -> None:
    _history(sqlite_engine, world)
    admin, _ = client_for("admin")

    def whats(query: str) -> list[str]:
        page = admin.get(f"/admin/audit?{query}").get_data(as_text=True)
        return re.findall(r"<tr><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>", page)

    everything = whats("")
    assert everything[0] == "signed in"  # the admin, a moment ago
    assert [w for w in everything if w != "signed in"][:4] == [
        "visit status changed", "customer corrected", "visit status changed", "contract changed"
    ]  # fmt: skip
    assert whats("actor=ana@") == ["contract changed"]
    assert whats(f"entity=visit&entity_id={world.visits[1]}") == [
        "visit status changed", "visit requested"
    ]  # fmt: skip
    assert whats("until=2020-01-01") == []
    assert whats("entity=nonsense&since=not-a-date") == everything  # ignored, not an error
    page = admin.get(f"/admin/audit?entity=sale&entity_id={world.sales[0]}").get_data(True)
    assert f'<a href="/sales/{world.sales[0]}">sale #{world.sales[0]}</a>' in page
    for role in ("dispatcher", "technician"):
        other, _ = client_for(role)
        assert other.get("/admin/audit").status_code == 403
