// webra (issue 11): a paper bundle entered in the browser (RA-1, RA-2): Forms 1–6 laid out as on
// paper, the public documents 7–10 with their issue dates, then at once the check: what is missing
// or stale and why (ra.check's reasons, shown by the bundle page). One ra.bundle.create (all or
// nothing), one ra.document.add per paper, one ra.check. ?company=ID enters a bundle of a company
// already registered (a change, more applicants, a renewal's papers) without Form 1's company part.
import { el, initPage, param, say, t } from "/common/page.js";
import { api } from "/common/api.js";
import { CONTACT, FORM5, Fields, USER, form5Request, japanToday, peopleOk } from "/ra/forms.js";

await initPage({ kind: "operator", titleKey: "ra.new.title" });
const companyId = param("company") ? Number(param("company")) : null;
const past = { type: "date", rule: "past" };

const receipt = new Fields("receipt-f", t("ra.new.receipt"), [
  { name: "received_on", label: "ra.col.received", required: true, ...past },
  { name: "note", label: "ra.col.note" }], { received_on: japanToday() });
const form1 = new Fields("form1-f", t("ra.new.form1"), [
  { name: "contract_kind", label: "ra.new.contract_kind", options: [["new", "ra.new.kind_new"], ["change", "ra.new.kind_change"]] },
  { name: "applied_by", label: "ra.new.applied_by", options: [["representative", "ra.new.by_representative"], ["manager", "ra.new.by_manager"]] },
  ...(companyId ? [] : [
    { name: "name", label: "ra.new.company_name", required: true, lang: "ja" },
    { name: "name_kana", label: "ra.new.company_kana", required: true, lang: "ja" },
    { name: "name_romaji", label: "ra.new.company_romaji", required: true, rule: "company_romaji" },
    { name: "address", label: "ra.new.company_address", required: true, lang: "ja" },
    { name: "representative_title", label: "ra.new.representative_title", required: true, lang: "ja" },
    { name: "representative_name", label: "ra.new.representative_name", required: true, lang: "ja" }])],
  { contract_kind: companyId ? "change" : "new" });
const form2 = new Fields("form2-f", t("ra.new.form2"), [
  { name: "seal_form", label: "ra.new.seal_form", type: "checkbox" },
  { name: "seal_description", label: "ra.new.seal_description", lang: "ja" }]);
const form3 = new Fields("form3-f", t("ra.new.form3"), [
  { name: "applicant_list", label: "ra.new.applicant_list", type: "checkbox" },
  { name: "token_quantity", label: "ra.bundle.tokens", type: "number", min: 0, max: 1000 }], { token_quantity: "0" });
const contact = new Fields("contact-f", t("ra.new.contact"), CONTACT);
const billing = new Fields("billing-f", t("ra.new.billing"), CONTACT);
const companyDocs = new Fields("cdocs-f", t("ra.new.company_documents"), [
  { name: "registration_kind", label: "ra.new.registration_kind",
    options: ["registration_current", "registration_history", "registration_representative"].map((k) => [k, `doc.${k}`]) },
  { name: "registration_issued", label: "ra.new.registration_issued", ...past },
  { name: "registration_copy", label: "ra.bundle.copy", type: "checkbox" },
  { name: "representative_seal_issued", label: "ra.new.representative_seal_issued", ...past },
  { name: "representative_seal_copy", label: "ra.bundle.copy", type: "checkbox" }]);
const PERSONAL_DOCS = [
  { name: "residence_record_issued", label: "ra.new.residence_record_issued", ...past },
  { name: "residence_record_copy", label: "ra.bundle.copy", type: "checkbox" },
  { name: "personal_seal_issued", label: "ra.new.personal_seal_issued", ...past },
  { name: "personal_seal_copy", label: "ra.bundle.copy", type: "checkbox" }];

document.getElementById("receipt").append(receipt.node);
document.getElementById("form1").append(form1.node);
document.getElementById("form2").append(form2.node);
document.getElementById("form3").append(form3.node);
document.getElementById("form4").append(contact.node, billing.node);
document.getElementById("company-docs").append(companyDocs.node);

if (companyId) {
  const b = (await api("ra.bundle.list")).find((x) => x.company_id === companyId);
  const box = document.getElementById("existing-company");
  box.textContent = t("ra.new.existing_company", { name: b ? `${b.company.name} (${b.company.name_romaji})` : `#${companyId}` });
  box.classList.remove("hidden");
}

