// The audit log (CA-6) for auditors and administrators: audit.verify's verdict on the whole hash
// chain (and the CA's rows replayed against it), then the entries newest first, filtered by action,
// a page at a time.
import { el, initPage, jpTime, pager, say, t } from "/common/page.js";
import { api } from "/common/api.js";

await initPage({ kind: "operator", titleKey: "admin.audit.title" });

async function verify() {
  const v = await api("audit.verify");
  const text = document.getElementById("verdict-text");
  text.textContent = v.ok ? t("admin.audit.ok", { entries: v.entries }) : t("admin.audit.broken", { seq: v.first_bad });
  text.className = `state ${v.ok ? "status-valid" : "status-revoked"}`;
  const fact = (k, value) => value === undefined ? [] : [el("dt", { text: t(k) }), el("dd", {}, el("code", { text: String(value) }))];
  document.getElementById("verdict-facts").replaceChildren(...fact("admin.audit.checked", v.entries),
    ...fact("admin.audit.head", v.head), ...fact("admin.audit.certificates", v.certificates),
    ...fact("admin.audit.first_bad", v.first_bad), ...fact("admin.audit.problem", v.problem));
}

// The newest entries first, a page of the chosen size at a time (paging): "older" appends the
// page before the oldest shown (before_seq).
const body = document.querySelector("#entries tbody");
const entries = pager(document.getElementById("older"), document.getElementById("no-older"), (before) => {
  const f = document.getElementById("filter").elements;
  const request = { limit: Number(f.limit.value) };
  if (f.action.value.trim()) request.action = f.action.value.trim();
  if (before !== null) request.before_seq = before;
  return api("audit.list", request);
}, (list, first) => (first ? body.replaceChildren : body.append).apply(body, list.map((e) => el("tr", { id: `seq-${e.seq}` },
  el("td", { text: String(e.seq) }), el("td", { text: jpTime(e.at) }), el("td", { text: e.actor }),
  el("td", {}, el("code", { text: e.action })), el("td", { text: e.object }),
  el("td", {}, el("code", { text: typeof e.details === "string" ? e.details : JSON.stringify(e.details) }))))));

const show = (p) => p.catch((e) => say("message", t("ra.app.refused", { reason: e.message })));
document.getElementById("verify").addEventListener("click", () => show(verify()));
document.getElementById("filter").addEventListener("submit", (ev) => { ev.preventDefault(); show(entries()); });
show(verify().then(entries));
