"""Loads and validates the rate tables (pandas, once at start-up) into structures that answer a
quote in microseconds.

Every check names the file, the CSV line and the problem, so a broken table stops start-up with a
message an operator can act on. Nothing is filled in: a price the tables do not give stays missing
and is reported by the quote engine as NO_PUBLISHED_RATE.
"""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pandas as pd

from rates.acceptance_tables import load_acceptance_rules, load_fx_rates, load_manifest
from rates.book import (
    ZONE_SCHEME_ZONES,
    Acceptance,
    Brackets,
    ConsolidationContract,
    ConsolidationLane,
    DeliveryRule,
    InsuranceRule,
    Limit,
    ProductInfo,
    ProhibitionRule,
    RateBook,
    RateTable,
)
from rates.csvread import ISO_REGIONS, TableError, bool_at, date_at, ints, line_of, product_at, read_csv, region_at
from rates.model import ContentsFlag, Product, TableRef

__all__ = ["ISO_REGIONS", "TableError"]  # where callers have always found them

ACCEPTANCE_STATUSES = {"acceptable", "not_acceptable", "no_service"}
ZONE_FAMILIES = {"ems", "parcel", "letter_post"}


# ---------------------------------------------------------------------------------------------
# Reading


def _brackets(path: Path, rows: pd.DataFrame, key: str, weights_min: pd.Series, weights_max: pd.Series, prices: pd.Series) -> Brackets:
    """Validates one zone's brackets: start at 1 g, no gaps or overlaps, prices never falling."""
    order = sorted(rows.index, key=lambda i: (weights_min[i], weights_max[i]))
    expected_min = 1
    last_price = 0
    tops: list[int] = []
    amounts: list[int] = []
    for i in order:
        lo, hi, price = int(weights_min[i]), int(weights_max[i]), int(prices[i])
        if hi < lo:
            raise TableError(path, line_of(i), f"{key}: bracket {lo}-{hi} g ends before it starts")
        if lo > expected_min:
            raise TableError(path, line_of(i), f"{key}: gap in brackets: nothing covers {expected_min}-{lo - 1} g")
        if lo < expected_min:
            raise TableError(path, line_of(i), f"{key}: bracket {lo}-{hi} g overlaps the previous bracket (ends at {expected_min - 1} g)")
        if price <= 0:
            raise TableError(path, line_of(i), f"{key}: price must be positive, got {price}")
        if price < last_price:
            raise TableError(path, line_of(i), f"{key}: price {price} JPY for {lo}-{hi} g is below the previous bracket's {last_price} JPY")
        tops.append(hi)
        amounts.append(price)
        expected_min = hi + 1
        last_price = price
    return Brackets(tuple(tops), tuple(amounts))


def _zone_set(path: Path, line: int, raw: str, scheme: str) -> frozenset[int]:
    zones = set()
    for part in (p.strip() for p in raw.split(";") if p.strip()):
        if not part.isdigit() or int(part) not in ZONE_SCHEME_ZONES[scheme]:
            raise TableError(path, line, f"low_confidence_zones must list zones of scheme {scheme} joined by ';', got {raw!r}")
        zones.add(int(part))
    return frozenset(zones)


RATE_COLUMNS = ["product", "zone", "min_weight_g", "max_weight_g", "price_jpy", "effective_from", "source_id"]


