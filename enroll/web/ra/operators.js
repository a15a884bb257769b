// Operator accounts (administrators): list, add with a first (temporary) password, approve a pending
// account, unlock, disable. ra/ enforces who may do what (a second administrator approves a new
// approver or administrator, never the last administrator disabled); its refusal is shown.
import { el, initPage, jpTime, say, t } from "/common/page.js";
import { api } from "/common/api.js";

await initPage({ kind: "operator", titleKey: "ra.ops.title" });
const actor = (a) => (a || "").replace(/^ra:/, "");

async function act(fn, okKey) {
  try { await fn(); await load(); say("message", t(okKey), "ok"); }
  catch (e) { say("message", t("ra.app.refused", { reason: e.message })); }
}

function status(o) {
  const s = [];
  if (o.pending) s.push(t("ra.ops.pending"));
  if (o.locked) s.push(t("ra.ops.locked"));
  if (o.disabled) s.push(t("ra.ops.disabled"));
  if (o.password_temporary) s.push(t("ra.ops.temporary"));
  return s.join(", ") || t("ra.ops.active");
}

async function load() {
  const list = await api("ra.operator.list");
  document.querySelector("#operators tbody").replaceChildren(...list.map((o) => el("tr", {},
    el("td", { text: o.name }), el("td", { lang: "ja", text: o.display_name }), el("td", { text: t(`role.${o.role}`) }),
    el("td", { text: status(o) }), el("td", { text: `${actor(o.created_by)} ${jpTime(o.created_at)}` }),
    el("td", {},
      o.pending ? el("button", { type: "button", id: `op-approve-${o.name}`, text: t("ra.ops.approve"),
        onclick: () => act(() => api("ra.operator.approve", { name: o.name }), "ra.ops.approved") }) : null,
      o.locked ? el("button", { type: "button", id: `op-unlock-${o.name}`, text: t("ra.ops.unlock"),
        onclick: () => act(() => api("ra.operator.unlock", { name: o.name }), "ra.ops.unlocked") }) : null,
      !o.disabled ? el("button", { type: "button", class: "danger", id: `op-disable-${o.name}`, text: t("ra.ops.disable"),
        onclick: () => act(() => api("ra.operator.disable", { name: o.name }), "ra.ops.disabled_done") }) : null))));
}
document.getElementById("operator-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const request = { name: f.name.value.trim(), role: f.role.value, password: f.password.value };
  if (f.display_name.value.trim()) request.display_name = f.display_name.value.trim();
  act(async () => { await api("ra.operator.add", request); ev.target.reset(); }, "ra.ops.added");
});
load().catch((e) => say("message", e));
