#pragma once
// Keyset paging for the consoles' long lists (the outbox, a company's mails, the audit log): newest
// first, at most `limit` rows older than a cursor (a row id), and the cursor of the next page. A row
// added between two pages does not shift the next one: the cursor is an id, not an offset.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace jitsuin::ra {

inline constexpr std::int64_t kDefaultPageLimit = 100;
inline constexpr std::int64_t kMaxPageLimit = 1000;

struct PageRequest {
  std::int64_t limit = kDefaultPageLimit;   ///< 1 to kMaxPageLimit rows
  std::optional<std::int64_t> before;       ///< only rows with a smaller id; none: from the newest
};

template <class T>
struct Page {
  std::vector<T> rows;                 ///< newest first
  std::optional<std::int64_t> next;    ///< `before` of the next (older) page; none: this was the last
};

/// Throws invalid_input, naming the request's fields ("limit", `cursor_field`), for a limit
/// outside 1..kMaxPageLimit or a cursor below 1.
void check_page(const PageRequest& page, const std::string& cursor_field);

/// The bound for SQL "id < ?": the cursor, or past every id.
inline std::int64_t before_bound(const PageRequest& page) {
  return page.before.value_or(std::numeric_limits<std::int64_t>::max());
}

/// Ends a page read with "LIMIT limit + 1": drops the extra row and sets `next` to the id of the
/// page's last (oldest) row when there was one.
template <class T, class IdOf>
void finish_page(Page<T>& page, const PageRequest& request, IdOf id_of) {
  if (static_cast<std::int64_t>(page.rows.size()) <= request.limit) return;
  page.rows.resize(static_cast<std::size_t>(request.limit));
  page.next = id_of(page.rows.back());
}

}  // namespace jitsuin::ra
