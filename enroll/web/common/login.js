// The login form of the RA console and of the company-admin pages (form data-kind).
import { initPage, say, t } from "./page.js";
import { login } from "./api.js";

const form = document.getElementById("login-form");
const kind = form.dataset.kind;
await initPage({ kind, titleKey: `${kind === "company" ? "company" : "ra"}.login.title`, loginPage: true });
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = form.elements.id.value.trim();
  const password = form.elements.password.value;
  try {
    const r = await login(kind, kind === "company" ? { login_id: id, password } : { user: id, password });
    if (r.password_change_required) location.replace(kind === "company" ? "/company/password.html" : "/ra/password.html");
    else location.replace(kind === "company" ? "/company/" : "/ra/");
  } catch (e) {
    say("login-message", t("login.failed", { reason: e.message }));
  }
});
