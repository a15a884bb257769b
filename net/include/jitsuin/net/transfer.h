// Transfers over the network: one message by SMTP, one document by HTTP(S) GET, one JSON request by
// HTTPS POST. libcurl enters jitsuin here only; the TLS rules of each transfer are written here once.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace jitsuin::net {

/// How a transfer ended. `ok` with the body (and HTTP status) on success; otherwise `failure`
/// says why, `reply` holds the server's SMTP reply or HTTP status when there was one, and
/// `error` a message for a person (never the content sent).
struct Transfer {
  enum class Failure {
    none,
    no_starttls,       ///< SMTP: the server does not offer STARTTLS where it is required; nothing was sent
    peer_unverified,   ///< the server's certificate is not proven by the trusted CAs; nothing was sent
    other,             ///< connection, protocol, size or time limit
  };
  bool ok = false;
  Failure failure = Failure::none;
  long reply = 0;
  std::string body;
  std::string error;
};

/// Where mail goes and how it is protected. smtp:// to a host other than loopback must upgrade
/// with STARTTLS (PINs and passwords travel in these mails), unless `allow_plain` (a local relay on
/// a trusted network that has no TLS); smtps:// is TLS from the first byte. The server's
/// certificate is verified against `ca_file` (PEM), or the system store when it is empty.
struct SmtpServer {
  std::string url;
  bool allow_plain = false;
  std::filesystem::path ca_file;
};

/// Whether libcurl would send to this smtp:// URL in clear: only a literal loopback host
/// (localhost, 127.0.0.0/8, [::1]) or allow_plain; never for smtps://.
bool smtp_may_be_plain(const SmtpServer& server);

/// Sends one RFC 5322 message from `from` to `to` (bare addresses), giving up after
/// `timeout_seconds`.
Transfer send_mail(const SmtpServer& server, const std::string& from, const std::string& to, std::string_view message,
                   long timeout_seconds);

/// GETs an http:// or https:// URL (up to 3 redirects, within those schemes), the body up to
/// `max_bytes`; a status of 400 or more is a failure. The system store verifies https servers.
Transfer http_get(const std::string& url, std::size_t max_bytes);

/// POSTs a JSON body to an https:// URL whose server is proven by `ca_file` only (no system store),
/// the answer up to `max_bytes`; any HTTP status is returned as `reply` with the body.
Transfer https_post_json(const std::string& url, const std::filesystem::path& ca_file, const std::string& json_body,
                         std::size_t max_bytes);

}  // namespace jitsuin::net
