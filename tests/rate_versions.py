"""Builds a tables directory with a second EMS version, for the diff and version tests.

A copy of the shipped tables where ems@2022-06-01 ends on 2027-03-31 and ems@2027-04-01 follows it
with three known edits: two prices raised and one bracket split in two.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from kokokara.shipping.server.settings import DEFAULT_TABLES_DIR

NEW_ID = "ems@2027-04-01"
OLD_ID = "ems@2022-06-01"
# (zone, min g, max g) -> (old price, new price)
CHANGED = {(1, 1, 500): (1450, 1500), (4, 29001, 30000): (75100, 76000)}
REMOVED = {(5, 29001, 30000): 77700}
ADDED = {(5, 29001, 29500): 76500, (5, 29501, 30000): 78000}


def make_revised_tables(directory: Path) -> Path:
    target = directory / "tables"
    shutil.copytree(DEFAULT_TABLES_DIR, target)
    ems = pd.read_csv(target / "ems_rates.csv", dtype=str, keep_default_na=False)
    ems["effective_from"] = "2027-04-01"
    for (zone, lo, hi), (old, new) in CHANGED.items():
        hit = (ems["zone"] == str(zone)) & (ems["min_weight_g"] == str(lo)) & (ems["max_weight_g"] == str(hi))
        assert list(ems.loc[hit, "price_jpy"]) == [str(old)], (zone, lo, hi)
        ems.loc[hit, "price_jpy"] = str(new)
    for zone, lo, hi in REMOVED:
        ems = ems[~((ems["zone"] == str(zone)) & (ems["min_weight_g"] == str(lo)) & (ems["max_weight_g"] == str(hi)))]
    added = pd.DataFrame(
        [
            {
                "product": "ems",
                "zone": str(z),
                "min_weight_g": str(lo),
                "max_weight_g": str(hi),
                "price_jpy": str(p),
                "effective_from": "2027-04-01",
                "source_id": "S02",
            }
            for (z, lo, hi), p in ADDED.items()
        ]
    )
    pd.concat([ems, added], ignore_index=True).to_csv(target / "ems_2027_rates.csv", index=False)

    manifest = pd.read_csv(target / "rate_tables.csv", dtype=str, keep_default_na=False)
    manifest.loc[manifest["table_id"] == OLD_ID, "effective_to"] = "2027-03-31"
    new = manifest[manifest["table_id"] == OLD_ID].copy()
    new["table_id"], new["file"], new["effective_from"], new["effective_to"] = NEW_ID, "ems_2027_rates.csv", "2027-04-01", ""
    new["notes"] = "test revision: two prices raised, zone 5's last bracket split"
    pd.concat([manifest, new], ignore_index=True).to_csv(target / "rate_tables.csv", index=False)
    with (target / "manifest.csv").open("a") as checked:
        checked.write("ems_2027_rates.csv,2026-12-05,test revision\n")
    return target
