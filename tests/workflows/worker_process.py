"""A posventa worker in its own process, for the crash test (killed with SIGKILL mid-activity).

    python -m tests.workflows.worker_process ADDRESS TASK_QUEUE DATABASE_URL LOG_DIR DELAY

Its SMS gateway is the real outbox, slowed by DELAY seconds per message so the test can kill the
process while a send is in flight; every send start and finish is appended to LOG_DIR/sms.log.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from domain.db import make_engine
from posventa.config import Settings
from sms.gateway import OutgoingSms, SendResult
from sms.messenger import Messenger
from sms.outbox import OutboxGateway
from workflows.client import connect
from workflows.worker import build_worker


class SlowOutbox(OutboxGateway):
    def __init__(self, engine, settings: Settings, log: Path, delay: float) -> None:  # type: ignore[no-untyped-def]
        super().__init__(engine, settings)
        self.log = log
        self.delay = delay

    def _write(self, line: str) -> None:
        with self.log.open("a") as fh:
            fh.write(f"{line}\n")
            fh.flush()
            os.fsync(fh.fileno())

    def send(self, message: OutgoingSms) -> SendResult:
        self._write(f"start {os.getpid()} {message.to} {message.body[:30]!r}")
        time.sleep(self.delay)
        result = super().send(message)
        self._write(f"sent {os.getpid()} {message.to} {message.body[:30]!r}")
        return result


async def main(address: str, queue: str, url: str, log_dir: str, delay: float) -> None:
    settings = Settings(
        data_dir=Path(log_dir),
        database_url=url,
        temporal_address=address,
        temporal_task_queue=queue,
        secret_key="x",
        testing=True,
    )
    engine = make_engine(url)
    gateway = SlowOutbox(engine, settings, Path(log_dir) / "sms.log", delay)
    client = await connect(settings)
    worker = build_worker(
        client,
        settings,
        engine,
        messenger=Messenger(engine, gateway, settings),
        # a task sent to the dead worker's sticky queue moves on quickly
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=2),
    )
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    address, queue, url, log_dir, delay = sys.argv[1:6]
    asyncio.run(main(address, queue, url, log_dir, float(delay)))
