// A company admin's (企業ID) own password. While the mailed initial password is in force the
// session allows nothing else (initPage sends every other page here, the API answers 403); the
// change ends every other session of the ID.
import { initPage, say, t } from "/common/page.js";
import { api } from "/common/api.js";

const who = await initPage({ kind: "company", titleKey: "company.password.title", passwordPage: true });
if (who.password_change_required) document.getElementById("password-initial").classList.remove("hidden");
const form = document.getElementById("password-form");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = form.elements;
  if (f.new.value !== f.again.value) return say("message", t("company.password.mismatch"));
  try {
    await api("company.passwd", { current: f.current.value, new: f.new.value });
    location.replace("/company/");
  } catch (e) {
    say("message", e);
  }
});
