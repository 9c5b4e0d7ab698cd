"""Addresses to coordinates through a Nominatim search service (self-hosted or a provider's).

The optimizer needs every customer's and staff member's coordinates; dispatchers know their
addresses. With ``POSVENTA_GEOCODER_URL`` set, forms left without coordinates are located here;
without it (the embedded default, which has no network) coordinates are typed in.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # pragma: no cover
    import requests

USER_AGENT = "posventa (field-service scheduler)"  # Nominatim's usage policy asks for one
# OpenStreetMap's own Nominatim allows one request a second and no bulk use: it suits the forms
# (one address at a time); a CSV import there locates a few addresses at most, paced.
PUBLIC_HOST = "nominatim.openstreetmap.org"
PUBLIC_MIN_INTERVAL_S = 1.0
PUBLIC_BULK_LIMIT = 40  # one a second inside the upload's 60 s
SELF_HOSTED_BULK_LIMIT = 300


class GeocodingError(Exception):
    """The address could not be located; the message says why, in words."""


class GeocoderUnavailable(GeocodingError):
    """The geocoder itself failed (unreachable, an error status, an unreadable answer): no
    other address will be located either, so a caller locating many stops at the first."""


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    label: str  # how the service names what it found, for the dispatcher to check


class NominatimGeocoder:
    """Nominatim's ``/search`` API. ``base_url`` like ``http://nominatim:8080``; ``countries``
    (ISO codes, comma-separated) keeps "Calle Mayor 1" in the company's country. Requests are
    paced ``min_interval_seconds`` apart and one bulk use locates at most ``bulk_limit``
    addresses (by default: one a second and 40 on OpenStreetMap's own service, no pacing and
    300 on a self-hosted one)."""

    def __init__(
        self,
        base_url: str,
        countries: str = "",
        timeout_seconds: float = 10.0,
        session: requests.Session | None = None,
        min_interval_seconds: float | None = None,
        bulk_limit: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.countries = countries.lower()
        self.timeout = timeout_seconds
        self._session = session
        self.public = urlsplit(self.base_url).hostname == PUBLIC_HOST
        # the most addresses one request of ours (a CSV upload) may locate
        if bulk_limit is None:
            bulk_limit = PUBLIC_BULK_LIMIT if self.public else SELF_HOSTED_BULK_LIMIT
        self.bulk_limit = bulk_limit
        if min_interval_seconds is None:
            min_interval_seconds = PUBLIC_MIN_INTERVAL_S if self.public else 0.0
        self._min_interval = min_interval_seconds
        self._last_request = 0.0
        self._pace = threading.Lock()

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests  # imported on first use: it is slow to import

            self._session = requests.Session()
        return self._session

    def locate(self, address: str) -> Place:
        """The best match for ``address``; :class:`GeocodingError` if there is none."""
        import requests

        query = " ".join(address.split())
        if not query:
            raise GeocodingError("no address to locate")
        params = {"q": query, "format": "jsonv2", "limit": "1"}
        self._wait_turn()
        if self.countries:
            params["countrycodes"] = self.countries
        try:
            resp = self.session.get(
                f"{self.base_url}/search",
                params=params,
                headers={"User-Agent": USER_AGENT},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise GeocoderUnavailable(
                f"the geocoder at {self.base_url} is unreachable: {exc}"
            ) from exc
        if resp.status_code != 200:
            raise GeocoderUnavailable(f"the geocoder answered HTTP {resp.status_code}")
        try:
            found = resp.json()
            if not found:
                raise GeocodingError(f"no place found for {query!r}")
            best = found[0]
            return Place(
                latitude=float(best["lat"]),
                longitude=float(best["lon"]),
                label=str(best.get("display_name") or query),
            )
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise GeocoderUnavailable("the geocoder's answer could not be read") from exc

    def _wait_turn(self) -> None:
        """Keep to the service's pace (one request a second on OpenStreetMap's own)."""
        if not self._min_interval:
            return
        with self._pace:
            wait = self._last_request + self._min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_request = time.monotonic()
