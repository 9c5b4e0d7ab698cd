from datetime import UTC, datetime

import pytest
from sqlmodel import Session
from tenacity import wait_none

from domain.db import session_scope
from domain.models import Customer, Product, Sale, Visit
from sms.errors import PermanentSmsError, TransientSmsError
from sms.messenger import Messenger
from sms.outbox import OUTBOX_NUMBER
from sms.templates import TemplateError
from sms.twilio_gateway import TwilioGateway
from tests.sms.conftest import messages
from tests.sms.test_twilio_gateway import RecordingHttpClient, created, error, twilio_settings


def test_visit_confirmation_goes_through_the_outbox(engine, company, messenger):
    outcome = messenger.send_for_visit(company.visit_id, "visit_confirmation", "visit-1/confirm")
    assert outcome.status == "delivered" and outcome.skipped_reason is None
    [row] = messages(engine)
    assert row.id == outcome.message_id
    assert row.direction == "outbound" and row.template == "visit_confirmation"
    assert row.to_number == "+34600111222" and row.from_number == OUTBOX_NUMBER
    assert row.provider_sid.startswith("SM") and len(row.provider_sid) == 34
    assert row.body.startswith("Instalación de Horno mixto Rational el mié 25/11: Javier llegará")
    assert "de 09:00 a 11:00" in row.body
    assert (row.visit_id, row.sale_id, row.customer_id) == (
        company.visit_id,
        company.sale_id,
        company.customer_id,
    )


def test_same_idempotency_key_sends_once(engine, company, messenger):
    first = messenger.send_for_visit(company.visit_id, "visit_confirmation", "k")
    second = messenger.send_for_visit(company.visit_id, "visit_confirmation", "k")
    assert first == second
    assert len(messages(engine)) == 1


def test_opted_out_customer_gets_nothing(engine, company, messenger):
    with session_scope(engine) as s:
        s.get(Customer, company.customer_id).sms_opt_out = True
    outcome = messenger.send_for_visit(company.visit_id, "visit_confirmation", "k")
    assert (outcome.message_id, outcome.status, outcome.skipped_reason) == (
        None,
        "skipped",
        "opted_out",
    )
    assert messages(engine) == []
    assert messenger.send_for_sale(company.sale_id, "survey_request", "s").skipped_reason == (
        "opted_out"
    )


def test_reschedule_offer_lists_the_slots_in_local_time(engine, company, messenger):
    slots = ["2026-11-26T08:00:00+00:00", datetime(2026, 11, 28, 15, 30, tzinfo=UTC)]
    messenger.send_for_visit(company.visit_id, "reschedule_offer", "offer", slots=slots)
    [row] = messages(engine)
    assert "1) jue 26/11 09:00-11:00 2) sáb 28/11 16:30-18:30" in row.body
    with pytest.raises(ValueError, match="slot"):
        messenger.send_for_visit(company.visit_id, "reschedule_offer", "offer-2")


def test_survey_in_the_customers_language(engine, company, messenger):
    with session_scope(engine) as s:
        s.get(Customer, company.customer_id).locale = "en"
    messenger.send_for_sale(company.sale_id, "survey_request", "sale/survey")
    [row] = messages(engine)
    assert row.body.startswith("How is your Horno mixto Rational? Rate our service from 1")
    with pytest.raises(TemplateError):
        messenger.send_for_sale(company.sale_id, "visit_confirmation", "x")


def test_english_customers_read_the_products_english_name(engine, company, messenger):
    """A product with an English name is called by it in English texts; Spanish customers
    keep the Spanish name."""
    with session_scope(engine) as s:
        s.get(Customer, company.customer_id).locale = "en"
        sale = s.get(Sale, company.sale_id)
        s.get(Product, sale.product_id).name_en = "Rational combi oven"
    messenger.send_for_sale(company.sale_id, "survey_request", "sale/survey")
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "visit/confirm")
    with session_scope(engine) as s:
        s.get(Customer, company.customer_id).locale = "es"
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "visit/confirm-es")
    survey, confirm_en, confirm_es = messages(engine)
    assert survey.body.startswith("How is your Rational combi oven? Rate our service")
    assert confirm_en.body.startswith("Your installation for Rational combi oven: Wed 25 Nov")
    assert confirm_es.body.startswith("Instalación de Horno mixto Rational el")


def twilio_messenger(engine, answers):
    http = RecordingHttpClient(answers)
    gateway = TwilioGateway(twilio_settings(), http_client=http, wait=wait_none())
    return Messenger(engine, gateway, twilio_settings()), http


def test_carrier_opt_out_is_permanent_and_respected(engine, company):
    messenger, http = twilio_messenger(engine, [error(400, 21610, "unsubscribed recipient")])
    with pytest.raises(PermanentSmsError):
        messenger.send_for_visit(company.visit_id, "visit_confirmation", "k")
    [row] = messages(engine)
    assert (row.status, row.error_code) == ("failed", "21610")
    with Session(engine) as s:
        assert s.get(Customer, company.customer_id).sms_opt_out is True
        assert s.get(Visit, company.visit_id).needs_phone_call is True
    # retrying the same key does not call Twilio again
    assert messenger.send_for_visit(company.visit_id, "visit_confirmation", "k").status == "failed"
    assert len(http.requests) == 1


def test_transient_failure_is_resent_on_retry_without_a_second_row(engine, company):
    messenger, http = twilio_messenger(engine, [error(503, 20503)] * 4 + [created()])
    with pytest.raises(TransientSmsError):
        messenger.send_for_visit(company.visit_id, "visit_confirmation", "k")
    [row] = messages(engine)
    assert row.status == "queued" and row.provider_sid is None
    outcome = messenger.send_for_visit(company.visit_id, "visit_confirmation", "k")
    assert outcome.status == "queued" and outcome.message_id == row.id
    [row] = messages(engine)
    assert row.provider_sid == "SM" + "a" * 32 and row.from_number == "+34911000000"
    assert len(http.requests) == 5


def test_an_office_message_goes_through_twilio_as_written(engine, company):
    messenger, http = twilio_messenger(engine, [created()])
    outcome = messenger.send_text(
        company.customer_id, "  Llegaremos a las 10:30.  ", "office/1/a", sale_id=company.sale_id
    )
    [row] = messages(engine)
    assert (row.id, row.template, row.body, row.sale_id) == (
        outcome.message_id, "office_message", "Llegaremos a las 10:30.", company.sale_id
    )  # fmt: skip
    assert len(http.requests) == 1 and "Llegaremos" in str(http.requests[0])
    for text in ("   ", "x" * 481):
        with pytest.raises(ValueError, match="1 to 480 characters"):
            messenger.send_text(company.customer_id, text, "office/1/b")
    with pytest.raises(LookupError):
        messenger.send_text(999, "Hola", "office/1/c")
