#include "session_cache.h"

#include "jitsuin/core/util.h"
#include "jitsuin/ra/read_moment.h"

namespace jitsuin::ra::detail {

namespace {
// Bounds the memory per connection: more distinct tokens or addresses than this between two
// changes of the database start the cache afresh.
constexpr std::size_t kMaxEntries = 4096;
}  // namespace

bool ReadCache::refresh(db::Database& db) {
  if (checked_ && stamp_ && !db.in_transaction() && db::own_changes(db) == stamp_->own_changes) return true;
  auto now = db::change_stamp(db);
  if (!now) return false;
  if (now != stamp_ || sessions.size() > kMaxEntries || rates.size() > kMaxEntries) {
    sessions.clear();
    rates.clear();
    stamp_ = now;
  }
  checked_ = moments_ > 0;
  return true;
}

ReadCache& read_cache(RaContext& ctx) {
  if (!ctx.read_cache) ctx.read_cache = std::make_shared<ReadCache>();
  return *ctx.read_cache;
}

std::string token_key(const std::string& token) {
  Bytes h = sha256(token);
  return std::string(h.begin(), h.end());
}

}  // namespace jitsuin::ra::detail

namespace jitsuin::ra {

ReadMoment::ReadMoment(RaContext& ctx) : cache_(detail::read_cache(ctx)) { cache_.begin_moment(); }
ReadMoment::~ReadMoment() { cache_.end_moment(); }

}  // namespace jitsuin::ra
