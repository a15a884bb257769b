// A bundle (RA-1, RA-2): the company, its applications, the public documents and the check's
// reasons (what is missing or stale, in the page's language, as the server words them).
import { el, initPage, language, param, personName, say, stateName, t } from "/common/page.js";
import { api } from "/common/api.js";
import { CONTACT, EDITABLE, FORM5, Fields, act, form5Request, peopleOk } from "/ra/forms.js";

const KINDS = ["registration_current", "registration_history", "registration_representative", "representative_seal",
               "residence_record", "personal_seal"];
await initPage({ kind: "operator", titleKey: "ra.bundle.title" });
const id = Number(param("id"));
const reason = (r) => (language() === "ja" ? r.message_ja : r.message);
const flash = sessionStorage.getItem("jitsuin.flash");   // from the new-bundle page
sessionStorage.removeItem("jitsuin.flash");

// webra: the bundle's Forms 1–4 fields and a further Form 5, while nothing of it is past the check.
const edit = new Fields("edit-f", t("ra.bundle.edit"), [
  { name: "received_on", label: "ra.col.received", type: "date", rule: "past", required: true },
  { name: "contract_kind", label: "ra.new.contract_kind", options: [["new", "ra.new.kind_new"], ["change", "ra.new.kind_change"]] },
  { name: "applied_by", label: "ra.new.applied_by", options: [["representative", "ra.new.by_representative"], ["manager", "ra.new.by_manager"]] },
  { name: "seal_form", label: "ra.new.seal_form", type: "checkbox" },
  { name: "seal_description", label: "ra.new.seal_description", lang: "ja" },
  { name: "applicant_list", label: "ra.new.applicant_list", type: "checkbox" },
  { name: "token_quantity", label: "ra.bundle.tokens", type: "number", min: 0, max: 1000 },
  { name: "note", label: "ra.col.note" }]);
const contacts = { contact: new Fields("edit-contact", t("ra.new.contact"), CONTACT),
                   billing: new Fields("edit-billing", t("ra.new.billing"), CONTACT) };
document.getElementById("edit-fields").append(edit.node, contacts.contact.node, contacts.billing.node);
const addForm = new Fields("add-app", t("ra.bundle.add_applicant"), FORM5);
document.getElementById("add-app-fields").append(addForm.node);

function showReasons(reasons) {
  const ul = document.getElementById("reasons");
  ul.replaceChildren(...reasons.map((r) => el("li", { class: `reason reason-${r.code}`, text: reason(r) })));
  if (!reasons.length) ul.append(el("li", { text: t("ra.bundle.no_reasons") }));
}

async function load() {
  const b = await api("ra.bundle.show", { id });
  document.querySelector("h1").textContent = t("ra.bundle.heading", { id });
  const facts = document.getElementById("bundle-facts");
  const fact = (k, v) => [el("dt", { text: t(k) }), el("dd", {}, v)];
  facts.replaceChildren(
    ...fact("ra.col.company", personName(b.company.name, b.company.name_kana)),
    ...fact("ra.bundle.romaji", b.company.name_romaji),
    ...fact("ra.bundle.representative", `${b.company.representative_title} ${b.company.representative_name}`),
    ...fact("ra.col.received", b.received_on),
    ...fact("ra.col.entered_by", b.created_by),
    ...fact("ra.bundle.tokens", String(b.token_quantity)));
  document.querySelector("#bundle-apps tbody").replaceChildren(...b.applications.map((a) => el("tr", {},
    el("td", {}, el("a", { href: `/ra/application.html?id=${a.id}`, text: String(a.id) })),
    el("td", { lang: "ja", text: `${a.name_kanji} (${a.name_romaji})` }),
    el("td", { class: "state", text: stateName(a.state) }))));
  const appName = (aid) => b.applications.find((a) => a.id === aid)?.name_kanji || "";
  const docName = (d) => [kindName(d), d.application ? appName(d.application) : "", d.issued_on].filter(Boolean).join(" / ");
  document.querySelector("#documents tbody").replaceChildren(...b.documents.map((d) => el("tr", {},
    el("td", { text: kindName(d) }),
    el("td", { lang: "ja", text: d.application ? appName(d.application) : "—" }),
    el("td", { text: d.issued_on }), el("td", { text: d.accepted_until }),
    el("td", { text: d.original ? t("common.yes") : t("common.no") }),
    el("td", {}, el("button", { type: "button", class: "secondary doc-remove", "data-doc": d.id,
      "aria-label": t("ra.bundle.remove_one", { what: docName(d) }), text: t("ra.bundle.remove"),
      onclick: () => askRemove(d, docName(d)) })))));
  showReasons(b.last_check_reasons);
  // webra: editable while every application is still before the check (or dropped).
  const open = b.applications.every((a) => [...EDITABLE, "rejected", "withdrawn"].includes(a.state));
  document.getElementById("edit-section").classList.toggle("hidden", !open);
  document.getElementById("new-for-company").href = `/ra/bundle-new.html?company=${b.company_id}`;
  edit.set({ ...b, token_quantity: String(b.token_quantity) });
  for (const role of ["contact", "billing"]) contacts[role].set({ name: "", department: "", email: "", phone: "", address: "",
    ...b.contacts.find((c) => c.role === role) });
  if (!addForm.values().organization_romaji) addForm.set({ organization_romaji: b.company.name_romaji, validity_years: "1" });
  const appSel = document.getElementById("doc-app");
  appSel.replaceChildren(el("option", { value: "", text: t("ra.bundle.company_document") }),
    ...b.applications.map((a) => el("option", { value: a.id, text: a.name_kanji })));
}

