#include "jitsuin/api/status.h"

#include <unistd.h>

#include <cerrno>

#include "jitsuin/core/util.h"

namespace jitsuin::api {

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input: return 400;
    case ErrorKind::unauthenticated: return 401;
    case ErrorKind::forbidden: return 403;
    case ErrorKind::not_found: return 404;
    case ErrorKind::conflict: return 409;
    case ErrorKind::rate_limited: return 429;
    case ErrorKind::hsm: return 503;
    case ErrorKind::config:
    case ErrorKind::database:
    case ErrorKind::crypto:
    case ErrorKind::io:
    case ErrorKind::internal: return 500;
  }
  return 500;
}

int exit_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input:
    case ErrorKind::unauthenticated:
    case ErrorKind::forbidden:
    case ErrorKind::not_found:
    case ErrorKind::conflict:
    case ErrorKind::rate_limited:
    case ErrorKind::config:
    case ErrorKind::hsm:
    case ErrorKind::database:
    case ErrorKind::crypto:
    case ErrorKind::io:
    case ErrorKind::internal: return 1;
  }
  return 1;
}

nlohmann::json error_body(ErrorKind kind, const std::string& message) {
  if (http_status(kind) == 500) return internal_error_body(std::string(error_kind_name(kind)) + ": " + message);
  return {{"error", error_kind_name(kind)}, {"message", message}};
}

nlohmann::json internal_error_body(std::string_view detail) {
  std::string id = to_hex(random_bytes(8));
  std::string line = "jitsuind: internal error " + id + ": ";
  for (unsigned char c : detail.substr(0, 2000)) line += c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c);
  line += '\n';
  for (std::size_t done = 0; done < line.size();) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;   // stderr gone: the client still gets its answer
    done += static_cast<std::size_t>(n);
  }
  return {{"error", "internal"}, {"message", "internal error"}, {"id", id}};
}

nlohmann::json error_body(const Error& e) {
  if (http_status(e.kind()) == 500) return error_body(e.kind(), e.what());
  auto body = error_body(e.kind(), e.what());
  if (auto* limited = dynamic_cast<const RateLimitedError*>(&e)) {
    body["retry_after"] = limited->retry_after();
    body["reason"] = "rate_limited";   // enroll: the agent's hint
    body["message_ja"] = "試行回数が多すぎます。" + std::to_string(limited->retry_after()) + "秒後にもう一度お試しください。";
  }
  // enroll: the stable reason, the Japanese message and the attempts left of an enrollment error.
  if (auto* r = dynamic_cast<const ReasonedError*>(&e)) {
    body["reason"] = r->reason();
    body["message_ja"] = r->message_ja();
    if (r->remaining() >= 0) body["remaining"] = r->remaining();
  }
  return body;
}

}  // namespace jitsuin::api
