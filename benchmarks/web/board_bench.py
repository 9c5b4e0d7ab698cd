"""Plan board benchmark: a day with 50 staff and 500 visits.

Measures the server time of ``GET /board/<day>`` (the whole Flask request, in-process through
WSGI: database queries, layout, template) and of the board's polling endpoint, plus the page
weight (HTML and the assets it loads, raw and gzip-compressed).

    .venv/bin/python benchmarks/web/board_bench.py [--staff 50] [--visits 500] [--requests 30]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from domain.db import make_engine, session_scope  # noqa: E402
from domain.migrate import upgrade  # noqa: E402
from domain.models import UserRole  # noqa: E402
from domain.users import UserIn, create_user  # noqa: E402
from posventa.config import Settings  # noqa: E402
from tests.web.factories import PASSWORD, PLAN_DAY, make_big_day  # noqa: E402
from web import create_app  # noqa: E402

ASSETS = ("app.css", "app.js", "board.js", "favicon.svg")


def timed(client, path: str, n: int) -> tuple[list[float], list[float], bytes]:  # type: ignore[no-untyped-def]
    """Wall-clock and CPU milliseconds of ``n`` requests (CPU time is what the request itself
    costs; wall time includes waiting for a core on a busy machine)."""
    wall, cpu = [], []
    body = b""
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.thread_time()
        response = client.get(path)
        body = response.get_data()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        assert response.status_code == 200, response.status_code
    return wall, cpu, body


def summary(name: str, wall: list[float], cpu: list[float]) -> str:
    wall = sorted(wall)
    p95 = wall[max(0, int(len(wall) * 0.95) - 1)]
    return (
        f"{name}: wall median {statistics.median(wall):.0f} ms, p95 {p95:.0f} ms, "
        f"min {wall[0]:.0f} ms; CPU median {statistics.median(cpu):.0f} ms (n={len(wall)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--visits", type=int, default=500)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="posventa-board-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    if args.database_url:  # a fresh database on that server, dropped afterwards
        from tests.conftest import create_pg_database, drop_pg_database

        url = create_pg_database()
    try:
        run(url, tmp, args)
    finally:
        if args.database_url:
            drop_pg_database(url)


def run(url: str, tmp: Path, args: argparse.Namespace) -> None:
    upgrade(url)
    engine = make_engine(url)
    t0 = time.perf_counter()
    plan_id = make_big_day(engine, args.staff, args.visits)
    with session_scope(engine) as s:
        create_user(s, UserIn(email="bench@example.com", name="Bench", role=UserRole.DISPATCHER,
                              password=PASSWORD, locale="en"))  # fmt: skip
    print(f"seeded {args.staff} staff, {args.visits} visits (plan {plan_id}) on "
          f"{engine.dialect.name} in {time.perf_counter() - t0:.1f} s")  # fmt: skip

    app = create_app(Settings(data_dir=tmp, database_url=url, secret_key="bench", testing=True))
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    marker = 'name="csrf-token" content="'
    token = html[html.index(marker) + len(marker) :].split('"', 1)[0]
    client.post("/login", data={"email": "bench@example.com", "password": PASSWORD,
                                "csrf_token": token})  # fmt: skip

    day = PLAN_DAY.isoformat()
    timed(client, f"/board/{day}", 3)  # warm up (template compilation, connection pool)
    board_wall, board_cpu, body = timed(client, f"/board/{day}", args.requests)
    status_wall, status_cpu, status_body = timed(client, f"/board/{day}/status.json", args.requests)
    static = [client.get(f"/static/{name}").get_data() for name in ASSETS]
    assets = sum(len(data) for data in static)
    assets_gz = sum(len(gzip.compress(data)) for data in static)
    print(summary(f"GET /board/{day}", board_wall, board_cpu))
    print(summary(f"GET /board/{day}/status.json", status_wall, status_cpu))
    print(
        f"page weight: HTML {len(body) / 1024:.0f} KiB ({len(gzip.compress(body)) / 1024:.0f} "
        f"KiB gzip) + CSS/JS/icon {assets / 1024:.1f} KiB ({assets_gz / 1024:.1f} KiB gzip); "
        f"status.json {len(status_body) / 1024:.1f} KiB; no other requests"
    )


if __name__ == "__main__":
    main()
