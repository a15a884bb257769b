#pragma once
// What every bearer call reads before its handler runs — the session behind the token, the rate-
// limit row of the caller's address — remembered per database connection for as long as the
// database is unchanged. Each use first reads the connection's db::ChangeStamp: any commit since
// (a logout, logout_all, an operator locked, disabled or unlocked, a counted failure, from this
// process or another: the CLI, cron) makes the cache forget everything, so what it answers is what
// the database would answer now. Time is never cached: a session's expiry and a rate window are
// compared with the clock on every use.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "jitsuin/db/change_stamp.h"
#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra::detail {

/// A live session as last read: its principal (an operator's password_change_only is the
/// password_temporary flag) and its expiry.
struct CachedSession {
  Principal principal;
  UnixTime expires_at = 0;
};

/// An ra_auth_rate row as last read.
struct RateRow {
  UnixTime window_start = 0;
  std::int64_t attempts = 0;
};

class ReadCache {
 public:
  /// Forgets everything when the database changed since the last call. False inside a
  /// transaction: then the cache must be neither read nor filled. Within a ReadMoment, only the
  /// first call reads the stamp; later ones check this connection's own changes.
  bool refresh(db::Database& db);
  void begin_moment() { ++moments_; }
  void end_moment() {
    if (--moments_ == 0) checked_ = false;
  }

  std::unordered_map<std::string, CachedSession> sessions;          // by the token's SHA-256
  std::unordered_map<std::string, std::optional<RateRow>> rates;    // by counter key; nullopt: no row

 private:
  std::optional<db::ChangeStamp> stamp_;
  int moments_ = 0;       // ReadMoments alive on this connection
  bool checked_ = false;  // the stamp was read in the current moment
};

/// The cache of ctx's connection (made on first use).
ReadCache& read_cache(RaContext& ctx);

/// The token's SHA-256 as a map key.
std::string token_key(const std::string& token);

/// resume_session and resume_company_session, also giving the session's expiry (for the cache).
Principal resume_operator_session(RaContext& ctx, const std::string& token, SessionUse use, UnixTime& expires_at);
Principal resume_company_admin_session(RaContext& ctx, const std::string& token, SessionUse use, UnixTime& expires_at);

}  // namespace jitsuin::ra::detail
