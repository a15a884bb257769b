#pragma once
// Calendar dates (civil, proleptic Gregorian) for paper documents: issue dates, dates received,
// dates of postal events. Dates on Japanese paperwork are local dates, so "today" is taken in JST.
#include <compare>
#include <string>
#include <string_view>

#include "jitsuin/core/util.h"

namespace jitsuin::ra {

struct Date {
  int year = 1970;
  int month = 1;   ///< 1..12
  int day = 1;     ///< 1..days_in_month

  auto operator<=>(const Date&) const = default;

  /// Parses "YYYY-MM-DD" strictly (zero-padded, a real calendar day, year 1900..9999).
  /// Throws invalid_input naming `what` and the text.
  static Date parse(std::string_view text, std::string_view what = "date");
  /// "YYYY-MM-DD".
  std::string str() const;
  /// Days since 1970-01-01.
  long days_since_epoch() const;
  static Date from_days(long days);
  Date plus_days(long n) const { return from_days(days_since_epoch() + n); }
};

/// Days in a month of a year.
int days_in_month(int year, int month);

/// Calendar month arithmetic: the same day-of-month `n` months later; when that month is shorter,
/// its last day (2025-11-30 + 3 months = 2026-02-28; 2026-01-31 + 1 month = 2026-02-28).
Date add_months(const Date& d, int n);

/// The calendar date in Japan (UTC+9) at time t.
Date date_in_japan(UnixTime t);

}  // namespace jitsuin::ra
