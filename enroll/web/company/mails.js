// The notification mails the company was sent (RA-10, seed 003: request received, link changed,
// expiry notices ...), newest first, a page at a time, each with its delivery state; the text of mails that never
// carry a secret. Only this company's: the server picks them by the session's company.
import { el, initPage, jpTime, pager, param, say, t } from "/common/page.js";
import { api } from "/common/api.js";

await initPage({ kind: "company", titleKey: "admin.mails.title" });

// A page at a time (paging): "older" appends the next page.
const box = document.getElementById("mails");
const load = pager(document.getElementById("older"), document.getElementById("no-older"),
  (before) => {
    const request = param("limit") ? { limit: Number(param("limit")) } : {};   // the server's default: 100
    if (before !== null) request.before_id = before;
    return api("company.mails", request);
  }, (mails, first) => {
    if (first && !mails.length) return box.replaceChildren(el("p", { text: t("common.none") }));
    (first ? box.replaceChildren : box.append).apply(box, mails.map((m) => el("details", { class: "mail", id: `mail-${m.id}` },
      el("summary", {}, `${jpTime(m.created_at)} — `, el("span", { lang: m.language, text: m.subject || t(`admin.mail.${m.template}`) }),
        ` (${m.to}, ${t(`admin.outbox.state_${m.state}`)})`),
      m.body ? el("pre", { lang: m.language, text: m.body }) : el("p", { class: "hint", text: t("admin.mails.secret") }))));
  });
load().catch((e) => say("message", e));
