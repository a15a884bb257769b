// What every page does: language, header (navigation, who is logged in, language switch, logout),
// the session check (to the login page without one; to the password change while the password is
// temporary), small DOM helpers and Japan-time dates.
import { applyI18n, language, languageSwitch, loadLanguage, t } from "./i18n.js";
import { logout, session } from "./api.js";
import { japaneseDates } from "./dates.js";   // webadmin

export { t, language };

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/// A date-time in Japan time, whatever the browser's zone.
export function jpTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const f = new Intl.DateTimeFormat(language() === "ja" ? "ja-JP" : "en-GB",
    { timeZone: "Asia/Tokyo", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  return `${f.format(d)} JST`;
}

/// A name in kanji with its kana reading below it.
export function personName(kanji, kana) {
  return el("span", { class: "person" }, el("span", { lang: "ja", text: kanji || "" }),
    kana ? el("span", { class: "kana", lang: "ja", text: kana }) : null);
}

export function stateName(state) { return t(`state.${state}`); }

/// Shows `message` (an Error's text or a string) in the page's live region `id`.
export function say(id, message, kind = "error") {
  const box = document.getElementById(id);
  box.className = `message ${kind}`;
  box.textContent = message instanceof Error ? message.message : message;
  if (kind === "error") box.focus?.();
}

export function param(name) { return new URLSearchParams(location.search).get(name); }

const NAV = {
  operator: [["ra.nav.applications", "/ra/"], ["ra.nav.revocations", "/ra/revocations.html"],
             ["ra.nav.operators", "/ra/operators.html"],
             // webra (issue 11): entering paper bundles, PIN re-issues, expiry and renewals
             ["ra.nav.new_bundle", "/ra/bundle-new.html"], ["ra.nav.pins", "/ra/pins.html"], ["ra.nav.renewals", "/ra/renewals.html"]],
  company: [["company.nav.home", "/company/"]],
  applicant: [["enroll.nav.guide", "/enroll/"], ["enroll.nav.status", "/enroll/status.html"], ["enroll.nav.faq", "/enroll/faq.html"]],
};
NAV.applicant.push(["enroll.smime.nav", "/enroll/smime.html"]);   // smime (seed 004)

// webadmin: company and user IDs, certificate links, the outbox, the audit log; the company's mails.
NAV.operator.push(["admin.nav.accounts", "/ra/accounts.html"], ["admin.nav.certificates", "/ra/certificates.html"],
                  ["admin.nav.outbox", "/ra/outbox.html"], ["admin.nav.audit", "/ra/audit.html"]);
NAV.company.push(["admin.nav.mails", "/company/mails.html"], ["company.nav.password", "/company/password.html"]);

// paging: a long list read a page at a time (the API answers {"entries", "next"}): `more` (a
// button) fetches the page older than the last one shown and appends it; at the last page it hides
// and `end` says there is nothing older. Returns load(): (re)reads from the newest.
export function pager(more, end, fetchPage, show) {
  let next = null;
  async function page(cursor) {
    more.disabled = true;   // one fetch at a time: a second click would append the same page twice
    try {
      const r = await fetchPage(cursor);
      show(r.entries, cursor === null);
      next = r.next;
      more.hidden = next === null;
      end.hidden = next !== null || (cursor === null && !r.entries.length);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => page(next).catch((e) => say("message", e)));
  return () => page(null);
}

/// Sets the page up. kind: "operator", "company" (a session of that kind is needed) or "applicant".
/// Returns the session (null for applicants).
export async function initPage({ kind, titleKey, passwordPage = false, loginPage = false }) {
  await loadLanguage();
  applyI18n();
  japaneseDates();   // webadmin: YYYY/MM/DD whatever the browser's locale
  document.title = `${t(titleKey)} — jitsuin`;
  let who = null;
  if (kind !== "applicant" && !loginPage) {
    who = await session();
    const home = kind === "company" ? "/company/" : "/ra/";
    if (!who || who.kind !== kind) { location.replace(`${home}login.html`); return new Promise(() => {}); }
    // A temporary (operators) or mailed initial (company IDs) password: only the password change.
    if (who.password_change_required && !passwordPage) { location.replace(`${home}password.html`); return new Promise(() => {}); }
  }
  buildHeader(kind, who, loginPage);
  return who;
}

function buildHeader(kind, who, loginPage) {
  const header = document.querySelector("header.top");
  if (!header) return;
  header.replaceChildren();
  header.append(el("a", { class: "skip", href: "#main", text: t("common.skip") }));
  header.append(el("span", { class: "brand", text: t(`${kind === "operator" ? "ra" : kind === "company" ? "company" : "enroll"}.brand`) }));
  if (!loginPage && !(who && who.password_change_required)) {
    const ul = el("ul");
    for (const [key, href] of NAV[kind]) ul.append(el("li", {}, el("a", { href, text: t(key) })));
    header.append(el("nav", { "aria-label": t("common.nav") }, ul));
  }
  if (who) {
    header.append(el("span", { id: "who", text: t("common.logged_in_as", { name: who.name || who.login_id }) }));
    header.append(el("button", { type: "button", class: "secondary", id: "logout", text: t("common.logout"),
      onclick: async () => { await logout(false).catch(() => {}); location.replace(kind === "company" ? "/company/login.html" : "/ra/login.html"); } }));
    // webadmin: company admins log out everywhere too (company.logout_all).
    header.append(el("button", { type: "button", class: "secondary", id: "logout-all", text: t("common.logout_all"),
      onclick: async () => { await logout(true).catch(() => {}); location.replace(kind === "company" ? "/company/login.html" : "/ra/login.html"); } }));
  }
  header.append(languageSwitch());
}
