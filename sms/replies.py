"""Understanding customers' SMS replies.

Case, accents, punctuation and spaces do not matter ("Sí", "si.", " SI " all read "SI"). The
carriers' and Twilio's reserved keywords win over everything else: STOP, STOPALL, UNSUBSCRIBE,
CANCEL, END, QUIT, REVOKE, OPTOUT (and Spanish BAJA) opt out; START, UNSTOP, YES (and ALTA) opt
in; HELP, INFO (and AYUDA) ask for help. That is why our texts ask for SI / OK / CONFIRMO (or 1),
never YES; a YES that answers a visit confirmation from a customer who had not opted out still
confirms it (``sms.inbound`` decides, since only it knows who had opted out). Other words are
read in the conversation's context: the template of the last message we sent to that number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "BAJA"}
)
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES", "ALTA"})
HELP_WORDS = frozenset({"HELP", "INFO", "AYUDA"})
# Keywords Twilio itself answers on standard numbers (we must not answer them twice).
TWILIO_RESERVED = frozenset(
    {
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "START",
        "UNSTOP",
        "YES",
        "HELP",
        "INFO",
    }
)

CONFIRM_WORDS = frozenset(
    {
        "SI",
        "OK",
        "OKAY",
        "OKEY",
        "VALE",
        "CONFIRMO",
        "CONFIRMAR",
        "CONFIRMADO",
        "CONFIRMADA",
        "CONFIRM",
        "CONFIRMED",
        "SI CONFIRMO",
        "SI VALE",
        "PERFECTO",
        "DE ACUERDO",
        "1",
    }
)
DECLINE_WORDS = frozenset(
    {
        "NO",
        "NO PUEDO",
        "NO ME VIENE BIEN",
        "NO ME VA BIEN",
        "NO GRACIAS",
        "CANT",
        "CANNOT",
        "CAN NOT",
        "I CANT",
        "DECLINE",
        "NO THANKS",
        "2",
    }
)
RESCHEDULE_WORDS = frozenset(
    {
        "OTRA",
        "OTRA HORA",
        "OTRO",
        "OTRO DIA",
        "OTRA FECHA",
        "CAMBIAR",
        "CAMBIO",
        "CAMBIAR HORA",
        "OTHER",
        "OTHER TIME",
        "ANOTHER TIME",
        "CHANGE",
        "RESCHEDULE",
        "3",
    }
)
# "Sí, gracias", "OK, see you then": a confirmation word, then only words of courtesy. Any
# other word ("pero", "but", a time, a name) leaves the reply unread: it gets the help text,
# since a wrong "confirmed" sends a technician at a time the customer did not agree to.
CONFIRM_LEADS = frozenset(
    {
        "SI", "OK", "OKAY", "OKEY", "VALE", "CONFIRMO", "CONFIRMADO", "CONFIRMADA", "CONFIRM",
        "CONFIRMED", "PERFECTO", "PERFECT", "YES", "YEAH", "YEP", "SURE", "GENIAL", "GREAT",
    }
)  # fmt: skip
COURTESY_WORDS = CONFIRM_LEADS | frozenset(
    {
        # Spanish
        "GRACIAS", "MUCHAS", "MIL", "ESTUPENDO", "BIEN", "MUY", "CORRECTO", "DE", "ACUERDO",
        "ME", "NOS", "VA", "VIENE", "ESTA", "ESA", "ESE", "HORA", "DIA", "ALLI", "AHI", "ESTARE",
        "ESTAREMOS", "ESTAMOS", "EN", "CASA", "HASTA", "MANANA", "LUEGO", "ENTONCES", "UN",
        "SALUDO", "SALUDOS", "TE", "OS", "LE", "LES", "ESPERO", "ESPERAMOS", "Y", "A",
        # English
        "THANKS", "THANK", "YOU", "THX", "FINE", "GOOD", "CORRECT", "SEE", "THEN", "THERE",
        "TOMORROW", "SOON", "REGARDS", "CHEERS", "THAT", "THIS", "TIME", "IS", "ITS", "IT",
        "WORKS", "SUITS", "FOR", "US", "I", "WE", "WILL", "ILL", "WELL", "BE", "HOME",
        "AT", "THE", "SOUNDS", "LOOKING", "FORWARD", "TO", "AND", "MUCH", "VERY",
    }
)  # fmt: skip
# "No, I can't that day", "Lo siento, no puedo ese día": a refusal, then only words that say
# why not or when. Punctuation is gone once normalized, so words that would turn "no" into
# "no [worries]" ("bien", "estaré", "casa", "there", "works") are not among them: "No, está
# bien", "No problem", "No hay problema", "I can't wait" stay unread and get the help text.
DECLINE_OPENERS = frozenset(
    {"SORRY", "LO", "SIENTO", "PERDON", "DISCULPE", "DISCULPA", "LAMENTABLEMENTE",
     "UNFORTUNATELY"}
)  # fmt: skip
DECLINE_LEADS = (  # longest first
    ("NO", "ME", "VIENE", "BIEN"), ("NO", "ME", "VA", "BIEN"), ("NO", "NOS", "VIENE", "BIEN"),
    ("NO", "NOS", "VA", "BIEN"), ("I", "CANT"), ("I", "CANNOT"), ("WE", "CANT"),
    ("WE", "CANNOT"), ("NO",), ("CANT",), ("CANNOT",),
)  # fmt: skip
DECLINE_FILLER = frozenset(
    {
        # Spanish
        "GRACIAS", "MUCHAS", "LO", "SIENTO", "PERDON", "PUEDO", "PODEMOS", "PODRE", "PODREMOS",
        "NADIE", "ESE", "ESA", "EL", "LA", "ESTE", "DIA", "HORA", "FECHA", "LUNES", "MARTES",
        "MIERCOLES", "JUEVES", "VIERNES", "SABADO", "ME", "NOS", "Y",
        # English
        "THANKS", "THANK", "YOU", "SORRY", "CANT", "CANNOT", "MAKE", "IT", "DO", "NOT", "WONT",
        "BE", "AVAILABLE", "THAT", "DAY", "DATE", "TIME", "ON", "AT", "THE", "IM", "AFRAID",
        "NOBODY", "AWAY", "OUT", "OF", "TOWN", "I", "WE", "AND", "SO", "MONDAY", "TUESDAY",
        "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY",
    }
)  # fmt: skip
SLOT_PREFIXES = ("OPCION ", "OPTION ", "SLOT ", "LA ", "EL ", "NUMERO ", "NUMBER ", "NO ")
THUMBS_UP = ("👍", "👌")


class Context(StrEnum):
    """What the customer is answering."""

    NONE = "none"
    CONFIRMATION = "confirmation"
    SLOTS = "slots"
    SURVEY_SCORE = "survey_score"
    SURVEY_COMMENT = "survey_comment"
    NOTICE = "notice"  # an office message or a notice: a reply is for the office to read


class ReplyKind(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    CONFIRM = "confirm"
    DECLINE = "decline"
    RESCHEDULE = "reschedule"
    CHOOSE_SLOT = "choose_slot"
    SURVEY_SCORE = "survey_score"
    SURVEY_COMMENT = "survey_comment"
    UNKNOWN = "unknown"


TEMPLATE_CONTEXTS: dict[str, Context] = {
    "visit_confirmation": Context.CONFIRMATION,
    "visit_no_answer_reminder": Context.CONFIRMATION,
    "visit_day_before_reminder": Context.CONFIRMATION,
    "visit_rescheduled": Context.CONFIRMATION,
    "visit_confirmation_asked_again": Context.CONFIRMATION,
    "help_confirmation": Context.CONFIRMATION,
    "reschedule_offer": Context.SLOTS,
    "help_slots": Context.SLOTS,
    "survey_request": Context.SURVEY_SCORE,
    "survey_reminder": Context.SURVEY_SCORE,
    "help_survey": Context.SURVEY_SCORE,
    "survey_comment_request": Context.SURVEY_COMMENT,
    "office_message": Context.NOTICE,
    "visit_on_the_way": Context.NOTICE,
    "visit_delayed": Context.NOTICE,
    "staff_route_new": Context.NOTICE,  # a technician's answer: for the office
    "staff_route_changed": Context.NOTICE,
    "staff_route_cleared": Context.NOTICE,
}


@dataclass(frozen=True)
class ParsedReply:
    kind: ReplyKind
    keyword: str = ""  # the normalized text, for reserved keywords
    slot: int | None = None
    score: int | None = None
    comment: str | None = None


# Messages whose replies only people read (an office message, "on my way").
NOTICE_CONTEXT_TEMPLATES = tuple(t for t, c in TEMPLATE_CONTEXTS.items() if c is Context.NOTICE)


def context_for_template(template: str | None) -> Context:
    return TEMPLATE_CONTEXTS.get(template or "", Context.NONE)


def normalize(text: str) -> str:
    """Upper case, no accents, punctuation turned into spaces, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    no_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = re.sub(r"[^0-9A-Z]+", " ", no_marks.upper().replace("'", "").replace("’", ""))
    return " ".join(words.split())


