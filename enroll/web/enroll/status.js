// The status of an application, after the applicant gives its ID and application PIN
// (enroll.status: the PIN is checked, not spent; a wrong one counts as an attempt).
import { el, initPage, jpTime, language, say, t } from "/common/page.js";
import { publicApi } from "/common/api.js";

await initPage({ kind: "applicant", titleKey: "enroll.status.title" });
document.getElementById("status-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  try {
    const r = await publicApi("enroll.status", { application_id: Number(f.application.value.trim()),
                                                 application_pin: f.pin.value.trim() });
    const ja = language() === "ja";
    const fact = (k, v) => [el("dt", { text: t(k) }), el("dd", {}, v)];
    document.getElementById("status-facts").replaceChildren(
      ...fact("enroll.status.application", String(r.application_id)),
      ...fact("enroll.status.state", el("span", { id: "status-state", text: ja ? r.state_ja : r.state })),
      ...(r.download_pin_expires_at ? fact("enroll.status.download_until", jpTime(r.download_pin_expires_at)) : []),
      ...(r.certificate_serial ? fact("enroll.status.serial", r.certificate_serial) : []));
    document.getElementById("status-next").textContent = ja ? r.message_ja : r.message;
    document.getElementById("status-result").classList.remove("hidden");
    say("message", "", "ok");
  } catch (e) {
    const b = e.body || {};
    let text = (language() === "ja" && b.message_ja) || e.message;
    if (b.remaining !== undefined) text += ` ${t("enroll.status.remaining", { n: b.remaining })}`;
    say("message", text);
  }
});
