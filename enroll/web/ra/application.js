// One application (Form 5): its data, the two-person rule shown (who entered, who checked, who may
// approve — the server decides, this page only explains and shows its refusal), the PIN and its
// letter, and the restricted-delivery mail (本人限定受取郵便).
import { el, initPage, jpTime, param, personName, say, stateName, t } from "/common/page.js";
import { api } from "/common/api.js";
import { EDITABLE, FORM5, Fields, act as actThen, issuePin } from "/ra/forms.js";

const who = await initPage({ kind: "operator", titleKey: "ra.app.title" });
const id = Number(param("id"));
const operator = (actor) => (actor || "").replace(/^ra:/, "");
let letterUrl = null;
// webra: the Form 5 may change until the check (ra.application.edit sends only what changed).
const edit = new Fields("edit-f", t("ra.app.edit"), FORM5);
document.getElementById("edit-fields").append(edit.node);

async function load() {
  const a = await api("ra.application.show", { id });
  document.querySelector("h1").textContent = t("ra.app.heading", { id });
  const fact = (k, v) => [el("dt", { text: t(k) }), el("dd", {}, v)];
  document.getElementById("app-facts").replaceChildren(
    ...fact("ra.col.applicant", personName(a.name_kanji, a.name_kana)),
    ...fact("ra.app.romaji", a.name_romaji),
    ...fact("ra.col.company", el("a", { href: `/ra/bundle.html?id=${a.bundle}`, lang: "ja", text: a.company })),
    ...fact("ra.app.subject", [a.organization_romaji, a.department_romaji, a.title_romaji].filter(Boolean).join(" / ")),
    ...fact("ra.app.email", a.email),
    ...fact("ra.app.address", `〒${a.postcode} ${a.home_address}`),
    ...fact("ra.app.validity", t("ra.app.years", { n: a.validity_years })),
    ...fact("ra.col.state", el("span", { class: "state", id: "app-state", text: stateName(a.state) })),
    ...(a.certificate_serial ? fact("ra.app.serial", a.certificate_serial) : []));
  const entered = operator(a.created_by), checked = operator(a.checked_by);
  document.getElementById("two-person").replaceChildren(
    ...fact("ra.app.entered_by", el("span", { id: "entered-by", text: entered })),
    ...fact("ra.app.checked_by", el("span", { id: "checked-by", text: checked || t("ra.app.not_yet") })),
    ...fact("ra.app.approved_by", el("span", { id: "approved-by", text: operator(a.approved_by) || t("ra.app.not_yet") })),
    ...fact("ra.app.who_may", t("ra.app.who_may_text", { names: [...new Set([entered, checked].filter(Boolean))].join(", ") })));
  let mine = t("ra.app.you_may");
  if (!["approver", "administrator"].includes(who.role)) mine = t("ra.app.you_role", { role: t(`role.${who.role}`) });
  else if (who.name === entered || who.name === checked) mine = t("ra.app.you_entered");
  document.getElementById("may-approve").textContent = `${t("ra.app.you", { name: who.name })}: ${mine}`;
  document.getElementById("decide").classList.toggle("hidden", a.state !== "checked");
  const reissue = a.pin_reissue_requested_by && ["pin_issued", "notice_mailed"].includes(a.state);
  document.getElementById("pin-section").classList.toggle("hidden", a.state !== "approved" && !reissue && !letterUrl);
  const note = document.getElementById("reissue-note");
  note.textContent = reissue ? t("ra.pins.requested_by", { name: operator(a.pin_reissue_requested_by) }) : "";
  note.classList.toggle("hidden", !reissue);
  document.getElementById("edit-section").classList.toggle("hidden", !EDITABLE.includes(a.state));
  document.getElementById("withdraw-section").classList.toggle("hidden", FINAL.includes(a.state));
  applicant = a.name_kanji;
  edit.set({ ...a, validity_years: String(a.validity_years) });
  document.querySelector("#mailings tbody").replaceChildren(...a.mailings.map((m) => el("tr", {},
    el("td", { text: m.tracking_number }), el("td", { text: t(`mail.${m.state}`) }), el("td", { text: m.sent_on }),
    el("td", { text: m.delivered_on || m.returned_on || m.held_on || "" }))));
  document.querySelector("#download-pins tbody").replaceChildren(...(a.download_pins || []).map((p) => el("tr", {},
    el("td", { text: t(`dlpin.${p.status}`) }), el("td", { text: p.mailed_to }), el("td", { text: jpTime(p.issued_at) }),
    el("td", { text: jpTime(p.expires_at) }), el("td", { text: String(p.failures) }))));
  document.querySelector("#history tbody").replaceChildren(...a.history.map((h) => el("tr", {},
    el("td", { text: jpTime(h.at) }), el("td", { text: h.from ? stateName(h.from) : "" }), el("td", { text: stateName(h.to) }),
    el("td", { text: operator(h.actor) }), el("td", { text: h.note }))));
}

async function act(fn, okKey) {
  try { await fn(); await load(); say("message", t(okKey), "ok"); }
  catch (e) { say("message", t("ra.app.refused", { reason: e.message })); }
}

document.getElementById("approve").addEventListener("click", () => act(() => api("ra.approve", { application: id }), "ra.app.approved"));
document.getElementById("reject").addEventListener("click", () => {
  const reason = document.getElementById("reject-reason").value.trim();
  if (!reason) return say("message", t("ra.app.reason_needed"));
  act(() => api("ra.reject", { application: id, reason }), "ra.app.rejected");
});
document.getElementById("issue-pin").addEventListener("click", () => act(async () => {
  letterUrl = await issuePin(id);
  document.getElementById("issue-pin").disabled = true;
}, "ra.app.pin_issued"));
document.getElementById("edit-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (!edit.ok()) return say("message", t("romaji.fix_first"));
  const changes = edit.changes();
  if (!Object.keys(changes).length) return say("message", t("ra.bundle.no_changes"));
  actThen(() => api("ra.application.edit", { id, changes }), "ra.app.edited", load);
});
document.getElementById("mail-sent-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const request = { application: id, tracking: f.tracking.value.trim() };
  if (f.date.value) request.date = f.date.value;
  act(() => api("ra.mail.sent", request), "ra.app.recorded");
});
document.getElementById("mail-event-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const request = { tracking: f.tracking.value.trim(), event: f.event.value };
  if (f.date.value) request.date = f.date.value;
  act(() => api("ra.mail.event", request), "ra.app.recorded");
});
// webfin: withdrawing the application (the applicant or company no longer wants it) behind a
// confirmation naming the applicant; the PIN stops working. The server's refusal shown as it words it.
const FINAL = ["enrolled", "issued", "rejected", "withdrawn"];
let applicant = "";
const withdrawBox = document.getElementById("withdraw-confirm");
document.getElementById("withdraw").addEventListener("click", () => {
  if (!document.getElementById("withdraw-reason").value.trim()) return say("message", t("ra.app.withdraw_reason_needed"));
  document.getElementById("withdraw-what").textContent = t("ra.app.withdraw_what", { id, name: applicant });
  withdrawBox.classList.remove("hidden");
  document.getElementById("withdraw-what").focus();
});
document.getElementById("withdraw-cancel").addEventListener("click", () => withdrawBox.classList.add("hidden"));
document.getElementById("withdraw-confirm-button").addEventListener("click", async () => {
  const reason = document.getElementById("withdraw-reason").value.trim();
  withdrawBox.classList.add("hidden");
  await act(() => api("ra.withdraw", { application: id, reason }), "ra.app.withdrawn");
});
load().catch((e) => say("message", e));
