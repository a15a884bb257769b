// webra (issue 11): the paper forms in the RA console. Fields laid out as on paper (Forms 1–6 of
// seed 001) and checked as they are typed with the server's rules and in its words
// (ra/src/application.cpp, ra/src/bundle.cpp, ca/src/profile.cpp); the server checks everything
// again, and when it refuses, the page shows its reason as it gives it.
import { el, language, say, t } from "/common/page.js";
import { api } from "/common/api.js";
import { isRomaji, romajiErrors } from "/company/romaji.js";

/// The states in which a Form 5 may still change (ra::edit_application).
export const EDITABLE = ["received", "incomplete", "resubmitted"];

const KANA = /^[\u3041-\u309f\u30a0-\u30ff\uff65-\uff9f\u3000 ]*$/;
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

// core/src/text.cpp is_valid_email: one @, a dot-atom local part, LDH labels, at least two.
function isEmail(v) {
  const at = v.indexOf("@");
  if (v.length > 128 || at < 1 || at !== v.lastIndexOf("@")) return false;
  const local = v.slice(0, at), labels = v.slice(at + 1).split(".");
  return local.length <= 64 && ATEXT.test(local) && !local.startsWith(".") && !local.endsWith(".") &&
    !local.includes("..") && labels.length >= 2 && labels.every((l) => LABEL.test(l));
}

/// The Form-5 fields (ra::ApplicantInput), as on the paper form.
export const FORM5 = [
  { name: "name_kanji", label: "company.request.name_kanji", required: true, lang: "ja" },
  { name: "name_kana", label: "company.request.name_kana", required: true, rule: "kana", lang: "ja" },
  { name: "name_romaji", label: "company.request.name_romaji", required: true, rule: "romaji" },
  { name: "organization_romaji", label: "company.request.organization_romaji", required: true, rule: "romaji" },
  { name: "department_romaji", label: "company.request.department_romaji", rule: "romaji" },
  { name: "title_romaji", label: "company.request.title_romaji", rule: "romaji" },
  { name: "email", label: "ra.app.email", required: true, rule: "email", type: "email" },
  { name: "postcode", label: "company.request.postcode", required: true, rule: "postcode", inputmode: "numeric" },
  { name: "home_address", label: "ra.app.address", required: true, lang: "ja" },
  { name: "validity_years", label: "ra.app.validity", options: [["1", "company.request.one_year"], ["2", "company.request.two_years"]] },
];

/// A Form-4 person (contact or billing).
export const CONTACT = [
  { name: "name", label: "ra.new.person_name", required: true, lang: "ja" },
  { name: "department", label: "ra.new.department", lang: "ja" },
  { name: "email", label: "ra.new.email", required: true, rule: "email", type: "email" },
  { name: "phone", label: "ra.new.phone", rule: "phone", inputmode: "tel" },
  { name: "address", label: "ra.new.address", lang: "ja" },
];

/// A Form-6 user.
export const USER = [
  { name: "name", label: "ra.new.person_name", required: true, lang: "ja" },
  { name: "department", label: "ra.new.department", lang: "ja" },
  { name: "email", label: "ra.new.email", required: true, rule: "email", type: "email" },
];

function ruleError(f, value, all) {
  if (!value) return "";
  switch (f.rule) {
    case "kana": return KANA.test(value) ? "" : t("rules.kana", { value });
    case "email": return isEmail(value) ? "" : t("rules.email", { value });
    case "postcode": return /^[0-9]{3}-?[0-9]{4}$/.test(value) ? "" : t("rules.postcode", { value });
    case "phone": return /^[0-9+() -]*$/.test(value) ? "" : t("rules.phone", { value });
    case "company_romaji":
      if (!isRomaji(value)) return t("romaji.not_romaji", { field: t(f.label), value });
      return value.length > 40 ? t("rules.company_romaji_40") : "";
    case "romaji": return romajiErrors(all)[f.name] || "";
    case "past": return value > japanToday() ? t("rules.future", { value, today: japanToday() }) : "";
    default: return "";
  }
}

