from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from calendars.tokens import visit_for_customer_token
from domain.db import session_scope
from domain.lifecycle import record_survey
from domain.models import Customer, Visit
from sms.inbound import InboundPipeline, InboundSms
from tests.sms.conftest import RecordingWorkflows, make_company, messages
from workflows.client import WorkflowRejected, WorkflowUnavailable
from workflows.contracts import CustomerReplyResult

US = "+15005550006"


@pytest.fixture
def workflows():
    return RecordingWorkflows()


@pytest.fixture
def pipeline(engine, sms_settings, messenger, workflows):
    return InboundPipeline(engine, sms_settings, messenger, workflows)


def sms(body, sid="SM1", sender="+34600111222"):
    return InboundSms(provider_sid=sid, from_number=sender, to_number=US, body=body)


def test_confirmation_reaches_the_visit_workflow_and_is_answered(
    engine, company, messenger, pipeline, workflows
):
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    received, handoff = pipeline.receive_and_hand_off(sms(" Sí. ", sender="600 11 12 22"))
    [(visit_id, reply)] = workflows.replies
    assert visit_id == company.visit_id
    assert (reply.answer, reply.slot, reply.message_id) == ("confirm", None, received.message_id)
    assert handoff.action == "customer_reply:confirm"
    inbound = messages(engine, direction="inbound")[0]
    assert inbound.from_number == "+34600111222"  # E.164 from a local number
    assert (inbound.visit_id, inbound.template, inbound.processed) == (
        company.visit_id,
        "visit_confirmation",
        True,
    )
    answer = messages(engine, id=handoff.reply_message_id)[0]
    assert (
        answer.body == "Gracias, su instalación del mié 25/11 entre 09:00 y 11:00 queda confirmada."
    )
    # then the customer's own secret link to add the visit to their calendar
    [link] = messages(engine, template="calendar_link")
    assert link.body.startswith("Añádala a su calendario: http")
    token = link.body.rsplit("/c/", 1)[1].removesuffix(".ics")
    with session_scope(engine) as s:
        visit = visit_for_customer_token(s, token)
        assert visit is not None and visit.id == company.visit_id
    # a retried hand-off sends neither the answer nor the link again
    pipeline.hand_off(received.message_id)
    assert len(messages(engine, template="calendar_link")) == 1
    # confirmed again: the answer again, but not a second link (the first shows the visit)
    _, again = pipeline.receive_and_hand_off(sms("Sí, gracias", sid="SM2"))
    assert messages(engine, id=again.reply_message_id)[0].template == "reply_confirmed"
    assert len(messages(engine, template="calendar_link")) == 1


def test_same_message_sid_twice_is_stored_and_handed_off_once(
    engine, company, messenger, pipeline, workflows
):
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    first, _ = pipeline.receive_and_hand_off(sms("SI"))
    again, handoff = pipeline.receive_and_hand_off(sms("SI"))
    assert again.duplicate and again.message_id == first.message_id and handoff is None
    assert pipeline.hand_off(first.message_id).action == "already_handled"
    assert len(workflows.replies) == 1
    assert len(messages(engine, direction="inbound")) == 1
    # request + one answer + the calendar link
    assert len(messages(engine, direction="outbound")) == 3


def test_slot_choice_after_an_offer(engine, company, messenger, pipeline, workflows):
    messenger.send_for_visit(
        company.visit_id,
        "reschedule_offer",
        "o",
        slots=["2026-11-26T08:00:00+00:00", "2026-11-27T08:00:00+00:00"],
    )
    workflows.reply_result = CustomerReplyResult(accepted=True, status="requested")
    with session_scope(engine) as s:  # what the workflow's pin_visit activity stores
        s.get(Visit, company.visit_id).pinned_start = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    _, handoff = pipeline.receive_and_hand_off(sms("la 2"))
    assert workflows.replies[0][1].answer == "choose_slot" and workflows.replies[0][1].slot == 2
    # the choice is acknowledged at once: the new plan, and its text, may be days away
    [ack] = messages(engine, id=handoff.reply_message_id)
    assert ack.template == "slot_chosen"
    assert "vie 27/11" in ack.body and "09:00 y 11:00" in ack.body, ack.body
    # after it, the same number again is no longer read as a choice of time, and a "thanks"
    # asks for nothing, so it gets no answer
    _, handoff = pipeline.receive_and_hand_off(sms("2", sid="SM2"))
    assert messages(engine, id=handoff.reply_message_id)[0].template == "help_general"
    _, handoff = pipeline.receive_and_hand_off(sms("¡Muchas gracias!", sid="SM3"))
    assert (handoff.action, handoff.reply_message_id) == ("thanks", None)
    assert len(workflows.replies) == 1


