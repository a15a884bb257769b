#include "jitsuin/config/util.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "jitsuin/config/error.h"

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

UnixTime parse_rfc3339(std::string_view text) {
  auto fail = [&]() -> UnixTime {
    throw Error(ErrorKind::invalid_input,
                "not an RFC 3339 time (e.g. 2026-11-23T09:00:00+09:00): '" + std::string(text) + "'");
  };
  std::tm tm{};
  std::string s(text);
  const char* p = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p) {
    // Lower-case 't' and a space separator are allowed by RFC 3339 section 5.6's note.
    p = strptime(s.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
    if (!p) fail();
  }
  if (*p == '.') {
    ++p;
    if (!std::isdigit(static_cast<unsigned char>(*p))) fail();
    while (std::isdigit(static_cast<unsigned char>(*p))) ++p;
  }
  long offset = 0;
  if (*p == 'Z' || *p == 'z') {
    ++p;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '+' ? 1 : -1;
    int hh = 0, mm = 0;
    if (std::sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59) fail();
    offset = sign * (hh * 3600L + mm * 60L);
    p += 6;
  } else {
    fail();
  }
  if (*p != '\0') fail();
  // Reject normalised-away values such as February 30th.
  std::tm check = tm;
  time_t t = timegm(&tm);
  if (check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon || check.tm_hour != tm.tm_hour) fail();
  return static_cast<UnixTime>(t) - offset;
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

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_io("cannot read", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_secret_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_io("cannot read secret file", path);
  if (st.st_mode & 077)
    throw Error(ErrorKind::config, "secret file " + path.string() +
                                       " is readable by group or others; chmod 600 it");
  std::string s = read_file(path);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) throw Error(ErrorKind::config, "secret file " + path.string() + " is empty");
  return s;
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