/// A group of fields: a fieldset with a legend, each control labelled, its error beside it (read
/// out as it changes). Rule errors show as typed; "required" once the form is submitted.
export class Fields {
  constructor(prefix, legend, specs, values = {}) {
    this.prefix = prefix;
    this.specs = specs;
    this.strict = false;
    this.node = el("fieldset", { id: prefix }, el("legend", { text: legend }));
    this.inputs = {};
    for (const f of specs) {
      const id = `${prefix}-${f.name.replaceAll("_", "-")}`;
      let input;
      if (f.options) {
        input = el("select", { id, name: f.name }, f.options.map(([v, k]) => el("option", { value: v, text: t(k) })));
      } else if (f.type === "checkbox") {
        input = el("input", { type: "checkbox", id, name: f.name });
      } else {
        input = el("input", { type: f.type || "text", id, name: f.name, lang: f.lang, inputmode: f.inputmode,
          min: f.min, max: f.max, "aria-describedby": `${id}-error` });
      }
      if (f.type === "checkbox") {
        this.node.append(el("label", { for: id }, input, " ", el("span", { text: t(f.label) })));
      } else {
        this.node.append(el("label", { for: id, text: t(f.label) + (f.required ? ` ${t("ra.new.required_mark")}` : "") }), input,
          el("span", { class: "field-error", id: `${id}-error`, "aria-live": "polite" }));
      }
      input.addEventListener("input", () => this.show());
      input.addEventListener("change", () => this.show());
      this.inputs[f.name] = input;
    }
    this.set(values);
  }

  set(values) {
    for (const f of this.specs) {
      if (!(f.name in values)) continue;
      const input = this.inputs[f.name];
      if (f.type === "checkbox") input.checked = Boolean(values[f.name]);
      else input.value = values[f.name] ?? "";
    }
    this.initial = this.values();
  }

  /// The typed values: text trimmed, numbers as numbers, checkboxes as booleans.
  values() {
    const v = {};
    for (const f of this.specs) {
      const input = this.inputs[f.name];
      if (f.type === "checkbox") v[f.name] = input.checked;
      else if (f.type === "number" || f.name === "validity_years") v[f.name] = input.value === "" ? null : Number(input.value);
      else v[f.name] = input.value.trim();
    }
    return v;
  }

  /// Only the values that differ from those set last (an edit sends only what changed).
  changes() {
    const v = this.values(), out = {};
    for (const [k, x] of Object.entries(v)) if (x !== this.initial[k]) out[k] = x;
    return out;
  }

  errors() {
    const v = this.values(), out = {};
    for (const f of this.specs) {
      const value = v[f.name];
      const e = this.strict && f.required && (value === "" || value === null) ? t("rules.required", { field: t(f.label) })
        : typeof value === "string" ? ruleError(f, value, v) : "";
      if (e) out[f.name] = e;
    }
    return out;
  }

  /// Shows each field's error beside it; returns the number of fields in error.
  show() {
    const errors = this.errors();
    for (const f of this.specs) {
      if (f.type === "checkbox") continue;
      const input = this.inputs[f.name];
      input.setAttribute("aria-invalid", errors[f.name] ? "true" : "false");
      document.getElementById(`${input.id}-error`).textContent = errors[f.name] || "";
    }
    return Object.keys(errors).length;
  }

  /// For submission: required fields count from now on; true when nothing is in error.
  ok() {
    this.strict = true;
    return this.show() === 0;
  }
}

/// Form-4 persons may be left out, but one given must be whole: checks them so; true when fine.
export function peopleOk(...people) {
  return people.map((f) => {
    const v = f.values();
    f.strict = Boolean(v.name || v.email);
    return f.show() === 0;
  }).every(Boolean);
}

/// Form-5 values as ra.application.add / ra.bundle.create take them (empty optional fields left out).
export function form5Request(v) {
  const out = { ...v };
  for (const k of ["department_romaji", "title_romaji"]) if (!out[k]) delete out[k];
  return out;
}

/// Runs `fn` (an API call); then reloads with `reload` and says `okKey`, or shows the server's refusal.
export async function act(fn, okKey, reload) {
  try {
    const r = await fn();
    if (reload) await reload();
    say("message", t(okKey), "ok");
    return r;
  } catch (e) {
    say("message", t("ra.app.refused", { reason: e.message }));
    return null;
  }
}

/// Today in Japan, as YYYY-MM-DD (the day the RA counts from).
export function japanToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Tokyo", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

/// Issues the application PIN of `id` (ra.pin.issue, with the approval notice) and shows it once in
/// #pin-value with the letter behind #letter-link; returns the letter's object URL.
export async function issuePin(id) {
  const r = await api("ra.pin.issue", { application: id, letter: true, language: language() === "en" ? "en" : "ja" });
  const bytes = Uint8Array.from(atob(r.letter_pdf), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/pdf" }));
  const link = document.getElementById("letter-link");
  link.href = url;
  link.download = `approval-notice-${id}.pdf`;
  document.getElementById("pin-value").textContent = r.pin;
  document.getElementById("pin-result").classList.remove("hidden");
  return url;
}
