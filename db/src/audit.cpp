#include "jitsuin/db/audit.h"

#include <sqlite3.h>

#include <algorithm>

namespace jitsuin::db {

namespace {

void put_u64(Bytes& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// Length-prefixed fields so no two different entries serialise to the same bytes.
void put_field(Bytes& out, const std::string& s) {
  put_u64(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

Bytes entry_hash(std::span<const std::uint8_t> prev, std::int64_t seq, UnixTime at,
                 const std::string& actor, const std::string& action, const std::string& object,
                 const std::string& details) {
  Bytes buf;
  buf.reserve(64 + actor.size() + action.size() + object.size() + details.size() + prev.size());
  const std::string domain = "jitsuin-audit-v1";
  buf.insert(buf.end(), domain.begin(), domain.end());
  buf.insert(buf.end(), prev.begin(), prev.end());
  put_u64(buf, static_cast<std::uint64_t>(seq));
  put_u64(buf, static_cast<std::uint64_t>(at));
  put_field(buf, actor);
  put_field(buf, action);
  put_field(buf, object);
  put_field(buf, details);
  return sha256(buf);
}

const Bytes kGenesis(32, 0);

// "entry 4" or "entries 4-6".
std::string range(std::int64_t first, std::int64_t last) {
  if (first == last) return "entry " + std::to_string(first);
  return "entries " + std::to_string(first) + "-" + std::to_string(last);
}

}  // namespace

std::int64_t append_audit(Database& db, const AuditEvent& e, UnixTime at) {
  if (sqlite3_get_autocommit(db.handle()))
    throw Error(ErrorKind::internal, "audit entries must be appended inside a transaction");
  // Cached statements: every issuance and revocation appends an entry.
  std::int64_t seq = 1;
  Bytes prev = kGenesis;
  {
    auto last = db.cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (last->step()) {
      seq = last->int64(0) + 1;
      prev = last->blob(1);
    }
  }
  {
    // AUTOINCREMENT never re-uses a number, so a deleted tail still leaves a gap to detect.
    auto sq = db.cached("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'");
    if (sq->step()) seq = std::max(seq, sq->int64(0) + 1);
  }
  Bytes hash = entry_hash(prev, seq, at, e.actor, e.action, e.object, e.details);
  auto ins = db.cached(
      "INSERT INTO audit_log (seq, at, actor, action, object, details, prev_hash, hash) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  ins->bind(1, seq).bind(2, at).bind(3, e.actor).bind(4, e.action).bind(5, e.object).bind(6, e.details);
  ins->bind_blob(7, prev).bind_blob(8, hash);
  ins->exec();
  return seq;
}

AuditReport verify_audit(Database& db, AuditReplay* replay) {
  AuditReport r;
  Transaction tx(db, TxMode::deferred);  // one consistent snapshot
  Statement st(db,
               "SELECT seq, at, actor, action, object, details, prev_hash, hash FROM audit_log "
               "ORDER BY rowid");
  Bytes prev = kGenesis;
  std::int64_t expected = 1;
  auto bad = [&](std::int64_t seq, std::string why) {
    r.ok = false;
    r.first_bad = seq;
    r.problem = std::move(why);
    return r;
  };
  while (st.step()) {
    std::int64_t seq = st.int64(0);
    if (seq != expected) {
      // A gap names its first missing entry, like a deleted tail does below.
      if (seq > expected)
        return bad(expected, range(expected, seq - 1) + " before entry " + std::to_string(seq) +
                                 (seq - 1 > expected ? " are" : " is") + " missing (deleted)");
      return bad(seq, "entry " + std::to_string(seq) + " is out of order");
    }
    auto stored_prev = st.blob_view(6);
    if (!std::equal(stored_prev.begin(), stored_prev.end(), prev.begin(), prev.end()))
      return bad(seq, "entry " + std::to_string(seq) +
                          " does not follow the previous entry (entries deleted or reordered)");
    std::string actor = st.text(2), action = st.text(3), object = st.text(4), details = st.text(5);
    UnixTime at = st.int64(1);
    Bytes h = entry_hash(prev, seq, at, actor, action, object, details);
    auto stored = st.blob_view(7);
    if (!std::equal(stored.begin(), stored.end(), h.begin(), h.end()))
      return bad(seq, "entry " + std::to_string(seq) + " was edited (its hash does not match its content)");
    if (replay) replay->entry({seq, at, actor, action, object, details});
    prev = h;
    ++expected;
    ++r.entries;
  }
  Statement sq(db, "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'");
  if (sq.step() && sq.int64(0) >= expected)
    return bad(expected, range(expected, sq.int64(0)) + " at the end of the log" +
                             (sq.int64(0) > expected ? " are" : " is") + " missing (deleted)");
  r.head_hash = to_hex(prev);
  if (replay) replay->finish(db);
  return r;
}

Bytes row_digest(std::string_view domain, const Statement& row, int columns) {
  Bytes buf(domain.begin(), domain.end());
  put_u64(buf, static_cast<std::uint64_t>(columns));
  for (int c = 0; c < columns; ++c) {
    ValueType t = row.type(c);
    buf.push_back(static_cast<std::uint8_t>(t));
    switch (t) {
      case ValueType::null: break;
      case ValueType::integer: put_u64(buf, static_cast<std::uint64_t>(row.int64(c))); break;
      case ValueType::real:
      case ValueType::text: put_field(buf, row.text(c)); break;
      case ValueType::blob: {
        auto b = row.blob_view(c);
        put_u64(buf, b.size());
        buf.insert(buf.end(), b.begin(), b.end());
        break;
      }
    }
  }
  return sha256(buf);
}

}  // namespace jitsuin::db
