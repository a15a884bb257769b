// The companies an operator can pick (from the bundles entered), for the ID and certificate pages:
// a <select> of company number and name in kanji with kana; the page's chosen company kept in the URL.
import { el, param } from "/common/page.js";
import { api } from "/common/api.js";

export async function companyChoice(selectId, onChange) {
  const bundles = await api("ra.bundle.list");
  const seen = new Map();
  for (const b of bundles) if (!seen.has(b.company_id)) seen.set(b.company_id, b.company);
  const select = document.getElementById(selectId);
  select.replaceChildren(...[...seen].map(([id, c]) =>
    el("option", { value: String(id), lang: "ja", text: `${id}: ${c.name}（${c.name_kana}）` })));
  if (param("company") && seen.has(Number(param("company")))) select.value = param("company");
  select.addEventListener("change", () => {
    history.replaceState(null, "", `?company=${select.value}`);
    onChange(Number(select.value));
  });
  return select.value ? Number(select.value) : null;
}
