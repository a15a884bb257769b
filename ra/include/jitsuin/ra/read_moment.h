#pragma once
// The reads of one bearer call as of one moment. Every bearer call reads the rate-limit row of its
// address and then its session; each read is answered from the connection's cache while the
// database is unchanged, and checking that costs a small read transaction. While a ReadMoment
// lives, the check is made once, at the first read: both reads then see the database as it was at
// that instant (one consistent view rather than two), and changes made through this connection
// meanwhile are still seen at once.
#include "jitsuin/ra/context.h"

namespace jitsuin::ra {

namespace detail {
class ReadCache;
}

class ReadMoment {
 public:
  explicit ReadMoment(RaContext& ctx);
  ~ReadMoment();
  ReadMoment(const ReadMoment&) = delete;
  ReadMoment& operator=(const ReadMoment&) = delete;

 private:
  detail::ReadCache& cache_;
};

}  // namespace jitsuin::ra