def test_reschedule_without_free_times_says_so(engine, company, messenger, pipeline, workflows):
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    workflows.reply_result = CustomerReplyResult(accepted=True, status="awaiting_confirmation")
    _, handoff = pipeline.receive_and_hand_off(sms("otra hora"))
    assert workflows.replies[0][1].answer == "reschedule"
    assert messages(engine, id=handoff.reply_message_id)[0].template == "reply_no_slots"


def test_rejected_reply_flags_a_phone_call(engine, company, messenger, pipeline, workflows):
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    workflows.raise_error = WorkflowRejected("the visit is completed; no answer expected")
    _, handoff = pipeline.receive_and_hand_off(sms("NO"))
    assert handoff.action == "customer_reply:decline:rejected"
    with Session(engine) as s:
        assert s.get(Visit, company.visit_id).needs_phone_call is True


def test_temporal_down_keeps_the_message_for_later(engine, company, messenger, pipeline, workflows):
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    workflows.raise_error = WorkflowUnavailable("temporal is down")
    received = pipeline.receive(sms("SI"))
    with pytest.raises(WorkflowUnavailable):
        pipeline.hand_off(received.message_id)
    assert messages(engine, direction="inbound")[0].processed is False
    assert pipeline.process_pending() == 0
    workflows.raise_error = None
    assert pipeline.process_pending() == 1
    assert len(workflows.replies) == 1
    assert messages(engine, direction="inbound")[0].processed is True


def test_nonsense_gets_a_short_helpful_answer(engine, company, messenger, pipeline, workflows):
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    _, handoff = pipeline.receive_and_hand_off(sms("¿a qué hora era?"))
    assert workflows.replies == []
    answer = messages(engine, id=handoff.reply_message_id)[0]
    assert answer.template == "help_confirmation" and "SI" in answer.body


def test_unknown_number_gets_a_polite_answer_and_changes_nothing(
    engine, company, messenger, pipeline, workflows
):
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    _, handoff = pipeline.receive_and_hand_off(sms("SI", sender="+34699000999"))
    assert workflows.replies == []
    answer = messages(engine, id=handoff.reply_message_id)[0]
    assert answer.to_number == "+34699000999" and answer.template == "unknown_number"
    _, handoff = pipeline.receive_and_hand_off(sms("STOP", sid="SM2", sender="+34699000999"))
    assert handoff.reply_message_id is None
    with Session(engine) as s:
        assert s.get(Customer, company.customer_id).sms_opt_out is False


def test_baja_opts_out_at_once_and_alta_subscribes_again(
    engine, company, messenger, pipeline, workflows
):
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    received = pipeline.receive(sms("Baja."))
    with Session(engine) as s:  # before any background work
        assert s.get(Customer, company.customer_id).sms_opt_out is True
        assert s.get(Visit, company.visit_id).needs_phone_call is True
    receipt = pipeline.hand_off(received.message_id)
    assert messages(engine, id=receipt.reply_message_id)[0].template == "opted_out"
    blocked = messenger.send_for_visit(company.visit_id, "visit_no_answer_reminder", "r")
    assert blocked.skipped_reason == "opted_out"
    _, handoff = pipeline.receive_and_hand_off(sms("alta", sid="SM2"))
    assert messages(engine, id=handoff.reply_message_id)[0].template == "opted_in"
    with Session(engine) as s:
        assert s.get(Customer, company.customer_id).sms_opt_out is False
    assert messenger.send_for_visit(company.visit_id, "visit_no_answer_reminder", "r").message_id


def test_yes_to_a_visit_confirmation_confirms_it(engine, company, messenger, pipeline, workflows):
    """YES is a reserved opt-in keyword, but from a customer who never opted out it answers
    the question: the visit is confirmed and the customer told so."""
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    _, handoff = pipeline.receive_and_hand_off(sms("Yes!"))
    assert [(visit_id, r.answer) for visit_id, r in workflows.replies] == [
        (company.visit_id, "confirm")
    ]
    assert handoff.action == "customer_reply:confirm"
    assert messages(engine, id=handoff.reply_message_id)[0].template == "reply_confirmed"