// webfin: removing a recorded document (a wrong one) behind a confirmation that names it and asks
// why (the audit entry keeps the reason); the server's refusal shown as it words it.
const kindName = (d) => (language() === "ja" ? d.kind_ja : t(`doc.${d.kind}`));
let removing = null;
function askRemove(d, what) {
  removing = d.id;
  document.getElementById("doc-remove-what").textContent = t("ra.bundle.remove_what", { what });
  document.getElementById("doc-remove-reason").value = "";
  document.getElementById("doc-remove").classList.remove("hidden");
  document.getElementById("doc-remove-h").focus();
}
function closeRemove() {
  removing = null;
  document.getElementById("doc-remove").classList.add("hidden");
}
document.getElementById("doc-remove-cancel").addEventListener("click", closeRemove);
document.getElementById("doc-remove-confirm").addEventListener("click", async () => {
  const reason = document.getElementById("doc-remove-reason").value.trim();
  if (!reason) return say("message", t("ra.bundle.remove_reason_needed"));
  const r = await act(() => api("ra.document.remove", { id: removing, reason }), "ra.bundle.removed", load);
  if (r) closeRemove();
});

const kindSel = document.getElementById("doc-kind");
kindSel.append(...KINDS.map((k) => el("option", { value: k, text: t(`doc.${k}`) })));
document.getElementById("run-check").addEventListener("click", async () => {
  try {
    const r = await api("ra.check", { bundle: id });
    await load();
    showReasons(r.reasons);
    say("message", r.complete ? t("ra.bundle.complete") : t("ra.bundle.incomplete"), r.complete ? "ok" : "error");
  } catch (e) { say("message", e); }
});
document.getElementById("resubmit").addEventListener("click", async () => {
  try { await api("ra.resubmit", { bundle: id }); await load(); say("message", t("ra.bundle.resubmitted"), "ok"); }
  catch (e) { say("message", e); }
});
document.getElementById("document-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const request = { bundle: id, kind: f.kind.value, issued: f.issued.value };
  if (f.application.value) request.application = Number(f.application.value);
  if (f.copy.checked) request.copy = true;
  try { await api("ra.document.add", request); await load(); say("message", t("ra.bundle.document_added"), "ok"); }
  catch (e) { say("message", e); }
});
document.getElementById("edit-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  if ([edit.ok(), peopleOk(contacts.contact, contacts.billing)].includes(false)) return say("message", t("romaji.fix_first"));
  const changes = edit.changes();
  if (Object.keys({ ...contacts.contact.changes(), ...contacts.billing.changes() }).length) {
    changes.contacts = Object.entries(contacts).map(([role, f]) => ({ role, ...f.values() })).filter((c) => c.name || c.email)
      .map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== "")));
  }
  if (!Object.keys(changes).length) return say("message", t("ra.bundle.no_changes"));
  act(() => api("ra.bundle.edit", { id, changes }), "ra.bundle.saved", load);
});
document.getElementById("add-app-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (!addForm.ok()) return say("message", t("romaji.fix_first"));
  const r = await act(() => api("ra.application.add", { bundle: id, form: form5Request(addForm.values()) }), "ra.bundle.applicant_added");
  if (!r) return;
  addForm.strict = false;
  addForm.set(Object.fromEntries(FORM5.map((f) => [f.name, f.name === "validity_years" ? "1" : ""])));
  await load();
});
load().then(() => { if (flash) say("message", flash, flash.includes(t("ra.bundle.complete")) ? "ok" : "error"); })
  .catch((e) => say("message", e));
