#include "outbox_seal.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "jitsuin/core/error.h"

namespace jitsuin::ra::seal {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kKeySize = 32, kNonceSize = 12, kTagSize = 16;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

CipherCtx new_ctx() {
  CipherCtx c(EVP_CIPHER_CTX_new());
  if (!c) throw Error(ErrorKind::crypto, "cannot allocate a cipher context");
  return c;
}

[[noreturn]] void io_error(const std::string& what, const std::filesystem::path& p) {
  throw Error(ErrorKind::io, what + " " + p.string() + ": " + std::strerror(errno), errno);
}

// Writes a new key into a temporary file and links it into place: link(2) refuses an existing
// name, so a key another process created meanwhile is kept, never replaced.
void create_key(const std::filesystem::path& file) {
  auto dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  std::string tmp = (dir / ".outbox.key.XXXXXX").string();
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) io_error("cannot create a temporary file in", dir);
  Bytes key = random_bytes(kKeySize);
  std::string text = to_hex(key) + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  if (!ok) {
    ::unlink(tmp.c_str());
    errno = saved;
    io_error("cannot write the outbox key", tmp);
  }
  int rc = ::link(tmp.c_str(), file.c_str());
  saved = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && saved != EEXIST) {
    errno = saved;
    io_error("cannot create the outbox key", file);
  }
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

std::filesystem::path key_file(const std::filesystem::path& database) {
  return database.parent_path() / "outbox.key";
}

Bytes load_key(const std::filesystem::path& file, bool create) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    if (!create)
      throw Error(ErrorKind::config, "the outbox key " + file.string() +
                                         " is missing: the secrets of queued mails cannot be decrypted, and no mail "
                                         "was sent; restore the key file from the backup it was saved to");
    create_key(file);
  }
  std::string text = read_secret_file(file);   // refuses a file readable by group or others
  Bytes key;
  try {
    key = from_hex(text);
  } catch (const Error&) {
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (key.size() != kKeySize)
    throw Error(ErrorKind::config, "the outbox key " + file.string() + " is not a key (64 hex digits expected)");
  return key;
}

std::string row_binding(std::string_view message_token, std::string_view recipient, std::string_view template_name,
                        std::string_view language) {
  std::string b = "jitsuin outbox v1";
  for (auto part : {message_token, recipient, template_name, language}) {
    b.push_back('\0');
    b.append(part);
  }
  return b;
}

Bytes seal(const Bytes& key, std::string_view plaintext, std::string_view binding) {
  JITSUIN_ARG_CHECK(key.size() == kKeySize, "outbox key of the wrong size");
  Bytes nonce = random_bytes(kNonceSize);
  Bytes out;
  out.reserve(1 + kNonceSize + plaintext.size() + kTagSize);
  out.push_back(kVersion);
  out.insert(out.end(), nonce.begin(), nonce.end());
  std::size_t body = out.size();
  out.resize(body + plaintext.size() + kTagSize);
  auto ctx = new_ctx();
  int n = 0;
  bool ok = EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(binding.data()),
                              static_cast<int>(binding.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), out.data() + body, &n,
                              reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), out.data() + body + n, &n) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                                out.data() + body + plaintext.size()) == 1;
  if (!ok) throw Error(ErrorKind::crypto, "cannot seal the mail's secret (AES-256-GCM)");
  return out;
}

std::string open(const Bytes& key, std::span<const std::uint8_t> sealed, std::string_view binding) {
  if (key.size() != kKeySize || sealed.size() < 1 + kNonceSize + kTagSize || sealed[0] != kVersion)
    throw Error(ErrorKind::crypto, "the sealed secret is malformed");
  const std::uint8_t* nonce = sealed.data() + 1;
  const std::uint8_t* body = nonce + kNonceSize;
  std::size_t body_size = sealed.size() - 1 - kNonceSize - kTagSize;
  Bytes tag(body + body_size, body + body_size + kTagSize);
  std::string plain(body_size, '\0');
  auto ctx = new_ctx();
  int n = 0;
  bool ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(binding.data()),
                              static_cast<int>(binding.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &n, body,
                              static_cast<int>(body_size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + n, &n) == 1;
  if (!ok) {
    OPENSSL_cleanse(plain.data(), plain.size());
    throw Error(ErrorKind::crypto, "the sealed secret does not open with this key (wrong outbox key, or the row was altered)");
  }
  return plain;
}

}  // namespace jitsuin::ra::seal
