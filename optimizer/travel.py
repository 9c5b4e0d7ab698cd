"""Travel-time providers: a matrix of seconds and metres between locations.

- ``HaversineProvider`` (default): great-circle distance x road factor at a set speed; no network.
- ``OsrmProvider``: OSRM's table API (``/table/v1/{profile}/{lon,lat;...}``), configured by URL.
- ``CachedProvider``: wraps any provider and keeps recent matrices (keyed by the location list).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Protocol

import numpy as np

from optimizer.model import Location, TravelMatrix

if TYPE_CHECKING:
    import requests

EARTH_RADIUS_M = 6_371_008.8
UNREACHABLE_SECONDS = 10 * 24 * 3600  # OSRM answers null for pairs it cannot route


class TravelProvider(Protocol):
    """Anything that can give a travel matrix for a list of locations."""

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix: ...


class TravelError(RuntimeError):
    """The travel provider could not answer."""


def haversine_metres(a: Location, b: Location) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def haversine_metres_matrix(locations: Sequence[Location]) -> np.ndarray:
    """``haversine_metres(a, b)`` for every pair, bit for bit, as an n x n float array.

    The same operations in the same order as the scalar formula, on the upper triangle only (the
    formula is symmetric), mirrored. Squares and arcsine go through libm like the scalar formula
    (``math.pow``, ``math.asin``): numpy's ``x ** 2`` (x * x) and SIMD ``arcsin`` differ from
    libm in the last bit for some inputs, which could flip a rounding to whole metres or seconds.
    """
    n = len(locations)
    lat = np.radians(np.array([loc.lat for loc in locations], dtype=float))
    lon = np.radians(np.array([loc.lon for loc in locations], dtype=float))
    i, j = np.triu_indices(n, 1)
    sin2_dlat = _libm(math.pow, np.sin((lat[j] - lat[i]) / 2), 2.0)
    sin2_dlon = _libm(math.pow, np.sin((lon[j] - lon[i]) / 2), 2.0)
    h = sin2_dlat + np.cos(lat[i]) * np.cos(lat[j]) * sin2_dlon
    arc = _libm(math.asin, np.minimum(1.0, np.sqrt(h)))
    metres = np.zeros((n, n), dtype=float)
    metres[i, j] = 2 * EARTH_RADIUS_M * arc
    metres[j, i] = metres[i, j]
    return metres


def _libm(func: Callable[..., float], values: np.ndarray, *args: float) -> np.ndarray:
    """``func(v, *args)`` for every element, computed by Python's ``math`` (libm)."""
    rest = [repeat(a) for a in args]
    return np.fromiter(map(func, values.tolist(), *rest), dtype=float, count=values.size)


class HaversineProvider:
    """Straight-line distance times ``road_factor``, driven at ``speed_kmh``."""

    def __init__(self, speed_kmh: float = 40.0, road_factor: float = 1.3) -> None:
        if speed_kmh <= 0 or road_factor < 1.0:
            raise ValueError("speed_kmh must be > 0 and road_factor >= 1")
        self.speed_ms = speed_kmh / 3.6
        self.road_factor = road_factor

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        if not locations:
            return TravelMatrix(durations=(), distances=())
        metres = haversine_metres_matrix(locations) * self.road_factor
        dist = np.rint(metres).astype(np.int64)  # rint: half to even, like round()
        dur = np.rint(metres / self.speed_ms).astype(np.int64)
        return TravelMatrix(
            durations=tuple(map(tuple, dur.tolist())), distances=tuple(map(tuple, dist.tolist()))
        )


class OsrmProvider:
    """OSRM table service. ``base_url`` like ``http://osrm:5000``; profile usually ``driving``."""

    def __init__(
        self,
        base_url: str,
        profile: str = "driving",
        timeout_seconds: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout = timeout_seconds
        self._session = session

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests  # imported on first use: it is slow to import

            self._session = requests.Session()
        return self._session

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        if not locations:
            return TravelMatrix(durations=(), distances=())
        import requests

        coords = ";".join(f"{loc.lon:.6f},{loc.lat:.6f}" for loc in locations)
        url = f"{self.base_url}/table/v1/{self.profile}/{coords}"
        try:
            resp = self.session.get(
                url, params={"annotations": "duration,distance"}, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise TravelError(f"OSRM unreachable at {self.base_url}: {exc}") from exc
        try:
            body = resp.json()
        except ValueError as exc:
            raise TravelError(f"OSRM answered HTTP {resp.status_code} without JSON") from exc
        if resp.status_code != 200 or body.get("code") != "Ok":
            raise TravelError(
                f"OSRM error (HTTP {resp.status_code}): "
                f"{body.get('code')} {body.get('message', '')}"
            )
        n = len(locations)
        durations = body.get("durations")
        if not durations or len(durations) != n:
            raise TravelError("OSRM table answer has no durations of the right size")
        distances = body.get("distances")

        def cell(v: float | None, unreachable: int) -> int:
            return unreachable if v is None else round(v)

        dur = tuple(tuple(cell(v, UNREACHABLE_SECONDS) for v in row) for row in durations)
        dist = None
        if distances is not None:
            dist = tuple(tuple(cell(v, 10**9) for v in row) for row in distances)
        else:  # older OSRM without distance annotations: estimate from haversine
            fallback = HaversineProvider().matrix(locations)
            dist = fallback.distances
        return TravelMatrix(durations=dur, distances=dist)


class CachedProvider:
    """Keeps the last ``maxsize`` matrices (keyed by the exact location list)."""

    def __init__(self, inner: TravelProvider, maxsize: int = 32) -> None:
        self.inner = inner
        self.maxsize = maxsize
        self._cache: OrderedDict[tuple[Location, ...], TravelMatrix] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def matrix(self, locations: Sequence[Location]) -> TravelMatrix:
        key = tuple(locations)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            self.hits += 1
            return found
        self.misses += 1
        result = self.inner.matrix(locations)
        self._cache[key] = result
        if len(self._cache) > self.maxsize:
            self._cache.popitem(last=False)
        return result


_default: CachedProvider | None = None


def default_provider() -> CachedProvider:
    """The process-wide cached haversine provider."""
    global _default
    if _default is None:
        _default = CachedProvider(HaversineProvider())
    return _default
