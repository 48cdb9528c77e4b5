// Parcel lookup: a tracking number (GetTracking) or a label id (GetLabel, then its tracking).
"use strict";

const S10 = /^[A-Z]{2}\d{9}[A-Z]{2}$/;

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("lookup-form");
  const result = document.getElementById("lookup-result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    const query = form.query.value.trim().replaceAll(" ", "");
    busy(button, true);
    result.replaceChildren(el("p", { class: "muted" }, "Looking up…"));
    try {
      let labelInfo = null;
      let number = query.toUpperCase();
      if (!S10.test(number)) {
        labelInfo = (await call("LabelService", "GetLabel", { id: query, skipDocuments: true })).label;
        number = labelInfo.trackingNumber;
      }
      const tracking = await call("TrackingService", "GetTracking", { trackingNumber: number });
      result.replaceChildren(render(tracking, labelInfo));
    } catch (error) {
      showError(result, error);
    } finally {
      busy(button, false);
    }
  });
});

function render(tracking, labelInfo) {
  const status = label(tracking.status, "TRACKING_STATUS_");
  const watched = tracking.final
    ? el("span", { class: "badge quiet" }, "Quiet: final, no longer checked")
    : el("span", { class: "badge watched" }, "Watched: next check " + when(tracking.nextRefreshTime));
  const section = el(
    "article",
    { class: "panel", "aria-labelledby": "tracking-title" },
    el("h2", { id: "tracking-title" }, tracking.trackingNumber, " ", el("span", { class: "status" }, status || "unknown")),
    el("p", {}, watched, " ", el("span", { class: "muted" }, "Answered from ", label(tracking.source, "TRACKING_SOURCE_"), ", fetched ", when(tracking.fetchTime))),
    tracking.carrierProductText ? el("p", {}, "Japan Post product: ", tracking.carrierProductText) : null,
  );
  const events = tracking.events || [];
  if (!events.length) section.append(el("p", {}, "No events yet."));
  else {
    section.append(el("h3", {}, "Events"));
    const list = el("ol", { class: "timeline", reversed: true });
    for (const e of [...events].reverse()) {
      list.append(
        el(
          "li",
          {},
          el("p", { class: "when" }, e.occurrenceTimeText || ""),
          el("p", {}, el("strong", {}, e.carrierStatusText || label(e.status, "TRACKING_STATUS_")), e.details ? " — " + e.details : ""),
          el("p", { class: "muted" }, [e.office, e.location, e.postalCode].filter(Boolean).join(" · ")),
        ),
      );
    }
    section.append(list);
  }
  if (labelInfo) section.append(renderLabel(labelInfo));
  return section;
}

function renderLabel(l) {
  const to = l.recipient || {};
  return el(
    "section",
    { class: "label" },
    el("h3", {}, "Label"),
    el(
      "dl",
      {},
      el("dt", {}, "Label id"), el("dd", {}, l.id),
      el("dt", {}, "Method"), el("dd", {}, l.productName || label(l.method, "SHIPPING_METHOD_")),
      el("dt", {}, "Status"), el("dd", {}, label(l.status, "LABEL_STATUS_")),
      el("dt", {}, "Ship date"), el("dd", {}, day(l.shipDate)),
      el("dt", {}, "Price"), el("dd", {}, yen(l.price)),
      el("dt", {}, "Recipient"), el("dd", {}, [to.name, to.city, to.regionCode].filter(Boolean).join(", ")),
    ),
  );
}

function when(timestamp) {
  if (!timestamp) return "—";
  const d = new Date(timestamp);
  return isNaN(d) ? timestamp : d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}