_SCORE = re.compile(
    r"^\s*([1-5])(?:\s*(?:/\s*5|de 5|of 5|estrellas?|stars?|puntos?|points?))?"
    r"(?=$|[^0-9])\W*(.*)$",
    re.IGNORECASE | re.DOTALL,
)


# The score after the comment ("Todo perfecto, un 5", "Great service! 5/5", "Muy bien 4
# estrellas"): taken only when a comma or colon, a lead word or a unit marks the digit as a
# score, so that "Llegó a las 5" or "came at 3" stay unknown (the help text asks again).
_TRAILING_SCORE = re.compile(
    r"^(?P<comment>.*?)\s*(?P<sep>[,;:\-–—]?)\s*"
    r"(?P<lead>\b(?:le doy un|te doy un|doy un|un|una|nota|puntuaci[oó]n|score|rating|"
    r"i give it a|i give you a|give it a|a)\s+)?"
    r"(?<![0-9])(?P<score>[1-5])(?![0-9])\s*"
    r"(?P<unit>/\s*5|de 5|sobre 5|of 5|out of 5|estrellas?|stars?|puntos?|points?)?"
    r"\s*[.!)]*\s*$",
    re.IGNORECASE | re.DOTALL,
)


_RATING_VERB = re.compile(r"\b(give|gives|gave|rate|rated|doy|damos|pongo)\b", re.IGNORECASE)


