"""SMS encoding and segment count: GSM-7 (with its extension table) or UCS-2.

A message that fits the GSM 03.38 alphabet is sent as 7-bit septets (160 per single SMS, 153 per
part of a concatenated one; extension characters such as ``€`` take two septets and are never
split across parts). Any other character (``í``, ``á``, ``ó``, ``ú``, emoji...) switches the whole
message to UCS-2: 70 UTF-16 code units alone, 67 per part (surrogate pairs are not split).
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "GSM-7"
UCS2 = "UCS-2"


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 basic or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _char_units(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _pack(units: list[int], per_part: int) -> int:
    """Parts needed when characters (of 1 or 2 units each) may not be split between parts."""
    parts, used = 1, 0
    for size in units:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts


def segment_info(text: str) -> SegmentInfo:
    """Encoding, length in units and number of SMS segments for ``text``."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    units = _char_units(text, encoding)
    total = sum(units)
    single, multi = (160, 153) if encoding == GSM7 else (70, 67)
    if total == 0:
        return SegmentInfo(encoding, 0, 1)
    segments = 1 if total <= single else _pack(units, multi)
    return SegmentInfo(encoding, total, segments)


def segment_count(text: str) -> int:
    return segment_info(text).segments
