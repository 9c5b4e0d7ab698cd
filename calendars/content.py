"""What a calendar event says about a visit: summary, location and description, in the reader's
language, with the customer's first name and address and never a phone number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers

from domain.models import Customer, Product, Visit, VisitKind

_KIND_LABELS: dict[str, dict[str, str]] = {
    "es": {
        VisitKind.INSTALLATION: "Instalación",
        VisitKind.TRAINING: "Formación",
        VisitKind.MAINTENANCE: "Mantenimiento",
        VisitKind.REPAIR: "Reparación",
    },
    "en": {
        VisitKind.INSTALLATION: "Installation",
        VisitKind.TRAINING: "Training",
        VisitKind.MAINTENANCE: "Maintenance",
        VisitKind.REPAIR: "Repair",
    },
}

_TEXTS: dict[str, dict[str, str]] = {
    "es": {
        "session": "Sesión {n} de {total}",
        "session_n": "Sesión {n}",
        "customer": "Cliente: {name}",
        "address": "Dirección: {address}",
        "notes": "Notas: {notes}",
        "window": "Llegada prometida al cliente: {start}–{end}",
        "reference": "Visita n.º {id}",
        "customer_summary": "Visita técnica: {kind} – {product}",
        "customer_window": "El técnico llegará entre las {start} y las {end} ({tz}).",
        "customer_duration": "Duración aproximada: {minutes} min.",
        "staff_calendar": "posventa – {name}",
        "phone_removed": "[teléfono omitido]",
    },
    "en": {
        "session": "Session {n} of {total}",
        "session_n": "Session {n}",
        "customer": "Customer: {name}",
        "address": "Address: {address}",
        "notes": "Notes: {notes}",
        "window": "Arrival promised to the customer: {start}–{end}",
        "reference": "Visit #{id}",
        "customer_summary": "Service visit: {kind} – {product}",
        "customer_window": "The technician will arrive between {start} and {end} ({tz}).",
        "customer_duration": "Expected duration: {minutes} min.",
        "staff_calendar": "posventa – {name}",
        "phone_removed": "[phone number removed]",
    },
}

# Anything that looks like a phone number: 7 or more digits with the usual separators.
_PHONE_LIKE = re.compile(r"\+?\(?\d[\d\s().\-/]{5,}\d")
_PHONE_REGIONS = ("ES", "MX", "US", "GB", "FR", "DE", "PT", "IT")


def language(locale: str | None) -> str:
    """The supported language for a locale string ('es', 'en-GB' ...), Spanish by default."""
    lang = (locale or "es").split("-")[0].split("_")[0].lower()
    return lang if lang in _TEXTS else "es"


def text(locale: str | None, key: str, **values: object) -> str:
    return _TEXTS[language(locale)][key].format(**values)


def kind_label(locale: str | None, kind: str) -> str:
    return _KIND_LABELS[language(locale)].get(kind, kind.capitalize())


def first_name(full_name: str) -> str:
    """The first word of a name ('Ana María López' -> 'Ana')."""
    parts = full_name.strip().split()
    return parts[0] if parts else ""


def strip_phone_numbers(value: str, locale: str | None = None) -> str:
    """Replace every phone number in free text (notes typed by a dispatcher) with a marker."""
    marker = text(locale, "phone_removed")
    spans: list[tuple[int, int]] = []
    for region in _PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(
            value, region, leniency=phonenumbers.Leniency.VALID
        ):
            spans.append((match.start, match.end))
    for match in _PHONE_LIKE.finditer(value):
        if sum(ch.isdigit() for ch in match.group()) >= 7:
            spans.append((match.start(), match.end()))
    if not spans:
        return value
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(value[last:start])
        out.append(marker)
        last = end
    out.append(value[last:])
    return "".join(out)


@dataclass(frozen=True)
class EventText:
    summary: str
    location: str
    description: str


def _hhmm(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


def staff_event_text(
    visit: Visit, product: Product, customer: Customer, locale: str | None, staff_tz: str
) -> EventText:
    """What a technician's or trainer's calendar shows for one of their visits."""
    kind = kind_label(locale, visit.kind)
    name = strip_phone_numbers(first_name(customer.name), locale)
    address = strip_phone_numbers(customer.address.strip(), locale)
    title = f"{kind}: {product.name}"
    lines = [title]
    if visit.kind == VisitKind.TRAINING:
        if product.training_sessions and product.training_sessions > 1:
            lines.append(text(locale, "session", n=visit.sequence, total=product.training_sessions))
            title = f"{kind} {visit.sequence}/{product.training_sessions}: {product.name}"
        elif visit.sequence > 1:
            lines.append(text(locale, "session_n", n=visit.sequence))
    if name:
        lines.append(text(locale, "customer", name=name))
        title = f"{title} – {name}"
    if address:
        lines.append(text(locale, "address", address=address))
    if visit.promised_window_start and visit.promised_window_end:
        tz = ZoneInfo(staff_tz)
        lines.append(
            text(
                locale,
                "window",
                start=_hhmm(visit.promised_window_start, tz),
                end=_hhmm(visit.promised_window_end, tz),
            )
        )
    notes = strip_phone_numbers(visit.description.strip(), locale)
    if notes:
        lines.append(text(locale, "notes", notes=notes))
    lines.append(text(locale, "reference", id=visit.id))
    return EventText(
        summary=title[:300], location=address[:400], description="\n".join(lines)[:2000]
    )
