"""``posventa solve`` in both formats: through click's CliRunner and once as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from posventa.cli import cli

BENCH = Path(__file__).resolve().parents[3] / "shared" / "bench"
R101 = BENCH / "solomon" / "R101.vrp"
C101 = BENCH / "solomon" / "C101.vrp"

VROOM_INPUT = {
    "vehicles": [
        {
            "id": 1,
            "start_index": 0,
            "end_index": 0,
            "skills": [1],
            "time_window": [0, 36000],
            "breaks": [{"id": 7, "time_windows": [[10000, 20000]], "service": 1800}],
        },
        {"id": 2, "start_index": 0, "end_index": 0, "skills": [2], "time_window": [0, 36000]},
    ],
    "jobs": [
        {"id": 10, "location_index": 1, "service": 600, "skills": [1], "time_windows": [[0, 5000]]},
        {"id": 11, "location_index": 2, "service": 600, "skills": [2]},
        {"id": 12, "location_index": 3, "service": 600, "skills": [3]},
        {"id": 13, "location_index": 3, "service": 600, "skills": [1], "priority": 10},
    ],
    "matrices": {
        "car": {
            "durations": [
                [0, 600, 900, 1200],
                [600, 0, 700, 800],
                [900, 700, 0, 500],
                [1200, 800, 500, 0],
            ]
        }
    },
}


def _run(args):
    result = CliRunner().invoke(cli, ["solve", *args], catch_exceptions=False)
    return result


def test_vroom_format(tmp_path):
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(VROOM_INPUT))
    result = _run(["--format", "vroom", str(path), "--seconds", "1", "--workers", "1"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["code"] == 0
    assert [u["id"] for u in out["unassigned"]] == [12]
    assert out["unassigned"][0]["reason_code"] == "missing_skill"
    routes = {r["vehicle"]: r for r in out["routes"]}
    jobs = {v: [s["id"] for s in r["steps"] if s["type"] == "job"] for v, r in routes.items()}
    assert sorted(jobs[1]) == [10, 13] and jobs[2] == [11]
    steps = routes[1]["steps"]
    assert steps[0]["type"] == "start" and steps[-1]["type"] == "end"
    [brk] = [s for s in steps if s["type"] == "break"]
    assert brk["id"] == 7 and 10000 <= brk["arrival"] <= 20000
    job10 = next(s for s in steps if s.get("id") == 10)
    assert job10["arrival"] <= 5000
    arrivals = [s["arrival"] for s in steps]
    assert arrivals == sorted(arrivals)
    assert out["summary"]["unassigned"] == 1 and out["summary"]["routes"] == 2
    assert out["summary"]["duration"] == sum(r["duration"] for r in out["routes"])


def test_vroom_break_windows_bound_the_break_start(tmp_path):
    """VROOM's break ``time_windows`` are "valid slots for break start": a job that fills the
    window until its last second leaves the break to start right at its end."""
    data = {
        "vehicles": [
            {
                "id": 1, "start_index": 0, "end_index": 0, "time_window": [0, 40000],
                "breaks": [{"id": 7, "time_windows": [[10000, 20000]], "service": 1800}],
            }
        ],
        "jobs": [
            {"id": 10, "location_index": 1, "service": 10000, "time_windows": [[10000, 10000]]}
        ],
        "matrices": {"car": {"durations": [[0, 0], [0, 0]]}},
    }  # fmt: skip
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data))
    result = _run(["--format", "vroom", str(path), "--seconds", "1", "--workers", "1"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["unassigned"] == []
    steps = {s["type"]: s for s in out["routes"][0]["steps"]}
    assert (steps["job"]["arrival"], steps["break"]["arrival"]) == (10000, 20000)


def test_vroom_format_with_coordinates(tmp_path):
    data = {
        "vehicles": [{"id": 1, "start": [-3.70, 40.41], "end": [-3.70, 40.41]}],
        "jobs": [{"id": 5, "location": [-3.69, 40.42], "service": 300}],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    out = json.loads(_run(["--format", "vroom", str(path), "--seconds", "1"]).output)
    assert [s["type"] for s in out["routes"][0]["steps"]] == ["start", "job", "end"]
    assert out["routes"][0]["distance"] > 1000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"jobs": []}), "no vehicles"),
        (
            json.dumps({"vehicles": [{"id": 1, "start_index": 0}], "jobs": [], "shipments": [{}]}),
            "shipments",
        ),
        (json.dumps({"vehicles": [{"id": 1, "start_index": 0}], "jobs": []}), "no matrix"),
    ],
)
def test_vroom_bad_input_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = CliRunner().invoke(cli, ["solve", "--format", "vroom", str(path)])
    assert result.exit_code != 0
    assert message in result.output


def test_vrplib_format_through_cli_runner():
    result = _run(["--format", "vrplib", str(C101), "--seconds", "1.5"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    customers = sorted(c for r in out["routes"] for c in r)
    assert customers == list(range(1, 101))
    assert out["vehicles"] == len(out["routes"]) <= 25
    # best known 828.94; quality at 10 s is measured by the benchmark, this is a sanity bound
    # that holds even on a loaded machine at 1.5 s
    assert 828 < out["distance"] < 1.5 * 828.94


def test_vrplib_bad_file(tmp_path):
    path = tmp_path / "x.vrp"
    path.write_text("NAME : X\nDIMENSION : 3\nEOF\n")
    result = CliRunner().invoke(cli, ["solve", "--format", "vrplib", str(path)])
    assert result.exit_code != 0 and "x.vrp" in result.output


@pytest.mark.slow
def test_subprocess_solomon_honours_seconds():
    exe = Path(sys.executable).parent / "posventa"
    t0 = time.monotonic()
    proc = subprocess.run(
        [str(exe), "solve", "--format", "vrplib", str(R101), "--seconds", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert sorted(c for r in out["routes"] for c in r) == list(range(1, 101))
    # The solver keeps to the budget by its own clock; the wall clock adds interpreter start-up,
    # which on a loaded 2-core machine varies by seconds (measured in BENCHMARKS.md, not here).
    assert out["seconds"] <= 2 * 1.1, out["seconds"]
    assert 1.5 <= elapsed <= 2 + 20, elapsed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "optimizer"))
    import vrptw_check

    ok, distance, errors = vrptw_check.check(vrptw_check.load(str(R101)), out["routes"])
    assert ok, errors
    assert distance == pytest.approx(out["distance"], abs=1e-3)
