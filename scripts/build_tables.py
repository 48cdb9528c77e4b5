"""Builds the tidy tables in data/japan_post_tables/ from the researched facts in
../shared/reference/japan_post/.

The reference files are research notes (wide layouts, "UNKNOWN" cells, prices with thousands
separators, Japan Post's own country codes). The service reads tidy, typed tables instead, so this
script is the one place where the notes are turned into data. It copies figures exactly and never
fills a gap: a cell the reference marks UNKNOWN becomes a missing row, which the quote engine
reports as NO_PUBLISHED_RATE. Run it again when the reference changes:

    .venv/bin/python scripts/build_tables.py [REFERENCE_DIR]
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "japan_post_tables"

# Japan Post's own codes. Kosovo's is mapped to XK (user-assigned, used by CLDR and most shops);
# the others are sub-territories whose ISO parent has its own row in Japan Post's lists, so they
# cannot be addressed by an ISO code and are left out (see data/japan_post_tables/README.md).
JP_CODE_TO_REGION = {"XZ": "XK"}
JP_ONLY_CODES = {"WK", "TA", "AX", "SP", "NT"}

ZONE_FAMILY = {"letter_post": "letter_post", "parcel_post": "parcel", "ems": "ems"}
ACCEPTANCE_SERVICES = ["letter_air", "letter_surface", "parcel_air", "parcel_sal", "parcel_surface", "ems"]


def read(ref: Path, name: str) -> list[dict[str, str]]:
    with (ref / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write(name: str, header: list[str], rows: list[list[object]]) -> None:
    with (OUT / name).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {name}: {len(rows)} rows")


def region(code: str) -> str | None:
    if code in JP_ONLY_CODES:
        return None
    return JP_CODE_TO_REGION.get(code, code)


def yen(text: str) -> int:
    return int(text.replace(",", "").strip())


def rate_rows(ref: Path, name: str, product: str, effective_from: str) -> list[list[object]]:
    out = []
    for r in read(ref, name):
        if "UNKNOWN" in (r["price_jpy"], r["max_weight_g"]):
            continue
        out.append([product, int(r["zone"]), int(r["min_weight_g"]), int(r["max_weight_g"]), yen(r["price_jpy"]), effective_from, r["source_id"]])
    return out


def build(ref: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    header = ["product", "zone", "min_weight_g", "max_weight_g", "price_jpy", "effective_from", "source_id"]

    # Current rate tables. Effective dates: EMS and parcel air are the 2022-06-01 revision (timeline);
    # the others' dates are the best the reference gives, flagged unconfirmed in rate_tables.csv.
    write("ems_rates.csv", header, rate_rows(ref, "ems_rates.csv", "ems", "2022-06-01"))
    write("parcel_air_rates.csv", header, rate_rows(ref, "parcel_air_rates.csv", "parcel_air", "2022-06-01"))
    write("parcel_surface_rates.csv", header, rate_rows(ref, "parcel_surface_rates.csv", "parcel_surface", "2022-06-01"))
    write("small_packet_air_rates.csv", header, rate_rows(ref, "small_packet_air_rates.csv", "small_packet_air", "2023-10-01"))
    write("air_packet_rates.csv", header, rate_rows(ref, "air_packet_rates.csv", "air_packet", "2026-06-01"))

    # Historical: the 2021 ePacket excerpt (4-zone letter-post scheme of 2021-04-01, 100 g brackets
    # up to 300 g; zone 4 at 300 g and everything above 300 g are UNKNOWN).
    rows = []
    for r in read(ref, "historical_epacket_2021.csv"):
        if r["price_jpy"] == "UNKNOWN" or not r["max_weight_g"].isdigit():
            continue
        top = int(r["max_weight_g"])
        rows.append(["epacket_2021", int(r["zone_2021_scheme"]), top - 99, top, yen(r["price_jpy"]), "2021-04-01", r["source_id"]])
    write("epacket_2021_rates.csv", header, rows)

    # Historical: EMS with the 2021-22 special surcharge, old zone 2 only, 500 g to 3 kg.
    rows = []
    low = 1
    for r in read(ref, "historical_ems_special_surcharge_2021.csv"):
        m = re.fullmatch(r"([\d.]+)(k?g)", r["max_weight"])
        if not m or r["total_jpy"] == "UNKNOWN":
            continue
        top = round(float(m.group(1)) * (1000 if m.group(2) == "kg" else 1))
        zone = int(r["zone_2021_scheme"].split()[0])
        rows.append(["ems_2021_surcharge", zone, low, top, yen(r["total_jpy"]), "2021-06-01", r["source_id"]])
        low = top + 1
    write("ems_2021_surcharge_rates.csv", header, rows)

    # Zones per product family, keyed by ISO 3166-1 alpha-2 code.
    rows = []
    for r in read(ref, "zones.csv"):
        code = region(r["iso2"])
        if code is None:
            continue
        rows.append([code, r["iso2"], r["country"], ZONE_FAMILY[r["service"]], int(r["zone"]), r["as_of"], r["source_id"]])
    write("zones.csv", ["region_code", "japan_post_code", "country_name", "zone_family", "zone", "as_of", "source_id"], rows)

    # Acceptance per destination and service, long form.
    rows = []
    for r in read(ref, "service_availability_2024-03-01.csv"):
        code = region(r["iso2"])
        if code is None:
            continue
        note = " | ".join(x.strip() for x in (r["restrictions_normal"], r["restrictions_temporary"]) if x.strip())
        for service in ACCEPTANCE_SERVICES:
            rows.append([code, service, r[service], note, r["as_of"], r["source_id"]])
    write("acceptance.csv", ["region_code", "service", "status", "restriction_note", "as_of", "source_id"], rows)

    # Compensation without insurance for parcels, by weight (both parcel products).
    rows = []
    for product in ("parcel_air", "parcel_surface"):
        for r in read(ref, "parcel_uninsured_compensation.csv"):
            rows.append([product, int(r["max_weight_kg"]) * 1000, int(r["max_compensation_jpy"]), r["as_of"], r["source_id"]])
    write("uninsured_compensation.csv", ["product", "max_weight_g", "max_compensation_jpy", "as_of", "source_id"], rows)

    # The source map, as is.
    src = read(ref, "sources.csv")
    write("sources.csv", ["source_id", "source"], [[r["source_id"], r["source"]] for r in src])


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference" / "japan_post")
