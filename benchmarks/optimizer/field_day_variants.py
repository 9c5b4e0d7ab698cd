"""Field days (benchmark (b)) with the field strategies changed, against VROOM's figures.

Measures a search setting before it goes into ``optimizer.solver.FIELD_STRATEGIES``: the same
generator, ``run_posventa`` and figures as ``field_day.py``; VROOM runs once per seed and its
figures are kept in a JSON file, so a variant costs 30 s per seed. A variant is a ``+``-joined
list of changes applied to both strategies:

    base                      the strategies as they are
    acc:simulated_annealing   ILS acceptance
    sa:F0/F1                  simulated annealing from temperature F0 down to F1 times the
                              mean arc cost (OR-Tools' automatic temperatures: 0.1/0.001)
    sisr25/12                 SISR ruin sizes (first strategy / second strategy)
    str:10                    longest string SISR removes
    nb:N[/M]                  ruined routes chosen among the N nearest visits (default 100;
                              first strategy / second strategy)
    rw:N                      a random-walk ruin of N visits drawn in turn with SISR
    bypass:F                  SISR's bypass factor (default 0.01)
    rec:S1[/S2]               how ruined visits are put back (a first-solution strategy's
                              name, default LOCAL_CHEAPEST_INSERTION; first strategy / second)
    on:OP1,OP2                local-search operators switched back on
    off:OP1,OP2               further local-search operators switched off
    plus:OP1,OP2              local-search operators that are off by default switched on
    gls2                      second strategy replaced by guided local search
    ins2                      second strategy replaced by guided local search from the quick
                              insertion plan (what large days run)
    pw:W                      ``solver.PRIORITY_WEIGHT`` (a visit's drop penalty is
                              ``drop_penalty * (1 + W * priority)``)

    .venv/bin/python benchmarks/optimizer/field_day_variants.py sisr25/12 --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import field_day  # noqa: E402

from optimizer import solver  # noqa: E402
from optimizer.solver import Strategy  # noqa: E402


def _for_strategy(sizes: str, k: int) -> int:
    """Strategy ``k``'s value of ``"A/B"`` (the last one for the strategies after it)."""
    values = [int(x) for x in sizes.split("/")]
    return values[min(k, len(values) - 1)]


def vary(variant: str, strategies: tuple[Strategy, ...]) -> tuple[Strategy, ...]:
    """``strategies`` with the changes ``variant`` names (see the module docstring)."""
    parts = variant.split("+")
    for part in parts:  # the objective's weight is one for all strategies
        name, _, arg = part.partition(":")
        if name == "pw":
            solver.PRIORITY_WEIGHT = int(arg)
    changed = []
    for k, s in enumerate(strategies):
        kw: dict[str, object] = {}
        for part in parts:
            name, _, arg = part.partition(":")
            if part in ("base", "gls2", "ins2") or name == "pw":
                continue
            if name == "acc":
                kw["acceptance"] = arg
            elif name == "sa":
                t0, t1 = (float(x) for x in arg.split("/"))
                kw["acceptance"] = "simulated_annealing"
                kw["temperatures"] = (t0, t1)
            elif part.startswith("sisr"):
                kw["ruin_size"] = _for_strategy(part[4:], k)
            elif name == "str":
                kw["max_string"] = int(arg)
            elif name == "nb":
                kw["ruin_neighbors"] = _for_strategy(arg, k)
            elif name == "rw":
                kw["random_walk"] = int(arg)
            elif name == "bypass":
                kw["bypass_factor"] = float(arg)
            elif name == "rec":
                names = arg.split("/")
                kw["recreate"] = names[min(k, len(names) - 1)]
            elif name == "off":
                kw["operators_off"] = (*kw.get("operators_off", s.operators_off), *arg.split(","))
            elif name == "plus":
                kw["operators"] = (*kw.get("operators", s.operators), *arg.split(","))
            elif name == "on":
                off = kw.get("operators_off", s.operators_off)
                kw["operators_off"] = tuple(o for o in off if o not in arg.split(","))
            else:
                raise SystemExit(f"unknown change {part!r}")
        changed.append(dataclasses.replace(s, **kw))
    if "gls2" in parts:
        changed[1:] = [solver.GLS_FALLBACK_FIELD]
    if "ins2" in parts:
        changed[1:] = [solver.INSERTION_GLS]
    return tuple(changed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("variant")
    ap.add_argument("--seeds", default="1,2,3,4,5,6,7,8,9")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--vroom-cache", type=Path, default=Path("/tmp/posventa-vroom-figures.json"))
    args = ap.parse_args()
    solver.FIELD_STRATEGIES = vary(args.variant, solver.FIELD_STRATEGIES)
    cache = json.loads(args.vroom_cache.read_text()) if args.vroom_cache.exists() else {}
    wins, total = 0, [0, 0, 0]
    seeds = [int(s) for s in args.seeds.split(",")]
    keys = ("visits_served", "priority_served", "travel_minutes")
    for seed in seeds:
        data = field_day.generate(seed)
        if str(seed) not in cache:
            out, _ = field_day.run_vroom(data, args.seconds)
            cache[str(seed)] = field_day.figures(out, data)
            args.vroom_cache.write_text(json.dumps(cache))
        out, _, errors = field_day.run_posventa(data, args.seconds)
        ours, theirs = field_day.figures(out, data), cache[str(seed)]
        diff = [ours[k] - theirs[k] for k in keys]
        won = diff[0] >= 0 and diff[1] >= 0 and diff[2] <= 0
        wins += won
        total = [a + b for a, b in zip(total, diff, strict=True)]
        row = {"seed": seed, **ours, "vroom": theirs, "at_least_vroom": won}
        print(json.dumps({**row, "checker_errors": len(errors)}), flush=True)
    print(
        json.dumps(
            {
                "variant": args.variant,
                "days_at_least_vroom": f"{wins}/{len(seeds)}",
                "summed_difference_visits_priority_travel": total,
            }
        )
    )


if __name__ == "__main__":
    main()