def test_yes_from_an_opted_out_customer_only_subscribes_again(
    engine, company, messenger, pipeline, workflows
):
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    pipeline.receive_and_hand_off(sms("STOP"))
    _, handoff = pipeline.receive_and_hand_off(sms("YES", sid="SM2"))
    assert workflows.replies == []
    assert handoff.action == "opt_in"
    assert messages(engine, id=handoff.reply_message_id)[0].template == "opted_in"
    with Session(engine) as s:
        assert s.get(Customer, company.customer_id).sms_opt_out is False
    # subscribed again, the next YES to the confirmation is a confirmation
    messenger.send_for_visit(company.visit_id, "visit_no_answer_reminder", "r")
    _, handoff = pipeline.receive_and_hand_off(sms("YES", sid="SM3"))
    assert handoff.action == "customer_reply:confirm"


def test_yes_outside_a_visit_confirmation_is_not_an_answer(
    engine, company, messenger, pipeline, workflows
):
    messenger.send_for_sale(company.sale_id, "survey_request", "survey")
    _, handoff = pipeline.receive_and_hand_off(sms("YES"))
    assert workflows.replies == [] and workflows.surveys == []
    assert handoff.action == "opt_in"


def test_survey_score_then_comment(engine, company, messenger, pipeline, workflows):
    with session_scope(engine) as s:
        s.get(Customer, company.customer_id).locale = "en"
    messenger.send_for_sale(company.sale_id, "survey_request", "survey")
    _, handoff = pipeline.receive_and_hand_off(sms("5!"))
    [(sale_id, answer)] = workflows.surveys
    assert (sale_id, answer.score, answer.comment) == (company.sale_id, 5, None)
    assert handoff.action == "survey_answer:survey_score"
    assert handoff.reply_message_id is None  # the sale workflow asks for the comment itself
    messenger.send_for_sale(company.sale_id, "survey_comment_request", "comment")
    _, handoff = pipeline.receive_and_hand_off(sms("Javier was great, thanks", sid="SM2"))
    assert workflows.surveys[1][1].comment == "Javier was great, thanks"
    assert workflows.surveys[1][1].score is None
    workflows.raise_error = WorkflowRejected("no survey is waiting for an answer")
    _, handoff = pipeline.receive_and_hand_off(sms("more words", sid="SM3"))
    assert handoff.action == "survey_answer:rejected"


def test_a_comment_sent_right_after_the_score_is_taken_as_the_comment(
    engine, company, messenger, pipeline, workflows
):
    # "5", then "Muy buen servicio" before the comment request goes out: the second message
    # still answers the survey request, but the score is in, so it is the comment
    messenger.send_for_sale(company.sale_id, "survey_request", "survey")
    _, handoff = pipeline.receive_and_hand_off(sms("Muy buen servicio", sid="SM0"))
    assert workflows.surveys == []  # no score yet: the survey help, as before
    assert messages(engine, id=handoff.reply_message_id)[0].template == "help_survey"
    pipeline.receive_and_hand_off(sms("5"))
    with session_scope(engine) as s:  # what the sale workflow's activity stores
        record_survey(s, company.sale_id, 5, None, "workflow:sale")
    _, handoff = pipeline.receive_and_hand_off(sms("Muy buen servicio", sid="SM2"))
    assert [(a.score, a.comment) for _, a in workflows.surveys] == [
        (5, None),
        (None, "Muy buen servicio"),
    ]
    assert handoff.action == "survey_answer:survey_comment"
    assert handoff.reply_message_id is None


def test_each_customer_is_answered_in_their_conversation(
    engine, sms_settings, messenger, pipeline, workflows
):
    ana = make_company(engine, phone="600 111 222")
    bob = make_company(engine, phone="+44 7911 123456", locale="en", name="Bob")
    messenger.send_for_visit(ana.visit_id, "visit_confirmation", "a")
    messenger.send_for_visit(bob.visit_id, "visit_confirmation", "b")
    pipeline.receive_and_hand_off(sms("ok", sid="SMb", sender="+447911123456"))
    assert workflows.replies[0][0] == bob.visit_id


def test_a_slot_that_was_not_offered_gets_the_slot_help(
    engine, company, messenger, pipeline, workflows
):
    messenger.send_for_visit(
        company.visit_id,
        "reschedule_offer",
        "o",
        slots=["2026-11-26T08:00:00+00:00", "2026-11-27T08:00:00+00:00"],
    )
    workflows.raise_error = WorkflowRejected("choose a time from 1 to 2")
    _, handoff = pipeline.receive_and_hand_off(sms("3"))
    assert handoff.action == "customer_reply:choose_slot:rejected"
    assert messages(engine, id=handoff.reply_message_id)[0].template == "help_slots"
    with Session(engine) as s:
        assert s.get(Visit, company.visit_id).needs_phone_call is False