// Forms 5 (each with its applicant's documents 9 and 10) and 6: as many as the bundle holds.
const applicants = [], users = [];
let serial = 0;
function removable(list, item, container, removeKey) {
  const remove = el("button", { type: "button", class: "secondary", id: `${item.form.prefix}-remove`, text: t(removeKey),
    onclick: () => { list.splice(list.indexOf(item), 1); item.box.remove(); } });
  item.box = el("div", { class: "repeat" }, item.form.node, item.docs?.node, remove);
  list.push(item);
  container.append(item.box);
}
function addApplicant() {
  const n = ++serial;
  const romaji = form1.inputs.name_romaji?.value.trim() || "";
  const shown = applicants.length + 1;   // ids stay unique (n), the legend counts the forms
  const item = { form: new Fields(`a${n}`, t("ra.new.applicant_n", { n: shown }), FORM5, { organization_romaji: romaji, validity_years: "1" }),
                 docs: new Fields(`a${n}-docs`, t("ra.new.applicant_documents", { n: shown }), PERSONAL_DOCS) };
  removable(applicants, item, document.getElementById("applicants"), "ra.new.remove_applicant");
}
function addUser() {
  const n = ++serial;
  removable(users, { form: new Fields(`u${n}`, t("ra.new.user_n", { n: users.length + 1 }), USER) }, document.getElementById("users"),
    "ra.new.remove_user");
}
// Form 5's organisation is Form 1's company in romaji (the check refuses another): filled in where empty.
form1.inputs.name_romaji?.addEventListener("change", (ev) => {
  for (const a of applicants) {
    if (a.form.inputs.organization_romaji.value) continue;
    a.form.inputs.organization_romaji.value = ev.target.value.trim();
    a.form.show();
  }
});
document.getElementById("add-applicant").addEventListener("click", addApplicant);
document.getElementById("add-user").addEventListener("click", addUser);
addApplicant();
addUser();

const contactOf = (role, f) => {
  const v = f.values();
  if (!v.name && !v.email) return null;
  return { role, ...Object.fromEntries(Object.entries(v).filter(([, x]) => x !== "")) };
};

document.getElementById("bundle-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const groups = [receipt, form1, form2, form3, companyDocs, ...applicants.flatMap((a) => [a.form, a.docs]), ...users.map((u) => u.form)];
  const good = [...groups.map((g) => g.ok()), peopleOk(contact, billing)];
  if (good.includes(false)) return say("message", t("romaji.fix_first"));
  const r = receipt.values(), f1 = form1.values(), f2 = form2.values(), f3 = form3.values();
  const request = { contract_kind: f1.contract_kind, applied_by: f1.applied_by, received_on: r.received_on,
    seal_form: f2.seal_form, applicant_list: f3.applicant_list, token_quantity: f3.token_quantity ?? 0,
    contacts: [contactOf("contact", contact), contactOf("billing", billing)].filter(Boolean),
    applicants: applicants.map((a) => form5Request(a.form.values())),
    users: users.map((u) => u.form.values()).filter((u) => u.name || u.email) };
  if (r.note) request.note = r.note;
  if (f2.seal_description) request.seal_description = f2.seal_description;
  if (companyId) request.company_id = companyId;
  else request.company = Object.fromEntries(["name", "name_kana", "name_romaji", "address", "representative_name",
    "representative_title"].map((k) => [k, f1[k]]));
  const submit = document.getElementById("bundle-submit");
  submit.disabled = true;
  let created;
  try {
    created = await api("ra.bundle.create", request);
  } catch (e) {
    submit.disabled = false;
    return say("message", t("ra.app.refused", { reason: e.message }));
  }
  // The papers: the company's, then each applicant's, in the order of the forms.
  const cd = companyDocs.values();
  const papers = [[cd.registration_kind, cd.registration_issued, cd.registration_copy, null],
                  ["representative_seal", cd.representative_seal_issued, cd.representative_seal_copy, null]];
  applicants.forEach((a, i) => {
    const d = a.docs.values();
    papers.push(["residence_record", d.residence_record_issued, d.residence_record_copy, created.applications[i]],
                ["personal_seal", d.personal_seal_issued, d.personal_seal_copy, created.applications[i]]);
  });
  const failed = [];
  for (const [kind, issued, copy, application] of papers) {
    if (!issued) continue;
    const doc = { bundle: created.bundle, kind, issued, received: r.received_on };
    if (application) doc.application = application;
    if (copy) doc.copy = true;
    try { await api("ra.document.add", doc); } catch (e) { failed.push(`${t(`doc.${kind}`)}: ${e.message}`); }
  }
  let flash = t("ra.new.entered", { id: created.bundle });
  try {
    const check = await api("ra.check", { bundle: created.bundle });
    flash += " " + t(check.complete ? "ra.bundle.complete" : "ra.bundle.incomplete");
  } catch (e) { failed.push(e.message); }
  if (failed.length) flash += " " + t("ra.new.documents_failed", { list: failed.join("; ") });
  sessionStorage.setItem("jitsuin.flash", flash);
  location.assign(`/ra/bundle.html?id=${created.bundle}`);
});
