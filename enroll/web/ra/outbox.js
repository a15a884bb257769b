// The notification outbox (RA-10): every mail's recipient, kind, delivery state, attempts and last
// error — never its text, which may hold a PIN — and a retry of a failed mail (refused, with the
// server's reason, for a mail whose secret was discarded when it failed).
import { el, initPage, jpTime, pager, param, say, t } from "/common/page.js";
import { api } from "/common/api.js";

await initPage({ kind: "operator", titleKey: "admin.outbox.title" });
const stateSelect = document.getElementById("f-state");
stateSelect.value = param("state") || "";

const row = (m) => el("tr", { id: `mail-${m.id}` },
  el("td", { text: String(m.id) }), el("td", { text: jpTime(m.created_at) }), el("td", { text: m.to }),
  el("td", { text: t(`admin.mail.${m.template}`) }),
  el("td", { class: `state mail-${m.state}`, text: t(`admin.outbox.state_${m.state}`) }),
  el("td", { text: String(m.attempts) }), el("td", { text: m.last_error || "" }),
  el("td", {}, m.state === "failed" ? el("button", { type: "button", id: `retry-${m.id}`, text: t("admin.outbox.retry"),
    onclick: async () => {
      try { await api("ra.outbox.retry", { id: m.id }); await load(); say("message", t("admin.outbox.retried"), "ok"); }
      catch (e) { say("message", t("ra.app.refused", { reason: e.message })); }
    } }) : null));

// Newest first, a page at a time (paging): "older" appends the next page.
const body = document.querySelector("#outbox tbody");
const load = pager(document.getElementById("older"), document.getElementById("no-older"), (before) => {
  const request = stateSelect.value ? { state: stateSelect.value } : {};
  if (param("limit")) request.limit = Number(param("limit"));   // a page's size; the server's default: 100
  if (before !== null) request.before_id = before;
  return api("ra.outbox.list", request);
}, (mails, first) => (first ? body.replaceChildren : body.append).apply(body, mails.map(row)));
document.getElementById("filter").addEventListener("submit", (ev) => {
  ev.preventDefault();
  history.replaceState(null, "", stateSelect.value ? `?state=${stateSelect.value}` : location.pathname);
  load().catch((e) => say("message", e));
});
load().catch((e) => say("message", e));
