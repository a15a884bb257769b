import { initPage, say, t } from "/common/page.js";
import { api } from "/common/api.js";

await initPage({ kind: "operator", titleKey: "ra.password.title", passwordPage: true });
const form = document.getElementById("password-form");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = form.elements;
  if (f.new.value !== f.again.value) return say("message", t("ra.password.mismatch"));
  try {
    await api("ra.passwd", { current: f.current.value, new: f.new.value, keep_keys: f.keep_keys.checked });
    location.replace("/ra/");
  } catch (e) {
    say("message", e);
  }
});
