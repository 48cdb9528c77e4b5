"""Charts for analysts: price against weight for every method to one destination, drawn as the step
functions the tables are (a price holds up to its bracket's upper weight, then jumps).

Uses matplotlib's object API on an explicit Agg canvas: no pyplot, no global backend state, so it
works headless and in threads.
`price_chart` returns the Figure so callers (and tests) can inspect it before `save_png`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

METHOD_LABELS = {
    "ems": "EMS",
    "airmail": "Airmail",
    "epacket": "ePacket",
    "sea": "Sea",
    "consolidation": "Consolidation",
}


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)


def price_chart(compare: pd.DataFrame, *, title: str = "", width_px: int = 1200, height_px: int = 700, dpi: int = 100) -> Figure:
    """One step line per method from a ShippingClient.compare() frame (weights ascending).

    Each sampled weight carries the price of the bracket it falls in, so the line is drawn
    "steps-pre": the price at weight w holds for the weights since the previous sample up to w.
    Where a method is unavailable the line breaks; a method unavailable at every weight is still
    named in the legend, with its reason."""
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    frame = compare.sort_values(["method", "weight_g"], kind="stable")
    for method in dict.fromkeys(compare["method"]):
        rows = frame[frame["method"] == method]
        available = rows[rows["available"]]
        if available.empty:
            reasons = ", ".join(sorted(set(rows["reason"]) - {""})) or "unavailable"
            ax.plot([], [], linestyle="none", marker="x", label=f"{method_label(method)}: not available ({reasons})")
            continue
        products = " / ".join(dict.fromkeys(available["product_name"]))
        label = method_label(method) if products == method_label(method) else f"{method_label(method)}: {products}"
        top = int(available["weight_g"].max())
        if top < int(rows["weight_g"].max()):
            label += f", up to {_kg(top)}"
        prices = rows["price_jpy"].astype("float64")  # <NA> -> NaN: a gap in the line
        ax.step(rows["weight_g"] / 1000, prices, where="pre", linewidth=1.8, label=label)
    ax.set_xlabel("Weight (kg)")
    ax.set_ylabel("Price (JPY)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.set_title(title or default_title(compare))
    ax.legend(loc="upper left", title="Method")
    figure.tight_layout()
    return figure


def default_title(compare: pd.DataFrame) -> str:
    """'Price by weight to US (Japan Post zone 4), ship date 2026-11-26'."""
    title = f"Price by weight to {compare.attrs.get('region_code', '?')}"
    zones = sorted({int(z) for z in compare["zone"].dropna() if int(z) > 0})
    if zones:
        title += f" (Japan Post zone {', '.join(map(str, zones))})"
    if compare.attrs.get("ship_date"):
        title += f", ship date {compare.attrs['ship_date']}"
    return title


def _kg(grams: int) -> str:
    return f"{grams / 1000:g} kg" if grams >= 1000 else f"{grams} g"


def save_png(figure: Figure, path: Path | str) -> Path:
    """Writes the figure at exactly its pixel size (figsize x dpi)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=figure.dpi)
    return path
