"""Message templates per locale (es, en) and the formatting of the values they show.

Every template stays within 2 SMS segments with the longest realistic values (checked by
``tests/sms/test_templates.py``). Spanish text with "á", "í", "ó" or "ú" is sent as UCS-2, so a
Spanish template has about 134 characters to spend. Answer words are chosen away from the
carriers' reserved keywords: YES opts in, so confirmation is "SI" / "OK" (or 1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

LOCALES = ("es", "en")
DEFAULT_LOCALE = "es"
PRODUCT_MAX = 20
STAFF_MAX = 12
CUSTOMER_MAX = 24
ADDRESS_MAX = 40

# Templates the workflows ask for (interfaces.md) ...
VISIT_TEMPLATES = (
    "visit_confirmation",
    "visit_no_answer_reminder",
    "visit_day_before_reminder",
    "reschedule_offer",
    "visit_rescheduled",
    "visit_cancelled",
    "visit_unplanned",
)
# Notices about a visit that ask nothing: a reply is for the office to read (Context.NOTICE).
NOTICE_TEMPLATES = ("visit_on_the_way", "visit_delayed")
SALE_TEMPLATES = (
    "survey_request",
    "survey_reminder",
    "survey_comment_request",
    "survey_thanks",
)
# A visit's pending confirmation asked again, when a customer's "SI" / "NO" answered an office
# message instead (the office reads that reply; the visit needs its own answer).
ASK_AGAIN_TEMPLATES = ("visit_confirmation_asked_again",)
# Texts to staff members, not customers (``Messenger.send_to_staff``): their route changed.
STAFF_TEMPLATES = ("staff_route_new", "staff_route_changed", "staff_route_cleared")
# Texts offered to the office to edit and send as written (``Messenger.send_text``).
OFFICE_DRAFTS = ("office_running_late",)
# ... and the short answers the inbound pipeline sends back.
REPLY_TEMPLATES = (
    "reply_confirmed",
    "calendar_link",
    "reply_declined",
    "slot_chosen",
    "reply_no_slots",
    "reply_rejected",
    "help_confirmation",
    "help_slots",
    "help_survey",
    "help_general",
    "unknown_number",
    "opted_out",
    "opted_in",
)

TEMPLATES: dict[str, dict[str, str]] = {
    "visit_confirmation": {
        "es": "{Kind} de {product} el {date}: {staff} llegará de {start} a {end}. "
        "¿Le va bien? Responda SI, NO u OTRA hora.",
        "en": "Your {kind} for {product}: {date}, arriving between {start} and {end}, "
        "with {staff}. Reply OK to confirm, NO if you can't make it, or OTHER for another time.",
    },
    "visit_no_answer_reminder": {
        "es": "Recordatorio: ¿confirma su {kind} del {date} entre {start} y {end}? "
        "Responda SI, NO si no puede u OTRA para cambiar la hora.",
        "en": "Reminder: can you confirm your {kind} on {date} between {start} and {end}? "
        "Reply OK to confirm, NO if you can't make it, or OTHER for another time.",
    },
    "visit_day_before_reminder": {
        "es": "Mañana {date} entre {start} y {end} le visita {staff} para su {kind}. "
        "Si no puede, responda NO u OTRA para cambiar la hora.",
        "en": "Tomorrow, {date}, {staff} will come between {start} and {end} for your {kind} "
        "of {product}. If you can't make it, reply NO, or OTHER for another time.",
    },
    "reschedule_offer": {
        "es": "Horas para su {kind}: {slots}. Responda 1, 2, 3 o NO.",
        "en": "Other times for your {kind}: {slots}. Reply 1, 2 or 3 to choose, "
        "or NO if none suits you.",
    },
    "visit_rescheduled": {
        "es": "Hecho: su {kind} queda el {date}, llegada entre {start} y {end}, con {staff}. "
        "Gracias.",
        "en": "Done: your {kind} is now on {date}, arriving between {start} and {end}, "
        "with {staff}. Thank you.",
    },
    "visit_cancelled": {
        "es": "Su {kind} de {product} del {date} ha sido anulada. "
        "Si necesita otra fecha, contacte con nosotros.",
        "en": "Your {kind} for {product} on {date} has been cancelled. "
        "If you need another date, please contact us.",
    },
    "visit_unplanned": {
        "es": "Tenemos que cambiar su {kind} del {date} de {start} a {end}. "
        "Le enviaremos otra hora en breve; no hace falta responder.",
        "en": "We have to move your {kind} on {date} between {start} and {end}. "
        "We will text you a new time shortly; no need to reply.",
    },
    "visit_on_the_way": {
        "es": "{staff} va de camino para su {kind}: llegará hacia las {eta}.",
        "en": "{staff} is on the way for your {kind} of {product} and will arrive around {eta}.",
    },
    "visit_delayed": {
        "es": "{staff} va con retraso para su {kind}: llegará de {start} a {end}. Si no le va "
        "bien, responda a este mensaje.",
        "en": "{staff} is running late for your {kind} of {product} and will arrive between "
        "{start} and {end}. If that does not suit you, reply to this message.",
    },
    "staff_route_new": {
        "es": "Tu ruta de hoy (visitas: {count}). Primera a las {start}: {customer}, {address}.",
        "en": "Your route for today (visits: {count}). First at {start}: {customer}, {address}.",
    },
    "staff_route_changed": {
        "es": "Tu ruta de hoy ha cambiado (visitas por hacer: {count}). Próxima a las {start}: "
        "{customer}, {address}.",
        "en": "Your route for today changed (visits to go: {count}). Next at {start}: "
        "{customer}, {address}.",
    },
    "staff_route_cleared": {
        "es": "Tu ruta de hoy ha cambiado: no te quedan visitas hoy.",
        "en": "Your route for today changed: no visits left for today.",
    },
    "survey_request": {
        "es": "¿Qué tal con su {product}? Valore nuestro servicio del 1 (mal) al 5 (excelente) "
        "respondiendo con un número.",
        "en": "How is your {product}? Rate our service from 1 (poor) to 5 (excellent) "
        "by replying with a number.",
    },
    "survey_reminder": {
        "es": "Su opinión nos importa: valore el servicio de su {product} del 1 (mal) "
        "al 5 (excelente) respondiendo con un número.",
        "en": "Your opinion matters: rate the service for your {product} from 1 (poor) "
        "to 5 (excellent) by replying with a number.",
    },
    "survey_comment_request": {
        "es": "Gracias por su nota. ¿Quiere contarnos algo más? Responda con su comentario "
        "(opcional).",
        "en": "Thanks for your rating. Anything else you'd like to tell us? "
        "Reply with your comment (optional).",
    },
    "survey_thanks": {
        "es": "¡Gracias por su opinión! Nos ayuda a mejorar.",
        "en": "Thank you for your feedback! It helps us improve.",
    },
    "reply_confirmed": {
        "es": "Gracias, su {kind} del {date} entre {start} y {end} queda confirmada.",
        "en": "Thank you, your {kind} on {date} between {start} and {end} is confirmed.",
    },
    "calendar_link": {
        "es": "Añádala a su calendario: {url}",
        "en": "Add it to your calendar: {url}",
    },
    "reply_declined": {
        "es": "Entendido, no iremos en esa fecha. Le propondremos otra en breve.",
        "en": "Understood, we won't come on that date. We'll propose another one shortly.",
    },
    "slot_chosen": {
        "es": "Anotado: su {kind} el {date}, llegada entre {start} y {end}. Le escribiremos "
        "cuando quede confirmada.",
        "en": "Noted: your {kind} on {date}, arriving between {start} and {end}. We'll text "
        "you once it is confirmed.",
    },
    "reply_no_slots": {
        "es": "Ahora mismo no tenemos otras horas libres. Le llamaremos para buscar una fecha.",
        "en": "We have no other free times right now. We'll call you to find a date.",
    },
    "reply_rejected": {
        "es": "No hemos podido aplicar su respuesta. Un compañero le llamará.",
        "en": "We couldn't apply your answer. A colleague will call you.",
    },
    "visit_confirmation_asked_again": {
        "es": "La oficina leerá su mensaje. ¿Confirma su {kind} del {date} de {start} a {end}? "
        "Responda SI, NO si no puede u OTRA hora.",
        "en": "The office will read your message. About your {kind} on {date} between {start} "
        "and {end}: reply OK to confirm, NO if you can't make it, or OTHER for another time.",
    },
    "office_running_late": {
        "es": "El técnico va con retraso: llegará hacia las {eta}. Disculpe las molestias. "
        "Si no le va bien, responda a este mensaje.",
        "en": "A message from the office: our technician is running late and will arrive "
        "around {eta}. Sorry for the wait. If that does not suit you, reply to this message.",
    },
    "help_confirmation": {
        "es": "Sobre su visita, responda SI para confirmar, NO si no puede u OTRA para cambiar "
        "la hora. BAJA: no recibir SMS.",
        "en": "About your visit, reply OK to confirm, NO if you can't make it, or OTHER for "
        "another time. STOP to opt out.",
    },
    "help_slots": {
        "es": "Responda 1, 2 o 3 para elegir una de las horas propuestas, o NO si ninguna le "
        "va bien.",
        "en": "Reply 1, 2 or 3 to choose one of the times offered, or NO if none suits you.",
    },
    "help_survey": {
        "es": "Responda con un número del 1 (mal) al 5 (excelente) para valorar el servicio.",
        "en": "Reply with a number from 1 (poor) to 5 (excellent) to rate our service.",
    },
    "help_general": {
        "es": "Servicio de citas posventa: le escribiremos sobre sus visitas. "
        "Responda BAJA para no recibir SMS.",
        "en": "After-sales appointments: we text you about your visits. Reply STOP to opt out.",
    },
    "unknown_number": {
        "es": "Hola, no encontramos este número entre nuestros clientes. Si espera una visita, "
        "contacte con nosotros.",
        "en": "Hello, we can't find this number among our customers. If you are expecting a "
        "visit, please contact us.",
    },
    "opted_out": {
        "es": "No recibirá más SMS nuestros. Responda ALTA para volver a recibirlos.",
        "en": "You won't get any more texts from us. Reply START to get them again.",
    },
    "opted_in": {
        "es": "Vuelve a recibir nuestros SMS. Responda BAJA para dejar de recibirlos.",
        "en": "You'll get our texts again. Reply STOP to opt out.",
    },
}

KIND_LABELS: dict[str, dict[str, str]] = {
    "installation": {"es": "instalación", "en": "installation"},
    "training": {"es": "formación", "en": "training"},
    "maintenance": {"es": "revisión", "en": "maintenance"},
    "repair": {"es": "reparación", "en": "repair"},
}

_DATE_FORMATS = {"es": "EEE d/M", "en": "EEE d MMM"}


class TemplateError(ValueError):
    """Unknown template or missing value."""


def resolve_locale(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


def render(name: str, locale: str | None, **values: object) -> str:
    """The text of template ``name`` in ``locale`` (es when unknown) with ``values`` filled in."""
    try:
        variants = TEMPLATES[name]
    except KeyError as exc:
        raise TemplateError(f"unknown SMS template {name!r}") from exc
    text = variants[resolve_locale(locale)]
    try:
        return text.format(**values)
    except KeyError as exc:
        raise TemplateError(f"template {name!r} needs a value for {exc.args[0]!r}") from exc


# Words a shortened name must not end on ("Caldera de", "Kit for"): Spanish and English
# articles, prepositions and conjunctions.
_DANGLING = frozenset(
    "a al con de del e el en la las los o para por sin u un una y "
    "an and by for in of on or the to with".split()
)


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut where it still reads as a name.

    Asides go first ("(licencia anual)", then what follows a colon: "Conta Pro: software de
    contabilidad" is "Conta Pro"); otherwise it is cut at a word boundary, without a dangling
    last word ("Caldera de condensación" is "Caldera", not "Caldera de") or a number whose
    unit was cut off ("Kit fotovoltaico 5 kW" is "Kit fotovoltaico").
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    plain = " ".join(re.sub(r"\([^()]*\)", " ", text).split()) or text
    if 0 < len(plain) <= limit:
        return plain
    head = plain.split(":", 1)[0].strip()
    if head != plain and 3 <= len(head) <= limit:
        return head
    if " " not in plain[: limit + 1]:
        return plain[:limit]  # one long word
    words = plain[: limit + 1].split(" ")[:-1]  # the last one was cut or is past the limit
    while len(words) > 1 and _dangles(words[-1]):
        words.pop()
    return " ".join(words).rstrip(" ,.;:-") or plain[:limit]


def _dangles(word: str) -> bool:
    """Whether a shortened name must not end on ``word``."""
    bare = word.strip(" ,.;:-").lower()
    return not bare or bare in _DANGLING or bare.replace(",", "").replace(".", "").isdigit()


def first_name(name: str) -> str:
    parts = name.split()
    return shorten(parts[0], STAFF_MAX) if parts else ""


def kind_label(kind: str, locale: str | None) -> str:
    labels = KIND_LABELS.get(kind)
    if labels is None:
        return kind
    return labels[resolve_locale(locale)]


def format_day(moment: datetime, tz: str, locale: str | None) -> str:
    """A short local date: "mié 25/11" or "Wed 25 Nov"."""
    return format_plain_day(moment.astimezone(ZoneInfo(tz)).date(), locale)


def format_plain_day(day: date, locale: str | None) -> str:
    """A short date without a time: "mié 25/11" or "Wed 25 Nov"."""
    loc = resolve_locale(locale)
    return format_date(day, _DATE_FORMATS[loc], locale=loc)


def format_clock(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def format_slots(slots: Sequence[tuple[datetime, datetime]], tz: str, locale: str | None) -> str:
    """Numbered alternatives: "1) mié 25/11 09:00-11:00 2) ..." (at most three)."""
    return " ".join(
        f"{n}) {format_day(start, tz, locale)} {format_clock(start, tz)}-{format_clock(end, tz)}"
        for n, (start, end) in enumerate(slots[:3], start=1)
    )
