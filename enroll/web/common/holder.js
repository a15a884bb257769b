// The change-of-holder form (利用者変更, RA-9), on the RA's ID page and the company admin's page:
// its fields as the request of ra.account.change_holder / company.account.change_holder.
export function holderRequest(form) {
  const v = Object.fromEntries([...form.elements].filter((e) => e.name).map((e) => [e.name, e.value.trim()]));
  const request = { login_id: v.login_id, name: v.name, email: v.email };
  if (v.department) request.department = v.department;
  return request;
}
