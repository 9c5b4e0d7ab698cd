"""A Nominatim ``/search`` service on a local port, answering in its documented JSON format
from a small table of places (for the geocoder's and the forms' tests)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeNominatim:
    url: str
    places: dict[str, tuple[float, float, str]]  # query -> lat, lon, display name
    requests: list[tuple[dict[str, str], str]] = field(default_factory=list)  # params, agent
    status: int = 200


@contextmanager
def serve_nominatim(places: dict[str, tuple[float, float, str]]) -> Iterator[FakeNominatim]:
    fake = FakeNominatim(url="", places=places)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            fake.requests.append((params, self.headers.get("User-Agent", "")))
            found = fake.places.get(params.get("q", ""))
            body: object = [] if found is None else [
                {"place_id": 1, "lat": str(found[0]), "lon": str(found[1]),
                 "display_name": found[2], "category": "building", "type": "house"}
            ]  # fmt: skip
            raw = json.dumps(body).encode() if url.path == "/search" else b"not found"
            status = fake.status if url.path == "/search" else 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}/"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
