"""The benchmark's own VRPTW check: exact float Euclidean distances, shares no code with the solver.

Conventions (../shared/bench/README.md): node 0 is the depot; travel time equals distance; a vehicle
may arrive early and wait; service starts inside the window; every route leaves and returns to the
depot inside the depot's window; capacity as given; at most ``vehicles`` routes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import vrplib

EPS = 1e-6


@dataclass
class Instance:
    name: str
    xy: list[tuple[float, float]]
    demand: list[int]
    ready: list[float]
    due: list[float]
    service: list[float]
    capacity: int
    vehicles: int


def load(path: str) -> Instance:
    raw = vrplib.read_instance(path, compute_edge_weights=False)
    n = int(raw["dimension"])
    svc = raw.get("service_time", 0)
    service = [float(svc)] * n if isinstance(svc, (int, float)) else [float(x) for x in svc]
    service[0] = 0.0
    return Instance(
        name=str(raw["name"]),
        xy=[(float(x), float(y)) for x, y in raw["node_coord"]],
        demand=[int(d) for d in raw["demand"]],
        ready=[float(a) for a, _ in raw["time_window"]],
        due=[float(b) for _, b in raw["time_window"]],
        service=service,
        capacity=int(raw["capacity"]),
        vehicles=int(raw.get("vehicles", n - 1)),
    )


def dist(inst: Instance, a: int, b: int) -> float:
    (x1, y1), (x2, y2) = inst.xy[a], inst.xy[b]
    return math.hypot(x1 - x2, y1 - y2)


def check(inst: Instance, routes: list[list[int]]) -> tuple[bool, float, list[str]]:
    """(feasible, exact distance, violations) for routes of customer numbers 1..N."""
    errors: list[str] = []
    n = len(inst.xy) - 1
    seen = [c for r in routes for c in r]
    if sorted(seen) != list(range(1, n + 1)):
        missing = set(range(1, n + 1)) - set(seen)
        errors.append(f"customers missing {sorted(missing)[:5]} or repeated")
    if len([r for r in routes if r]) > inst.vehicles:
        errors.append(f"{len(routes)} routes > {inst.vehicles} vehicles")
    total = 0.0
    for k, r in enumerate(routes):
        if not r:
            continue
        if sum(inst.demand[c] for c in r) > inst.capacity:
            errors.append(f"route {k}: over capacity")
        t, prev = inst.ready[0], 0
        for c in r:
            if not 1 <= c <= n:
                errors.append(f"route {k}: bad customer {c}")
                break
            d = dist(inst, prev, c)
            total += d
            t = max(t + inst.service[prev] + d, inst.ready[c])
            if t > inst.due[c] + EPS:
                errors.append(f"route {k}: customer {c} starts {t:.3f} > due {inst.due[c]}")
            prev = c
        d = dist(inst, prev, 0)
        total += d
        if t + inst.service[prev] + d > inst.due[0] + EPS:
            errors.append(f"route {k}: returns late")
    return not errors, total, errors
