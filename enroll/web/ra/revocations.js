// Revocation requests (RA-6): recorded by one operator, approved by another, executed at the
// effective time. The server enforces the two-person rule; its refusal is shown as it words it.
import { el, initPage, jpTime, pager, param, say, t } from "/common/page.js";
import { api } from "/common/api.js";

await initPage({ kind: "operator", titleKey: "ra.rev.title" });
const operator = (actor) => (actor || "").replace(/^ra:/, "");

async function act(fn, okKey) {
  try { await fn(); await load(); say("message", t(okKey), "ok"); }
  catch (e) { say("message", t("ra.app.refused", { reason: e.message })); }
}

// Newest first, a page at a time (paging): "older" appends the next page.
const body = document.querySelector("#revocations tbody");
const load = pager(document.getElementById("older"), document.getElementById("no-older"), (before) => {
  const request = param("limit") ? { limit: Number(param("limit")) } : {};   // the server's default: 100
  if (before !== null) request.before_id = before;
  return api("ra.revocation.list", request);
}, (list, first) => (first ? body.replaceChildren : body.append).apply(body, list.map((r) => el("tr", { id: `rev-${r.id}` },
  el("td", { text: String(r.id) }), el("td", { text: r.serial }), el("td", { text: t(`reason.${r.reason}`) }),
  el("td", { class: "state", text: t(`rev.${r.state}`) }), el("td", { text: operator(r.requested_by) }),
  el("td", { text: jpTime(r.effective_at) }),
  el("td", {}, r.state === "pending" ? [
    el("button", { type: "button", id: `rev-approve-${r.id}`, text: t("ra.rev.approve"),
      onclick: () => act(() => api("ra.revocation.approve", { id: r.id }), "ra.rev.approved") }),
    el("button", { type: "button", class: "secondary", id: `rev-reject-${r.id}`, text: t("ra.rev.reject"),
      onclick: () => act(() => api("ra.revocation.reject", { id: r.id, reason: t("ra.rev.rejected_in_console") }), "ra.rev.rejected") })]
    : r.state === "approved" ? el("button", { type: "button", id: `rev-execute-${r.id}`, text: t("ra.rev.execute"),
      onclick: () => act(() => api("ra.revocation.execute", { id: r.id }), "ra.rev.executed") }) : null)))));
document.getElementById("rev-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const request = { serial: f.serial.value.trim(), reason: f.reason.value };
  if (f.note.value.trim()) request.note = f.note.value.trim();
  act(() => api("ra.revocation.request", request), "ra.rev.requested");
});
load().catch((e) => say("message", e));