def _trailing_score(text: str) -> tuple[int, str] | None:
    """A score written after its comment, and the comment (the whole message, as written:
    "I'd give it a 4" loses its sense cut short); None if there is none."""
    match = _TRAILING_SCORE.match(text)
    if match is None or not (match["sep"] or match["lead"] or match["unit"]):
        return None
    if match["lead"] and match["lead"].strip().lower() == "a" and not match["unit"]:
        # "a 5" alone is too often a time or a place ("llegó a 5 minutos", "at a 5 min walk")
        if not _RATING_VERB.search(text):
            return None
    comment = " ".join(text.split()) if match["comment"].strip(" ,;:-–—") else ""
    return int(match["score"]), comment[:1000]


def _slot(norm: str) -> int | None:
    for prefix in SLOT_PREFIXES:
        if norm.startswith(prefix):
            norm = norm[len(prefix) :]
            break
    return int(norm) if norm in {"1", "2", "3"} else None


def is_courtesy(text: str) -> bool:
    """Nothing but thanks and the like ("Gracias", "ok, thank you"): it asks for nothing."""
    words = normalize(text).split()
    return bool(words) and all(word in COURTESY_WORDS for word in words)


def _declines_in_words(norm: str) -> bool:
    """A refusal ("no", "I can't", after an optional "sorry") followed by nothing but words
    that say why not or when (no time, no name, no "problem", no "wait")."""
    words = norm.split()
    while words and words[0] in DECLINE_OPENERS:
        words = words[1:]
    for lead in DECLINE_LEADS:
        if tuple(words[: len(lead)]) == lead and len(words) > len(lead):
            return len(words) <= 15 and all(w in DECLINE_FILLER for w in words[len(lead) :])
    return False


def _confirms_courteously(norm: str) -> bool:
    """A confirmation word (or "de acuerdo") followed by nothing but words of courtesy."""
    words = norm.split()
    lead = 2 if words[:2] == ["DE", "ACUERDO"] else 1
    if len(words) <= lead or len(words) > 15:
        return False
    if lead == 1 and words[0] not in CONFIRM_LEADS:
        return False
    return all(word in COURTESY_WORDS for word in words[lead:])


def parse_reply(text: str, context: Context = Context.NONE) -> ParsedReply:
    """What a reply means, given what it answers."""
    norm = normalize(text)
    if norm in OPT_OUT_WORDS:
        return ParsedReply(ReplyKind.OPT_OUT, keyword=norm)
    if norm in OPT_IN_WORDS:
        return ParsedReply(ReplyKind.OPT_IN, keyword=norm)
    if norm in HELP_WORDS:
        return ParsedReply(ReplyKind.HELP, keyword=norm)
    if context is Context.CONFIRMATION:
        if (
            norm in CONFIRM_WORDS
            or (not norm and text.strip().startswith(THUMBS_UP))
            or _confirms_courteously(norm)
        ):
            return ParsedReply(ReplyKind.CONFIRM)
        if norm in DECLINE_WORDS or _declines_in_words(norm):
            return ParsedReply(ReplyKind.DECLINE)
        if norm in RESCHEDULE_WORDS:
            return ParsedReply(ReplyKind.RESCHEDULE)
    elif context is Context.SLOTS:
        slot = _slot(norm)
        if slot is not None:
            return ParsedReply(ReplyKind.CHOOSE_SLOT, slot=slot)
        if norm in DECLINE_WORDS or norm in {"NINGUNA", "NINGUNO", "NONE"}:
            return ParsedReply(ReplyKind.DECLINE)
    elif context is Context.SURVEY_SCORE:
        match = _SCORE.match(text or "")
        if match:
            comment = match.group(2).strip() or None
            return ParsedReply(ReplyKind.SURVEY_SCORE, score=int(match.group(1)), comment=comment)
        trailing = _trailing_score(text or "")
        if trailing is not None:
            score, comment = trailing
            return ParsedReply(ReplyKind.SURVEY_SCORE, score=score, comment=comment or None)
    elif context is Context.SURVEY_COMMENT:
        comment = " ".join((text or "").split())
        if comment:
            return ParsedReply(ReplyKind.SURVEY_COMMENT, comment=comment[:1000])
    return ParsedReply(ReplyKind.UNKNOWN)
