// Rate tables: CompareRates as a chart (SVG, drawn with DOM calls) and a table; ListRateTables for
// the versions; DiffRateTables between two of them.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#1b6ca8", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#be123c"];

document.addEventListener("DOMContentLoaded", () => {
  const compare = document.getElementById("compare-form");
  compare.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = document.getElementById("compare-result");
    const weights = compare.weights.value.split(/[ ,]+/).filter(Boolean).map(Number);
    const button = compare.querySelector("button");
    busy(button, true);
    try {
      const answer = await call("RateService", "CompareRates", { destinationRegionCode: compare.region.value.trim().toUpperCase(), weightsGrams: weights });
      out.replaceChildren(chart(answer), compareTable(answer));
    } catch (error) {
      showError(out, error);
    } finally {
      busy(button, false);
    }
  });
  const versions = document.getElementById("versions-form");
  versions.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = document.getElementById("versions-result");
    const request = versions.product.value ? { product: versions.product.value } : {};
    try {
      out.replaceChildren(versionsTable((await call("RateService", "ListRateTables", request)).rateTables || []));
    } catch (error) {
      showError(out, error);
    }
  });
});

function series(answer) {
  const byMethod = new Map();
  for (const r of answer.rates || []) {
    const name = r.productName || label(r.method, "SHIPPING_METHOD_");
    if (!byMethod.has(name)) byMethod.set(name, []);
    byMethod.get(name).push(r);
  }
  return byMethod;
}

function chart(answer) {
  const byMethod = series(answer);
  const points = (answer.rates || []).filter((r) => r.available);
  const width = 640, height = 320, left = 70, bottom = 40, top = 16, right = 16;
  const maxW = Math.max(1, ...points.map((r) => Number(r.weightGrams)));
  const maxP = Math.max(1, ...points.map((r) => Number(r.price.units)));
  const x = (w) => left + (w / maxW) * (width - left - right);
  const y = (p) => top + (1 - p / maxP) * (height - top - bottom);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-labelledby", "chart-title");
  const title = document.createElementNS(SVG, "title");
  title.id = "chart-title";
  title.textContent = "Price in JPY by weight for each method to " + answer.destinationRegionCode;
  svg.append(title);
  const line = (x1, y1, x2, y2, cls) => {
    const l = document.createElementNS(SVG, "line");
    Object.entries({ x1, y1, x2, y2 }).forEach(([k, v]) => l.setAttribute(k, v));
    l.setAttribute("class", cls);
    svg.append(l);
  };
  const words = (tx, ty, value, anchor) => {
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("x", tx);
    t.setAttribute("y", ty);
    t.setAttribute("text-anchor", anchor);
    t.textContent = value;
    svg.append(t);
  };
  line(left, y(0), width - right, y(0), "axis");
  line(left, top, left, y(0), "axis");
  for (let i = 0; i <= 4; i++) {
    const p = (maxP * i) / 4;
    words(left - 6, y(p) + 4, Math.round(p).toLocaleString("en-US"), "end");
  }
  let lastTick = -Infinity;
  for (const w of [...new Set(points.map((r) => Number(r.weightGrams)))].sort((a, b) => a - b)) {
    if (x(w) - lastTick < 44) continue; // no labels on top of each other
    lastTick = x(w);
    words(x(w), height - bottom + 18, w >= 1000 ? w / 1000 + " kg" : w + " g", "middle");
  }
  let i = 0;
  const legend = el("ul", { class: "legend" });
  for (const [name, rates] of byMethod) {
    const colour = COLOURS[i++ % COLOURS.length];
    const ok = rates.filter((r) => r.available);
    if (!ok.length) continue;
    const path = document.createElementNS(SVG, "polyline");
    path.setAttribute("points", ok.map((r) => x(Number(r.weightGrams)) + "," + y(Number(r.price.units))).join(" "));
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", colour);
    path.setAttribute("stroke-width", "2.5");
    svg.append(path);
    const swatch = el("span", { class: "swatch", "data-colour": colour });
    swatch.style.background = colour;
    legend.append(el("li", {}, swatch, name));
  }
  return el("figure", { class: "chart" }, svg, el("figcaption", {}, legend));
}

