// A certificate's state as the consoles show it: valid, expiring (within 60 days), revoked,
// expired or revocation pending (the keys of the dictionary's cert.* strings).
export function certStatus(c) {
  if (c.status !== "valid") return c.status === "revocation pending" ? "revocation_pending" : c.status;
  return new Date(c.not_after) - Date.now() < 60 * 86400 * 1000 ? "expiring" : "valid";
}
