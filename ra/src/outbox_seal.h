#pragma once
// Secrets of queued mails (the download PIN, an initial password) are kept in the outbox sealed:
// AES-256-GCM under a key the database does not hold, a 0600 key file beside it (outbox.key,
// created on first use). The ciphertext is bound to its row (Message-ID token, recipient,
// template, language as associated data), so it opens for that mail only. Private to ra/.
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "jitsuin/core/util.h"

namespace jitsuin::ra::seal {

/// The outbox key file of a database: `outbox.key` in the database's folder.
std::filesystem::path key_file(const std::filesystem::path& database);

/// Reads the key; with `create`, makes a new random one when the file does not exist (two
/// processes creating it at once end up with the same key: the file is linked into place, never
/// replaced). Throws config naming the file when it is missing (without `create`), not 0600, or
/// not a key.
Bytes load_key(const std::filesystem::path& file, bool create);

/// The associated data binding a sealed secret to its outbox row.
std::string row_binding(std::string_view message_token, std::string_view recipient, std::string_view template_name,
                        std::string_view language);

/// version (1) | nonce (12) | ciphertext | tag (16).
Bytes seal(const Bytes& key, std::string_view plaintext, std::string_view binding);

/// The plaintext; throws crypto when the blob does not open with this key and binding (wrong key,
/// altered row or blob).
std::string open(const Bytes& key, std::span<const std::uint8_t> sealed, std::string_view binding);

}  // namespace jitsuin::ra::seal