def _rate_table(directory: Path, manifest_path: Path, line: int, meta: pd.Series, sources: dict[str, str]) -> RateTable:
    product = product_at(manifest_path, line, meta["product"])
    effective_from = date_at(manifest_path, line, "effective_from", meta["effective_from"])
    effective_to = date_at(manifest_path, line, "effective_to", meta["effective_to"]) if meta["effective_to"] else None
    if effective_to is not None and effective_to < effective_from:
        raise TableError(manifest_path, line, "effective_to is before effective_from")
    scheme = meta["zone_scheme"]
    if scheme not in ZONE_SCHEME_ZONES:
        raise TableError(manifest_path, line, f"unknown zone_scheme {scheme!r}")
    source_ids = [s for s in meta["source_id"].split(";") if s]
    unknown = [s for s in source_ids if s not in sources]
    if not source_ids or unknown:
        raise TableError(manifest_path, line, f"source_id must name sources in sources.csv, got {meta['source_id']!r}")

    path = directory / meta["file"]
    frame = read_csv(path, RATE_COLUMNS)
    if frame.empty:
        raise TableError(path, None, "table has no rows")
    zones = ints(frame, path, "zone", minimum=1)
    lows = ints(frame, path, "min_weight_g", minimum=1)
    highs = ints(frame, path, "max_weight_g", minimum=1)
    prices = ints(frame, path, "price_jpy", minimum=1)
    for index, row in frame.iterrows():
        if row["product"] != product.value:
            raise TableError(path, line_of(index), f"product {row['product']!r} does not match the manifest's {product.value!r}")
        if int(zones[index]) not in ZONE_SCHEME_ZONES[scheme]:
            raise TableError(path, line_of(index), f"zone {row['zone']} is not a zone of scheme {scheme}")
        if row["effective_from"] != meta["effective_from"]:
            raise TableError(path, line_of(index), f"effective_from {row['effective_from']!r} differs from the manifest's {meta['effective_from']!r}")
        if not row["source_id"] or any(s not in sources for s in row["source_id"].split(";")):
            raise TableError(path, line_of(index), f"source_id {row['source_id']!r} is not in sources.csv")
    by_zone: dict[int, Brackets] = {}
    for zone, rows in frame.groupby(zones.astype(int)):
        by_zone[int(zone)] = _brackets(path, rows, f"zone {zone}", lows, highs, prices)

    typed = pd.DataFrame(
        {
            "product": product.value,
            "zone": zones.astype("int64"),
            "min_weight_g": lows.astype("int64"),
            "max_weight_g": highs.astype("int64"),
            "price_jpy": prices.astype("int64"),
            "source_id": frame["source_id"],
        }
    ).sort_values(["zone", "min_weight_g"], ignore_index=True)
    ref = TableRef(
        table_id=meta["table_id"],
        product=product,
        effective_from=effective_from,
        effective_to=effective_to,
        effective_from_confirmed=bool_at(manifest_path, line, "effective_from_confirmed", meta["effective_from_confirmed"]),
        source="; ".join(sources[s] for s in source_ids),
        confidence=meta["confidence"],
        low_confidence_zones=_zone_set(manifest_path, line, meta["low_confidence_zones"], scheme),
    )
    return RateTable(
        ref=ref,
        zone_scheme=scheme,
        quotable=bool_at(manifest_path, line, "quotable", meta["quotable"]),
        confidence=meta["confidence"],
        notes=meta["notes"],
        file=meta["file"],
        zones=by_zone,
        frame=typed,
    )


def load_rate_book(directory: Path, consolidation_file: Path) -> RateBook:
    """Reads and validates every table; raises TableError naming the file, line and problem."""
    directory = Path(directory)
    sources_frame = read_csv(directory / "sources.csv", ["source_id", "source"])
    sources = dict(zip(sources_frame["source_id"], sources_frame["source"], strict=True))
    products = _products(directory)
    tables = _tables(directory, sources, products)
    zones, names = _zones(directory)
    acceptance, data_as_of = _acceptance(directory, products)
    fx = load_fx_rates(directory, sources)
    return RateBook(
        tables=tables,
        products=products,
        zones=zones,
        country_names=names,
        acceptance=acceptance,
        limits=_limits(directory, tables),
        insurance=_insurance(directory),
        uninsured_compensation=_uninsured(directory),
        delivery=_delivery(directory),
        prohibitions=_prohibitions(directory),
        consolidation=load_consolidation(consolidation_file),
        sources=sources,
        data_as_of=data_as_of,
        acceptance_rules=load_acceptance_rules(directory, sources, {p: i.acceptance_service for p, i in products.items()}, fx),
        fx=fx,
        checked=load_manifest(directory),
    )


def _products(directory: Path) -> dict[Product, ProductInfo]:
    products_path = directory / "products.csv"
    products_frame = read_csv(products_path, ["product", "name", "method", "zone_family", "acceptance_service", "tracked", "notes"])
    products: dict[Product, ProductInfo] = {}
    for index, row in products_frame.iterrows():
        product = product_at(products_path, line_of(index), row["product"])
        products[product] = ProductInfo(
            product=product,
            name=row["name"],
            zone_family=row["zone_family"],
            acceptance_service=row["acceptance_service"],
            tracked=bool_at(products_path, line_of(index), "tracked", row["tracked"]),
            notes=row["notes"],
        )
    return products


