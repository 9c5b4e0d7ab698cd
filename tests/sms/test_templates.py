import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.segments import UCS2, segment_info
from sms.templates import (
    ADDRESS_MAX,
    ASK_AGAIN_TEMPLATES,
    CUSTOMER_MAX,
    KIND_LABELS,
    LOCALES,
    NOTICE_TEMPLATES,
    OFFICE_DRAFTS,
    REPLY_TEMPLATES,
    SALE_TEMPLATES,
    STAFF_TEMPLATES,
    TEMPLATES,
    VISIT_TEMPLATES,
    TemplateError,
    first_name,
    format_clock,
    format_day,
    format_slots,
    render,
    shorten,
)

TZ = "Europe/Madrid"
# Wednesday 25 Nov: "mié" is the longest Spanish weekday once accents count.
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
END = START + timedelta(hours=2)
LATE = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)  # 16:30 local; +3 days is "sáb"
LATE_END = LATE + timedelta(hours=2)


def longest_values(locale: str) -> dict[str, str]:
    """The longest realistic values each placeholder takes."""
    kind = max((labels[locale] for labels in KIND_LABELS.values()), key=len)
    return {
        "kind": kind,
        "Kind": kind.capitalize(),
        "product": shorten("Horno mixto Rational iCombi Pro", 20),
        "staff": first_name("Maximilianooo Fernández-Castellanos"),
        "date": format_day(START, TZ, locale),
        "start": format_clock(START, TZ),
        "end": format_clock(END, TZ),
        "eta": format_clock(LATE, TZ),
        "count": "12",
        "customer": shorten("Restaurante Casa Montserrat Fernández-Castellanos", CUSTOMER_MAX),
        "address": shorten(
            "Avenida del Doctor Fleming 128, 3º izquierda, 46018 Valencia", ADDRESS_MAX
        ),  # fmt: skip
        "url": "https://servicio-tecnico.climatizaciones-levante.es/c/" + "x" * 43 + ".ics",
        "slots": format_slots(
            [(LATE + timedelta(days=d), LATE_END + timedelta(days=d)) for d in (0, 3, 4)],
            TZ,
            locale,
        ),
    }


def test_every_named_template_exists_in_both_locales():
    for name in (VISIT_TEMPLATES + NOTICE_TEMPLATES + SALE_TEMPLATES + REPLY_TEMPLATES
                 + ASK_AGAIN_TEMPLATES + OFFICE_DRAFTS + STAFF_TEMPLATES):  # fmt: skip
        assert set(TEMPLATES[name]) == set(LOCALES), name


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_fits_two_segments_with_longest_values(name, locale):
    text = render(name, locale, **longest_values(locale))
    info = segment_info(text)
    assert info.segments <= 2, f"{name}/{locale}: {info} {text!r}"
    assert "{" not in text and "}" not in text


def test_spanish_confirmation_is_ucs2_and_uses_no_reserved_confirmation_word():
    text = render("visit_confirmation", "es", **longest_values("es"))
    assert segment_info(text).encoding == UCS2
    assert "mié 25/11" in text and "09:00 a 11:00" in text and "Maximilianoo" in text
    for locale in LOCALES:
        words = set(
            re.findall(
                r"\b[A-Z]{2,}\b", render("visit_confirmation", locale, **longest_values(locale))
            )
        )
        assert "YES" not in words and "CANCEL" not in words


def test_unknown_locale_falls_back_to_spanish_and_missing_values_are_named():
    assert render("survey_thanks", "fr") == TEMPLATES["survey_thanks"]["es"]
    with pytest.raises(TemplateError, match="product"):
        render("survey_request", "en")
    with pytest.raises(TemplateError, match="unknown SMS template"):
        render("nope", "es")


def test_slots_are_numbered_in_local_time():
    text = format_slots([(START, END)], TZ, "en")
    assert text == "1) Wed 25 Nov 09:00-11:00"


def test_shorten_cuts_on_words():
    assert shorten("Lavavajillas industrial Pro 600", 20) == "Lavavajillas"
    assert shorten("Horno", 20) == "Horno"
    assert shorten("Horno mixto Rational iCombi Pro", 20) == "Horno mixto Rational"
    assert shorten("Supercalifragilisticexpialidocious", 20) == "Supercalifragilistic"


def test_shorten_leaves_no_dangling_word_or_cut_off_number():
    """The demo boiler's survey request used to read "How is your Caldera de?"."""
    assert shorten("Caldera de condensación CDX 24 kW", 20) == "Caldera"
    assert shorten("Kit fotovoltaico 5 kW (instalador externo)", 20) == "Kit fotovoltaico"
    assert shorten("Aire acondicionado split 3,5 kW", 20) == "Aire acondicionado"
    assert shorten("Set for the kitchen of ours", 20) == "Set for the kitchen"


def test_shorten_drops_asides_first():
    assert shorten("Conta Pro: software de contabilidad (licencia anual)", 20) == "Conta Pro"
    assert shorten("Climatizador 7 kW (comercial)", 20) == "Climatizador 7 kW"
    assert shorten("(" + "x" * 30 + ")", 20) == "(" + "x" * 19


@given(st.text(alphabet="ab ():,.5de", max_size=60), st.integers(min_value=1, max_value=40))
def test_a_shortened_name_fits_and_is_never_empty(text: str, limit: int) -> None:
    short = shorten(text, limit)
    assert len(short) <= limit
    assert bool(short.strip()) == bool(text.strip())
    assert first_name("  Ana María López") == "Ana"
