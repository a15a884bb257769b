// Applications and bundles, searched by company, applicant, state and date (Japan time).
import { el, initPage, jpTime, personName, say, stateName, t } from "/common/page.js";
import { api } from "/common/api.js";

const STATES = ["received", "incomplete", "resubmitted", "checked", "approved", "pin_issued", "notice_mailed",
                "enrolled", "issued", "rejected", "withdrawn"];
await initPage({ kind: "operator", titleKey: "ra.list.title" });
const form = document.getElementById("search");
form.elements.state.append(el("option", { value: "", text: t("ra.list.any_state") }),
  ...STATES.map((s) => el("option", { value: s, text: stateName(s) })));

// The day in Japan of an RFC 3339 time, as YYYY-MM-DD.
function japanDay(iso) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Tokyo", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
}

async function search() {
  const f = form.elements;
  const request = { company: f.company.value.trim(), applicant: f.applicant.value.trim() };
  if (f.state.value) request.state = f.state.value;
  try {
    const [apps, bundles] = await Promise.all([api("ra.application.list", request),
                                               api("ra.bundle.list", { company: request.company })]);
    const inRange = (day) => (!f.from.value || day >= f.from.value) && (!f.to.value || day <= f.to.value);
    const rows = apps.filter((a) => inRange(japanDay(a.created_at))).map((a) => el("tr", {},
      el("td", {}, el("a", { href: `/ra/application.html?id=${a.id}`, text: String(a.id) })),
      el("td", {}, personName(a.name_kanji, a.name_kana)),
      el("td", { lang: "ja", text: a.company }),
      el("td", { class: "state", text: stateName(a.state) }),
      el("td", { text: jpTime(a.created_at) }),
      el("td", {}, el("a", { href: `/ra/bundle.html?id=${a.bundle}`, text: String(a.bundle) }))));
    document.querySelector("#applications tbody").replaceChildren(...rows);
    if (!rows.length) document.querySelector("#applications tbody").append(el("tr", {}, el("td", { colspan: 6, text: t("common.none") })));
    const brows = bundles.filter((b) => inRange(b.received_on)).map((b) => el("tr", {},
      el("td", {}, el("a", { href: `/ra/bundle.html?id=${b.id}`, text: String(b.id) })),
      el("td", {}, personName(b.company.name, b.company.name_kana)),
      el("td", { text: b.received_on }),
      el("td", { text: String(b.applications.length) }),
      el("td", { text: b.created_by.replace(/^ra:/, "") })));
    document.querySelector("#bundles tbody").replaceChildren(...brows);
  } catch (e) {
    say("message", e);
  }
}
form.addEventListener("submit", (ev) => { ev.preventDefault(); search(); });
search();
