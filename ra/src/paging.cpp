#include "jitsuin/ra/paging.h"

#include "jitsuin/core/error.h"

namespace jitsuin::ra {

void check_page(const PageRequest& page, const std::string& cursor_field) {
  if (page.limit < 1 || page.limit > kMaxPageLimit)
    throw Error(ErrorKind::invalid_input, "field 'limit' must be 1 to " + std::to_string(kMaxPageLimit));
  if (page.before && *page.before < 1)
    throw Error(ErrorKind::invalid_input, "field '" + cursor_field + "' must be 1 or more (the 'next' of the page before)");
}

}  // namespace jitsuin::ra
