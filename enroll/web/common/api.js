// Calls from the pages: the API at /api/v1/<handler> with the session cookie (set by /web/login,
// HttpOnly: never visible here) and the session's CSRF token in X-CSRF-Token.
let csrf = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function parse(res) {
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

export async function login(kind, fields) {
  const res = await fetch("/web/login", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ kind, ...fields }),
  });
  const body = await parse(res);
  csrf = body.csrf_token;
  return body;
}

/// Who is logged in (and the CSRF token), or null when nobody is.
export async function session() {
  const res = await fetch("/web/session", { credentials: "same-origin" });
  if (res.status === 401) return null;
  const body = await parse(res);
  csrf = body.csrf_token;
  return body;
}

export async function api(name, request = {}) {
  const res = await fetch(`/api/v1/${name}`, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf || "" },
    body: JSON.stringify(request),
  });
  return parse(res);
}

/// Calls without a session (the applicant's pages).
export async function publicApi(name, request = {}) {
  const res = await fetch(`/api/v1/${name}`, {
    method: "POST", credentials: "omit",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(request),
  });
  return parse(res);
}

export async function logout(everywhere = false) {
  const res = await fetch("/web/logout", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf || "" },
    body: JSON.stringify({ everywhere }),
  });
  return parse(res);
}
