"""One posventa worker process for the lifecycle benchmark (prints "ready", runs until SIGTERM,
then prints its peak resident memory in MiB)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from domain.db import make_engine
from posventa.config import Settings
from workflows.client import connect
from workflows.worker import build_worker


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main(address: str, queue: str, url: str) -> None:
    settings = Settings(
        database_url=url, temporal_address=address, temporal_task_queue=queue, secret_key="x"
    )
    client = await connect(settings)
    worker = build_worker(client, settings, make_engine(url))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with worker:
        print("ready", flush=True)
        await stop.wait()
    print(f"peak_rss_mib {peak_rss_mib():.1f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
