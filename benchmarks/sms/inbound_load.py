"""Load test of ``POST /sms/inbound``: signed Twilio requests against gunicorn and PostgreSQL.

Creates a scratch PostgreSQL database, seeds customers, starts gunicorn on loopback, then fires
signed inbound webhooks from an aiohttp load generator (a fixed number of concurrent
connections, each request a new MessageSid, plus a share of exact duplicates as Twilio retries
would send). Prints throughput and latency percentiles, then checks that nothing was lost or
doubled: one stored inbound message per MessageSid and one answer per stored message.

    .venv/bin/python -m benchmarks.sms.inbound_load --requests 6000 --concurrency 8

Background hand-offs here answer with the short help text (no Temporal needed): customers have
no open conversation, and one in ten senders is an unknown number.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import psycopg
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("POSVENTA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
TOKEN = "bench-auth-token"
PUBLIC = "https://posventa.example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_database() -> str:
    name = f"posventa_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN_URL.rpartition("/")[0] + "/" + name


def drop_database(url: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


def seed(url: str, customers: int) -> list[str]:
    sys.path.insert(0, str(ROOT))
    from domain.db import make_engine, session_scope
    from domain.migrate import upgrade
    from domain.models import Customer

    upgrade(url)
    engine = make_engine(url)
    phones = [f"+346{10000000 + i:08d}" for i in range(customers)]
    with session_scope(engine) as s:
        for i, phone in enumerate(phones):
            s.add(Customer(name=f"Cliente {i}", phone=phone, latitude=40.4, longitude=-3.7))
    engine.dispose()
    return phones


def start_server(url: str, port: int, workers: int, threads: int, data_dir: str, app: str):
    env = dict(
        os.environ,
        POSVENTA_DATABASE_URL=url,
        POSVENTA_DATA_DIR=data_dir,
        POSVENTA_SECRET_KEY="bench-secret",
        POSVENTA_PUBLIC_URL=PUBLIC,
        TWILIO_AUTH_TOKEN=TOKEN,
        TEMPORAL_ADDRESS="127.0.0.1:1",
    )
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--log-level", "warning",
        app,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gunicorn did not start")


def build_requests(phones: list[str], count: int, duplicates: float) -> list[dict[str, str]]:
    rng = random.Random(7)
    validator = RequestValidator(TOKEN)
    bodies = ["SI", "ok", "Sí.", "no puedo", "otra hora", "gracias", "¿cuándo venís?", "1"]
    unique: list[dict[str, str]] = []
    for i in range(count):
        sender = phones[i % len(phones)] if rng.random() > 0.1 else f"+3469{i:07d}"
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": sender,
            "To": "+15005550006",
            "Body": rng.choice(bodies),
            "NumMedia": "0",
        }
        params["_signature"] = validator.compute_signature(PUBLIC + "/sms/inbound", params)
        unique.append(params)
    replays = [dict(p) for p in rng.sample(unique, int(count * duplicates))]
    everything = unique + replays
    rng.shuffle(everything)
    return everything


async def fire(port: int, requests: list[dict[str, str]], concurrency: int):
    url = f"http://127.0.0.1:{port}/sms/inbound"
    latencies: list[float] = []
    failures: list[int] = []
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                item = queue.get_nowait()
                data = {k: v for k, v in item.items() if not k.startswith("_")}
                headers = {"X-Twilio-Signature": item["_signature"]}
                began = time.perf_counter()
                async with session.post(url, data=data, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        failures.append(resp.status)
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return latencies, failures, elapsed


def count_rows(url: str) -> tuple[int, int, int, int]:
    with psycopg.connect(url) as conn:
        inbound, sids, unprocessed = conn.execute(
            "SELECT count(*), count(DISTINCT provider_sid), "
            "count(*) FILTER (WHERE NOT processed) FROM smsmessage WHERE direction = 'inbound'"
        ).fetchone()
        answers = conn.execute(
            "SELECT count(*) FROM smsmessage WHERE direction = 'outbound'"
        ).fetchone()[0]
    return inbound, sids, unprocessed, answers


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def server_pids(master: int, url: str) -> dict[str, list[int]]:
    """gunicorn's processes and the PostgreSQL backends serving the scratch database."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    with psycopg.connect(ADMIN_URL) as conn:
        backends = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (url.rpartition("/")[2],)
        ).fetchall()
    return {"gunicorn": [master, *map(int, children)], "postgres": [b[0] for b in backends]}


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, float]:
    tick = os.sysconf("SC_CLK_TCK")
    return {name: sum(_cpu_ticks(p) for p in group) / tick for name, group in pids.items()}