function compareTable(answer) {
  const byMethod = series(answer);
  const weights = [...new Set((answer.rates || []).map((r) => Number(r.weightGrams)))];
  const head = el("tr", {}, el("th", { scope: "col" }, "Method"), weights.map((w) => el("th", { scope: "col", class: "num" }, w + " g")));
  const body = el("tbody", {});
  for (const [name, rates] of byMethod) {
    body.append(el("tr", {}, el("th", { scope: "row" }, name), weights.map((w) => {
      const r = rates.find((x) => Number(x.weightGrams) === w);
      return el("td", { class: "num", title: r && !r.available ? r.message || "" : null }, r ? (r.available ? yen(r.price) : "—") : "");
    })));
  }
  return el("div", { class: "scroll" }, el("table", {}, el("caption", {}, "Price by weight to " + answer.destinationRegionCode), el("thead", {}, head), body));
}

function versionsTable(tables) {
  const body = el("tbody", {});
  const form = el("form", { id: "diff-form", class: "panel" });
  for (const t of tables) {
    body.append(
      el(
        "tr",
        {},
        el("td", {}, el("input", { type: "checkbox", name: "pick", value: t.tableId, "aria-label": "Compare " + t.tableId })),
        el("th", { scope: "row" }, el("code", {}, t.tableId)),
        el("td", {}, t.productName || label(t.product, "PRODUCT_")),
        el("td", {}, day(t.effectiveDate), t.inForce ? el("span", { class: "badge watched" }, " in force") : null),
        el("td", { class: "num" }, String(t.rowCount || 0)),
        el("td", {}, t.source || ""),
      ),
    );
  }
  const table = el(
    "table",
    {},
    el("caption", {}, tables.length + " table version(s); tick two of one product to see what changed"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Pick"), el("th", { scope: "col" }, "Table"), el("th", { scope: "col" }, "Product"), el("th", { scope: "col" }, "Effective"), el("th", { scope: "col" }, "Rows"), el("th", { scope: "col" }, "Source"))),
    body,
  );
  form.append(el("div", { class: "scroll" }, table), el("button", { type: "submit" }, "Show differences"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = document.getElementById("diff-result");
    const picked = [...form.querySelectorAll("input[name=pick]:checked")].map((i) => i.value);
    if (picked.length !== 2) {
      showError(out, new ApiError("invalid_argument", "Tick exactly two table versions.", "", []));
      return;
    }
    try {
      out.replaceChildren(diffTable(await call("RateService", "DiffRateTables", { baseTableId: picked[0], targetTableId: picked[1] })));
    } catch (error) {
      showError(out, error);
    }
  });
  return form;
}

function diffTable(diff) {
  const rows = diff.rows || [];
  const body = el("tbody", {});
  for (const r of rows.slice(0, 500)) {
    body.append(
      el(
        "tr",
        {},
        el("td", {}, label(r.change, "ROW_CHANGE_")),
        el("td", {}, String(r.zone || "")),
        el("td", { class: "num" }, (r.minWeightGrams || 0) + "–" + (r.maxWeightGrams || 0) + " g"),
        el("td", { class: "num" }, yen(r.basePrice)),
        el("td", { class: "num" }, yen(r.targetPrice)),
        el("td", { class: "num" }, r.changePercent !== undefined ? r.changePercent.toFixed(1) + " %" : ""),
      ),
    );
  }
  return el(
    "div",
    { class: "scroll" },
    el(
    "table",
    {},
    el("caption", {}, `${diff.changedCount || 0} changed, ${diff.addedCount || 0} added, ${diff.removedCount || 0} removed`),
    el("thead", {}, el("tr", {}, ["Change", "Zone", "Weights", "Before", "After", "Change %"].map((h) => el("th", { scope: "col" }, h)))),
    body,
    ),
  );
}
