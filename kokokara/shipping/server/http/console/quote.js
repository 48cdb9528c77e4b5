// Quote calculator: GetQuote for one parcel; every method with its price and days, or why not.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("quote-form");
  const result = document.getElementById("quote-result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    const parcel = { weightGrams: Number(form.weight.value) };
    const size = form.size.value.trim();
    if (size) {
      const sides = size.split(/[x×*, ]+/).map((s) => Math.round(Number(s) * 10));
      [parcel.lengthMm, parcel.widthMm, parcel.heightMm] = sides;
    }
    const request = { destinationRegionCode: form.region.value.trim().toUpperCase(), parcels: [parcel], contentsType: form.contents.value };
    if (form.value.value) request.declaredValue = { currencyCode: "JPY", units: String(form.value.value) };
    busy(button, true);
    try {
      result.replaceChildren(render(await call("RateService", "GetQuote", request), request.destinationRegionCode));
    } catch (error) {
      showError(result, error);
    } finally {
      busy(button, false);
    }
  });
});

function render(quote, region) {
  const out = el("div", {});
  const options = quote.options || [];
  const table = el(
    "table",
    {},
    el("caption", {}, options.length + " method(s) offered to " + region),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Method"), el("th", { scope: "col" }, "Price"), el("th", { scope: "col" }, "Delivery"), el("th", { scope: "col" }, "Tracked"), el("th", { scope: "col" }, "Notes"))),
  );
  const body = el("tbody", {});
  for (const o of options) {
    const d = o.delivery || {};
    body.append(
      el(
        "tr",
        {},
        el("th", { scope: "row" }, o.productName || label(o.method, "SHIPPING_METHOD_")),
        el("td", { class: "num" }, yen(o.totalPrice)),
        el("td", {}, d.minDays ? d.minDays + "–" + d.maxDays + " days" : "", d.publishedText ? el("span", { class: "muted" }, " (", d.publishedText, ")") : null),
        el("td", {}, o.tracked ? "yes" : "no"),
        el("td", {}, (o.notes || []).join(" ")),
      ),
    );
  }
  table.append(body);
  out.append(el("div", { class: "scroll" }, table));
  const unavailable = quote.unavailable || [];
  if (unavailable.length) {
    out.append(el("h2", {}, "Not available"));
    out.append(
      el(
        "ul",
        { class: "unavailable" },
        unavailable.map((u) => el("li", {}, el("strong", {}, label(u.method, "SHIPPING_METHOD_")), " — ", el("code", {}, label(u.reason, "UNAVAILABLE_REASON_")), ": ", u.message || "")),
      ),
    );
  }
  return out;
}