def hand_off_all(url: str, data_dir: str) -> None:
    """Hand off every stored message (``--defer-answers``), as the periodic sweep would."""
    from pathlib import Path as _Path

    from domain.db import make_engine
    from posventa.config import Settings
    from sms.gateway import gateway_from_settings
    from sms.inbound import InboundPipeline
    from sms.messenger import Messenger

    settings = Settings(database_url=url, data_dir=_Path(data_dir), twilio_auth_token=TOKEN)
    engine = make_engine(url)
    messenger = Messenger(engine, gateway_from_settings(settings, engine), settings)
    pipeline = InboundPipeline(engine, settings, messenger, workflows=None)  # type: ignore[arg-type]
    while pipeline.process_pending(limit=500):
        pass
    engine.dispose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000, help="unique MessageSids")
    parser.add_argument("--duplicates", type=float, default=0.05, help="share re-sent as-is")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument(
        "--defer-answers",
        action="store_true",
        help="measure the webhook alone: hand-offs run after the load, in this process",
    )
    args = parser.parse_args()

    url = scratch_database()
    proc = None
    try:
        phones = seed(url, args.customers)
        port = free_port()
        with tempfile.TemporaryDirectory() as data_dir:
            app = (
                "benchmarks.sms.deferred_app:create_app_deferred()"
                if args.defer_answers
                else "web:create_app()"
            )
            proc = start_server(url, port, args.workers, args.threads, data_dir, app)
            warm = build_requests(phones, args.warmup, 0.0)
            asyncio.run(fire(port, warm, args.concurrency))
            load = build_requests(phones, args.requests, args.duplicates)
            time.sleep(2)  # let the warm-up's background answers finish
            pids = server_pids(proc.pid, url)
            cpu_before = cpu_seconds(pids)
            load_before = os.getloadavg()[0]
            latencies, failures, elapsed = asyncio.run(fire(port, load, args.concurrency))
            expected = args.warmup + args.requests
            cpu_after = cpu_seconds(pids)
            if args.defer_answers:
                hand_off_all(url, data_dir)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # background answers finish after the load
                inbound, sids, unprocessed, answers = count_rows(url)
                if unprocessed == 0 and answers >= inbound:
                    break
                time.sleep(0.5)
            if not args.defer_answers:
                cpu_after = cpu_seconds(pids)
            load_after = os.getloadavg()[0]
        ms = [v * 1000 for v in latencies]
        print(
            f"requests      {len(load)} ({args.requests} unique + "
            f"{len(load) - args.requests} duplicates), concurrency {args.concurrency}, "
            f"gunicorn {args.workers} workers x {args.threads} threads, PostgreSQL"
            + (", answers deferred" if args.defer_answers else "")
        )
        print(f"throughput    {len(load) / elapsed:.0f} req/s ({elapsed:.1f} s)")
        print(
            f"latency ms    p50 {percentile(ms, 50):.1f}  p90 {percentile(ms, 90):.1f}  "
            f"p99 {percentile(ms, 99):.1f}  max {max(ms):.1f}  mean {statistics.mean(ms):.1f}"
        )
        print(f"non-200       {len(failures)}")
        per_request = {
            name: (cpu_after[name] - cpu_before[name]) * 1000 / len(load) for name in cpu_after
        }
        what = "webhook only" if args.defer_answers else "webhook and background answer"
        print(
            f"server CPU    {per_request['gunicorn']:.2f} ms/request in gunicorn + "
            f"{per_request['postgres']:.2f} ms/request in PostgreSQL backends ({what})"
        )
        print(
            f"machine load  {load_before:.1f} before, {load_after:.1f} after "
            f"(1-min load average; {os.cpu_count()} CPUs)"
        )
        print(
            f"stored        {inbound} inbound for {expected} unique MessageSids "
            f"({sids} distinct), {unprocessed} not handed off, {answers} answers"
        )
        ok = not failures and inbound == sids == expected and unprocessed == 0
        ok = ok and answers == expected
        print("integrity     " + ("OK: nothing lost, nothing doubled" if ok else "FAILED"))
        if not ok:
            sys.exit(1)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        drop_database(url)


if __name__ == "__main__":
    main()
