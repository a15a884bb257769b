// libcurl, wrapped: easy handles in RAII, one global initialisation, the TLS rules of each transfer.
#include "jitsuin/net/transfer.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>

#include "jitsuin/core/error.h"

namespace jitsuin::net {

namespace {

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using Easy = std::unique_ptr<CURL, CurlEasyDeleter>;
using Slist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

Easy new_easy() {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  Easy e(curl_easy_init());
  if (!e) throw Error(ErrorKind::internal, "cannot initialise libcurl");
  // Never SIGALRM from a resolver timeout in a multi-threaded server.
  curl_easy_setopt(e.get(), CURLOPT_NOSIGNAL, 1L);
  return e;
}

/// Collects a body up to a limit; past it libcurl stops the transfer (CURLE_WRITE_ERROR).
struct Sink {
  std::string data;
  std::size_t max_bytes;
  bool too_large = false;
};

std::size_t collect(char* p, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (s->data.size() + size * n > s->max_bytes) {
    s->too_large = true;
    return 0;
  }
  s->data.append(p, size * n);
  return size * n;
}

struct Upload {
  std::string_view data;
  std::size_t pos = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  std::size_t n = std::min(size * count, up->data.size() - up->pos);
  std::memcpy(buffer, up->data.data() + up->pos, n);
  up->pos += n;
  return n;
}

/// Runs the transfer and describes how it ended.
Transfer perform(CURL* c) {
  Transfer t;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.reply);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (rc == CURLE_OK) {
    t.ok = true;
    return t;
  }
  t.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_USE_SSL_FAILED: t.failure = Transfer::Failure::no_starttls; break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR: t.failure = Transfer::Failure::peer_unverified; break;
    default: t.failure = Transfer::Failure::other;
  }
  return t;
}

/// The host part of a URL as libcurl reads it (IPv6 in brackets); empty when it has none.
std::string host_of(const std::string& url) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  char* host = nullptr;
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK)
    return "";
  std::string out = host;
  curl_free(host);
  return out;
}

/// Only a literal loopback host counts: a name that merely resolves to one could resolve elsewhere
/// tomorrow. libcurl resolves "localhost" itself, always to loopback.
bool is_loopback_host(std::string host) {
  for (auto& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return host == "[::1]";
}

}  // namespace

bool smtp_may_be_plain(const SmtpServer& server) {
  if (!server.url.starts_with("smtp://")) return false;
  return server.allow_plain || is_loopback_host(host_of(server.url));
}

Transfer send_mail(const SmtpServer& server, const std::string& from, const std::string& to, std::string_view message,
                   long timeout_seconds) {
  Easy curl = new_easy();
  CURL* c = curl.get();
  Slist rcpt(curl_slist_append(nullptr, ("<" + to + ">").c_str()));
  std::string sender = "<" + from + ">";
  Upload up{message, 0};
  curl_easy_setopt(c, CURLOPT_URL, server.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // libcurl never sends STARTTLS unless told: CURLUSESSL_ALL makes it upgrade or give up after
  // EHLO, before the envelope or the message leaves.
  curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(smtp_may_be_plain(server) ? CURLUSESSL_NONE : CURLUSESSL_ALL));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!server.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, server.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, sender.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_INFILESIZE, static_cast<long>(message.size()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_seconds);
  return perform(c);
}

Transfer http_get(const std::string& url, std::size_t max_bytes) {
  Easy curl = new_easy();
  CURL* c = curl.get();
  Sink body{{}, max_bytes};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  Transfer t = perform(c);
  if (body.too_large) t.error = "larger than " + std::to_string(max_bytes) + " bytes";
  if (t.ok) t.body = std::move(body.data);
  return t;
}

Transfer https_post_json(const std::string& url, const std::filesystem::path& ca_file, const std::string& json_body,
                         std::size_t max_bytes) {
  Easy curl = new_easy();
  CURL* c = curl.get();
  Slist headers(curl_slist_append(nullptr, "Content-Type: application/json"));
  Sink body{{}, max_bytes};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(json_body.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  Transfer t = perform(c);
  if (body.too_large) t.error = "larger than " + std::to_string(max_bytes) + " bytes";
  t.body = std::move(body.data);
  return t;
}

}  // namespace jitsuin::net