def _tables(directory: Path, sources: dict[str, str], products: dict[Product, ProductInfo]) -> dict[Product, tuple[RateTable, ...]]:
    manifest_path = directory / "rate_tables.csv"
    manifest = read_csv(
        manifest_path,
        [
            "table_id",
            "product",
            "file",
            "effective_from",
            "effective_to",
            "effective_from_confirmed",
            "zone_scheme",
            "quotable",
            "confidence",
            "low_confidence_zones",
            "source_id",
            "notes",
        ],
    )
    if manifest["table_id"].duplicated().any():
        index = manifest.index[manifest["table_id"].duplicated()][0]
        raise TableError(manifest_path, line_of(index), f"duplicate table_id {manifest['table_id'][index]!r}")
    tables: dict[Product, list[RateTable]] = {}
    for index, meta in manifest.iterrows():
        table = _rate_table(directory, manifest_path, line_of(index), meta, sources)
        if table.ref.product not in products:
            raise TableError(manifest_path, line_of(index), f"product {table.ref.product.value!r} is not in products.csv")
        tables.setdefault(table.ref.product, []).append(table)
    for product, versions in tables.items():
        versions.sort(key=lambda t: t.ref.effective_from)
        quotable = [t for t in versions if t.quotable]
        for earlier, later in itertools.pairwise(quotable):
            if earlier.ref.effective_to is None or earlier.ref.effective_to >= later.ref.effective_from:
                raise TableError(manifest_path, None, f"{product.value}: {earlier.ref.table_id} overlaps {later.ref.table_id}; set its effective_to")
    return {p: tuple(v) for p, v in tables.items()}


def _zones(directory: Path) -> tuple[dict[tuple[str, str], int], dict[str, str]]:
    zones_path = directory / "zones.csv"
    zones_frame = read_csv(zones_path, ["region_code", "japan_post_code", "country_name", "zone_family", "zone", "as_of", "source_id"])
    zone_numbers = ints(zones_frame, zones_path, "zone", minimum=1)
    zones: dict[tuple[str, str], int] = {}
    names: dict[str, str] = {}
    for index, row in zones_frame.iterrows():
        line = line_of(index)
        region = region_at(zones_path, line, row["region_code"])
        if row["zone_family"] not in ZONE_FAMILIES:
            raise TableError(zones_path, line, f"unknown zone_family {row['zone_family']!r}")
        zone = int(zone_numbers[index])
        if zone not in ZONE_SCHEME_ZONES["2023-10"]:
            raise TableError(zones_path, line, f"unknown zone {zone}; zones are 1 to 5")
        key = (region, row["zone_family"])
        if key in zones and zones[key] != zone:
            raise TableError(zones_path, line, f"{region} is in zone {zones[key]} and zone {zone} for {row['zone_family']}")
        zones[key] = zone
        names.setdefault(region, row["country_name"])
    return zones, names


def _acceptance(directory: Path, products: dict[Product, ProductInfo]) -> tuple[dict[tuple[str, str], Acceptance], str]:
    """The crawl of Japan Post's country pages: the base the dated rules (acceptance_rules.csv) override."""
    acceptance_path = directory / "acceptance.csv"
    acceptance_frame = read_csv(acceptance_path, ["region_code", "service", "status", "restriction_note", "as_of", "source_id"])
    acceptance: dict[tuple[str, str], Acceptance] = {}
    services = {p.acceptance_service for p in products.values()}
    for index, row in acceptance_frame.iterrows():
        line = line_of(index)
        region = region_at(acceptance_path, line, row["region_code"])
        if row["status"] not in ACCEPTANCE_STATUSES:
            raise TableError(acceptance_path, line, f"unknown status {row['status']!r}")
        acceptance[(region, row["service"])] = Acceptance(row["status"], row["restriction_note"], row["as_of"])
    missing_services = services - {service for _, service in acceptance}
    if missing_services:
        raise TableError(acceptance_path, None, f"no rows for service(s) {', '.join(sorted(missing_services))}")
    return acceptance, str(acceptance_frame["as_of"].max())


