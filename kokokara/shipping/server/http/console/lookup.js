// Parcel lookup: a tracking number (GetTracking, ListWatchedParcels for whether the service
// watches it and ListLabels for the label it issued under that number), an order reference (the
// watched parcels of that order) or a label id (GetLabel, then its tracking).
"use strict";

const S10 = /^[A-Z]{2}\d{9}[A-Z]{2}$/;

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("lookup-form");
  const result = document.getElementById("lookup-result");
  const lookUp = async (query) => {
    const button = form.querySelector("button");
    busy(button, true);
    result.replaceChildren(el("p", { class: "muted" }, "Looking up…"));
    try {
      let labels = null;
      let number = query.toUpperCase();
      if (!S10.test(number)) {
        const order = await watchedParcels({ orderReference: query });
        if (order && order.length) {
          result.replaceChildren(renderOrder(query, order, (n) => { form.query.value = n; lookUp(n); }));
          return;
        }
        labels = [(await call("LabelService", "GetLabel", { id: query, skipDocuments: true })).label];
        number = labels[0].trackingNumber;
      }
      const [tracking, watched, issued] = await Promise.all([
        call("TrackingService", "GetTracking", { trackingNumber: number }),
        watchedParcels({ trackingNumber: number }),
        labels ? labels : labelsOf(number),
      ]);
      result.replaceChildren(render(tracking, issued, watched));
    } catch (error) {
      showError(result, error);
    } finally {
      busy(button, false);
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp(form.query.value.trim().replaceAll(" ", ""));
  });
});

// The watched parcels matching `filter`, or null when this key may not list them (the answer
// still shows the tracking).
async function watchedParcels(filter) {
  try {
    return (await call("TrackingService", "ListWatchedParcels", { ...filter, pageSize: 100 })).parcels || [];
  } catch (error) {
    if (error && (error.code === "permission_denied" || error.code === "unavailable" || error.code === "invalid_argument")) return null;
    throw error;
  }
}

// The label this service issued under `number` (none when the number is not one of ours), or why it
// cannot be shown: keys of roles without labels (checkout, analyst) may not read them, and the label
// database may be out of reach while tracking still answers. Support keys get the label without
// names, addresses or customs contents (contentsWithheld). The answer shows the tracking either way.
async function labelsOf(number) {
  try {
    return (await call("LabelService", "ListLabels", { trackingNumber: number, pageSize: 1 })).labels || [];
  } catch (error) {
    if (error && error.code === "permission_denied") return "not visible with this key";
    if (error && error.code === "unavailable") return "cannot be read now (" + (error.reason || "unavailable") + ")";
    throw error;
  }
}

function watchBadge(watched) {
  if (watched === null) return el("span", { class: "badge" }, "Watching: not visible with this key");
  if (!watched.length) return el("span", { class: "badge" }, "Not watched");
  const p = watched[0];
  if (p.quiet) return el("span", { class: "badge alert" }, "Quiet: no change since " + when(p.lastChangeTime));
  if (!p.nextPollTime) return el("span", { class: "badge quiet" }, "Watched: final, no longer polled");
  return el("span", { class: "badge watched" }, "Watched: next poll " + when(p.nextPollTime));
}

function renderOrder(reference, parcels, open) {
  const list = el("ul", { class: "parcels" });
  for (const p of parcels) {
    const button = el("button", { type: "button" }, p.trackingNumber);
    button.addEventListener("click", () => open(p.trackingNumber));
    list.append(
      el(
        "li",
        {},
        button,
        " ",
        el("span", { class: "status" }, label(p.status, "TRACKING_STATUS_") || "not yet polled"),
        " ",
        watchBadge([p]),
      ),
    );
  }
  return el(
    "article",
    { class: "panel", "aria-labelledby": "order-title" },
    el("h2", { id: "order-title" }, "Order ", reference),
    el("p", { class: "muted" }, parcels.length + (parcels.length === 1 ? " watched parcel" : " watched parcels")),
    list,
  );
}

function render(tracking, labels, watched) {
  const status = label(tracking.status, "TRACKING_STATUS_");
  const p0 = watched && watched.length ? watched[0] : null;
  const section = el(
    "article",
    { class: "panel", "aria-labelledby": "tracking-title" },
    el("h2", { id: "tracking-title" }, tracking.trackingNumber, " ", el("span", { class: "status" }, status || "unknown")),
    el("p", {}, watchBadge(watched), p0 && p0.orderReference ? el("span", { class: "muted" }, " order " + p0.orderReference) : null),
    el("p", { class: "muted" }, "Answered from ", label(tracking.source, "TRACKING_SOURCE_"), ", fetched ", when(tracking.fetchTime),
      tracking.final ? ", final" : ", next check of Japan Post's page " + when(tracking.nextRefreshTime)),
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
  if (typeof labels === "string") section.append(el("p", {}, el("span", { class: "badge" }, "Label: " + labels)));
  else if (!labels.length) section.append(el("p", { class: "muted" }, "No label issued by this service under this number."));
  else section.append(renderLabel(labels[0]));
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
      el("dt", {}, "Recipient"),
      el("dd", {}, l.contentsWithheld
        ? [to.regionCode, "(names, addresses and customs contents: warehouse keys only)"].filter(Boolean).join(" ")
        : [to.name, to.city, to.regionCode].filter(Boolean).join(", ")),
    ),
  );
}

function when(timestamp) {
  if (!timestamp) return "—";
  const d = new Date(timestamp);
  return isNaN(d) ? timestamp : d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}
