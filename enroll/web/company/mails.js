// The notification mails the company was sent (RA-10, seed 003: request received, link changed,
// expiry notices ...), newest first, each with its delivery state; the text of mails that never
// carry a secret. Only this company's: the server picks them by the session's company.
import { el, initPage, jpTime, say, t } from "/common/page.js";
import { api } from "/common/api.js";

await initPage({ kind: "company", titleKey: "admin.mails.title" });

async function load() {
  const mails = await api("company.mails");
  const box = document.getElementById("mails");
  if (!mails.length) return box.replaceChildren(el("p", { text: t("common.none") }));
  box.replaceChildren(...mails.map((m) => el("details", { class: "mail", id: `mail-${m.id}` },
    el("summary", {}, `${jpTime(m.created_at)} — `, el("span", { lang: m.language, text: m.subject || t(`admin.mail.${m.template}`) }),
      ` (${m.to}, ${t(`admin.outbox.state_${m.state}`)})`),
    m.body ? el("pre", { lang: m.language, text: m.body }) : el("p", { class: "hint", text: t("admin.mails.secret") }))));
}
load().catch((e) => say("message", e));
