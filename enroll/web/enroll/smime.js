// Seed 004: the S/MIME coupon holder applies (smime.apply) or asks for a re-issue (smime.reissue)
// with the coupon, a romaji name and ONE e-mail address (typed twice: a wrong address is the
// commonest reason for a re-issue). The application PIN is mailed to that address about 15 minutes
// later; the steps from there are the usual ones (jitsuin token enroll, or enroll.start/collect).
import { el, initPage, jpTime, language, say, t } from "/common/page.js";
import { publicApi } from "/common/api.js";

await initPage({ kind: "applicant", titleKey: "enroll.smime.title" });
const form = document.getElementById("smime-form");
const reissueNote = document.getElementById("reissue-note");
for (const r of form.elements.kind)
  r.addEventListener("change", () => reissueNote.classList.toggle("hidden", form.elements.kind.value !== "reissue"));

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = form.elements;
  const email = f.email.value.trim();
  if (email !== f.email2.value.trim()) { say("message", t("enroll.smime.email_mismatch")); return; }
  const request = { coupon: f.coupon.value.trim(), name_romaji: f.name_romaji.value.trim(), email };
  if (f.name.value.trim()) request.name = f.name.value.trim();
  if (f.organization_romaji.value.trim()) request.organization_romaji = f.organization_romaji.value.trim();
  const reissue = f.kind.value === "reissue";
  try {
    const r = await publicApi(reissue ? "smime.reissue" : "smime.apply", request);
    const fact = (k, v) => [el("dt", { text: t(k) }), el("dd", {}, v)];
    document.getElementById("smime-facts").replaceChildren(
      ...fact("enroll.smime.application", el("span", { id: "smime-application", text: String(r.application_id) })),
      ...fact("enroll.smime.mailed_to", r.mailed_to),
      ...fact("enroll.smime.mail_at", jpTime(r.mail_not_before)),
      ...fact("enroll.smime.pin_until", jpTime(r.application_pin_expires_at)),
      ...(r.replaces_serial ? fact("enroll.smime.replaces", r.replaces_serial) : []));
    document.getElementById("smime-result").classList.remove("hidden");
    form.reset();
    reissueNote.classList.add("hidden");
    say("message", t(reissue ? "enroll.smime.done_reissue" : "enroll.smime.done"), "ok");
  } catch (e) {
    const b = e.body || {};
    let text = (language() === "ja" && b.message_ja) || e.message;
    if (b.remaining !== undefined) text += ` ${t("enroll.status.remaining", { n: b.remaining })}`;
    say("message", text);
  }
});
