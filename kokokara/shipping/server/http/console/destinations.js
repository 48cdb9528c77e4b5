// Destinations: ListDestinations on a ship date, searchable; each country's methods today and the
// acceptance rules in force, with their sources.
"use strict";

let all = [];

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("dest-form");
  const result = document.getElementById("dest-result");
  const filter = document.getElementById("dest-filter");
  const load = async () => {
    const request = { pageSize: 1000 };
    const date = form.date.value;
    if (date) {
      const [year, month, dayOfMonth] = date.split("-").map(Number);
      request.shipDate = { year, month, day: dayOfMonth };
    }
    const button = form.querySelector("button");
    busy(button, true);
    try {
      const answer = await call("RateService", "ListDestinations", request);
      all = answer.destinations || [];
      document.getElementById("dest-summary").textContent = all.length + " destinations; data as of " + (answer.dataAsOf || "—") + ".";
      show(result, filter.value);
    } catch (error) {
      showError(result, error);
    } finally {
      busy(button, false);
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  filter.addEventListener("input", () => show(result, filter.value));
});

function show(result, query) {
  const q = query.trim().toLowerCase();
  const rows = all.filter((d) => !q || d.regionCode.toLowerCase() === q || (d.countryName || "").toLowerCase().includes(q));
  const table = el(
    "table",
    { class: "destinations" },
    el("caption", {}, rows.length + " shown"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Country"), el("th", { scope: "col" }, "Accepted today"), el("th", { scope: "col" }, "Not accepted"), el("th", { scope: "col" }, "Rules in force"))),
  );
  const body = el("tbody", {});
  for (const d of rows.slice(0, 300)) {
    const methods = d.methods || [];
    const yes = methods.filter((m) => m.available).map((m) => label(m.method, "SHIPPING_METHOD_"));
    const no = methods.filter((m) => !m.available);
    body.append(
      el(
        "tr",
        {},
        el("th", { scope: "row" }, d.countryName || "", " ", el("code", {}, d.regionCode)),
        el("td", { "data-label": "Accepted today" }, yes.join(", ") || "—"),
        el("td", { "data-label": "Not accepted" }, no.length ? el("ul", {}, no.map((m) => el("li", {}, el("strong", {}, label(m.method, "SHIPPING_METHOD_")), ": ", m.message || label(m.reason, "UNAVAILABLE_REASON_")))) : "—"),
        el(
          "td",
          { "data-label": "Rules in force" },
          (d.acceptanceRules || []).length
            ? el("ul", {}, d.acceptanceRules.map((r) => el("li", {}, r.description || r.ruleId, " ", el("span", { class: "muted" }, "(from ", day(r.effectiveFrom) || "—", r.source ? "; source: " + r.source : "", ")"))))
            : "—",
        ),
      ),
    );
  }
  table.append(body);
  result.replaceChildren(table);
}
