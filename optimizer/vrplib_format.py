"""VRPTW benchmark instances in VRPLIB format (Solomon, Gehring & Homberger) <-> the model.

Customers are numbered 1..N as in the ``.sol`` files (customer k is node k of the instance, node 0
is the depot); visit ids are those numbers. Coordinates are Euclidean; travel time equals distance.
Inside the solver times and distances are integers scaled by ``scale`` (default 1000): travel
times are rounded *up* (so an integer-feasible plan is feasible in exact floats) and distances to
the nearest integer (the objective). Distances reported here are recomputed in floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import vrplib

from optimizer.model import (
    Problem,
    Solution,
    SolveParams,
    StaffMember,
    TimeWindow,
    TravelMatrix,
    Visit,
)


@dataclass(frozen=True)
class VrptwInstance:
    name: str
    coords: np.ndarray  # (n+1, 2), row 0 = depot
    demand: np.ndarray
    windows: np.ndarray  # (n+1, 2)
    service: np.ndarray  # (n+1,)
    capacity: int
    vehicles: int

    @property
    def n_customers(self) -> int:
        return len(self.coords) - 1

    def distance_matrix(self) -> np.ndarray:
        d = self.coords[:, None, :] - self.coords[None, :, :]
        return np.sqrt((d**2).sum(axis=2))


def read_instance(path: str | Path) -> VrptwInstance:
    """Read a VRPTW instance with the ``vrplib`` package (no hand-written parser)."""
    raw = vrplib.read_instance(str(path), compute_edge_weights=False)
    if "time_window" not in raw:
        raise ValueError(f"{path}: not a VRPTW instance (no TIME_WINDOW_SECTION)")
    n = int(raw["dimension"])
    depot = int(np.atleast_1d(raw.get("depot", [0]))[0])
    if depot != 0:
        raise ValueError(f"{path}: the depot must be the first node")
    service = raw.get("service_time", 0)
    service = np.full(n, float(service)) if np.isscalar(service) else np.asarray(service, float)
    service = service.copy()
    service[0] = 0.0
    vehicles = int(raw.get("vehicles", n - 1))
    return VrptwInstance(
        name=str(raw.get("name", Path(path).stem)),
        coords=np.asarray(raw["node_coord"], dtype=float),
        demand=np.asarray(raw.get("demand", np.zeros(n)), dtype=int),
        windows=np.asarray(raw["time_window"], dtype=float),
        service=service,
        capacity=int(raw.get("capacity", 10**9)),
        vehicles=vehicles,
    )


def to_problem(inst: VrptwInstance, scale: int = 1000) -> Problem:
    """The instance as a ``Problem`` over integer matrix indices (node i = place i)."""
    d = inst.distance_matrix() * scale
    durations = np.ceil(d - 1e-9).astype(np.int64)
    distances = np.rint(d).astype(np.int64)
    tw = inst.windows * scale
    depot_window = TimeWindow(int(math.ceil(tw[0, 0])), int(math.floor(tw[0, 1])))
    staff = tuple(
        StaffMember(id=k, shift=depot_window, start=0, end=0, capacity=inst.capacity)
        for k in range(inst.vehicles)
    )
    visits = tuple(
        Visit(
            id=i,
            location=i,
            duration=int(math.ceil(inst.service[i] * scale - 1e-9)),
            windows=(TimeWindow(int(math.ceil(tw[i, 0])), int(math.floor(tw[i, 1]))),),
            priority=100,
            demand=int(inst.demand[i]),
        )
        for i in range(1, inst.n_customers + 1)
    )
    matrix = TravelMatrix(
        durations=tuple(map(tuple, durations.tolist())),
        distances=tuple(map(tuple, distances.tolist())),
    )
    return Problem(staff=staff, visits=visits, matrix=matrix, name=inst.name)


def benchmark_params(seconds: float, **overrides: object) -> SolveParams:
    """Search parameters for benchmark mode: minimise distance, every customer mandatory-ish."""
    values: dict[str, object] = {
        "time_limit_seconds": seconds,
        "objective": "distance",
        "drop_penalty": 10_000_000,
    }
    values.update(overrides)
    return SolveParams(**values)  # type: ignore[arg-type]


def routes_of(solution: Solution) -> list[list[int]]:
    """Non-empty routes as lists of customer numbers."""
    return [[int(s.visit_id) for s in r.stops] for r in solution.routes if r.stops]


def route_distance(inst: VrptwInstance, routes: list[list[int]]) -> float:
    """Exact float Euclidean length of ``routes`` (depot to depot)."""
    d = inst.distance_matrix()
    total = 0.0
    for r in routes:
        path = [0, *r, 0]
        total += float(sum(d[a, b] for a, b in zip(path, path[1:], strict=False)))
    return total


def result_json(inst: VrptwInstance, solution: Solution) -> dict[str, object]:
    routes = routes_of(solution)
    return {
        "instance": inst.name,
        "routes": routes,
        "distance": round(route_distance(inst, routes), 4),
        "vehicles": len(routes),
        "unassigned": [int(u.visit_id) for u in solution.unassigned],
        "seconds": solution.solve_seconds,
    }
