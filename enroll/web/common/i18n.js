// Strings come from one dictionary per language (/common/i18n/ja.json, en.json); Japanese by
// default, the choice kept in localStorage. Elements name their string: data-i18n (text),
// data-i18n-placeholder, data-i18n-aria-label; <title data-i18n> too.
let dict = {};
let lang = "ja";

export function language() { return lang; }

export async function loadLanguage() {
  const stored = localStorage.getItem("jitsuin.lang");
  lang = stored === "en" ? "en" : "ja";
  const res = await fetch(`/common/i18n/${lang}.json`, { credentials: "same-origin" });
  dict = await res.json();
  document.documentElement.lang = lang;
  return lang;
}

/// The string `key`, with {name} replaced from `vars`; the key itself when missing (visible, not empty).
export function t(key, vars = {}) {
  let s = dict[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

export function applyI18n(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
}

/// The language switch: a button that reloads the page in the other language.
export function languageSwitch() {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "secondary";
  b.id = "lang-switch";
  b.lang = lang === "ja" ? "en" : "ja";
  b.textContent = lang === "ja" ? "English" : "日本語";
  b.addEventListener("click", () => {
    localStorage.setItem("jitsuin.lang", lang === "ja" ? "en" : "ja");
    location.reload();
  });
  return b;
}
