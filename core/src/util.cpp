#include "jitsuin/core/util.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "jitsuin/core/error.h"

namespace jitsuin {

Clock system_clock() {
  return [] {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

std::string to_hex(std::span<const std::uint8_t> data) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (auto b : data) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

Bytes from_hex(std::string_view hex) {
  if (hex.starts_with("0x") || hex.starts_with("0X")) hex.remove_prefix(2);
  std::string clean;
  for (char c : hex)
    if (c != ':') clean.push_back(c);
  JITSUIN_ARG_CHECK(!clean.empty(), "empty hex string");
  if (clean.size() % 2) clean.insert(clean.begin(), '0');
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw Error(ErrorKind::invalid_input, "not a hex string: '" + std::string(hex) + "'");
  };
  Bytes out(clean.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::uint8_t>(nibble(clean[2 * i]) << 4 | nibble(clean[2 * i + 1]));
  return out;
}

std::string format_rfc3339(UnixTime t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

UnixTime parse_rfc3339(std::string_view text) {
  // Strict RFC 3339 section 5.6: date-time = YYYY-MM-DD ("T" / "t" / " ") hh:mm:ss [.fraction]
  // ("Z" / "z" / +hh:mm / -hh:mm). Fixed-width fields, real calendar dates, no trailing text.
  auto fail = [&]() -> UnixTime {
    throw Error(ErrorKind::invalid_input,
                "not an RFC 3339 time (e.g. 2026-11-23T09:00:00+09:00): '" + std::string(text) + "'");
  };
  std::size_t i = 0;
  auto digits = [&](std::size_t n) -> int {
    if (i + n > text.size()) fail();
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      char c = text[i + k];
      if (c < '0' || c > '9') fail();
      v = v * 10 + (c - '0');
    }
    i += n;
    return v;
  };
  auto expect = [&](std::string_view chars) {
    if (i >= text.size() || chars.find(text[i]) == std::string_view::npos) fail();
    ++i;
  };
  int year = digits(4);
  expect("-");
  int month = digits(2);
  expect("-");
  int day = digits(2);
  expect("Tt ");
  int hour = digits(2);
  expect(":");
  int minute = digits(2);
  expect(":");
  int second = digits(2);
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == start) fail();
  }
  long offset = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int sign = text[i] == '+' ? 1 : -1;
    ++i;
    int oh = digits(2);
    expect(":");
    int om = digits(2);
    if (oh > 23 || om > 59) fail();
    offset = sign * (oh * 3600L + om * 60L);
  } else {
    fail();
  }
  if (i != text.size()) fail();
  static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12) fail();
  int max_day = month_days[month - 1] + (month == 2 && leap ? 1 : 0);
  // Leap seconds (:60) are refused: UTC seconds in jitsuin never name them.
  if (day < 1 || day > max_day || hour > 23 || minute > 59 || second > 59) fail();
  std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return days * 86400 + hour * 3600L + minute * 60L + second - offset;
}

namespace {
[[noreturn]] void throw_io(const std::string& what, const std::filesystem::path& path) {
  throw Error(ErrorKind::io, what + " " + path.string() + ": " + std::strerror(errno), errno);
}
}  // namespace

StagedFile::StagedFile(std::filesystem::path path, std::string_view data, unsigned mode) : path_(std::move(path)) {
  auto dir = path_.parent_path().empty() ? std::filesystem::path(".") : path_.parent_path();
  tmp_ = (dir / ("." + path_.filename().string() + ".XXXXXX")).string();
  int fd = mkstemp(tmp_.data());
  if (fd < 0) {
    tmp_.clear();
    throw_io("cannot create a temporary file next to", path_);
  }
  auto fail = [&](const char* what) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    throw_io(what, tmp_);
  };
  if (::fchmod(fd, mode) != 0) fail("cannot set the mode of");
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot sync");
  ::close(fd);
}

StagedFile::~StagedFile() {
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void StagedFile::commit() {
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) throw_io("cannot rename into place", path_);
  tmp_.clear();
  // Make the rename itself durable.
  auto dir = path_.parent_path().empty() ? std::filesystem::path(".") : path_.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::filesystem::path& path, std::string_view data, unsigned mode) {
  StagedFile(path, data, mode).commit();
}

