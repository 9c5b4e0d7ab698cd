"""Benchmark (a): all Solomon and Gehring-Homberger instances: posventa, VROOM, textbook OR-Tools.

Each solver gets the same wall-clock budget per instance (VROOM stops earlier when done); every
solution is checked and its distance recomputed by ``vrptw_check`` (exact floats). Gap is to the
``distance_only_routes_float_euclid`` value in ../shared/bench/bks.csv.

    .venv/bin/python benchmarks/optimizer/solomon.py --seconds 10 [--only R101,C101] \
        [--solvers posventa,vroom,textbook] [--csv benchmarks/out/solomon.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import vrptw_check  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
SCALE = 1000


def bks_values() -> dict[str, float]:
    with open(BENCH / "bks.csv") as f:
        return {
            r["instance"]: float(r["distance"])
            for r in csv.DictReader(f)
            if r["objective_kind"] == "distance_only_routes_float_euclid"
        }


def run_posventa(path: Path, seconds: float) -> list[list[int]]:
    from optimizer.solver import solve
    from optimizer.vrplib_format import benchmark_params, read_instance, routes_of, to_problem

    inst = read_instance(path)
    return routes_of(solve(to_problem(inst), benchmark_params(seconds)))


def run_textbook(path: Path, seconds: float) -> list[list[int]]:
    """The OR-Tools documentation's VRPTW recipe: Python callbacks, PATH_CHEAPEST_ARC + GLS."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    inst = vrptw_check.load(str(path))
    n = len(inst.xy)
    d = [[vrptw_check.dist(inst, i, j) for j in range(n)] for i in range(n)]
    dist_m = [[round(x * SCALE) for x in row] for row in d]
    time_m = [
        [math.ceil(d[i][j] * SCALE + inst.service[i] * SCALE) for j in range(n)] for i in range(n)
    ]
    manager = pywrapcp.RoutingIndexManager(n, inst.vehicles, 0)
    routing = pywrapcp.RoutingModel(manager)

    def dist_cb(i: int, j: int) -> int:
        return dist_m[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def time_cb(i: int, j: int) -> int:
        return time_m[manager.IndexToNode(i)][manager.IndexToNode(j)]

    def demand_cb(i: int) -> int:
        return inst.demand[manager.IndexToNode(i)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(dist_cb))
    horizon = int(inst.due[0] * SCALE)
    routing.AddDimension(routing.RegisterTransitCallback(time_cb), horizon, horizon, False, "time")
    td = routing.GetDimensionOrDie("time")
    for node in range(1, n):
        td.CumulVar(manager.NodeToIndex(node)).SetRange(
            math.ceil(inst.ready[node] * SCALE), math.floor(inst.due[node] * SCALE)
        )
    for v in range(inst.vehicles):
        td.CumulVar(routing.Start(v)).SetRange(0, horizon)
        td.CumulVar(routing.End(v)).SetRange(0, horizon)
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitCallback(demand_cb),
        0,
        [inst.capacity] * inst.vehicles,
        True,
        "load",
    )
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    sp.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    sp.time_limit.FromMilliseconds(int(seconds * 1000))
    a = routing.SolveWithParameters(sp)
    if a is None:
        return []
    routes = []
    for v in range(inst.vehicles):
        i = a.Value(routing.NextVar(routing.Start(v)))
        r = []
        while not routing.IsEnd(i):
            r.append(manager.IndexToNode(i))
            i = a.Value(routing.NextVar(i))
        if r:
            routes.append(r)
    return routes


def run_vroom(path: Path, seconds: float) -> list[list[int]]:
    import vroom

    inst = vrptw_check.load(str(path))
    n = len(inst.xy)
    d = [[vrptw_check.dist(inst, i, j) for j in range(n)] for i in range(n)]
    data = {
        "vehicles": [
            {
                "id": v,
                "start_index": 0,
                "end_index": 0,
                "capacity": [inst.capacity],
                "time_window": [math.ceil(inst.ready[0] * SCALE), math.floor(inst.due[0] * SCALE)],
            }
            for v in range(inst.vehicles)
        ],
        "jobs": [
            {
                "id": c,
                "location_index": c,
                "service": math.ceil(inst.service[c] * SCALE),
                "delivery": [inst.demand[c]],
                "time_windows": [
                    [math.ceil(inst.ready[c] * SCALE), math.floor(inst.due[c] * SCALE)]
                ],
            }
            for c in range(1, n)
        ],
        "matrices": {
            "car": {
                "durations": [[math.ceil(x * SCALE) for x in row] for row in d],
                "costs": [[round(x * SCALE) for x in row] for row in d],
            }
        },
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)
    problem = vroom.Input.from_json(Path(f.name))
    Path(f.name).unlink()
    sol = problem.solve(exploration_level=5, nb_threads=2, timeout=timedelta(seconds=seconds))
    routes = []
    for r in sol.to_dict()["routes"]:
        routes.append([s["id"] for s in r["steps"] if s["type"] == "job"])
    return routes


SOLVERS = {"posventa": run_posventa, "vroom": run_vroom, "textbook": run_textbook}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--only", default="", help="comma-separated instance names")
    ap.add_argument("--sets", default="solomon,homberger200")
    ap.add_argument("--solvers", default="posventa,vroom,textbook")
    ap.add_argument("--csv", default="")
    args = ap.parse_args()
    bks = bks_values()
    paths = sorted(p for s in args.sets.split(",") for p in (BENCH / s).glob("*.vrp"))
    if args.only:
        wanted = set(args.only.split(","))
        paths = [p for p in paths if p.stem in wanted]
    solvers = args.solvers.split(",")
    rows = []
    for path in paths:
        inst = vrptw_check.load(str(path))
        for name in solvers:
            t0 = time.time()
            try:
                routes = SOLVERS[name](path, args.seconds)
                err = ""
            except Exception as exc:  # a crash counts as infeasible
                routes, err = [], f"{type(exc).__name__}: {exc}"
            elapsed = time.time() - t0
            ok, distance, errors = vrptw_check.check(inst, routes)
            gap = 100 * (distance / bks[path.stem] - 1) if ok else float("nan")
            row = {
                "instance": path.stem,
                "set": path.parent.name,
                "solver": name,
                "feasible": ok,
                "distance": round(distance, 3),
                "routes": len(routes),
                "gap_pct": round(gap, 3),
                "seconds": round(elapsed, 2),
                "error": err or "; ".join(errors[:2]),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    print("\nsummary (gap = mean over feasible instances; exact float distances)")
    for s in sorted({r["set"] for r in rows}):
        for name in solvers:
            mine = [r for r in rows if r["set"] == s and r["solver"] == name]
            feas = [r for r in mine if r["feasible"]]
            gaps = [r["gap_pct"] for r in feas]
            print(
                f"{s:13s} {name:9s} feasible {len(feas)}/{len(mine)} "
                f"({100 * len(feas) / max(1, len(mine)):.0f} %)  mean gap "
                f"{mean(gaps) if gaps else float('nan'):.2f} %  "
                f"mean time {mean(r['seconds'] for r in mine):.1f} s"
            )


if __name__ == "__main__":
    main()
