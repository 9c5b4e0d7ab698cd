from hypothesis import given
from hypothesis import strategies as st

from sms.segments import GSM7, UCS2, segment_info


def test_plain_ascii_is_gsm7_and_fits_160():
    assert segment_info("a" * 160) == segment_info("a" * 160)
    info = segment_info("a" * 160)
    assert (info.encoding, info.units, info.segments) == (GSM7, 160, 1)
    assert segment_info("a" * 161).segments == 2
    assert segment_info("a" * 306).segments == 2
    assert segment_info("a" * 307).segments == 3


def test_spanish_gsm_letters_stay_gsm7_but_i_acute_forces_ucs2():
    assert segment_info("¿Mañana? ¡Sí, señor! é ü").encoding == UCS2  # "í"
    assert segment_info("¿Mañana? ¡Vale, señor! é ü").encoding == GSM7
    for ch in "íáóúÁÍÓÚ":
        assert segment_info(f"hola {ch}").encoding == UCS2


def test_ucs2_limits():
    assert segment_info("í" * 70).segments == 1
    assert segment_info("í" * 71).segments == 2
    assert segment_info("í" * 134).segments == 2
    assert segment_info("í" * 135).segments == 3


def test_extension_characters_take_two_septets_and_are_not_split():
    info = segment_info("€" * 80)
    assert (info.encoding, info.units, info.segments) == (GSM7, 160, 1)
    # 152 plain + one escape pair: the pair does not fit in the first part of 153
    assert segment_info("a" * 152 + "€" + "a" * 10).segments == 2
    assert segment_info("a" * 152 + "€" + "a" * 152).segments == 3


def test_emoji_counts_two_code_units():
    info = segment_info("👍" * 35)
    assert (info.encoding, info.units, info.segments) == (UCS2, 70, 1)
    assert segment_info("👍" * 36).segments == 2


@given(st.text(max_size=500))
def test_segments_cover_the_text(text):
    info = segment_info(text)
    per_part = 153 if info.encoding == GSM7 else 67
    assert info.segments >= 1
    if info.units > (160 if info.encoding == GSM7 else 70):
        assert info.segments * per_part >= info.units