void create_private_directories(const std::filesystem::path& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return;
  auto parent = dir.parent_path();
  if (!parent.empty() && parent != dir) create_private_directories(parent);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST && std::filesystem::is_directory(dir, ec)) return;   // made meanwhile, or "."
    throw_io("cannot create folder", dir);
  }
  ::chmod(dir.c_str(), 0700);   // exactly 0700, even under an odd umask such as 0200
}

namespace {

std::string size_text(std::size_t bytes) {
  if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
  if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// Reads the open descriptor fd to its end, at most max_bytes: the size a regular file reports is
// checked before reading, and the count while reading (a device such as /dev/zero reports 0, a
// file may grow), so no more than max_bytes + 1 bytes are ever held. Closes fd.
std::string read_capped(int fd, const std::filesystem::path& path, std::size_t max_bytes, const char* what,
                        ErrorKind too_large) {
  auto fail_io = [&](const std::string& msg) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    throw_io(msg, path);
  };
  auto refuse = [&] {
    ::close(fd);
    throw Error(too_large, std::string(what) + " " + path.string() + " is larger than " + size_text(max_bytes) +
                               " (the limit for such a file)");
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_io(std::string("cannot read ") + what);
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::io, std::string("cannot read ") + what + " " + path.string() + ": it is a directory");
  }
  if (S_ISREG(st.st_mode) && static_cast<std::uintmax_t>(st.st_size) > max_bytes) refuse();
  std::string s;
  if (S_ISREG(st.st_mode)) s.reserve(static_cast<std::size_t>(st.st_size));
  char buf[16384];
  for (;;) {
    std::size_t want = std::min(sizeof buf, max_bytes + 1 - s.size());
    ssize_t n = ::read(fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io(std::string("cannot read ") + what);
    }
    if (n == 0) break;
    s.append(buf, static_cast<std::size_t>(n));
    if (s.size() > max_bytes) refuse();
  }
  ::close(fd);
  return s;
}

}  // namespace

std::string read_file(const std::filesystem::path& path, std::size_t max_bytes, const char* what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_io(std::string("cannot read ") + what, path);
  return read_capped(fd, path, max_bytes, what, ErrorKind::invalid_input);
}

std::string read_secret_file(const std::filesystem::path& path) {
  // fstat on the descriptor that is read, so the file checked is the file read.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_io("cannot read secret file", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    throw_io("cannot read secret file", path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::config, "secret file " + path.string() + " is not a regular file");
  }
  if (st.st_mode & 077) {
    ::close(fd);
    throw Error(ErrorKind::config, "secret file " + path.string() +
                                       " is readable by group or others; chmod 600 it");
  }
  std::string s = read_capped(fd, path, kMaxSecretFileBytes, "secret file", ErrorKind::config);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) throw Error(ErrorKind::config, "secret file " + path.string() + " is empty");
  return s;
}

std::string to_base64(std::span<const std::uint8_t> data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string to_base64(std::string_view data) {
  return to_base64(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

Bytes from_base64(std::string_view text) {
  JITSUIN_ARG_CHECK(text.size() % 4 == 0, "not base64: the length is not a multiple of 4");
  // The alphabet only, and '=' only as the one or two last characters (EVP_DecodeBlock would
  // also take spaces, and padding anywhere).
  std::size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  for (std::size_t i = 0; i + pad < text.size(); ++i) {
    char c = text[i];
    JITSUIN_ARG_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/',
                      "not base64: unexpected character");
  }
  Bytes out(3 * (text.size() / 4) + 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  JITSUIN_ARG_CHECK(n >= 0, "not base64");
  out.resize(static_cast<std::size_t>(n) - pad);   // EVP_DecodeBlock counts the padding as zero bytes
  return out;
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  if (n && RAND_priv_bytes(out.data(), static_cast<int>(n)) != 1)
    throw Error(ErrorKind::crypto, "the system random generator failed");
  return out;
}

Bytes sha256(std::span<const std::uint8_t> data) {
  Bytes out(32);
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1)
    throw Error(ErrorKind::crypto, "SHA-256 failed");
  return out;
}

Bytes sha256(std::string_view data) {
  return sha256(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

}  // namespace jitsuin