def _limits(directory: Path, tables: dict[Product, tuple[RateTable, ...]]) -> dict[tuple[Product, str], Limit]:
    limits_path = directory / "limits.csv"
    limit_columns = ["max_weight_g", "max_length_mm", "max_length_plus_girth_mm", "max_sum_of_sides_mm", "min_length_mm", "min_width_mm"]
    limits_frame = read_csv(limits_path, ["product", "region_code", *limit_columns, "tolerance_mm", "source_id"])
    parsed = {c: ints(limits_frame, limits_path, c, optional=c != "max_weight_g", minimum=1) for c in limit_columns}
    tolerances = ints(limits_frame, limits_path, "tolerance_mm", optional=True, minimum=0)
    limits: dict[tuple[Product, str], Limit] = {}
    for index, row in limits_frame.iterrows():
        line = line_of(index)
        product = product_at(limits_path, line, row["product"])
        region = region_at(limits_path, line, row["region_code"], allow_any=True)

        def opt(column: str, i: int = index) -> int | None:
            v = parsed[column][i]
            return None if pd.isna(v) else int(v)

        tolerance = 0 if pd.isna(tolerances[index]) else int(tolerances[index])
        limits[(product, region)] = Limit(
            int(parsed["max_weight_g"][index]),
            max_length_mm=opt("max_length_mm"),
            max_length_plus_girth_mm=opt("max_length_plus_girth_mm"),
            max_sum_of_sides_mm=opt("max_sum_of_sides_mm"),
            min_length_mm=opt("min_length_mm"),
            min_width_mm=opt("min_width_mm"),
            tolerance_mm=tolerance,
        )
    for product in tables:
        if any(t.quotable for t in tables[product]) and (product, "*") not in limits:
            raise TableError(limits_path, None, f"no default (region_code *) limits for {product.value}")
    return limits


def _insurance(directory: Path) -> dict[Product, InsuranceRule]:
    insurance_path = directory / "insurance.csv"
    ins_columns = ["included_cover_jpy", "first_step_cover_jpy", "first_step_fee_jpy", "step_cover_jpy", "step_fee_jpy", "max_cover_jpy"]
    ins_frame = read_csv(insurance_path, ["product", "insurable", *ins_columns, "source_id", "notes"])
    ins_values = {c: ints(ins_frame, insurance_path, c, optional=c != "included_cover_jpy") for c in ins_columns}
    insurance: dict[Product, InsuranceRule] = {}
    for index, row in ins_frame.iterrows():
        line = line_of(index)
        product = product_at(insurance_path, line, row["product"])
        insurable = bool_at(insurance_path, line, "insurable", row["insurable"])
        values = {c: (0 if pd.isna(ins_values[c][index]) else int(ins_values[c][index])) for c in ins_columns}
        if insurable and (values["step_cover_jpy"] <= 0 or values["max_cover_jpy"] <= 0):
            raise TableError(insurance_path, line, "an insurable product needs step_cover_jpy and max_cover_jpy")
        insurance[product] = InsuranceRule(insurable=insurable, notes=row["notes"], **values)
    return insurance


def _uninsured(directory: Path) -> dict[Product, Brackets]:
    comp_path = directory / "uninsured_compensation.csv"
    comp_frame = read_csv(comp_path, ["product", "max_weight_g", "max_compensation_jpy", "as_of", "source_id"])
    comp_weights = ints(comp_frame, comp_path, "max_weight_g", minimum=1)
    comp_values = ints(comp_frame, comp_path, "max_compensation_jpy", minimum=1)
    uninsured: dict[Product, Brackets] = {}
    for product_name, rows in comp_frame.groupby("product"):
        product = product_at(comp_path, line_of(rows.index[0]), str(product_name))
        ordered = rows.index[comp_weights[rows.index].argsort()]
        uninsured[product] = Brackets(tuple(int(comp_weights[i]) for i in ordered), tuple(int(comp_values[i]) for i in ordered))
    return uninsured


