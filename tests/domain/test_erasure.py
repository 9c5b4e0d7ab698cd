"""Erasing a customer's personal data on request, on both databases: what names, reaches or
locates them goes; the sales, visits and scores the business must keep stay."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domain import audit
from domain.db import session_scope
from domain.erasure import erase_customer
from domain.errors import Conflict, NotFound
from domain.models import (
    AuditEntry,
    CalendarEntry,
    Customer,
    CustomerLink,
    Sale,
    SmsMessage,
    SurveyAnswer,
    Visit,
)
from tests.workflows.support import PHONE, make_company

AT = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _customer_with_a_past(engine: Engine) -> dict[str, int]:
    ids = make_company(engine, sold_on=date(2026, 1, 10))
    with session_scope(engine) as s:
        sale = s.get(Sale, ids["sale"])
        assert sale is not None
        sale.status = "completed"
        visit = Visit(sale_id=ids["sale"], kind="installation", business_key="k",
                      duration_minutes=60, earliest_date=date(2026, 1, 12), status="completed",
                      outcome_note="Instalada")  # fmt: skip
        s.add(visit)
        s.flush()
        assert visit.id is not None
        ids["visit"] = visit.id
        s.add(SurveyAnswer(sale_id=ids["sale"], score=2, comment="Ana Ruiz, muy tarde"))
        s.add(CalendarEntry(uid="u1", staff_id=ids["staff"], visit_id=visit.id, starts_at=AT,
                            ends_at=AT, summary="Instalación: Prensa – Ana",
                            location="Calle Mayor 1", description="Cliente: Ana"))  # fmt: skip
        s.add(CustomerLink(token_hash="h" * 64, visit_id=visit.id))
        s.add(
            SmsMessage(
                direction="outbound",
                customer_id=ids["customer"],
                to_number=PHONE,
                from_number="+34600000000",
                body="Hola Ana",
                status="delivered",
            )
        )
        s.add(
            SmsMessage(
                direction="inbound",
                to_number="+34600000000",
                from_number=PHONE,
                body="Soy Ana, llamadme",
                status="received",
            )
        )  # never tied to her
        s.add(
            SmsMessage(
                direction="outbound",
                visit_id=visit.id,
                to_number="+34611000009",
                from_number="+34600000000",
                body="Tu ruta de hoy ha cambiado. Próxima a las 10:00: Ana Ruiz, Calle Mayor 1.",
                template="staff_route_changed",
                status="delivered",
            )
        )  # to her technician, about her visit
        s.add(
            SmsMessage(
                direction="inbound",
                to_number="+34600000000",
                from_number="+34699999999",
                body="Otro cliente",
                status="received",
            )
        )
        audit.record(s, "disp", "customer.update", "customer", ids["customer"],
                     changed={"name": ["Ana", "Ana Ruiz"]})  # fmt: skip
    return ids


def test_erasing_a_customer_keeps_the_history_without_the_person(engine: Engine) -> None:
    ids = _customer_with_a_past(engine)
    with session_scope(engine) as s:
        result = erase_customer(s, ids["customer"], "admin@x.es")
    assert (result.messages, result.calendar_entries, result.survey_comments) == (3, 1, 1)
    with Session(engine) as s:
        c = s.get(Customer, ids["customer"])
        assert c is not None
        assert (c.name, c.phone, c.email, c.address, c.latitude, c.sms_opt_out) == (
            f"(erased #{ids['customer']})", "", None, "", 0.0, True
        )  # fmt: skip
        bodies = sorted((m.body, m.to_number, m.from_number) for m in s.exec(select(SmsMessage)))
        assert bodies == [
            ("", "", "+34600000000"), ("", "+34600000000", ""),
            ("", "+34611000009", "+34600000000"),  # the technician's number stays
            ("Otro cliente", "+34600000000", "+34699999999"),
        ]  # fmt: skip
        entry = s.exec(select(CalendarEntry)).one()
        assert (entry.summary, entry.location, entry.description, entry.sequence) == (
            "Instalación: Prensa", "", "", 1
        )  # fmt: skip
        assert s.exec(select(CustomerLink)).all() == []
        answer = s.exec(select(SurveyAnswer)).one()
        assert (answer.score, answer.comment) == (2, None)  # the score counts, the words go
        visit = s.get(Visit, ids["visit"])
        assert visit is not None and visit.outcome_note == "Instalada"
        kept = s.exec(select(AuditEntry).where(AuditEntry.entity == "customer")).all()
        assert [(e.action, e.details) for e in kept] == [
            ("customer.create", {}), ("customer.update", {}),
            ("customer.erase", {"messages": 3, "calendar_entries": 1, "survey_comments": 1}),
        ]  # fmt: skip


def test_a_customer_with_an_active_sale_is_not_erased(engine: Engine) -> None:
    ids = make_company(engine, sold_on=date(2026, 1, 10))
    with pytest.raises(Conflict, match="still active"), session_scope(engine) as s:
        erase_customer(s, ids["customer"], "admin@x.es")
    with Session(engine) as s:
        c = s.get(Customer, ids["customer"])
        assert c is not None and c.phone == PHONE
    with pytest.raises(NotFound), session_scope(engine) as s:
        erase_customer(s, 999, "admin@x.es")
