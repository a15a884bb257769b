#pragma once
// Reads one page (jitsuin/ra/paging.h) of a query written "... id < ?<cursor> ORDER BY id DESC
// LIMIT ?<limit>": binds the cursor (or past every id) and one row more than the page, so that
// the extra row says whether there is a next page. The caller binds its other parameters.
#include <cstdint>

#include "jitsuin/db/database.h"
#include "jitsuin/ra/paging.h"

namespace jitsuin::ra::detail {

template <class T, class Make, class IdOf>
Page<T> read_page(db::Statement& st, int cursor_param, int limit_param, const PageRequest& page, Make make, IdOf id_of) {
  st.bind(cursor_param, before_bound(page)).bind(limit_param, page.limit + 1);
  Page<T> out;
  while (st.step()) out.rows.push_back(make(st));
  finish_page(out, page, id_of);
  return out;
}

}  // namespace jitsuin::ra::detail
