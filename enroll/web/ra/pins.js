// webra (issue 11): PIN re-issues (RA-4). An application PIN that is lost, expired or locked is
// re-issued in two steps by two people: one operator records the request (ra.pin.reissue_request:
// the old PIN stops working at once), a different approver issues the new one (ra.pin.issue, shown
// once here with its approval notice). A download PIN (after the applicant's enrollment) is
// re-issued by an approver (ra.download_pin.reissue): a new one is mailed, the old one is replaced.
// The server enforces who may; its refusal is shown as it words it.
import { el, initPage, jpTime, personName, say, stateName, t } from "/common/page.js";
import { api } from "/common/api.js";
import { act, issuePin } from "/ra/forms.js";

await initPage({ kind: "operator", titleKey: "ra.pins.title" });
const operator = (actor) => (actor || "").replace(/^ra:/, "");

function pinStatus(a) {
  if (a.pin_reissue_requested_by) return t("ra.pins.status_requested");
  if (a.pin_locked_at) return t("ra.pins.status_locked", { when: jpTime(a.pin_locked_at) });
  if (a.pin_expires_at && new Date(a.pin_expires_at) <= new Date()) return t("ra.pins.status_expired", { when: jpTime(a.pin_expires_at) });
  return t("ra.pins.status_valid", { when: jpTime(a.pin_expires_at), n: a.pin_failures });
}

async function load() {
  const lists = await Promise.all(["pin_issued", "notice_mailed", "enrolled"].map((state) => api("ra.application.list", { state })));
  const withPin = [...lists[0], ...lists[1]].sort((x, y) => x.id - y.id);
  document.querySelector("#app-pins tbody").replaceChildren(...withPin.map((a) => el("tr", {},
    el("td", {}, el("a", { href: `/ra/application.html?id=${a.id}`, text: String(a.id) })),
    el("td", {}, personName(a.name_kanji, a.name_kana)),
    el("td", { lang: "ja", text: a.company }),
    el("td", { class: "state", text: stateName(a.state) }),
    el("td", { class: "pin-status", text: pinStatus(a) }),
    el("td", { text: a.pin_reissue_requested_by ? operator(a.pin_reissue_requested_by) : "—" }),
    el("td", {}, a.pin_reissue_requested_by
      ? el("button", { type: "button", id: `pin-issue-${a.id}`, text: t("ra.pins.issue_new"),
          onclick: () => act(async () => {
            await issuePin(a.id);
            document.getElementById("pin-for").textContent = t("ra.app.heading", { id: a.id });
          }, "ra.app.pin_issued", load) })
      : el("button", { type: "button", class: "secondary", id: `pin-request-${a.id}`, text: t("ra.pins.request_submit"),
          onclick: () => { document.getElementById("rq-app").value = String(a.id); document.getElementById("rq-reason").focus(); } })))));
  if (!withPin.length) document.querySelector("#app-pins tbody").append(el("tr", {}, el("td", { colspan: 7, text: t("common.none") })));
  const select = document.getElementById("rq-app");
  const chosen = select.value;
  select.replaceChildren(...withPin.filter((a) => !a.pin_reissue_requested_by)
    .map((a) => el("option", { value: a.id, text: `${a.id} ${a.name_kanji} (${a.company})` })));
  if (chosen) select.value = chosen;

  // Enrolled applications: the download PIN mailed to the Form-5 address.
  const rows = await Promise.all(lists[2].map(async (a) => {
    const pins = (await api("ra.application.show", { id: a.id })).download_pins || [];
    const last = pins[pins.length - 1];
    return el("tr", {},
      el("td", {}, el("a", { href: `/ra/application.html?id=${a.id}`, text: String(a.id) })),
      el("td", {}, personName(a.name_kanji, a.name_kana)),
      el("td", { text: a.email }),
      el("td", { class: "dl-status", text: last ? t(`dlpin.${last.status}`) : "—" }),
      el("td", { text: last ? jpTime(last.expires_at) : "" }),
      el("td", {}, el("button", { type: "button", id: `dl-reissue-${a.id}`, text: t("ra.pins.dl_reissue"),
        onclick: () => act(() => api("ra.download_pin.reissue", { id: a.id }), "ra.pins.dl_reissued", load) })));
  }));
  document.querySelector("#dl-pins tbody").replaceChildren(...rows);
  if (!rows.length) document.querySelector("#dl-pins tbody").append(el("tr", {}, el("td", { colspan: 6, text: t("common.none") })));
}

document.getElementById("request-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const reason = f.reason.value.trim();
  if (!f.application.value) return say("message", t("ra.pins.choose"));
  if (!reason) return say("message", t("ra.pins.reason_needed"));
  act(async () => { await api("ra.pin.reissue_request", { application: Number(f.application.value), reason }); f.reason.value = ""; },
    "ra.pins.requested", load);
});
load().catch((e) => say("message", e));
