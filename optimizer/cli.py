"""``posventa solve --format vroom|vrplib FILE [--seconds S]``: solve a file, print JSON."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import click


def _seconds_since_process_start() -> float:
    """Wall time already spent by this process (interpreter start-up, imports); 0 if unknown."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of /proc/<pid>/stat
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


@click.command("solve")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["vroom", "vrplib"]),
    required=True,
    help="vroom: VROOM's JSON input; vrplib: a VRPTW instance (.vrp).",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0.5),
    default=5.0,
    show_default=True,
    help="Wall-clock budget for the whole command.",
)
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def solve(fmt: str, seconds: float, workers: int, path: Path) -> None:
    """Solve PATH and print the plan as JSON on standard output."""
    startup = _seconds_since_process_start()
    if startup > 10.0:  # called inside a long-running process (tests, scripts): not start-up
        startup = 0.0
    began = time.time() - startup
    from optimizer.solver import solve as run

    if fmt == "vroom":
        from optimizer.model import SolveParams
        from optimizer.vroom_format import VroomInputError, to_output, to_problem

        try:
            data = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise click.ClickException(f"{path}: not valid JSON ({exc})") from exc
        try:
            problem = to_problem(data)
        except VroomInputError as exc:
            raise click.ClickException(f"{path}: {exc}") from exc
        loaded = time.time()
        budget = seconds - (loaded - began) - 0.12
        params = SolveParams(time_limit_seconds=max(0.2, budget), num_workers=workers)
        solution = run(problem, params)
        out = to_output(problem, solution, loading_ms=round((loaded - began) * 1000))
    else:
        from optimizer.vrplib_format import (
            benchmark_params,
            read_instance,
            result_json,
            to_problem,
        )

        try:
            inst = read_instance(path)
        except (ValueError, KeyError, IndexError) as exc:
            raise click.ClickException(f"{path}: cannot read VRPLIB instance ({exc})") from exc
        problem = to_problem(inst)
        budget = seconds - (time.time() - began) - 0.12
        solution = run(problem, benchmark_params(max(0.2, budget), num_workers=workers))
        out = result_json(inst, solution)
    click.echo(json.dumps(out))
