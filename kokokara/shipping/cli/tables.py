"""`kokokara-shipping tables`: the rate tables for analysts.

kokokara-shipping tables list
kokokara-shipping tables show ems --date 2026-11-01          (or a version: ems_2021_surcharge@2021-06-01)
kokokara-shipping tables export --format parquet --output tables.parquet
kokokara-shipping tables destinations US GB BR
kokokara-shipping tables compare US --weights 500g,1kg,2kg,5kg
kokokara-shipping tables diff ems@2022-06-01 ems@2027-04-01
kokokara-shipping tables chart US --output compare_US.png --max-weight 10kg
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TextIO

import pandas as pd

from kokokara.shipping import cli
from kokokara.shipping.client import ShippingClient, ShippingClientError
from kokokara.shipping.frames import price_grid

FORMATS = ("csv", "parquet", "json")
_WEIGHT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(kg|g)?\s*$", re.IGNORECASE)
MAX_CHART_POINTS = 5000


CONTENTS = ("merchandise", "gift", "sample", "documents", "returned_goods")


def parse_weight(text: str) -> int:
    """'1.2kg' -> 1200, '350g' -> 350, '500' -> 500 (grams)."""
    m = _WEIGHT.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"weight must look like 1.2kg or 350g, got {text!r}")
    grams = round(float(m.group(1)) * (1000 if (m.group(2) or "g").lower() == "kg" else 1))
    if grams <= 0:
        raise argparse.ArgumentTypeError("weight must be positive")
    return grams


def parse_weights(text: str) -> list[int]:
    return [parse_weight(part) for part in text.split(",") if part.strip()]


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date must be YYYY-MM-DD, got {text!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tables",
        help="rate tables for analysts: list, show, export, compare, diff, chart",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="tables_command", required=True, metavar="ACTION")

    p = commands.add_parser("list", help="every table version with its period, completeness and row count")
    p.add_argument("--product", help="only this product, e.g. ems")
    p.add_argument("--as-of", type=parse_date, help="the day 'in force' refers to (default today in Japan)")
    p.add_argument("--json", action="store_true", help="JSON records instead of a table")
    p.set_defaults(func=_list)

    p = commands.add_parser("show", help="the rows of one table, brackets by zone")
    p.add_argument("table", metavar="PRODUCT|TABLE_ID", help="a product (its table in force on --date) or a version id from `tables list`")
    p.add_argument("--date", type=parse_date, help="the day the table is in force (default today in Japan)")
    p.add_argument("--zone", type=int, action="append", default=[], help="only this zone (repeatable)")
    p.add_argument("--json", action="store_true", help="JSON records (one per row) instead of a table")
    p.set_defaults(func=_show)

    p = commands.add_parser("export", help="write tables to CSV, Parquet or JSON (progress on stderr)")
    p.add_argument("tables", nargs="*", metavar="PRODUCT|TABLE_ID", help="what to export (default: every version)")
    p.add_argument("--format", choices=FORMATS, help="file format (default: from the output's suffix)")
    p.add_argument("--output", "-o", type=Path, required=True, help="file to write: one row per table row, with its table_id")
    p.add_argument("--date", type=parse_date, help="for products: the day their table is in force")
    p.add_argument("--page-size", type=int, default=500, help="rows per call (default %(default)s)")
    p.set_defaults(func=_export)

    p = commands.add_parser("destinations", help="destinations with their zones and the methods offered")
    p.add_argument("regions", nargs="*", metavar="REGION", help="ISO 3166-1 alpha-2 codes (default: all)")
    p.add_argument("--ship-date", type=parse_date, help="default today in Japan")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_destinations)

    p = commands.add_parser("compare", help="every method's price to one destination at several weights")
    p.add_argument("region", metavar="REGION", help="destination ISO 3166-1 alpha-2 code, e.g. US")
    p.add_argument("--weights", type=parse_weights, default=parse_weights("250g,500g,1kg,2kg,5kg,10kg,20kg,30kg"), help="comma-separated, e.g. 500g,1kg,2kg")
    p.add_argument("--method", action="append", default=[], help="only this method (repeatable)")
    p.add_argument("--ship-date", type=parse_date, help="picks the tables in force (default today in Japan)")
    p.add_argument("--contents", choices=CONTENTS, default="merchandise", help="what the parcel holds (acceptance may depend on it)")
    p.add_argument("--json", action="store_true", help="JSON records (one per weight and method)")
    p.set_defaults(func=_compare)

    p = commands.add_parser("diff", help="what changed between two versions of a table")
    p.add_argument("base", metavar="BASE_TABLE_ID")
    p.add_argument("target", metavar="TARGET_TABLE_ID")
    p.add_argument("--all", action="store_true", help="also list unchanged rows")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_diff)

    p = commands.add_parser("check", help="validate a tables directory as the server would load it (no server needed)")
    p.add_argument("directory", type=Path, nargs="?", help="the tables (default $SHIPPING_TABLES_DIR or the shipped ones)")
    p.add_argument("--consolidation-file", type=Path, help="default $SHIPPING_CONSOLIDATION_FILE or the shipped example")
    p.set_defaults(func=_check)

    p = commands.add_parser("acceptance-diff", help="what changed in Japan Post's acceptance between two ship dates")
    p.add_argument("from_date", metavar="FROM", type=parse_date)
    p.add_argument("to_date", metavar="TO", type=parse_date)
    p.add_argument("regions", nargs="*", metavar="REGION", help="ISO 3166-1 alpha-2 codes (default: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_acceptance_diff)

    p = commands.add_parser("chart", help="PNG chart: price against weight for every method to one destination")
    p.add_argument("region", metavar="REGION")
    p.add_argument("--output", "-o", type=Path, required=True, help="PNG file to write")
    p.add_argument("--max-weight", type=parse_weight, default=30_000, help="right end of the weight axis (default 30kg)")
    p.add_argument("--step", type=parse_weight, default=50, help="weight sampling step (default 50g)")
    p.add_argument("--method", action="append", default=[], help="only this method (repeatable)")
    p.add_argument("--ship-date", type=parse_date)
    p.add_argument("--contents", choices=CONTENTS, default="merchandise", help="what the parcel holds (acceptance may depend on it)")
    p.add_argument("--width", type=int, default=1200, help="pixels (default %(default)s)")
    p.add_argument("--height", type=int, default=700, help="pixels (default %(default)s)")
    p.set_defaults(func=_chart)


def _run(action: Callable[[ShippingClient, argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Opens the client and turns a failed call into a message on stderr and exit code 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            with ShippingClient(args.server, timeout=args.timeout, auth=cli.client_auth(args)) as client:
                return action(client, args)
        except ShippingClientError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except ImportError as error:  # pyarrow (Parquet) or matplotlib (charts): not in a server install
            print(f"error: {error}; this command needs the analysts' extra: pip install 'kokokara-shipping[analysis]'", file=sys.stderr)
            return 2

    return run


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "-"
    return str(value)


def _text(frame: pd.DataFrame, *, right: tuple[str, ...] = ()) -> str:
    """A plain text table: text columns left-aligned, the `right` ones (numbers) right-aligned."""
    cells = [[_cell(v) for v in frame[c]] for c in frame.columns]
    widths = [max([len(str(c))] + [len(v) for v in col]) for c, col in zip(frame.columns, cells, strict=True)]

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if c in right else v.ljust(w) for c, v, w in zip(frame.columns, values, widths, strict=True)]
        return "  ".join(parts).rstrip()

    rows = [line([str(c) for c in frame.columns]), line(["-" * w for w in widths])]
    rows += [line([col[i] for col in cells]) for i in range(len(frame))]
    return "\n".join(rows)


def _kg(grams: int) -> str:
    return f"{grams / 1000:g} kg" if grams >= 1000 else f"{grams} g"


def _table_spec(spec: str) -> dict[str, str]:
    return {"table_id": spec} if "@" in spec else {"product": spec}


def _date_text(value: object) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).date().isoformat()  # type: ignore[arg-type]


@_run
def _list(client: ShippingClient, args: argparse.Namespace) -> int:
    frame = client.list_tables(args.product, as_of=args.as_of)
    if args.json:
        print(frame.to_json(orient="records", date_format="iso", indent=2))
        return 0
    view = pd.DataFrame(
        {
            "table_id": frame["table_id"],
            "from": frame["effective_from"].map(_date_text),
            "to": frame["effective_to"].map(_date_text),
            "confirmed": frame["effective_date_confirmed"].map({True: "yes", False: "no"}),
            "quotable": frame["quotable"].map({True: "yes", False: "no"}),
            "in force": frame["in_force"].map({True: "yes", False: "no"}),
            "rows": frame["row_count"],
            "up to": frame["max_weight_g"].map(_kg),
            "complete": frame["partial"].map({True: "PARTIAL", False: "yes"}),
            "what is missing": frame["completeness_notes"],
        }
    )
    print(_text(view, right=("rows", "up to")))
    return 0


@_run
def _show(client: ShippingClient, args: argparse.Namespace) -> int:
    frame = client.get_table(on=args.date, zones=args.zone, **_table_spec(args.table))  # type: ignore[arg-type]
    info = frame.attrs["rate_table"]
    if args.json:
        print(frame.to_json(orient="records", indent=2))
        return 0
    end = _date_text(info["effective_to"]) or "no end known"
    confirmed = "" if info["effective_date_confirmed"] else " (start date not confirmed)"
    print(f"{info['table_id']}: {info['product_name']}, in force {_date_text(info['effective_from'])} to {end}{confirmed}")
    print(f"source confidence: {info['confidence']}; {'PARTIAL: ' + info['completeness_notes'] if info['partial'] else 'complete'}")
    if info["notes"]:
        print(f"notes: {info['notes']}")
    print()
    wide = frame.pivot_table(index=["min_weight_g", "max_weight_g"], columns="zone", values="price_jpy", aggfunc="first")
    wide.columns = [f"zone {z}" for z in wide.columns]
    wide = wide.reset_index().rename(columns={"min_weight_g": "from g", "max_weight_g": "to g"})
    print(_text(wide.astype("Int64"), right=tuple(wide.columns)))
    return 0


def _progress(stream: TextIO) -> Callable[[str], None]:
    """Prints progress lines on stderr: rewritten in place on a terminal, one per step otherwise."""
    tty = stream.isatty()

    def show(text: str) -> None:
        stream.write(("\r\033[K" + text) if tty else text + "\n")
        stream.flush()

    return show


def write_frame(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, engine="pyarrow", index=False)
    else:
        frame.to_json(path, orient="records", indent=1)


@_run
def _export(client: ShippingClient, args: argparse.Namespace) -> int:
    fmt = args.format or args.output.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"--format: give one of {', '.join(FORMATS)} (or an output file ending in one)")
    specs = args.tables or list(client.list_tables()["table_id"])
    show = _progress(sys.stderr)
    frames = []
    for n, spec in enumerate(specs, start=1):

        def report(done: int, total: int, n: int = n, spec: str = spec) -> None:
            show(f"export: table {n}/{len(specs)} {spec}: {done}/{total} rows")

        frames.append(client.get_table(on=args.date, page_size=args.page_size, progress=report, **_table_spec(spec)))  # type: ignore[arg-type]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    show(f"export: writing {len(frame)} rows as {fmt}")
    write_frame(frame, args.output, fmt)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(f"wrote {len(frame)} rows of {len(specs)} table(s) to {args.output}")
    return 0


@_run
def _destinations(client: ShippingClient, args: argparse.Namespace) -> int:
    frame = client.destinations(args.regions, ship_date=args.ship_date)
    if args.json:
        print(frame.to_json(orient="records", indent=2))
        return 0
    methods = ["ems", "airmail", "epacket", "sea", "consolidation"]
    view = frame[["region_code", "country_name", "ems_zone", "parcel_zone", "letter_post_zone"]].copy()
    for m in methods:
        view[m] = [("yes" if ok else reason) for ok, reason in zip(frame[m], frame[f"{m}_reason"], strict=True)]
    print(_text(view, right=("ems_zone", "parcel_zone", "letter_post_zone")))
    ruled = frame[frame["acceptance_rules"] != ""]
    if len(ruled):
        print("\nAcceptance rules in force (data/japan_post_tables/acceptance_rules.csv):")
        for region, rules in zip(ruled["region_code"], ruled["acceptance_rules"], strict=True):
            print(f"  {region}: {rules}")
    print(f"\n(Japan Post's country pages as of {frame.attrs['data_as_of']}; dated rules override them)")
    return 0


@_run
def _compare(client: ShippingClient, args: argparse.Namespace) -> int:
    frame = client.compare(args.region, args.weights, methods=args.method, ship_date=args.ship_date, contents=args.contents)
    if args.json:
        print(frame.to_json(orient="records", indent=2))
        return 0
    grid = price_grid(frame).reset_index()
    grid.insert(0, "weight", grid.pop("weight_g").map(_kg))
    print(f"JPY to {frame.attrs['region_code']}, ship date {frame.attrs['ship_date']} (one parcel, no size given; - = unavailable):")
    print(_text(grid, right=tuple(grid.columns)))
    missing = frame[~frame["available"]].drop_duplicates(["method", "reason"])
    if len(missing):
        print("\nunavailable:")
        for _, row in missing.iterrows():
            first = frame[(frame["method"] == row["method"]) & (frame["reason"] == row["reason"])]["weight_g"].min()
            print(f"  {row['method']} (from {_kg(int(first))}): {row['reason']}: {row['message']}")
    return 0


def _check(args: argparse.Namespace) -> int:
    """Loads the tables with the server's own loader: what a reload would accept or refuse."""
    import os

    from kokokara.shipping.server.settings import DEFAULT_CONSOLIDATION_FILE, DEFAULT_TABLES_DIR
    from rates.tables import TableError, load_rate_book

    directory = args.directory or Path(os.environ.get("SHIPPING_TABLES_DIR") or DEFAULT_TABLES_DIR)
    contract = args.consolidation_file or Path(os.environ.get("SHIPPING_CONSOLIDATION_FILE") or DEFAULT_CONSOLIDATION_FILE)
    try:
        book = load_rate_book(directory, contract)
    except TableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    versions = sum(len(v) for v in book.tables.values())
    rates = sum(len(r) for r in book.fx.rates.values())
    print(f"{directory}: ok: {versions} table versions, {len(book.acceptance_rules)} acceptance rules, {rates} exchange rates")
    oldest = min(book.checked.values(), key=lambda c: c.last_checked)
    print(f"least recently checked: {oldest.file} ({oldest.last_checked.isoformat()})")
    return 0


