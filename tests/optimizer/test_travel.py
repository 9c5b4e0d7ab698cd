"""Travel providers: haversine offline, OSRM's table API over real HTTP on 127.0.0.1, caching."""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer.model import Location
from optimizer.travel import (
    CachedProvider,
    HaversineProvider,
    OsrmProvider,
    TravelError,
    haversine_metres,
    haversine_metres_matrix,
)

MADRID = Location(40.4168, -3.7038)
BARCELONA = Location(41.3874, 2.1686)


def test_haversine_known_distance():
    assert 503_000 < haversine_metres(MADRID, BARCELONA) < 507_000


def test_haversine_provider_applies_road_factor_and_speed():
    m = HaversineProvider(speed_kmh=60, road_factor=1.5).matrix([MADRID, BARCELONA])
    assert m.durations[0][0] == 0 and m.distances[0][0] == 0
    metres = m.distances[0][1]
    assert metres == m.distances[1][0]
    assert 1.5 * 503_000 < metres < 1.5 * 507_000
    assert m.durations[0][1] == pytest.approx(metres / (60 / 3.6), abs=1)


def _scalar_matrix(provider: HaversineProvider, locs: list[Location]):
    """The reference: the scalar formula cell by cell, rounded with Python's round()."""
    metres = [[haversine_metres(a, b) * provider.road_factor for b in locs] for a in locs]
    return (
        tuple(tuple(round(m / provider.speed_ms) for m in row) for row in metres),
        tuple(tuple(round(m) for m in row) for row in metres),
    )


def test_haversine_matrix_equals_scalar_formula_seeded():
    rng = random.Random(20261123)
    spain = [Location(rng.uniform(36.0, 43.8), rng.uniform(-9.3, 3.3)) for _ in range(150)]
    world = [Location(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(100)]
    locs = spain + world + [spain[0], Location(0.0, 0.0), Location(0.0, 180.0)]  # dup, antipodes
    assert haversine_metres_matrix(locs).tolist() == [
        [haversine_metres(a, b) for b in locs] for a in locs
    ]
    for provider in (HaversineProvider(), HaversineProvider(speed_kmh=35, road_factor=1.35)):
        m = provider.matrix(locs)
        assert (m.durations, m.distances) == _scalar_matrix(provider, locs)


locations = st.builds(
    Location,
    lat=st.floats(-90, 90, allow_nan=False, allow_infinity=False),
    lon=st.floats(-180, 180, allow_nan=False, allow_infinity=False),
)


@given(st.lists(locations, min_size=1, max_size=8))
def test_haversine_matrix_is_bit_identical_to_scalar_formula(locs):
    metres = haversine_metres_matrix(locs).tolist()
    assert metres == [[haversine_metres(a, b) for b in locs] for a in locs]
    m = HaversineProvider().matrix(locs)
    assert (m.durations, m.distances) == _scalar_matrix(HaversineProvider(), locs)


def test_haversine_provider_rejects_bad_settings():
    with pytest.raises(ValueError):
        HaversineProvider(speed_kmh=0)
    with pytest.raises(ValueError):
        HaversineProvider(road_factor=0.5)


class _Osrm(BaseHTTPRequestHandler):
    """Answers like OSRM's /table/v1 service (documented format)."""

    requests: list[str] = []
    mode = "ok"

    def do_GET(self):  # noqa: N802
        type(self).requests.append(self.path)
        url = urlsplit(self.path)
        parts = url.path.split("/")
        assert parts[1:4] == ["table", "v1", "driving"]
        coords = [tuple(map(float, c.split(","))) for c in parts[4].split(";")]
        annotations = parse_qs(url.query)["annotations"][0].split(",")
        if type(self).mode == "error":
            body, status = {"code": "InvalidQuery", "message": "Query string malformed"}, 400
        else:
            n = len(coords)
            durations = [[abs(i - j) * 100.5 for j in range(n)] for i in range(n)]
            distances = [[abs(i - j) * 1000.4 for j in range(n)] for i in range(n)]
            if n > 2:
                durations[0][2] = None  # unreachable pair
            body = {"code": "Ok", "durations": durations}
            if "distance" in annotations:
                body["distances"] = distances
            status = 200
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def osrm_url():
    _Osrm.requests = []
    _Osrm.mode = "ok"
    server = HTTPServer(("127.0.0.1", 0), _Osrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def test_osrm_table_over_http(osrm_url):
    locs = [MADRID, BARCELONA, Location(39.47, -0.376)]
    m = OsrmProvider(osrm_url).matrix(locs)
    assert m.durations[0][1] == 100 and m.durations[1][0] == 100 and m.durations[1][2] == 100
    assert m.distances[0][1] == 1000
    assert m.durations[0][2] >= 24 * 3600  # null = unreachable: huge, never chosen
    [path] = _Osrm.requests
    assert path.startswith("/table/v1/driving/-3.703800,40.416800;2.168600,41.387400;")
    assert "annotations=duration%2Cdistance" in path or "annotations=duration,distance" in path


def test_osrm_error_is_reported_in_words(osrm_url):
    _Osrm.mode = "error"
    with pytest.raises(TravelError, match="InvalidQuery"):
        OsrmProvider(osrm_url).matrix([MADRID, BARCELONA])


def test_osrm_unreachable_server():
    with pytest.raises(TravelError, match="unreachable"):
        OsrmProvider("http://127.0.0.1:9", timeout_seconds=2).matrix([MADRID, BARCELONA])


def test_cache_reuses_matrices(osrm_url):
    cached = CachedProvider(OsrmProvider(osrm_url), maxsize=2)
    a = cached.matrix([MADRID, BARCELONA])
    b = cached.matrix([MADRID, BARCELONA])
    assert a is b and len(_Osrm.requests) == 1 and cached.hits == 1
    cached.matrix([BARCELONA, MADRID])
    cached.matrix([MADRID])
    cached.matrix([MADRID, BARCELONA])  # evicted (maxsize 2): asked again
    assert len(_Osrm.requests) == 4
