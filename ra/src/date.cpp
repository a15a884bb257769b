#include "jitsuin/ra/date.h"

#include <algorithm>
#include <cstdio>

#include "jitsuin/core/error.h"
#include "jitsuin/core/text.h"

namespace jitsuin::ra {

namespace {

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian calendar.
long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const long yoe = y - era * 400;
  const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

int days_in_month(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && leap(year)) return 29;
  return kDays[month - 1];
}

Date Date::parse(std::string_view text, std::string_view what) {
  auto bad = [&]() -> Error {
    return Error(ErrorKind::invalid_input,
                 std::string(what) + " '" + std::string(text) + "' is not a calendar date (YYYY-MM-DD)");
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') throw bad();
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (text[i] < '0' || text[i] > '9') throw bad();
  auto num = [&](std::size_t from, std::size_t n) {
    int v = 0;
    for (std::size_t i = from; i < from + n; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  Date d{num(0, 4), num(5, 2), num(8, 2)};
  if (d.year < 1900 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > days_in_month(d.year, d.month))
    throw bad();
  return d;
}

std::string Date::str() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
  return buf;
}

long Date::days_since_epoch() const { return days_from_civil(year, month, day); }

Date Date::from_days(long z) {
  z += 719468;
  const long era = (z >= 0 ? z : z - 146096) / 146097;
  const long doe = z - era * 146097;
  const long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long y = yoe + era * 400;
  const long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const long mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return Date{static_cast<int>(y + (m <= 2)), m, d};
}

Date add_months(const Date& d, int n) {
  long index = static_cast<long>(d.year) * 12 + (d.month - 1) + n;
  int year = static_cast<int>(index / 12), month = static_cast<int>(index % 12) + 1;
  int day = std::min(d.day, days_in_month(year, month));
  return Date{year, month, day};
}

Date date_in_japan(UnixTime t) {
  UnixTime local = t + kJapanUtcOffsetSeconds;
  long days = static_cast<long>(local / 86400 - (local % 86400 < 0 ? 1 : 0));
  return Date::from_days(days);
}

}  // namespace jitsuin::ra
