import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.replies import (
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    Context,
    ParsedReply,
    ReplyKind,
    context_for_template,
    normalize,
    parse_reply,
)

C, S, SC, CM, N = (
    Context.CONFIRMATION,
    Context.SLOTS,
    Context.SURVEY_SCORE,
    Context.SURVEY_COMMENT,
    Context.NONE,
)

TABLE = [
    # Spanish
    ("Sí", C, ReplyKind.CONFIRM),
    ("si.", C, ReplyKind.CONFIRM),
    (" SI ", C, ReplyKind.CONFIRM),
    ("1", C, ReplyKind.CONFIRM),
    ("¡Sí!", C, ReplyKind.CONFIRM),
    ("Vale", C, ReplyKind.CONFIRM),
    ("confirmo", C, ReplyKind.CONFIRM),
    ("👍", C, ReplyKind.CONFIRM),
    ("No", C, ReplyKind.DECLINE),
    ("no puedo", C, ReplyKind.DECLINE),
    ("2", C, ReplyKind.DECLINE),
    ("Otra", C, ReplyKind.RESCHEDULE),
    ("otra hora", C, ReplyKind.RESCHEDULE),
    ("Otro día", C, ReplyKind.RESCHEDULE),
    ("3", C, ReplyKind.RESCHEDULE),
    ("Baja", C, ReplyKind.OPT_OUT),
    ("BAJA.", N, ReplyKind.OPT_OUT),
    ("alta", N, ReplyKind.OPT_IN),
    ("Ayuda", C, ReplyKind.HELP),
    ("¿Qué?", C, ReplyKind.UNKNOWN),
    ("la 2", S, ReplyKind.CHOOSE_SLOT),
    ("Opción 3", S, ReplyKind.CHOOSE_SLOT),
    ("ninguna", S, ReplyKind.DECLINE),
    ("5", SC, ReplyKind.SURVEY_SCORE),
    ("4 estrellas", SC, ReplyKind.SURVEY_SCORE),
    ("Muy amable el técnico", CM, ReplyKind.SURVEY_COMMENT),
    ("Sí", N, ReplyKind.UNKNOWN),
    # English
    ("OK", C, ReplyKind.CONFIRM),
    ("ok!", C, ReplyKind.CONFIRM),
    ("Confirmed", C, ReplyKind.CONFIRM),
    ("can't", C, ReplyKind.DECLINE),
    ("other time", C, ReplyKind.RESCHEDULE),
    ("Reschedule", C, ReplyKind.RESCHEDULE),
    ("YES", C, ReplyKind.OPT_IN),  # reserved: the pipeline decides (tests/sms/test_inbound.py)
    ("yes.", C, ReplyKind.OPT_IN),
    ("Stop", C, ReplyKind.OPT_OUT),
    ("cancel", C, ReplyKind.OPT_OUT),  # reserved: never a decline
    ("Unsubscribe", SC, ReplyKind.OPT_OUT),
    ("start", N, ReplyKind.OPT_IN),
    ("help", C, ReplyKind.HELP),
    ("info", SC, ReplyKind.HELP),
    ("option 1", S, ReplyKind.CHOOSE_SLOT),
    ("4", S, ReplyKind.UNKNOWN),
    ("none", S, ReplyKind.DECLINE),
    ("3/5", SC, ReplyKind.SURVEY_SCORE),
    ("6", SC, ReplyKind.UNKNOWN),
    ("great", SC, ReplyKind.UNKNOWN),
    ("Great job, thanks", CM, ReplyKind.SURVEY_COMMENT),
    ("   ", CM, ReplyKind.UNKNOWN),
]


