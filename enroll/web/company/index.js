// A company admin (企業ID) of one company: its users and their certificates, additional certificate
// requests (RA-8, romaji checked as typed) and links of certificates to user IDs with the validity
// confirmation step. The server gives only this company's data (the session names the company).
import { el, initPage, jpTime, say, t } from "/common/page.js";
import { api } from "/common/api.js";
import { certStatus } from "/common/certs.js";
import { holderForm, holderRequest } from "/common/holder.js";
import { romajiErrors } from "/company/romaji.js";

await initPage({ kind: "company", titleKey: "company.home.title" });
holderForm();
let certs = [], accounts = [];

async function load() {
  [accounts, certs] = await Promise.all([api("company.accounts"), api("company.certificates")]);
  const requests = await api("company.cert_requests");
  const users = accounts.filter((a) => a.kind === "user");
  document.querySelector("#users tbody").replaceChildren(...users.map((u) => el("tr", {},
    el("td", { text: u.login_id }), el("td", { lang: "ja", text: u.name }), el("td", { lang: "ja", text: u.department }),
    el("td", { text: u.email }),
    el("td", { text: certs.filter((c) => c.users.includes(u.login_id)).map((c) => c.serial).join(", ") || "—" }))));
  document.querySelector("#certificates tbody").replaceChildren(...certs.map((c) => el("tr", {},
    el("td", { text: c.serial }), el("td", { lang: "ja", text: `${c.holder} (${c.holder_romaji})` }),
    el("td", { text: jpTime(c.not_after) }),
    el("td", { class: `status-${certStatus(c)}`, text: t(`cert.${certStatus(c)}`) }),
    el("td", { text: c.users.join(", ") || "—" }))));
  document.querySelector("#requests tbody").replaceChildren(...requests.map((r) => el("tr", {},
    el("td", { text: jpTime(r.requested_at) }), el("td", { lang: "ja", text: `${r.name_kanji} (${r.name_romaji})` }),
    el("td", { text: r.user_id }), el("td", { text: t(`state.${r.state}`) }))));
  const userOptions = () => users.map((u) => el("option", { value: u.login_id, text: `${u.login_id} ${u.name}` }));
  document.getElementById("r-user").replaceChildren(...userOptions());
  document.getElementById("l-user").replaceChildren(...userOptions());
  document.getElementById("holder-id").replaceChildren(...userOptions());
  document.getElementById("l-serial").replaceChildren(...certs.map((c) => el("option", { value: c.serial, text: `${c.serial} ${c.holder}` })));
}

// Romaji: checked at every keystroke, the message beside the field.
const form = document.getElementById("request-form");
function values() {
  const v = {};
  for (const e of form.elements) if (e.name) v[e.name] = e.value.trim();
  return v;
}
function showRomaji() {
  const errors = romajiErrors(values());
  for (const field of ["name_romaji", "organization_romaji", "department_romaji", "title_romaji"]) {
    document.getElementById(`e-${field}`).textContent = errors[field] || "";
    form.elements[field].setAttribute("aria-invalid", errors[field] ? "true" : "false");
  }
  return errors;
}
for (const input of form.querySelectorAll("input.romaji")) input.addEventListener("input", showRomaji);
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (Object.keys(showRomaji()).length) return say("message", t("romaji.fix_first"));
  const v = values();
  const f = { name_kanji: v.name_kanji, name_kana: v.name_kana, name_romaji: v.name_romaji,
    organization_romaji: v.organization_romaji, email: v.email, postcode: v.postcode, home_address: v.home_address,
    validity_years: Number(v.validity_years) };
  if (v.department_romaji) f.department_romaji = v.department_romaji;
  if (v.title_romaji) f.title_romaji = v.title_romaji;
  try {
    await api("company.cert_request.add", { user: v.user, form: f });
    say("message", t("company.request.done"), "ok");
    await load();
  } catch (e) { say("message", e); }
});

// Link / unlink: a confirmation step that shows the certificate's validity (証明書有効性確認) first.
let pending = null;
document.getElementById("link-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const c = certs.find((x) => x.serial === f.serial.value);
  if (!c) return;
  pending = { serial: c.serial, [f.action.value]: f.user.value };
  const status = certStatus(c);
  const fact = (k, v) => [el("dt", { text: t(k) }), el("dd", {}, v)];
  document.getElementById("link-facts").replaceChildren(
    ...fact("company.col.serial", c.serial), ...fact("company.col.holder", c.holder),
    ...fact("company.col.not_after", jpTime(c.not_after)),
    ...fact("company.col.status", el("span", { id: "confirm-status", class: `status-${status}`, text: t(`cert.${status}`) })),
    ...fact("company.link.user", f.user.value), ...fact("company.link.action", t(`company.link.${f.action.value}`)));
  const usable = f.action.value === "unlink" || status === "valid" || status === "expiring";
  document.getElementById("link-confirm-button").disabled = !usable;
  if (!usable) say("message", t("company.link.not_valid"));
  document.getElementById("link-confirm").classList.remove("hidden");
  document.getElementById("link-confirm-h").focus?.();
});
document.getElementById("link-cancel").addEventListener("click", () => {
  pending = null;
  document.getElementById("link-confirm").classList.add("hidden");
});
document.getElementById("link-confirm-button").addEventListener("click", async () => {
  if (!pending) return;
  try {
    await api("company.link", pending);
    pending = null;
    document.getElementById("link-confirm").classList.add("hidden");
    say("message", t("company.link.done"), "ok");
    await load();
  } catch (e) { say("message", e); }
});
// Change of holder (利用者変更, seed 003): the user ID passes to another person of the company, who
// gets a new initial password by mail; its certificate links are removed.
document.getElementById("holder-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await api("company.account.change_holder", holderRequest(ev.target));
    ev.target.reset();
    say("message", t("admin.holder.done"), "ok");
    await load();
  } catch (e) { say("message", e); }
});
load().catch((e) => say("message", e));
