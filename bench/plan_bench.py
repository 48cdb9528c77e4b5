"""Packing plan benchmarks (rates/packing.py, in-process, the shipped tables and box catalogue).

1. Plans per second for random carts of 3, 10 and 50 units (distinct items), all five methods, at
   the default time budget (50 ms) and, for comparison, a generous one: how often the plan is
   proven optimal, and the median time per plan.
2. Savings: on 1,000 random carts (1 to 8 lines, 1 to 3 units each, 50 g to 4 kg, varied sizes and
   destinations), each method's plan against the whole cart as one parcel in the cheapest box that
   holds it (carts with no such box are counted apart): total and median savings, and how often the
   plan splits the cart.

    .venv/bin/python bench/plan_bench.py [--carts 1000] [--seconds 5] [--seed 1]

Prints a table and one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kokokara.shipping.server.settings import DEFAULT_BOX_CATALOGUE_FILE, DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
from rates.cart import CartItem, PlanRequest, load_box_catalogue, parcel_quote_request
from rates.model import ALL_METHODS, Method
from rates.packing import Planner
from rates.quote import QuoteEngine
from rates.tables import load_rate_book

SHIP = date(2026, 12, 5)
REGIONS = ["DE", "GB", "FR", "AU", "CN", "TW", "KR", "SG", "BR", "CA"]


def random_item(rng: random.Random, n: int, quantity: int = 1) -> CartItem:
    size = (rng.randint(40, 320), rng.randint(30, 220), rng.randint(10, 160))
    return CartItem(f"S{n}", f"Item {n}", rng.randint(50, 4000), size, quantity, rng.randint(500, 20000))


def throughput(engine: QuoteEngine, units: int, budget: float, seconds: float, rng: random.Random) -> dict[str, float]:
    catalogue = load_box_catalogue(DEFAULT_BOX_CATALOGUE_FILE)
    planner = Planner(engine, budget_seconds=budget)
    times, optimal, plans = [], 0, 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or plans < 3:
        req = PlanRequest(rng.choice(REGIONS), tuple(random_item(rng, n) for n in range(units)), catalogue, SHIP, SHIP)
        t = time.perf_counter()
        plan = planner.plan(req)
        times.append(time.perf_counter() - t)
        plans += 1
        optimal += bool(plan.plans) and all(p.optimal for p in plan.plans)
    return {"plans_per_second": plans / sum(times), "median_ms": statistics.median(times) * 1000, "proven_share": optimal / plans, "plans": plans}


def savings(engine: QuoteEngine, carts: int, rng: random.Random) -> dict[str, dict[str, float]]:
    catalogue = load_box_catalogue(DEFAULT_BOX_CATALOGUE_FILE)
    planner = Planner(engine, budget_seconds=1.0)
    out: dict[str, dict[str, float]] = {}
    per: dict[Method, list[tuple[int, int, int]]] = {m: [] for m in ALL_METHODS}
    no_single: dict[Method, int] = dict.fromkeys(ALL_METHODS, 0)
    for _ in range(carts):
        items = tuple(random_item(rng, n, rng.randint(1, 3)) for n in range(rng.randint(1, 8)))
        while sum(i.quantity for i in items) > 10:
            items = items[:-1]
        req = PlanRequest(rng.choice(REGIONS), items, catalogue, SHIP, SHIP)
        plan = planner.plan(req)
        counts = tuple(i.quantity for i in items)
        single: dict[Method, int] = {}
        volume = sum(i.quantity * i.volume for i in items)
        for box in catalogue:
            if volume > box.inner_volume * planner.fill_factor or not all(all(s <= t for s, t in zip(i.sides, box.inner_sorted, strict=True)) for i in items):
                continue
            for option in engine.quote(parcel_quote_request(req, counts, box, ALL_METHODS)).options:
                single[option.method] = min(single.get(option.method, option.total_jpy), option.total_jpy)
        for p in plan.plans:
            if p.method in single:
                per[p.method].append((single[p.method], p.total_jpy, len(p.parcels)))
            else:
                no_single[p.method] += 1
    for method, rows in per.items():
        if not rows:
            continue
        before = sum(r[0] for r in rows)
        after = sum(r[1] for r in rows)
        cheaper = [r for r in rows if r[1] < r[0]]
        out[method.value] = {
            "carts": len(rows),
            "one_parcel_jpy": before,
            "planned_jpy": after,
            "saved_percent": round(100 * (before - after) / before, 2),
            "carts_cheaper": len(cheaper),
            "median_saving_when_cheaper_jpy": statistics.median(r[0] - r[1] for r in cheaper) if cheaper else 0,
            "plans_with_several_parcels": sum(1 for r in rows if r[2] > 1),
            "carts_without_one_parcel_option": no_single[method],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--carts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    engine = QuoteEngine(load_rate_book(DEFAULT_TABLES_DIR, DEFAULT_CONSOLIDATION_FILE))
    figures: dict[str, object] = {"python": platform.python_version(), "machine": platform.machine(), "cpus": __import__("os").cpu_count()}
    print(f"{'units':>5} {'budget':>8} {'plans/s':>8} {'median ms':>10} {'proven':>7}")
    for units in (3, 10, 50):
        for budget in (0.05, 2.0):
            row = throughput(engine, units, budget, args.seconds, rng)
            figures[f"plans_{units}_budget_{int(budget * 1000)}ms"] = row
            print(f"{units:>5} {int(budget * 1000):>6}ms {row['plans_per_second']:>8.1f} {row['median_ms']:>10.1f} {row['proven_share']:>7.0%}")
    saved = savings(engine, args.carts, rng)
    figures["savings"] = saved
    print(f"\n{args.carts} random carts, plan vs the whole cart as one parcel (cheapest box that holds it):")
    print(f"{'method':>14} {'carts':>6} {'one parcel':>12} {'planned':>12} {'saved':>7} {'cheaper':>8} {'median':>7} {'split':>6} {'no box':>7}")
    for method, r in saved.items():
        print(
            f"{method:>14} {r['carts']:>6} {r['one_parcel_jpy']:>12,} {r['planned_jpy']:>12,} {r['saved_percent']:>6}% {r['carts_cheaper']:>8}"
            f" {r['median_saving_when_cheaper_jpy']:>7} {r['plans_with_several_parcels']:>6} {r['carts_without_one_parcel_option']:>7}"
        )
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()