# A confirmation word followed by courtesy confirms; anything else in the reply leaves it to a
# person (the help text), never a confirmation the customer did not give.
COURTEOUS = [
    ("Sí, gracias", ReplyKind.CONFIRM),
    ("Vale, allí estaré. Muchas gracias!", ReplyKind.CONFIRM),
    ("Si, a esa hora me va bien", ReplyKind.CONFIRM),
    ("De acuerdo, hasta mañana", ReplyKind.CONFIRM),
    ("Perfecto, gracias 👍", ReplyKind.CONFIRM),
    ("Yes thanks", ReplyKind.CONFIRM),
    ("OK, see you then", ReplyKind.CONFIRM),
    ("Yes, that time works for me. I'll be home", ReplyKind.CONFIRM),
    ("Sí, pero mejor a las 10", ReplyKind.UNKNOWN),
    ("vale pero llegad puntuales", ReplyKind.UNKNOWN),
    ("Si no llueve", ReplyKind.UNKNOWN),
    ("OK, can we do Thursday instead?", ReplyKind.UNKNOWN),
    ("Yes, at 11 please", ReplyKind.UNKNOWN),
    ("Gracias", ReplyKind.UNKNOWN),  # courtesy alone says nothing
    ("Sí, gracias Sara", ReplyKind.UNKNOWN),  # an unknown word: read by a person
]


# A refusal followed by why not or when declines; anything else is left to the help text.
REFUSALS = [
    ("No, I can't that day", ReplyKind.DECLINE),
    ("Sorry, I can't make it on Tuesday", ReplyKind.DECLINE),
    ("No puedo ese día, lo siento", ReplyKind.DECLINE),
    ("No, thank you", ReplyKind.DECLINE),
    ("I'm afraid we can't do Tuesday", ReplyKind.UNKNOWN),  # "afraid" before the refusal
    ("Lo siento, no estaré en casa", ReplyKind.UNKNOWN),  # as "No, estaré en casa" once
    ("No, está bien", ReplyKind.UNKNOWN),  # "no worries, it's fine"
    ("No, that time works for me", ReplyKind.UNKNOWN),
    ("No, I'll be there", ReplyKind.UNKNOWN),
    ("No me viene bien el martes", ReplyKind.DECLINE),
    ("No problem!", ReplyKind.UNKNOWN),
    ("No hay problema", ReplyKind.UNKNOWN),
    ("I can't wait!", ReplyKind.UNKNOWN),
    ("No sé", ReplyKind.UNKNOWN),
    ("No puedo a las 9, mejor a las 11", ReplyKind.UNKNOWN),
    ("Sí, no puedo esperar", ReplyKind.UNKNOWN),
]


@pytest.mark.parametrize(("text", "kind"), REFUSALS)
def test_a_refusal_with_its_reason_declines_and_nothing_else_does(text, kind):
    assert parse_reply(text, C).kind is kind


@pytest.mark.parametrize(("text", "kind"), COURTEOUS)
def test_a_confirmation_with_courtesy_confirms_and_nothing_else_does(text, kind):
    assert parse_reply(text, C).kind is kind
    assert parse_reply(text, S).kind is not ReplyKind.CONFIRM


@given(
    st.sampled_from(["Sí", "OK", "Vale", "Yes", "De acuerdo"]),
    st.lists(st.sampled_from(["gracias", "thanks", "pero", "but", "no", "not", "10", "mejor",
                              "instead", "otra", "other", "bien", "then"]), min_size=1, max_size=6),
)  # fmt: skip
def test_a_reply_with_a_word_of_doubt_never_confirms(lead, words):
    text = " ".join([lead, *words])
    doubt = {"pero", "but", "no", "not", "10", "mejor", "instead", "otra", "other"}
    assert (parse_reply(text, C).kind is ReplyKind.CONFIRM) is not bool(doubt & set(words))


@pytest.mark.parametrize(("text", "context", "kind"), TABLE)
def test_reply_table(text, context, kind):
    assert parse_reply(text, context).kind is kind


def test_slot_and_score_values():
    assert parse_reply("la 2", S) == ParsedReply(ReplyKind.CHOOSE_SLOT, slot=2)
    assert parse_reply(" 3 ", S).slot == 3
    assert parse_reply("4 muy bien, gracias", SC) == ParsedReply(
        ReplyKind.SURVEY_SCORE, score=4, comment="muy bien, gracias"
    )
    assert parse_reply("5", SC).comment is None
    assert parse_reply("15", SC).kind is ReplyKind.UNKNOWN
    assert parse_reply("Todo  bien\n gracias", CM).comment == "Todo bien gracias"