@_run
def _acceptance_diff(client: ShippingClient, args: argparse.Namespace) -> int:
    frame = client.acceptance_diff(args.from_date, args.to_date, args.regions)
    if args.json:
        print(frame.to_json(orient="records", indent=2))
        return 0
    print(f"acceptance {args.from_date} -> {args.to_date}: {len(frame)} change(s)")
    if len(frame):
        view = frame.drop(columns=["product_name", "to_message"]).replace({"": "-"})
        print(_text(view, right=()))
    return 0


@_run
def _diff(client: ShippingClient, args: argparse.Namespace) -> int:
    frame = client.diff(args.base, args.target, include_unchanged=args.all)
    if args.json:
        print(frame.to_json(orient="records", indent=2))
        return 0
    counts = frame.attrs["counts"]
    print(f"{args.base} -> {args.target}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if len(frame):
        view = frame.copy()
        both = view["change"].isin(["changed", "unchanged"])
        view["change_percent"] = [f"{p:+.2f}%" if b else "-" for p, b in zip(view["change_percent"], both, strict=True)]
        view["change_jpy"] = [f"{v:+d}" if b else "-" for v, b in zip(view["change_jpy"], both, strict=True)]
        print(_text(view, right=tuple(c for c in view.columns if c != "change")))
    return 0


@_run
def _chart(client: ShippingClient, args: argparse.Namespace) -> int:
    from kokokara.shipping.cli.charts import price_chart, save_png

    if args.width < 200 or args.height < 150 or args.width > 8000 or args.height > 8000:
        raise ValueError("--width and --height must be between 200x150 and 8000x8000 pixels")
    points = -(-args.max_weight // args.step)
    if points > MAX_CHART_POINTS:
        raise ValueError(f"--max-weight / --step gives {points} weights; at most {MAX_CHART_POINTS}")
    weights = list(range(args.step, args.max_weight + 1, args.step))
    frame = client.compare(args.region, weights, methods=args.method, ship_date=args.ship_date, contents=args.contents)
    table_ids = ", ".join(sorted(set(frame["table_id"]) - {""}))
    figure = price_chart(frame, width_px=args.width, height_px=args.height)
    figure.text(0.01, 0.005, f"tables: {table_ids}", fontsize=7, color="0.4")
    save_png(figure, args.output)
    print(f"wrote {args.output} ({args.width}x{args.height} px, {len(weights)} weights per method)")
    return 0