def _delivery(directory: Path) -> dict[Product, DeliveryRule]:
    delivery_path = directory / "delivery_days.csv"
    delivery_frame = read_csv(delivery_path, ["product", "min_days", "max_days", "unit", "published_text", "as_of", "source_id"])
    d_min = ints(delivery_frame, delivery_path, "min_days", minimum=0)
    d_max = ints(delivery_frame, delivery_path, "max_days", minimum=0)
    delivery: dict[Product, DeliveryRule] = {}
    for index, row in delivery_frame.iterrows():
        line = line_of(index)
        product = product_at(delivery_path, line, row["product"])
        if row["unit"] not in ("day", "month"):
            raise TableError(delivery_path, line, f"unit must be day or month, got {row['unit']!r}")
        if d_max[index] < d_min[index]:
            raise TableError(delivery_path, line, "max_days is below min_days")
        delivery[product] = DeliveryRule(int(d_min[index]), int(d_max[index]), row["unit"], row["published_text"])
    return delivery


def _prohibitions(directory: Path) -> dict[ContentsFlag, tuple[ProhibitionRule, ...]]:
    prohibited_path = directory / "prohibited_contents.csv"
    prohibited_frame = read_csv(prohibited_path, ["flag", "product", "region_code", "rule", "source_id"])
    prohibitions: dict[ContentsFlag, list[ProhibitionRule]] = {}
    for index, row in prohibited_frame.iterrows():
        line = line_of(index)
        try:
            flag = ContentsFlag(row["flag"])
        except ValueError:
            raise TableError(prohibited_path, line, f"unknown contents flag {row['flag']!r}") from None
        if row["product"] != "*":
            product_at(prohibited_path, line, row["product"])
        region = region_at(prohibited_path, line, row["region_code"], allow_any=True)
        prohibitions.setdefault(flag, []).append(ProhibitionRule(flag, row["product"], region, row["rule"]))
    return {f: tuple(v) for f, v in prohibitions.items()}


CONSOLIDATION_COLUMNS = [
    "region_code",
    "min_weight_g",
    "max_weight_g",
    "price_jpy",
    "volumetric_divisor",
    "min_days",
    "max_days",
    "tracked",
    "contract",
]


def load_consolidation(path: Path) -> ConsolidationContract:
    """The forwarder's contract: per destination, price by weight step and a volumetric divisor
    (cm³ per kg: volumetric grams = length × width × height in mm³ ÷ divisor)."""
    path = Path(path)
    frame = read_csv(path, CONSOLIDATION_COLUMNS)
    if frame.empty:
        raise TableError(path, None, "contract has no rows")
    lows = ints(frame, path, "min_weight_g", minimum=1)
    highs = ints(frame, path, "max_weight_g", minimum=1)
    prices = ints(frame, path, "price_jpy", minimum=1)
    divisors = ints(frame, path, "volumetric_divisor", minimum=1)
    d_min = ints(frame, path, "min_days", minimum=0)
    d_max = ints(frame, path, "max_days", minimum=0)
    lanes: dict[str, ConsolidationLane] = {}
    for region, rows in frame.groupby("region_code"):
        first = rows.index[0]
        region_at(path, line_of(first), str(region))
        for column, series in (("volumetric_divisor", divisors), ("min_days", d_min), ("max_days", d_max), ("tracked", frame["tracked"])):
            if series[rows.index].nunique() != 1:
                raise TableError(path, line_of(first), f"{region}: {column} differs between rows of one destination")
        lanes[str(region)] = ConsolidationLane(
            brackets=_brackets(path, rows, str(region), lows, highs, prices),
            volumetric_divisor=int(divisors[first]),
            min_days=int(d_min[first]),
            max_days=int(d_max[first]),
            tracked=bool_at(path, line_of(first), "tracked", frame["tracked"][first]),
        )
    contract_text = str(frame["contract"].iloc[0])
    is_example = "EXAMPLE" in contract_text.upper() or path.name.upper().startswith("EXAMPLE")
    ref = TableRef(
        table_id=f"consolidation@{path.stem}",
        product=Product.CONSOLIDATION,
        effective_from=date(1970, 1, 1),
        effective_to=None,
        effective_from_confirmed=not is_example,
        source=contract_text,
        confidence="example" if is_example else "contract",
    )
    typed = pd.DataFrame(
        {
            "region_code": frame["region_code"],
            "min_weight_g": lows.astype("int64"),
            "max_weight_g": highs.astype("int64"),
            "price_jpy": prices.astype("int64"),
            "volumetric_divisor": divisors.astype("int64"),
        }
    )
    return ConsolidationContract(lanes=lanes, ref=ref, is_example=is_example, frame=typed)
