// Dates typed the Japanese way (issue 11). A browser's own date field shows the browser's locale
// (mm/dd/yyyy in an English Chromium, whatever the page's language), so the consoles' date fields
// are text fields: they take 2026/11/30, 2026-11-30, 2026.11.30 or 2026年11月30日, in full-width
// digits too (typed with the IME on), say so beside the field, and hand the page YYYY-MM-DD, as a
// date field would. An impossible date (2026/02/30) is refused by the field.
import { t } from "./i18n.js";

/// YYYY-MM-DD for a date written as above, or null.
export function normalizeDate(text) {
  const s = String(text).trim()
    .replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[／]/g, "/").replace(/[－‐ー]/g, "-").replace(/[．]/g, ".");
  const m = s.match(/^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return `${m[1]}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

function tidy(input) {
  const raw = input.value.trim();
  const iso = normalizeDate(raw);
  if (iso) input.value = iso;
  input.setCustomValidity(raw && !iso ? t("admin.date.invalid") : "");
  input.setAttribute("aria-invalid", raw && !iso ? "true" : "false");
}

/// Turns every <input type="date"> under `root` into such a text field.
export function japaneseDates(root = document) {
  for (const input of root.querySelectorAll('input[type="date"]')) {
    input.type = "text";
    input.classList.add("date");
    input.inputMode = "numeric";
    input.autocomplete = "off";
    input.placeholder = t("admin.date.placeholder");
    input.pattern = "\\s*[0-9０-９]{4}\\s*[-/.年／－][0-9０-９]{1,2}[-/.月／－][0-9０-９]{1,2}日?\\s*";
    const hint = document.createElement("span");
    hint.className = "hint date-hint";
    hint.id = `${input.id || input.name}-date-hint`;
    hint.textContent = t("admin.date.hint");
    input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), hint.id].filter(Boolean).join(" "));
    input.after(hint);
    input.addEventListener("change", () => tidy(input));
  }
  // Before the pages' own submit handlers (capture phase), so that they read YYYY-MM-DD.
  root.addEventListener("submit", (ev) => {
    for (const input of ev.target.querySelectorAll("input.date")) tidy(input);
  }, true);
}