def test_thanks_after_confirming_gets_no_answer_but_before_it_gets_the_help(
    engine, company, messenger, pipeline, workflows
):
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    _, handoff = pipeline.receive_and_hand_off(sms("Gracias"))
    assert messages(engine, id=handoff.reply_message_id)[0].template == "help_confirmation"
    with session_scope(engine) as s:  # the customer confirmed (by SMS or by phone)
        s.get(Visit, company.visit_id).status = "confirmed"
    _, handoff = pipeline.receive_and_hand_off(sms("thank you", sid="SM2"))
    assert (handoff.action, handoff.reply_message_id) == ("thanks", None)
    assert workflows.replies == []
    _, handoff = pipeline.receive_and_hand_off(sms("¿a qué hora?", sid="SM3"))
    assert messages(engine, id=handoff.reply_message_id)[0].template == "help_confirmation"


def test_a_reply_to_an_office_message_is_for_the_office_not_the_visit(
    engine, company, messenger, pipeline, workflows
):
    """After "we are running late", a reply is not an answer to the visit's earlier
    confirmation request ("NO" would decline it): it is stored for the office, unanswered;
    STOP still opts out."""
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    messenger.send_text(company.customer_id, "Llegaremos 30 minutos tarde", "office/1/a",
                        sale_id=company.sale_id)  # fmt: skip
    received, handoff = pipeline.receive_and_hand_off(sms("NO, no pasa nada", sender="600111222"))
    assert handoff.action == "for_the_office" and handoff.reply_message_id is None
    assert workflows.replies == []
    stored = messages(engine, id=received.message_id)[0]
    assert (stored.template, stored.sale_id, stored.processed) == (
        "office_message", company.sale_id, True
    )  # fmt: skip
    with Session(engine) as s:
        assert s.get(Visit, company.visit_id).needs_phone_call is False  # a sale's message
    messenger.send_for_visit(company.visit_id, "visit_on_the_way", "w", eta=datetime.now(UTC))
    for n, thanks in enumerate(("Gracias!", "Yes")):  # "Yes" is thanks here, not START
        _, handoff = pipeline.receive_and_hand_off(sms(thanks, sid=f"SM4{n}"))
        assert handoff.action == "for_the_office:thanks" and handoff.reply_message_id is None
    _, handoff = pipeline.receive_and_hand_off(sms("NO estoy, venid mañana", sid="SM2"))
    assert handoff.action == "for_the_office:phone_call" and workflows.replies == []
    with Session(engine) as s:
        assert s.get(Visit, company.visit_id).needs_phone_call is True  # the office calls
    _, handoff = pipeline.receive_and_hand_off(sms("STOP", sid="SM3"))
    assert handoff.action == "opt_out"


@pytest.mark.parametrize("in_process", [True, False], ids=["outbox", "provider"])
def test_thanks_to_the_office_is_handled_by_itself_anything_else_waits_for_someone(
    engine, sms_settings, company, messenger, workflows, in_process, monkeypatch
):
    """Replies to the office stay to handle until someone marks them; a plain "thanks" (or
    "Yes") needs nobody and is marked handled at once, on both hand-off paths."""
    from sms.office_replies import AUTO_HANDLED, count_to_handle

    monkeypatch.setattr(type(messenger.gateway), "sends_in_process", in_process)
    pipeline = InboundPipeline(engine, sms_settings, messenger, workflows)
    messenger.send_text(company.customer_id, "Le mandamos la factura por correo.", "office/1/a",
                        sale_id=company.sale_id)  # fmt: skip
    handled = {}
    for n, body in enumerate(("Gracias!", "Yes", "Sí, mañana se la mando")):
        received, _ = pipeline.receive_and_hand_off(sms(body, sid=f"SM{n}"))
        stored = messages(engine, id=received.message_id)[0]
        handled[body] = (stored.handled_by, stored.handled_at is not None)
    assert handled == {
        "Gracias!": (AUTO_HANDLED, True),
        "Yes": (AUTO_HANDLED, True),
        "Sí, mañana se la mando": (None, False),
    }
    with Session(engine) as s:
        assert count_to_handle(s) == 1


def _plan_in_two_days(engine, visit_id):
    from datetime import timedelta

    with session_scope(engine) as s:
        s.get(Visit, visit_id).planned_start = datetime.now(UTC) + timedelta(days=2)


