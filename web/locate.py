"""Coordinates for a form's address, when the dispatcher left them out (see domain.geocoding)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from werkzeug.datastructures import MultiDict

from domain.geocoding import NominatimGeocoder
from web.extensions import settings

GEOCODER_KEY = "posventa.geocoder"


def geocoder() -> NominatimGeocoder | None:
    """The app's geocoder (None when ``POSVENTA_GEOCODER_URL`` is not set)."""
    cfg = settings()
    if not cfg.geocoder_url:
        return None
    found = current_app.extensions.get(GEOCODER_KEY)
    if found is None:
        found = NominatimGeocoder(cfg.geocoder_url, countries=cfg.default_region)
        current_app.extensions[GEOCODER_KEY] = found
    return found


def locate_missing(
    form: MultiDict[str, str],
    address: str,
    latitude: str,
    longitude: str,
    stored: tuple[str, float, float] | None = None,
) -> tuple[MultiDict[str, str], str | None]:
    """The form's fields with ``latitude`` and ``longitude`` filled in from ``address`` when
    both were left empty and a geocoder is configured, and the name of the place found (None:
    nothing was looked up). On an edit form, ``stored`` is the record's (address, latitude,
    longitude): when the address changed and the coordinates did not, they belong to the old
    address, so the new one is located too. Raises :class:`domain.geocoding.GeocodingError`."""
    fields = MultiDict(form)  # a copy: lists (e.g. working days) kept
    lookup = geocoder()
    if lookup is None:
        return fields, None
    if stored is not None and _moved_only(fields, address, latitude, longitude, stored):
        fields[latitude] = fields[longitude] = ""
    if fields.get(latitude, "").strip() or fields.get(longitude, "").strip():
        return fields, None
    if not fields.get(address, "").strip():
        return fields, None  # the schema says the address is missing
    place = lookup.locate(fields[address])
    fields[latitude], fields[longitude] = f"{place.latitude:.6f}", f"{place.longitude:.6f}"
    return fields, place.label


def _moved_only(
    form: MultiDict[str, str],
    address: str,
    latitude: str,
    longitude: str,
    stored: tuple[str, float, float],
) -> bool:
    """Whether the form changes the address but keeps the stored coordinates."""
    old_address, old_latitude, old_longitude = stored
    same_place = form.get(latitude, "").strip() == str(old_latitude) and (
        form.get(longitude, "").strip() == str(old_longitude)
    )
    return same_place and " ".join(form.get(address, "").split()) != " ".join(old_address.split())


def locate_missing_json(customer: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """An API body's customer with ``latitude`` and ``longitude`` filled in from its
    ``address`` when both are absent (or null) and a geocoder is configured, and the name of
    the place found (None: nothing was looked up). Raises :class:`GeocodingError`."""
    lookup = geocoder()
    address = customer.get("address")
    if lookup is None or customer.get("latitude") is not None:
        return customer, None
    if customer.get("longitude") is not None or not isinstance(address, str) or not address.strip():
        return customer, None  # the schema says what is missing
    place = lookup.locate(address)
    return {**customer, "latitude": place.latitude, "longitude": place.longitude}, place.label
