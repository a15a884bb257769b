// A company's certificates and their links to user IDs (RA-8, for the RA: one user per change, the
// people concerned are mailed), and the company admins' additional certificate requests with the
// operator's check (received → checked); approval and the PIN follow on the application page.
import { el, initPage, jpTime, say, t } from "/common/page.js";
import { api } from "/common/api.js";
import { certStatus } from "/common/certs.js";
import { companyChoice } from "/ra/companies.js";

await initPage({ kind: "operator", titleKey: "admin.certs.title" });
let company = null;

async function act(fn, okKey) {
  try { await fn(); await load(); say("message", t(okKey), "ok"); }
  catch (e) { say("message", t("ra.app.refused", { reason: e.message })); }
}

async function load() {
  if (company === null) return;
  const [certs, accounts, requests] = await Promise.all([api("ra.company_certificates", { company }),
    api("ra.account.list", { company }), api("ra.cert_request.list", { company })]);
  document.querySelector("#certificates tbody").replaceChildren(...certs.map((c) => el("tr", {},
    el("td", { text: c.serial }), el("td", { lang: "ja", text: `${c.holder} (${c.holder_romaji})` }),
    el("td", { text: jpTime(c.not_after) }),
    el("td", { class: `status-${certStatus(c)}`, text: t(`cert.${certStatus(c)}`) }),
    el("td", { text: c.users.join(", ") || "—" }))));
  document.getElementById("l-serial").replaceChildren(...certs.map((c) => el("option", { value: c.serial, text: `${c.serial} ${c.holder}` })));
  document.getElementById("l-user").replaceChildren(...accounts.filter((a) => a.kind === "user")
    .map((a) => el("option", { value: a.login_id, text: `${a.login_id} ${a.name}` })));
  document.querySelector("#requests tbody").replaceChildren(...requests.map((r) => el("tr", {},
    el("td", {}, el("a", { href: `/ra/application.html?id=${r.application}`, text: String(r.application) })),
    el("td", { text: jpTime(r.requested_at) }), el("td", { lang: "ja", text: `${r.name_kanji} (${r.name_romaji})` }),
    el("td", { text: r.user_id }), el("td", { class: "state", text: t(`state.${r.state}`) }),
    el("td", {}, r.state === "received" ? el("button", { type: "button", id: `check-${r.application}`, text: t("admin.certs.check"),
      onclick: () => act(() => api("ra.cert_request.check", { application: r.application }), "admin.certs.checked") }) : null))));
}

company = await companyChoice("company", (c) => { company = c; load().catch((e) => say("message", e)); });
document.getElementById("link-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  act(() => api("ra.link", { company, serial: f.serial.value, [f.action.value]: f.user.value }), "company.link.done");
});
load().catch((e) => say("message", e));
