// webra (issue 11): expiry notices and renewals (RA-7). The certificates coming up for renewal
// (ra.expiry.list: the notices the cron job sent, and whether each may be renewed now and why),
// and a renewal application from the list (ra.renewal.create): the earlier Form 5 re-used, only
// department, title, e-mail and validity may change, in an open bundle of the same company or in
// a new one received today.
import { el, initPage, jpTime, personName, say, t } from "/common/page.js";
import { api } from "/common/api.js";
import { FORM5, Fields, act, japanToday } from "/ra/forms.js";

await initPage({ kind: "operator", titleKey: "ra.renew.title" });
const OPEN = ["received", "incomplete", "resubmitted", "rejected", "withdrawn"];
const CHANGEABLE = ["department_romaji", "title_romaji", "email", "validity_years"];
const changes = new Fields("rn", t("ra.renew.changes"), FORM5.filter((f) => CHANGEABLE.includes(f.name)).map((f) =>
  ({ ...f, required: false, ...(f.options ? { options: [["", "ra.renew.keep"], ...f.options] } : {}) })));
document.getElementById("rn-changes").append(changes.node);
let rows = [], bundles = [];

async function load() {
  const within = document.getElementById("within").value;
  [rows, bundles] = await Promise.all([api("ra.expiry.list", within ? { within_days: Number(within) } : {}), api("ra.bundle.list")]);
  const days = (iso) => Math.ceil((new Date(iso) - Date.now()) / 86400000);
  document.querySelector("#expiring tbody").replaceChildren(...rows.map((r) => el("tr", { id: `exp-${r.application}` },
    el("td", {}, el("a", { href: `/ra/application.html?id=${r.application}`, text: String(r.application) })),
    el("td", {}, personName(r.name_kanji, r.name_kana), el("span", { class: "kana", text: r.name_romaji })),
    el("td", { lang: "ja", text: r.company }),
    el("td", { text: r.serial }),
    el("td", { text: `${jpTime(r.not_after)} (${t("ra.renew.days_left", { n: days(r.not_after) })})` }),
    el("td", { class: "notices", text: r.notices.map((n) => t("ra.renew.notice", { n: n.days_before, when: jpTime(n.sent_at) })).join("; ") || t("ra.renew.no_notice") }),
    el("td", { class: "renewal" }, r.renewal ? el("a", { href: `/ra/application.html?id=${r.renewal}`, text: t("ra.renew.under_way", { id: r.renewal }) })
      : r.eligible ? t("ra.renew.eligible") : t("ra.renew.not_eligible", { reason: r.reason })),
    el("td", {}, r.eligible && !r.renewal ? el("button", { type: "button", id: `renew-${r.application}`, text: t("ra.renew.choose"),
      onclick: () => { choose(r.application); document.getElementById("rn-bundle").focus(); } }) : null))));
  if (!rows.length) document.querySelector("#expiring tbody").append(el("tr", {}, el("td", { colspan: 8, text: t("common.none") })));
  const from = document.getElementById("rn-from");
  const chosen = from.value;
  from.replaceChildren(...rows.filter((r) => r.eligible && !r.renewal).map((r) =>
    el("option", { value: r.application, text: `${r.application} ${r.name_kanji} (${r.company})` })));
  if (chosen && [...from.options].some((o) => o.value === chosen)) from.value = chosen;
  choose(from.value ? Number(from.value) : null);
}

// The bundles a renewal may go into: those of the same company nothing of which is past the check.
function choose(application) {
  const from = document.getElementById("rn-from");
  if (application) from.value = String(application);
  const r = rows.find((x) => x.application === application);
  const open = r ? bundles.filter((b) => b.company_id === r.company_id && b.applications.every((a) => OPEN.includes(a.state))) : [];
  document.getElementById("rn-bundle").replaceChildren(el("option", { value: "new", text: t("ra.renew.new_bundle", { today: japanToday() }) }),
    ...open.map((b) => el("option", { value: b.id, text: t("ra.bundle.heading", { id: b.id }) + ` (${b.received_on})` })));
}
document.getElementById("rn-from").addEventListener("change", (ev) => choose(Number(ev.target.value)));

document.getElementById("renewal-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const from = Number(document.getElementById("rn-from").value);
  const r = rows.find((x) => x.application === from);
  if (!r) return say("message", t("ra.pins.choose"));
  if (!changes.ok()) return say("message", t("romaji.fix_first"));
  const c = Object.fromEntries(Object.entries(changes.values()).filter(([, v]) => v !== "" && v !== null));
  const created = await act(async () => {
    let bundle = document.getElementById("rn-bundle").value;
    if (bundle === "new")
      bundle = (await api("ra.bundle.create", { company_id: r.company_id, contract_kind: "change", received_on: japanToday() })).bundle;
    return api("ra.renewal.create", { from, bundle: Number(bundle), changes: c });
  }, "ra.renew.created", load);
  if (created) {
    changes.set(Object.fromEntries(CHANGEABLE.map((k) => [k, ""])));
    say("message", t("ra.renew.created_id", { id: created.application, from }), "ok");
    document.getElementById("message").append(" ", el("a", { id: "renewal-link", href: `/ra/application.html?id=${created.application}`,
      text: t("ra.app.heading", { id: created.application }) }));
  }
});
document.getElementById("within-form").addEventListener("submit", (ev) => { ev.preventDefault(); load().catch((e) => say("message", e)); });
load().catch((e) => say("message", e));
