"""A peer side by side: Karrio's universal rate-sheet rating, configured with our EMS table and
zones, against our quote engine.

    pip install -e '.[bench]'          # karrio + karrio-generic (an optional bench dependency)
    .venv/bin/python bench/peer_karrio.py [--parcels 500] [--rounds 5]

Karrio's "generic" carrier (karrio-generic) rates from a rate sheet through the universal rating
mixin (karrio.universal.mappers.rating_proxy): a service level (EMS) with one service zone per
(Japan Post EMS zone, weight bracket): the zone's countries, the bracket's weights and its price.
Brackets in our table are (min_weight_g, max_weight_g] inclusive at both ends in whole grams;
Karrio matches min <= weight < max, so each zone gets max_weight = max_weight_g + 1 g.

1. Same price: for every parcel (a random served destination and weight up to 30 kg), Karrio's EMS
   rate must equal our EMS postage. Any difference is listed and the script exits 1.
2. Time per quote, same run, same parcels, interleaved rounds (median of rounds):
   - Karrio: Rating.fetch(RateRequest).from_(gateway).parse() for EMS alone;
   - ours: QuoteEngine.quote for all five methods at once (EMS, airmail, ePacket, sea,
     consolidation), and the same through the gRPC wire path is in bench/load.py.
   Target: ours at least 20 times faster per quote.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR  # noqa: E402
from rates.model import Method, Parcel, QuoteRequest  # noqa: E402
from rates.quote import QuoteEngine  # noqa: E402
from rates.tables import load_rate_book  # noqa: E402

try:
    from loguru import logger

    logger.remove()  # karrio logs through loguru at INFO by default (gateway and plugin loading)
    import karrio.core.models as km
    import karrio.sdk as karrio
except ImportError:  # pragma: no cover - optional
    sys.exit("karrio is not installed: pip install -e '.[bench]' (karrio, karrio-generic and jinja2, which karrio's label add-on needs)")

SHIP_DAY = date(2026, 11, 30)


def ems_rate_sheet(tables_dir: Path) -> list[km.ServiceLevel]:
    """Our EMS table (the one in force: ems_rates.csv) and EMS zones as one Karrio service level.
    Destinations Japan Post takes no EMS to (acceptance.csv: no_service, not_acceptable) are left
    out of the zones, as a Karrio user would: a rate sheet has no other way to say so."""
    with (tables_dir / "acceptance.csv").open(encoding="utf-8") as f:
        accepted = {row["region_code"] for row in csv.DictReader(f) if row["service"] == "ems" and row["status"] == "acceptable"}
    countries: dict[str, list[str]] = defaultdict(list)
    with (tables_dir / "zones.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["zone_family"] == "ems" and row["region_code"] in accepted:
                countries[row["zone"]].append(row["region_code"])
    zones = []
    with (tables_dir / "ems_rates.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["zone"] not in countries:
                continue
            zones.append(
                km.ServiceZone(
                    label=f"EMS zone {row['zone']} up to {row['max_weight_g']} g",
                    rate=float(row["price_jpy"]),
                    min_weight=float(row["min_weight_g"]),
                    max_weight=float(row["max_weight_g"]) + 1,
                    country_codes=countries[row["zone"]],
                )
            )
    ems = km.ServiceLevel(
        service_name="EMS",
        service_code="japanpost_ems",
        currency="JPY",
        weight_unit="G",
        max_weight=30_000,
        domicile=False,
        international=True,
        zones=zones,
    )
    return [ems]


def karrio_gateway(tables_dir: Path) -> object:
    return karrio.gateway["generic"].create(
        {
            "display_name": "Japan Post",
            "custom_carrier_name": "japanpost",
            "carrier_id": "japanpost",
            "account_country_code": "JP",
            "services": ems_rate_sheet(tables_dir),
        }
    )


def karrio_request(region: str, grams: int) -> km.RateRequest:
    return km.RateRequest(
        shipper=km.Address(country_code="JP", city="Tokyo", postal_code="104-0061"),
        recipient=km.Address(country_code=region, city="Somewhere", postal_code="00000"),
        # In kilograms: a parcel given in grams is carried in pounds rounded to 0.01 lb by
        # karrio.lib.to_packages (4,002 g becomes 4,000.75 g, one bracket too low); kilograms keep
        # the exact grams.
        parcels=[km.Parcel(weight=grams / 1000, weight_unit="KG", dimension_unit="CM")],
        services=["japanpost_ems"],
    )


def karrio_ems(gateway: object, request: km.RateRequest) -> float | None:
    rates, _messages = karrio.Rating.fetch(request).from_(gateway).parse()
    return float(rates[0].total_charge) if rates else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parcels", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    book = load_rate_book(DEFAULT_TABLES_DIR, DEFAULT_CONSOLIDATION_FILE)
    engine = QuoteEngine(book, handling_days=3)
    gateway = karrio_gateway(DEFAULT_TABLES_DIR)
    ems_regions = sorted(r for (r, family) in book.zones if family == "ems")
    rng = random.Random(args.seed)
    # half anywhere up to 30 kg, half on a bracket's edge (its last gram, or the first of the next)
    edges = sorted({int(r["max_weight_g"]) + d for r in csv.DictReader((DEFAULT_TABLES_DIR / "ems_rates.csv").open()) for d in (0, 1)} - {30_001})
    parcels = [
        (rng.choice(ems_regions), rng.choice(edges) if i % 2 else rng.choice((rng.randint(1, 2000), rng.randint(1, 30_000)))) for i in range(args.parcels)
    ]
    ours = [QuoteRequest(region, (Parcel(grams),), SHIP_DAY, SHIP_DAY) for region, grams in parcels]
    theirs = [karrio_request(region, grams) for region, grams in parcels]

    # 1. same price
    mismatches, compared, neither = [], 0, Counter()
    for (region, grams), q, k in zip(parcels, ours, theirs, strict=True):
        quote = engine.quote(q)
        ems = next((o for o in quote.options if o.method is Method.EMS), None)
        refusal = next((u.reason for u in quote.unavailable if u.method is Method.EMS), None)
        their = karrio_ems(gateway, k)
        our = float(ems.postage_jpy) if ems else None
        if our is None and their is None and refusal is not None:
            neither[refusal.name] += 1  # both refuse: no EMS to that destination
        elif our != their:
            mismatches.append({"region": region, "grams": grams, "ours": our, "karrio": their})
        else:
            compared += 1

    # 2. time per quote, interleaved rounds
    def per_quote(fn: object, items: list) -> float:
        started = time.perf_counter()
        for item in items:
            fn(item)  # type: ignore[operator]
        return (time.perf_counter() - started) / len(items)

    for item in ours[:50]:
        engine.quote(item)
    karrio_times, our_times = [], []
    for _ in range(args.rounds):
        karrio_times.append(per_quote(lambda r: karrio_ems(gateway, r), theirs))
        our_times.append(per_quote(engine.quote, ours))
    k_us, o_us = statistics.median(karrio_times) * 1e6, statistics.median(our_times) * 1e6

    from importlib.metadata import version

    import karrio as karrio_pkg  # noqa: F401  (namespace package: version from metadata)

    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "karrio": version("karrio"),
        "karrio_generic": version("karrio-generic"),
        "load_average_1m": os.getloadavg()[0],
        "parcels": args.parcels,
        "same_price": compared,
        "both_refuse": dict(neither),
        "mismatches": mismatches,
        "karrio_ems_quote_us": k_us,
        "ours_all_five_methods_us": o_us,
        "speedup": k_us / o_us,
    }
    print(f"karrio {result['karrio']} (karrio-generic {result['karrio_generic']}), {result['machine']}, load average {result['load_average_1m']:.2f}")
    print(f"same EMS price for {compared} of {args.parcels} parcels; {len(mismatches)} differ")
    print(f"both refuse EMS for {sum(neither.values())} parcels (our reasons: {dict(neither)})")
    for m in mismatches[:20]:
        print(f"  differs: {m}")
    print(f"one EMS quote, Karrio universal rate sheet     {k_us:9.1f} us  (median of {args.rounds} rounds x {args.parcels})")
    print(f"one quote, all five methods, ours (in-process) {o_us:9.1f} us")
    print(f"ours is {result['speedup']:.1f} times faster per quote (target >= 20)")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "peer_karrio.json").write_text(json.dumps(result, indent=2))
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
