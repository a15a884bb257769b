// A bundle (RA-1, RA-2): the company, its applications, the public documents and the check's
// reasons (what is missing or stale, in the page's language, as the server words them).
import { el, initPage, language, param, personName, say, stateName, t } from "/common/page.js";
import { api } from "/common/api.js";

const KINDS = ["registration_current", "registration_history", "registration_representative", "representative_seal",
               "residence_record", "personal_seal"];
await initPage({ kind: "operator", titleKey: "ra.bundle.title" });
const id = Number(param("id"));
const reason = (r) => (language() === "ja" ? r.message_ja : r.message);

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
  document.querySelector("#documents tbody").replaceChildren(...b.documents.map((d) => el("tr", {},
    el("td", { text: language() === "ja" ? d.kind_ja : t(`doc.${d.kind}`) }),
    el("td", { lang: "ja", text: d.application ? appName(d.application) : "—" }),
    el("td", { text: d.issued_on }), el("td", { text: d.accepted_until }),
    el("td", { text: d.original ? t("common.yes") : t("common.no") }))));
  showReasons(b.last_check_reasons);
  const appSel = document.getElementById("doc-app");
  appSel.replaceChildren(el("option", { value: "", text: t("ra.bundle.company_document") }),
    ...b.applications.map((a) => el("option", { value: a.id, text: a.name_kanji })));
}

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
load().catch((e) => say("message", e));
