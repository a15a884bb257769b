// Company IDs (企業ID) and user IDs (ユーザID), RA-9: issued from a bundle's Form 1 / Form 6 once its
// documents are complete, additional user IDs, change of holder (利用者変更) and unlocking. The
// initial passwords go out by mail only: the page never sees one.
import { el, initPage, say, t } from "/common/page.js";
import { api } from "/common/api.js";
import { holderForm, holderRequest } from "/common/holder.js";
import { companyChoice } from "/ra/companies.js";

await initPage({ kind: "operator", titleKey: "admin.accounts.title" });
holderForm();
let company = null;

async function act(fn, okKey) {
  try { await fn(); await load(); say("message", t(okKey), "ok"); }
  catch (e) { say("message", t("ra.app.refused", { reason: e.message })); }
}

function accountState(a) {
  return a.disabled ? t("admin.accounts.disabled") : a.locked ? t("admin.accounts.locked")
    : a.must_change_password ? t("admin.accounts.initial") : t("admin.accounts.active");
}

async function load() {
  if (company === null) return;
  const list = await api("ra.account.list", { company });
  document.querySelector("#accounts tbody").replaceChildren(...list.map((a) => el("tr", {},
    el("td", { text: a.login_id }), el("td", { text: t(`admin.accounts.kind_${a.kind}`) }),
    el("td", { lang: "ja", text: a.name }), el("td", { lang: "ja", text: a.department }), el("td", { text: a.email }),
    el("td", { class: "state", text: accountState(a) }),
    el("td", {}, a.locked ? el("button", { type: "button", id: `unlock-${a.login_id}`, text: t("admin.accounts.unlock"),
      onclick: () => act(() => api("ra.account.unlock", { login_id: a.login_id }), "admin.accounts.unlocked") }) : null))));
  document.getElementById("holder-id").replaceChildren(...list.filter((a) => a.kind === "user")
    .map((a) => el("option", { value: a.login_id, text: `${a.login_id} ${a.name}` })));
}

company = await companyChoice("company", (c) => { company = c; load().catch((e) => say("message", e)); });
const fields = (form) => Object.fromEntries([...form.elements].filter((e) => e.name).map((e) => [e.name, e.value.trim()]));
document.getElementById("issue-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  act(() => api("ra.accounts.issue", { bundle: Number(fields(ev.target).bundle) }), "admin.accounts.issued");
});
document.getElementById("add-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const v = fields(ev.target);
  const request = { company, name: v.name, email: v.email };
  if (v.department) request.department = v.department;
  act(() => api("ra.account.add", request), "admin.accounts.added");
});
document.getElementById("holder-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  act(() => api("ra.account.change_holder", holderRequest(ev.target)), "admin.holder.done");
});
load().catch((e) => say("message", e));