def test_contexts_follow_the_templates():
    assert context_for_template("visit_confirmation") is C
    assert context_for_template("visit_day_before_reminder") is C
    assert context_for_template("reschedule_offer") is S
    assert context_for_template("survey_reminder") is SC
    assert context_for_template("survey_comment_request") is CM
    assert context_for_template("survey_thanks") is N
    assert context_for_template(None) is N


def _decorate(word: str) -> st.SearchStrategy[str]:
    """The same word as people type it: any case, spaces and punctuation around it."""
    cased = st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda flags: "".join(c.lower() if f else c for c, f in zip(word, flags, strict=True))
    )
    pad = st.text(alphabet=" .!¡¿?,\t\n", max_size=4)
    return st.tuples(pad, cased, pad).map("".join)


@given(st.data(), st.sampled_from(sorted(OPT_OUT_WORDS)), st.sampled_from(list(Context)))
def test_opt_out_words_win_in_every_context(data, word, context):
    assert parse_reply(data.draw(_decorate(word)), context).kind is ReplyKind.OPT_OUT


@given(st.data(), st.sampled_from(sorted(OPT_IN_WORDS)), st.sampled_from(list(Context)))
def test_opt_in_words_win_in_every_context(data, word, context):
    assert parse_reply(data.draw(_decorate(word)), context).kind is ReplyKind.OPT_IN


@given(st.data(), st.sampled_from(["SI", "SÍ", "OK", "VALE", "CONFIRMO", "1"]))
def test_confirmation_ignores_case_accents_and_punctuation(data, word):
    assert parse_reply(data.draw(_decorate(word)), C).kind is ReplyKind.CONFIRM


@given(st.text(max_size=200), st.sampled_from(list(Context)))
def test_parser_never_fails_and_is_stable_under_normalization(text, context):
    parsed = parse_reply(text, context)
    assert isinstance(parsed.kind, ReplyKind)
    assert normalize(normalize(text)) == normalize(text)
    if parsed.kind is ReplyKind.CHOOSE_SLOT:
        assert parsed.slot in (1, 2, 3)
    if parsed.kind is ReplyKind.SURVEY_SCORE:
        assert 1 <= parsed.score <= 5
    if context is not Context.CONFIRMATION:
        assert parsed.kind not in (ReplyKind.CONFIRM, ReplyKind.RESCHEDULE)


@given(st.integers(min_value=1, max_value=5), st.text(alphabet=" .!", max_size=3))
def test_every_score_is_read(score, tail):
    assert parse_reply(f"{score}{tail}", SC).score == score


@pytest.mark.parametrize(
    ("text", "courtesy"),
    [("Gracias", True), ("¡Muchas gracias!", True), ("ok, thank you", True), ("👍", False),
     ("gracias pero", False), ("", False), ("gracias, ¿a qué hora?", False)],
)  # fmt: skip
def test_courtesy_is_thanks_and_nothing_else(text, courtesy):
    from sms.replies import is_courtesy

    assert is_courtesy(text) is courtesy


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("Todo perfecto, un 5", 5),
        ("Great service! 5/5", 5),
        ("Muy bien 4 estrellas", 4),
        ("Muy puntuales - 5.", 5),
        ("Perfecto, le doy un 5!", 5),
        ("Excelente servicio 5 de 5", 5),
        ("I'd give it a 4", 4),
        ("Tardaron mucho, 2", 2),
    ],
)
def test_a_score_after_the_comment_counts_and_keeps_the_message(text: str, score: int) -> None:
    assert parse_reply(text, SC) == ParsedReply(ReplyKind.SURVEY_SCORE, score=score, comment=text)


@pytest.mark.parametrize(
    "text",
    ["Llegó a las 5", "came at 3", "Esperé 2 horas", "llegó a 5 minutos de la hora", "10/10",
     "Todo 15", "Bien 3"],
)  # fmt: skip
def test_a_number_that_is_not_marked_as_a_score_is_not_taken_for_one(text: str) -> None:
    assert parse_reply(text, SC).kind is ReplyKind.UNKNOWN
