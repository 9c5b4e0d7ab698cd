"""Benchmark (b) and (c): seeded field-service days, posventa against VROOM on the same input.

The generator writes VROOM's JSON (durations matrix from the haversine provider) so both solvers
read exactly the same problem: staff with homes, shifts, 1-3 of four skills and a lunch break;
visits with 30-120 min of work, a required skill, arrival windows and priorities; more work than
fits in the day.

    # (b) 25 staff, 180 visits, 30 s each, nine seeds
    .venv/bin/python benchmarks/optimizer/field_day.py --seeds 1,2,3,4,5,6,7,8,9 --seconds 30
    # soft preferences: half the visits with a preferred staff member (posventa only)
    .venv/bin/python benchmarks/optimizer/field_day.py --seeds 1 --seconds 30 \
        --preferred-share 0.5 --no-vroom
    # (c) scale: 1,000 visits, 100 staff: first plan, quality after 60 s, peak memory
    .venv/bin/python benchmarks/optimizer/field_day.py --scale --seconds 60
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from optimizer.check import check_solution  # noqa: E402
from optimizer.model import Location, SolveParams  # noqa: E402
from optimizer.solver import solve  # noqa: E402
from optimizer.travel import HaversineProvider  # noqa: E402
from optimizer.vroom_format import to_output, to_problem  # noqa: E402

H = 3600
LUNCH = 45 * 60
LUNCH_LAST_START = int(14.5 * H) - LUNCH
CENTRE = (40.42, -3.70)


def generate(seed: int, n_staff: int = 25, n_visits: int = 180, radius_km: float = 25.0) -> dict:
    rnd = random.Random(seed)

    def point() -> Location:
        # uniform in a square of side 2*radius around the centre
        dlat = (rnd.random() * 2 - 1) * radius_km / 111.0
        dlon = (rnd.random() * 2 - 1) * radius_km / 85.0
        return Location(CENTRE[0] + dlat, CENTRE[1] + dlon)

    homes = [point() for _ in range(n_staff)]
    places = [point() for _ in range(n_visits)]
    locs = homes + places
    matrix = HaversineProvider(speed_kmh=35, road_factor=1.35).matrix(locs)
    vehicles = []
    for k in range(n_staff):
        start = rnd.choice([7, 8, 8, 8, 9])
        skills = rnd.sample([1, 2, 3, 4], rnd.choice([1, 2, 2, 3]))
        vehicles.append(
            {
                "id": k + 1,
                "start_index": k,
                "end_index": k,
                "skills": skills,
                "time_window": [start * H, (start + 9) * H],
                # lunch: 45 min taken within 12:00-14:30 (VROOM's window bounds the start)
                "breaks": [
                    {"id": 1000 + k, "time_windows": [[12 * H, LUNCH_LAST_START]], "service": LUNCH}
                ],
            }
        )
    jobs = []
    for i in range(n_visits):
        kind = rnd.random()
        if kind < 0.4:
            tws = None
        elif kind < 0.8:
            tws = [[8 * H, 13 * H]] if rnd.random() < 0.5 else [[13 * H, 18 * H]]
        else:
            a = rnd.randint(8, 16)
            tws = [[a * H, (a + 2) * H]]
        pr = rnd.random()
        priority = (
            rnd.randint(80, 100)
            if pr < 0.1
            else rnd.randint(30, 70)
            if pr < 0.4
            else rnd.randint(0, 20)
        )
        job = {
            "id": i + 1,
            "location_index": n_staff + i,
            "service": rnd.choice([30, 45, 60, 60, 90, 120]) * 60,
            "skills": [rnd.randint(1, 4)],
            "priority": priority,
        }
        if tws:
            job["time_windows"] = tws
        jobs.append(job)
    return {
        "vehicles": vehicles,
        "jobs": jobs,
        "matrices": {"car": {"durations": [list(r) for r in matrix.durations]}},
    }


def figures(out: dict, data: dict) -> dict:
    served = [s["id"] for r in out["routes"] for s in r["steps"] if s["type"] == "job"]
    prio = {j["id"]: j.get("priority", 0) for j in data["jobs"]}
    dur = data["matrices"]["car"]["durations"]
    travel = 0
    for r in out["routes"]:
        idx = [s["location_index"] for s in r["steps"] if "location_index" in s]
        travel += sum(dur[a][b] for a, b in zip(idx, idx[1:], strict=False))
    return {
        "visits_served": len(served),
        "priority_served": sum(prio[j] for j in served),
        "travel_minutes": round(travel / 60),
    }


def run_vroom(data: dict, seconds: float) -> tuple[dict, float]:
    import vroom

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(data, f)
    t0 = time.time()
    problem = vroom.Input.from_json(Path(f.name))
    Path(f.name).unlink()
    sol = problem.solve(exploration_level=5, nb_threads=2, timeout=timedelta(seconds=seconds))
    out = sol.to_dict()
    return out, time.time() - t0


def with_preferences(problem, share: float, seed: int):
    """Give ``share`` of the visits a preferred staff member who has the skills."""
    rnd = random.Random(seed)
    visits = []
    for v in problem.visits:
        able = [s.id for s in problem.staff if v.required_skills <= s.skills]
        if able and rnd.random() < share:
            v = dataclasses.replace(v, preferred_staff=rnd.choice(able))
        visits.append(v)
    return dataclasses.replace(problem, visits=tuple(visits))


def run_posventa(
    data: dict, seconds: float, preferred_share: float = 0.0, **kw
) -> tuple[dict, float, list[str]]:
    t0 = time.time()
    problem = to_problem(data)
    if preferred_share:
        problem = with_preferences(problem, preferred_share, seed=7)
    sol = solve(problem, SolveParams(time_limit_seconds=seconds, **kw))
    elapsed = time.time() - t0
    errors = check_solution(problem, sol)
    out = to_output(problem, sol)
    if preferred_share:
        pref = {v.id: v.preferred_staff for v in problem.visits if v.preferred_staff is not None}
        served = [(r.staff_id, s.visit_id) for r in sol.routes for s in r.stops]
        out["preferred_honoured"] = [
            sum(1 for who, vid in served if pref.get(vid) == who),
            sum(1 for _, vid in served if vid in pref),
        ]
    return out, elapsed, errors


def peak_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return round(me), round(kids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--scale", action="store_true", help="1,000 visits and 100 staff")
    ap.add_argument("--no-vroom", action="store_true")
    ap.add_argument(
        "--preferred-share", type=float, default=0.0, help="share of visits with a preferred staff"
    )
    args = ap.parse_args()
    for seed in [int(s) for s in args.seeds.split(",")]:
        if args.scale:
            data = generate(seed, n_staff=100, n_visits=1000, radius_km=40.0)
            t0 = time.time()
            problem = to_problem(data)
            first = solve(
                problem, SolveParams(time_limit_seconds=60, solution_limit=1, num_workers=1)
            )
            t_first = time.time() - t0
            print(
                json.dumps(
                    {
                        "seed": seed,
                        "first_feasible_seconds": round(t_first, 2),
                        "first_visits_served": first.totals.visits_assigned,
                        "checker_errors": len(check_solution(problem, first)),
                    }
                ),
                flush=True,
            )
        data = data if args.scale else generate(seed)
        out, elapsed, errors = run_posventa(data, args.seconds, args.preferred_share)
        row = {
            "seed": seed,
            "solver": "posventa",
            **figures(out, data),
            "seconds": round(elapsed, 1),
        }
        if "preferred_honoured" in out:
            row["preferred_honoured"] = out["preferred_honoured"]
        row["checker_errors"] = len(errors)
        row["peak_rss_mb_self_children"] = peak_mb()
        print(json.dumps(row), flush=True)
        if not args.no_vroom:
            vout, velapsed = run_vroom(data, args.seconds)
            vrow = {
                "seed": seed,
                "solver": "vroom",
                **figures(vout, data),
                "seconds": round(velapsed, 1),
            }
            print(json.dumps(vrow), flush=True)


if __name__ == "__main__":
    main()
