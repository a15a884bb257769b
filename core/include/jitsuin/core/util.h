#pragma once
// Small helpers every module needs: hex, time, files, randomness, hashing.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace jitsuin {

using Bytes = std::vector<std::uint8_t>;

/// Seconds since the Unix epoch. All times in jitsuin are UTC seconds.
using UnixTime = std::int64_t;

/// Source of "now"; injected so tests control time.
using Clock = std::function<UnixTime()>;

/// The system clock.
Clock system_clock();

/// Lower-case hex of bytes.
std::string to_hex(std::span<const std::uint8_t> data);

/// Parses hex (either case, optional "0x" prefix and ':' separators). Throws invalid_input.
Bytes from_hex(std::string_view hex);

/// Formats as RFC 3339 UTC, e.g. "2026-11-21T05:24:40Z".
std::string format_rfc3339(UnixTime t);

/// Parses RFC 3339 ("2026-11-21T05:24:40Z", "+09:00" offsets, optional fraction). Throws invalid_input.
UnixTime parse_rfc3339(std::string_view text);

/// Writes data to path atomically: temp file in the same directory, fsync, rename.
/// A reader sees either the old file or the whole new one, never half of it.
void write_file_atomic(const std::filesystem::path& path, std::string_view data, unsigned mode = 0644);

/// Two-phase atomic write: the constructor writes and syncs a temporary file next to path;
/// commit() renames it into place. Destroyed without commit(), the temporary file is removed.
/// Lets a caller commit a database transaction between writing and publishing a file.
class StagedFile {
 public:
  StagedFile(std::filesystem::path path, std::string_view data, unsigned mode = 0644);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  StagedFile(StagedFile&& o) noexcept : path_(std::move(o.path_)), tmp_(std::move(o.tmp_)) { o.tmp_.clear(); }
  void commit();

 private:
  std::filesystem::path path_;
  std::string tmp_;
};

/// Size caps of the files jitsuin reads (read_file's max_bytes). Every file a person names is read
/// with the cap of its use, so a huge file or a device (`--csr /dev/zero`) fails quickly instead of
/// filling memory.
inline constexpr std::size_t kMaxCsrFileBytes = 64 * 1024;            ///< a PKCS#10 request (PEM or DER)
inline constexpr std::size_t kMaxOcspRequestBytes = 64 * 1024;      ///< an OCSP request (DER)
inline constexpr std::size_t kMaxJsonInputBytes = 1024 * 1024;        ///< subject, bundle, form, changes
inline constexpr std::size_t kMaxConfigFileBytes = 1024 * 1024;       ///< jitsuin.json
inline constexpr std::size_t kMaxProfileFileBytes = 256 * 1024;       ///< one certificate profile
inline constexpr std::size_t kMaxSecretFileBytes = 4096;              ///< a PIN, password or session token
inline constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;        ///< anything else

/// Creates a folder and any missing parents, each folder it makes private (0700) whatever the
/// umask; existing folders are left as they are. Throws Error(io) naming the path.
void create_private_directories(const std::filesystem::path& dir);

/// Reads a whole file of at most max_bytes. The size is checked before reading (regular files)
/// and while reading (devices, pipes, growing files), so at most max_bytes + 1 bytes are read.
/// Throws Error(io) naming the path when it cannot be read, Error(invalid_input) naming it and
/// the limit when it is larger. what names the file in messages ("CSR file", "config file" ...).
std::string read_file(const std::filesystem::path& path, std::size_t max_bytes = kMaxFileBytes,
                      const char* what = "file");

/// Reads a secret (PIN, password) from a file of at most kMaxSecretFileBytes, trimming trailing
/// newlines. Refuses a file that is not regular or is readable by group or others.
std::string read_secret_file(const std::filesystem::path& path);

/// Base64 (RFC 4648, with padding, no line breaks).
std::string to_base64(std::span<const std::uint8_t> data);
std::string to_base64(std::string_view data);
/// Decodes base64 as to_base64() writes it. Throws invalid_input on anything else.
Bytes from_base64(std::string_view text);

/// Cryptographically secure random bytes from the system CSPRNG.
Bytes random_bytes(std::size_t n);

/// SHA-256 of data.
Bytes sha256(std::span<const std::uint8_t> data);
Bytes sha256(std::string_view data);

}  // namespace jitsuin
