// The romaji rules of certificate subjects (RA-8; ca/src/profile.cpp's, with its messages), checked
// as the admin types; the server checks them again.
import { t } from "/common/page.js";

const LEGAL_FORMS = ["co ltd", "co. ltd", "co. ltd.", "co.ltd", "co.ltd.", "ltd", "ltd.", "k.k.", "k.k", "kk",
  "kabushiki kaisha", "kabushiki gaisha", "kabushikikaisha", "kabushikigaisha", "inc", "inc.", "yugen kaisha",
  "godo kaisha", "g.k.", "llc"];

export const isRomaji = (v) => /^[A-Za-z0-9 .\-]+$/.test(v);

function hasLegalForm(org) {
  const o = org.toLowerCase();
  return LEGAL_FORMS.some((f) => o === f || (o.length > f.length && o.endsWith(f) && o[o.length - f.length - 1] === " ") ||
    (o.length > f.length && o.startsWith(f) && o[f.length] === " "));
}

/// {field: message} for the fields that break a rule (empty optional fields are fine).
export function romajiErrors(v) {
  const errors = {};
  for (const field of ["name_romaji", "organization_romaji", "department_romaji", "title_romaji"]) {
    const value = v[field] || "";
    if (value && !isRomaji(value)) errors[field] = t("romaji.not_romaji", { field: t(`company.request.${field}`), value });
    else if (value && (value.startsWith(" ") || value.endsWith(" "))) errors[field] = t("romaji.spaces", { field: t(`company.request.${field}`) });
  }
  if (!errors.organization_romaji && (v.organization_romaji || "").length > 40) errors.organization_romaji = t("romaji.company_40");
  else if (!errors.organization_romaji && hasLegalForm(v.organization_romaji || "")) errors.organization_romaji = t("romaji.legal_form");
  if ((v.department_romaji || "").length + (v.title_romaji || "").length > 60) {
    errors.department_romaji ??= t("romaji.dept_title_60");
    errors.title_romaji ??= t("romaji.dept_title_60");
  }
  return errors;
}
