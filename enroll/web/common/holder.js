// The change-of-holder form (利用者変更, RA-9), on the RA's ID page and the company admin's page:
// built into an empty <form id="holder-form"> (one markup for both), and its fields as the request
// of ra.account.change_holder / company.account.change_holder.
import { el, t } from "./page.js";

export function holderForm() {
  const form = document.getElementById("holder-form");
  const field = (id, key, input) => [el("label", { for: id, text: t(key) }), input];
  form.replaceChildren(el("fieldset", {}, el("legend", { text: t("admin.holder.title") }),
    el("p", { class: "hint", text: t("admin.holder.rule") }),
    ...field("holder-id", "company.col.login_id", el("select", { id: "holder-id", name: "login_id", required: true })),
    ...field("holder-name", "admin.holder.name", el("input", { type: "text", id: "holder-name", name: "name", required: true })),
    ...field("holder-department", "company.col.department", el("input", { type: "text", id: "holder-department", name: "department" })),
    ...field("holder-email", "company.col.email", el("input", { type: "email", id: "holder-email", name: "email", required: true })),
    el("button", { type: "submit", id: "holder-submit", text: t("admin.holder.submit") })));
  return form;
}

export function holderRequest(form) {
  const v = Object.fromEntries([...form.elements].filter((e) => e.name).map((e) => [e.name, e.value.trim()]));
  const request = { login_id: v.login_id, name: v.name, email: v.email };
  if (v.department) request.department = v.department;
  return request;
}
