"""The Nominatim geocoder against a Nominatim-shaped HTTP service on a local port."""

from __future__ import annotations

import socket

import pytest

from domain.geocoding import USER_AGENT, GeocodingError, NominatimGeocoder
from tests.domain.fake_nominatim import serve_nominatim

XATIVA = "Carrer de Xàtiva 24, València"
FOUND = (39.4669, -0.3774, "24, Carrer de Xàtiva, València, España")


def test_an_address_is_located_within_the_company_country() -> None:
    with serve_nominatim({XATIVA: FOUND}) as fake:
        geocoder = NominatimGeocoder(fake.url, countries="ES")
        place = geocoder.locate("  Carrer de Xàtiva 24,   València ")
    assert (place.latitude, place.longitude) == (39.4669, -0.3774)
    assert place.label == "24, Carrer de Xàtiva, València, España"
    [(params, agent)] = fake.requests
    assert params == {"q": XATIVA, "format": "jsonv2", "limit": "1", "countrycodes": "es"}
    assert agent == USER_AGENT


def test_what_cannot_be_located_is_said_in_words() -> None:
    with serve_nominatim({}) as fake:
        geocoder = NominatimGeocoder(fake.url)
        with pytest.raises(GeocodingError, match="no place found for 'Calle Inventada 0'"):
            geocoder.locate("Calle Inventada 0")
        with pytest.raises(GeocodingError, match="no address"):
            geocoder.locate("   ")
        fake.status = 503
        with pytest.raises(GeocodingError, match="HTTP 503"):
            geocoder.locate("Calle Inventada 0")
    assert "countrycodes" not in fake.requests[0][0]  # no country given: searched everywhere


def test_an_unreachable_geocoder_is_reported() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(GeocodingError, match="unreachable"):
        NominatimGeocoder(f"http://127.0.0.1:{port}", timeout_seconds=2).locate(XATIVA)


def test_openstreetmaps_own_service_is_used_at_its_pace() -> None:
    """OpenStreetMap's Nominatim allows one request a second and no bulk use: posventa keeps
    to that pace there and locates few addresses per import; a self-hosted one is not paced."""
    import time

    public = NominatimGeocoder("https://nominatim.openstreetmap.org/")
    own = NominatimGeocoder("http://nominatim:8080")
    assert (public.public, public.bulk_limit) == (True, 40)
    assert (own.public, own.bulk_limit) == (False, 300)
    with serve_nominatim({XATIVA: FOUND}) as fake:
        paced = NominatimGeocoder(fake.url, min_interval_seconds=0.3)
        started = time.monotonic()
        for _ in range(3):
            paced.locate(XATIVA)
        paced_took = time.monotonic() - started
        free = NominatimGeocoder(fake.url)
        started = time.monotonic()
        for _ in range(3):
            free.locate(XATIVA)
        free_took = time.monotonic() - started
    assert paced_took >= 0.6  # two waits between three requests
    assert free_took < 0.6