@pytest.mark.parametrize("in_process", [True, False], ids=["outbox", "provider"])
def test_si_to_an_office_message_while_a_visit_waits_asks_for_the_visits_answer_again(
    engine, sms_settings, company, messenger, workflows, in_process, monkeypatch
):
    """The customer was asked to confirm a visit, then the office wrote; their "SI" may mean
    either. It is kept for the office and the visit's question is asked again, so the next
    "SI" confirms the visit. A reply that does not read as yes/no, or with no visit waiting,
    asks nothing."""
    monkeypatch.setattr(type(messenger.gateway), "sends_in_process", in_process)
    pipeline = InboundPipeline(engine, sms_settings, messenger, workflows)
    _plan_in_two_days(engine, company.visit_id)
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    messenger.send_text(company.customer_id, "Traiga la factura de compra, por favor",
                        "office/1/a", sale_id=company.sale_id)  # fmt: skip
    received, handoff = pipeline.receive_and_hand_off(sms("Si"))
    assert handoff.action == "for_the_office:asked_again" and workflows.replies == []
    [asked] = messages(engine, id=handoff.reply_message_id)
    assert (asked.template, asked.visit_id) == ("visit_confirmation_asked_again", company.visit_id)
    assert asked.body.startswith("La oficina leerá su mensaje. ¿Confirma su ")
    stored = messages(engine, id=received.message_id)[0]
    assert (stored.template, stored.handled_by) == ("office_message", "automatic")  # only "Si"

    _, handoff = pipeline.receive_and_hand_off(sms("SI", sid="SM2"))
    assert handoff.action == "customer_reply:confirm"
    assert [visit_id for visit_id, _ in workflows.replies] == [company.visit_id]

    # the visit is confirmed now: a yes to the next office message is for the office alone
    with session_scope(engine) as s:
        s.get(Visit, company.visit_id).status = "confirmed"
    messenger.send_text(company.customer_id, "Llevaremos la pieza nueva.", "office/1/b",
                        sale_id=company.sale_id)  # fmt: skip
    _, handoff = pipeline.receive_and_hand_off(sms("Si", sid="SM3"))
    assert (handoff.action, handoff.reply_message_id) == ("for_the_office:thanks", None)


@pytest.mark.parametrize("in_process", [True, False], ids=["outbox", "provider"])
def test_a_yes_to_a_question_from_the_office_is_its_answer_to_read(
    engine, sms_settings, company, messenger, workflows, in_process, monkeypatch
):
    """The office asked "¿Tiene aparcamiento?" while a visit waits for its confirmation: "Si",
    "Yes" or "Gracias" answer the office (kept to handle), neither a thanks to file, nor a START,
    nor a cue to ask about the visit again. STOP still opts out."""
    from sms.office_replies import count_to_handle

    monkeypatch.setattr(type(messenger.gateway), "sends_in_process", in_process)
    pipeline = InboundPipeline(engine, sms_settings, messenger, workflows)
    _plan_in_two_days(engine, company.visit_id)
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    messenger.send_text(company.customer_id, "¿Tiene aparcamiento?", "office/1/a",
                        sale_id=company.sale_id)  # fmt: skip
    for n, body in enumerate(("Si", "Yes", "Gracias")):
        received, handoff = pipeline.receive_and_hand_off(sms(body, sid=f"SM{n}"))
        assert (handoff.action, handoff.reply_message_id) == ("for_the_office", None), body
        assert messages(engine, id=received.message_id)[0].handled_by is None
    assert workflows.replies == []
    assert [m.template for m in messages(engine, direction="outbound")].count(
        "visit_confirmation_asked_again"
    ) == 0
    with Session(engine) as s:
        assert count_to_handle(s) == 3
    _, handoff = pipeline.receive_and_hand_off(sms("STOP", sid="SM9"))
    assert handoff.action == "opt_out"


def test_a_reply_to_the_office_that_is_not_a_yes_or_no_asks_nothing_again(
    engine, company, messenger, pipeline, workflows
):
    _plan_in_two_days(engine, company.visit_id)
    messenger.send_for_visit(company.visit_id, "visit_confirmation", "c")
    messenger.send_text(company.customer_id, "¿Tiene aparcamiento?", "office/1/a",
                        sale_id=company.sale_id)  # fmt: skip
    _, handoff = pipeline.receive_and_hand_off(sms("Hay una plaza en la calle"))
    assert (handoff.action, handoff.reply_message_id) == ("for_the_office", None)
    assert workflows.replies == []
