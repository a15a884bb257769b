// jitsuin token list|show|init|set-pin|change-pin|unblock|enroll|renew|export-chain: the
// applicant's local agent (EN-3, EN-4). It runs on the applicant's computer, needs no jitsuin home
// (only `--ca` defaults to the one under --home), works with any PKCS#11 module through
// jitsuin/hsm/agent.h, and talks to jitsuind's enrollment API (enroll.status, enroll.start,
// enroll.collect) over HTTPS trusting only the root it is given.
//
// PINs are never taken from argv or the environment: they are typed on the terminal without echo
// (new PINs twice), or read from one file descriptor (`--pin-fd N`), one PIN per line, in the
// order each command's help states (new PINs once).
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "jitsuin/core/error.h"
#include "jitsuin/net/transfer.h"
#include "jitsuin/core/json.h"
#include "jitsuin/core/openssl.h"
#include "jitsuin/hsm/agent.h"

namespace jitsuin::cli {
namespace {

using hsm::agent::AgentToken;
using nlohmann::json;

// ---------------------------------------------------------------- PINs

// Where PINs come from: --pin-fd N (one per line) or the terminal (no echo).
class PinReader {
 public:
  explicit PinReader(const Args& a) {
    if (auto fd = a.opt_whole_number("pin-fd")) {
      fd_ = static_cast<int>(*fd);
      if (fcntl(fd_, F_GETFD) < 0) throw UsageError("--pin-fd " + std::to_string(fd_) + " is not an open file descriptor");
    }
  }
  // A PIN the token or the server checks.
  std::string existing(const std::string& prompt) { return read(prompt); }
  // A PIN being chosen: on the terminal typed twice.
  std::string chosen(const std::string& prompt) {
    std::string pin = read(prompt);
    if (fd_ < 0 && read("again, to confirm: ") != pin) throw Error(ErrorKind::invalid_input, "the two PINs differ; nothing was changed");
    return pin;
  }
  // Whether more PINs can be asked for (a terminal, or lines left on the descriptor).
  bool from_terminal() const { return fd_ < 0; }

 private:
  std::string read(const std::string& prompt) {
    std::cout.flush();   // what was said so far is out before the agent waits (a script reading its output sees it)
    if (fd_ >= 0) {
      std::string line;
      char c;
      ssize_t n;
      while ((n = ::read(fd_, &c, 1)) == 1 && c != '\n') line.push_back(c);
      if (n < 0) throw Error(ErrorKind::io, "cannot read from --pin-fd " + std::to_string(fd_));
      if (n == 0 && line.empty())
        throw Error(ErrorKind::invalid_input, "--pin-fd " + std::to_string(fd_) + " ended before: " + prompt);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0) throw Error(ErrorKind::invalid_input, "no terminal to ask for the PIN: use --pin-fd N");
    // Echo off before the prompt shows, so that nothing typed after it is ever echoed.
    termios old{};
    bool restore = tcgetattr(tty, &old) == 0;
    if (restore) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      tcsetattr(tty, TCSANOW, &quiet);
    }
    (void)!::write(tty, prompt.data(), prompt.size());
    std::string line;
    char c;
    while (::read(tty, &c, 1) == 1 && c != '\n') line.push_back(c);
    if (restore) tcsetattr(tty, TCSANOW, &old);
    (void)!::write(tty, "\n", 1);
    ::close(tty);
    return line;
  }
  int fd_ = -1;
};

// Asks "yes" on the terminal unless --yes was given.
void confirm(const Args& a, const std::string& question) {
  if (a.flag("yes")) return;
  int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) throw Error(ErrorKind::invalid_input, "no terminal to confirm on: add --yes if you mean it");
  std::string q = question + " Type 'yes' to go on: ";
  (void)!::write(tty, q.data(), q.size());
  std::string line;
  char c;
  while (::read(tty, &c, 1) == 1 && c != '\n') line.push_back(c);
  ::close(tty);
  if (line != "yes") throw Error(ErrorKind::invalid_input, "not confirmed; nothing was changed");
}

// "(4 to 8 half-width characters)": the project's rule narrowed by what the token reports.
std::string pin_rule(const hsm::agent::TokenState& t) {
  unsigned long min = std::max<unsigned long>(4, t.min_pin_len);
  if (t.max_pin_len && t.max_pin_len >= min)
    return " (" + std::to_string(min) + " to " + std::to_string(t.max_pin_len) + " half-width characters): ";
  return " (at least " + std::to_string(min) + " half-width characters): ";
}

void warn_same(const std::string& user_pin, const std::string& so_pin) {
  if (user_pin == so_pin)
    std::cerr << "warning: the user PIN and the admin (SO) PIN are the same; different PINs are recommended "
                 "(the admin PIN is what rescues a forgotten or blocked user PIN)\n";
}

// ---------------------------------------------------------------- token selection

const std::set<std::string> kTokenOptions = {"module", "token", "pin-fd"};

std::set<std::string> with(std::set<std::string> base, std::initializer_list<const char*> more) {
  for (const char* m : more) base.insert(m);
  return base;
}

std::string module_of(const Args& a) { return a.get("module").value_or(hsm::agent::kDefaultModule); }

AgentToken open_token(const Args& a, bool with_uninitialized = false) {
  return AgentToken::open(module_of(a), a.get("token").value_or(""), with_uninitialized);
}

std::string flags_of(const hsm::agent::TokenState& t) {
  std::string f;
  auto add = [&](bool on, const char* what) {
    if (on) f += (f.empty() ? "" : ", ") + std::string(what);
  };
  add(!t.initialized, "not initialised");
  add(t.initialized && !t.user_pin_initialized, "user PIN not set");
  add(t.user_pin_locked, "user PIN LOCKED (jitsuin token unblock)");
  add(!t.user_pin_locked && t.user_pin_final_try, "user PIN: final try");
  add(!t.user_pin_locked && !t.user_pin_final_try && t.user_pin_count_low, "user PIN: count low");
  add(t.so_pin_locked, "admin (SO) PIN LOCKED");
  add(!t.so_pin_locked && t.so_pin_final_try, "admin PIN: final try");
  add(!t.so_pin_locked && !t.so_pin_final_try && t.so_pin_count_low, "admin PIN: count low");
  return f.empty() ? "ok" : f;
}

json state_json(const hsm::agent::TokenState& t) {
  return {{"slot", t.slot_id},
          {"label", t.label},
          {"serial", t.serial},
          {"manufacturer", t.manufacturer},
          {"model", t.model},
          {"initialized", t.initialized},
          {"user_pin_initialized", t.user_pin_initialized},
          {"user_pin_count_low", t.user_pin_count_low},
          {"user_pin_final_try", t.user_pin_final_try},
          {"user_pin_locked", t.user_pin_locked},
          {"so_pin_count_low", t.so_pin_count_low},
          {"so_pin_final_try", t.so_pin_final_try},
          {"so_pin_locked", t.so_pin_locked},
          {"so_pin_to_be_changed", t.so_pin_to_be_changed},
          {"min_pin_length", t.min_pin_len},
          {"max_pin_length", t.max_pin_len ? json(t.max_pin_len) : json(nullptr)},
          {"uri", t.uri}};
}

// One object of `token show --json`; certificates with the SHA-256 fingerprint of their DER.
json object_json(const hsm::agent::TokenObject& o) {
  json j = {{"kind", o.kind}, {"label", o.label}, {"id", to_hex(o.id)}, {"detail", o.detail}, {"not_after", o.not_after}};
  if (!o.der.empty()) j["sha256"] = to_hex(sha256(o.der));
  return j;
}

void print_objects(const std::vector<hsm::agent::TokenObject>& objects) {
  if (objects.empty()) std::cout << "  (no objects)\n";
  for (const auto& o : objects) {
    std::cout << "  " << o.kind << "  id " << (o.id.empty() ? "-" : to_hex(o.id)) << "  label '" << o.label << "'  "
              << o.detail;
    if (!o.not_after.empty()) std::cout << "  expires " << o.not_after;
    std::cout << "\n";
  }
}

// ---------------------------------------------------------------- the enrollment API

// The enrollment API over HTTPS, trusting only the given root (no system store, no plain HTTP).
class EnrollClient {
 public:
  EnrollClient(std::string server, std::filesystem::path ca) : server_(std::move(server)), ca_(std::move(ca)) {
    while (!server_.empty() && server_.back() == '/') server_.pop_back();
    if (!server_.starts_with("https://"))
      throw UsageError("--server must be an https:// URL (the agent never sends PINs over plain HTTP)");
    if (!std::filesystem::is_regular_file(ca_))
      throw Error(ErrorKind::invalid_input, "the root to trust, " + ca_.string() + ", is not there: give it with --ca root.pem");
  }

  // POSTs the body to /api/v1/<name>; returns the HTTP status and the JSON answer.
  std::pair<long, json> post(const std::string& name, const json& body) {
    net::Transfer t = net::https_post_json(server_ + "/api/v1/" + name, ca_, body.dump(), kMaxJsonInputBytes);
    if (!t.ok) {
      if (t.failure == net::Transfer::Failure::peer_unverified)
        throw Error(ErrorKind::forbidden, "refusing " + server_ + ": it is not proven by the root " + ca_.string() +
                                              " (" + t.error + "); nothing was sent");
      throw Error(ErrorKind::io, "cannot reach " + server_ + ": " + t.error);
    }
    long status = t.reply;
    const std::string& response = t.body;
    json answer;
    try {
      answer = parse_json(response, "the server's answer");
    } catch (const Error&) {
      throw Error(ErrorKind::io, name + ": HTTP " + std::to_string(status) + " without a JSON answer");
    }
    return {status, answer};
  }

 private:
  std::string server_;
  std::filesystem::path ca_;
};

// The contract's error reasons, as hints for the applicant (English, then the server's Japanese).
[[noreturn]] void fail_api(const std::string& step, long status, const json& e) {
  std::string reason = e.value("reason", ""), hint;
  std::string left = e.contains("remaining") ? e["remaining"].dump() : "";
  if (reason == "application_pin_wrong")
    hint = "the application PIN (申請PIN) is wrong" + (left.empty() ? "" : ": " + left + " tries left") +
           ". Type it as printed on the approval notice (XXXX-XXXX-XXXX-XXXX); after too many wrong tries it locks.";
  else if (reason == "application_pin_locked")
    hint = "the application PIN is locked after too many wrong tries: ask the RA (help desk) to re-issue it.";
  else if (reason == "application_pin_expired")
    hint = "the application PIN has expired: ask the RA (help desk) to re-issue it.";
  else if (reason == "already_enrolled")
    hint = "this application is already enrolled: collect the certificate with the download PIN from the mail "
           "(`jitsuin token enroll` again continues there), or ask the RA.";
  else if (reason == "not_enrollable")
    hint = "the application cannot be enrolled now (not yet approved and mailed, or finished): ask the RA.";
  else if (reason == "csr_invalid")
    hint = "the server refused the request made on the token.";
  else if (reason == "key_refused")
    hint = "the server refused the key (algorithm not allowed, weak, compromised or certified before): "
           "initialise the token and enroll again for a fresh key.";
  else if (reason == "download_pin_wrong")
    hint = "the download PIN (ダウンロードPIN) is wrong" + (left.empty() ? "" : ": " + left + " tries left") +
           ". Copy it from the mail sent to the Form-5 address.";
  else if (reason == "download_pin_expired")
    hint = "the download PIN has expired: ask the RA (help desk) to issue a new one.";
  else if (reason == "download_pin_locked")
    hint = "the download PIN is locked after too many wrong tries: ask the RA (help desk).";
  else if (reason == "rate_limited" || status == 429)
    hint = "too many attempts from here: wait and try again later.";
  std::string msg = step + " refused (HTTP " + std::to_string(status) + "): " + e.value("message", e.dump());
  if (!hint.empty()) msg += "\n  what to do: " + hint;
  if (e.contains("message_ja") && e["message_ja"].is_string()) msg += "\n  " + e["message_ja"].get<std::string>();
  ErrorKind kind = status == 401 ? ErrorKind::unauthenticated
                   : status == 403 ? ErrorKind::forbidden
                   : status == 409 ? ErrorKind::conflict
                   : status == 429 ? ErrorKind::rate_limited
                   : status >= 500 ? ErrorKind::internal
                                   : ErrorKind::invalid_input;
  throw Error(kind, msg);
}

json call(EnrollClient& client, const std::string& name, const json& body) {
  auto [status, answer] = client.post(name, body);
  if (status != 200) fail_api(name, status, answer);
  return answer;
}

std::string key_label(std::int64_t application) { return "jitsuin application " + std::to_string(application); }

// PEM text → certificates, in order.
std::vector<ossl::Cert> certs_from_pem(const std::string& pem) {
  std::vector<ossl::Cert> out;
  ossl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();
  return out;
}

// Verifies cert against the one trusted root (with the returned intermediates as untrusted).
void verify_chain(X509* cert, const std::vector<ossl::Cert>& chain, const std::filesystem::path& root_file) {
  auto roots = certs_from_pem(read_file(root_file));
  if (roots.empty()) throw Error(ErrorKind::invalid_input, root_file.string() + " holds no PEM certificate");
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  for (auto& r : roots) X509_STORE_add_cert(store.get(), r.get());
  auto free_stack = [](STACK_OF(X509)* s) { sk_X509_free(s); };
  std::unique_ptr<STACK_OF(X509), decltype(free_stack)> untrusted(sk_X509_new_null(), free_stack);
  for (auto& c : chain) sk_X509_push(untrusted.get(), c.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), cert, untrusted.get());
  if (X509_verify_cert(ctx.get()) != 1)
    throw Error(ErrorKind::crypto, std::string("the returned certificate does not chain to the root ") +
                                       root_file.string() + ": " +
                                       X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())) +
                                       "; nothing was written to the token");
}

struct EnrollOptions {
  std::string server;
  std::int64_t application = 0;
  std::filesystem::path ca;
};

EnrollOptions enroll_options(const GlobalOptions& g, const Args& a) {
  EnrollOptions o;
  o.server = a.required("server");
  o.application = a.whole_number("application");
  o.ca = a.get("ca") ? std::filesystem::path(*a.get("ca")) : g.home / "server" / "root.pem";
  return o;
}

// What the token holds that the seeds' rule says must go before a (renewal) enrollment.
std::vector<hsm::agent::TokenObject> leftovers(AgentToken& t, std::int64_t application) {
  std::vector<hsm::agent::TokenObject> out;
  for (auto& o : t.objects(std::nullopt))
    if (o.kind == "certificate" || o.label != key_label(application)) out.push_back(o);
  return out;
}

// `jitsuin token show --login --json` of this token, run as a new process with the user PIN on a
// pipe (fd 3): the view of the next program that opens the token.
json listing_by_new_process(const AgentToken& token, const hsm::agent::TokenState& st, const std::string& user_pin) {
  int pin[2], out[2];
  if (pipe2(pin, O_CLOEXEC) != 0) throw Error(ErrorKind::io, "cannot make a pipe");
  if (pipe2(out, O_CLOEXEC) != 0) {
    ::close(pin[0]);
    ::close(pin[1]);
    throw Error(ErrorKind::io, "cannot make a pipe");
  }
  std::vector<std::string> args = {"jitsuin", "token", "show", "--module", token.module().string(), "--token", st.uri,
                                   "--login", "--json", "--pin-fd", "3"};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pin[0], 3);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(pin[0]);
  ::close(out[1]);
  std::string text;
  if (rc == 0) {   // a child that ended early must not kill this process with SIGPIPE: it says why itself
    std::string line = user_pin + "\n";
    auto old_handler = std::signal(SIGPIPE, SIG_IGN);
    (void)!::write(pin[1], line.data(), line.size());
    std::signal(SIGPIPE, old_handler);
  }
  ::close(pin[1]);
  char buf[4096];
  ssize_t n;
  while (rc == 0 && (n = ::read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  ::close(out[0]);
  if (rc != 0) throw Error(ErrorKind::io, std::string("cannot start a process to read the token back: ") + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  json listing = json::parse(text, nullptr, false);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || listing.is_discarded())
    throw Error(ErrorKind::hsm, "reading token '" + st.label + "' back in a new process failed; run `jitsuin token show --login` to see what it holds");
  return listing;
}

// A module may acknowledge a write it could not keep (SoftHSM2 answers CKR_OK when its token folder
// cannot grow; the object is gone once the module is opened again), so what was written is read
// back by a new process. (Not by finalising and loading the module again in this one: opencryptoki
// 3.8 crashes in a second C_Initialize.) Anything missing is "token full".
void require_stored(const AgentToken& token, const hsm::agent::TokenState& st, const std::string& user_pin,
                    const Bytes& key_id, X509* cert, const std::vector<X509*>& chain) {
  json listing = listing_by_new_process(token, st, user_pin);
  auto has = [&](const std::string& kind, const std::string& field, const std::string& value) {
    for (const auto& o : listing.value("objects", json::array()))
      if (o.value("kind", "") == kind && o.value(field, "") == value) return true;
    return false;
  };
  auto fingerprint = [](X509* c) { return to_hex(sha256(ossl::cert_der(c))); };
  std::string missing;
  if (!has("private key", "id", to_hex(key_id))) missing = "the private key " + to_hex(key_id);
  if (missing.empty() && !has("certificate", "sha256", fingerprint(cert))) missing = "the certificate";
  for (X509* ca : chain)
    if (missing.empty() && !has("certificate", "sha256", fingerprint(ca)))
      missing = "the CA certificate '" + ossl::name_to_string(X509_get_subject_name(ca)) + "'";
  if (!missing.empty())
    throw Error(ErrorKind::hsm, "read back by a new process, " + missing + " is not on token '" + st.label + "' -- " +
                                    hsm::agent::token_full_message(st.label));
}

// The enrollment of EN-2 on an opened token. PIN order on --pin-fd: application PIN, token user
// PIN, download PIN (more download PINs after a wrong one).
int run_enroll(const EnrollOptions& o, const Args& a, AgentToken& token, PinReader& pins) {
  auto st = token.state();
  if (st.user_pin_locked)
    throw Error(ErrorKind::forbidden, "the token's user PIN is locked: run `jitsuin token unblock` with the admin (SO) PIN first");
  EnrollClient client(o.server, o.ca);
  std::string app_pin = pins.existing("application PIN (申請PIN) from the approval notice: ");
  json status = call(client, "enroll.status", {{"application_id", o.application}, {"application_pin", app_pin}});
  std::cout << "application " << o.application << ": " << status.value("state", "?") << " -- "
            << status.value("message", "") << "\n";
  std::string state = status.value("state", "");
  // Issued, but not on this token: its key is here without a certificate (the token could not keep
  // it, "token full"): the same download PIN fetches the same certificate again.
  bool refetch = false;
  if (status.contains("certificate_serial") || state == "issued") {
    auto on_token = token.objects(std::nullopt);
    auto certified = [&](const Bytes& id) {
      return std::any_of(on_token.begin(), on_token.end(), [&](auto& c) { return c.kind == "certificate" && c.id == id; });
    };
    refetch = std::any_of(on_token.begin(), on_token.end(), [&](auto& k) {
      return k.kind == "public key" && k.label == key_label(o.application) && !certified(k.id);
    });
  }
  if ((status.contains("certificate_serial") || state == "issued") && !refetch)
    throw Error(ErrorKind::conflict, "application " + std::to_string(o.application) +
                                         " already has its certificate (serial " +
                                         status.value("certificate_serial", "?") + "); nothing to enroll");

  // Keys of this application from earlier runs (one of them is the key of an enrollment whose
  // download PIN was mailed): the certificate, once collected, says which.
  std::vector<Bytes> candidates;
  std::string user_pin = pins.existing("token user PIN for '" + st.label + "': ");
  auto objects = token.objects(user_pin);
  for (const auto& obj : objects)
    if (obj.kind == "private key" && obj.label == key_label(o.application)) candidates.push_back(obj.id);
  if ((state == "enrolled" || refetch) && candidates.empty())
    throw Error(ErrorKind::conflict, "application " + std::to_string(o.application) +
                                         " was enrolled with a key that is not on this token: use the token you "
                                         "enrolled with, or ask the RA");
  if (refetch) {
    std::cout << "continuing: the certificate was issued but is not on this token; the download PIN you were mailed "
                 "fetches it again\n";
  } else if (state != "enrolled") {
    for (const auto& obj : objects)
      if (obj.kind == "certificate")
        throw Error(ErrorKind::conflict,
                    "the token still holds a certificate ('" + obj.label + "', " + obj.detail +
                        "). The rule for a renewal: initialise the token right before enrolling the new "
                        "certificate -- `jitsuin token renew` walks you through it");
    std::vector<std::string> allowed;
    for (const auto& k : status.value("key_algorithms", json::array())) allowed.push_back(k.get<std::string>());
    if (allowed.empty()) allowed = {"p256"};
    // The profile's first algorithm the token can make, unless --algorithm names one.
    auto can = [&](const std::string& alg) { return token.can_generate(hsm::parse_key_algorithm(alg)); };
    auto usable = std::find_if(allowed.begin(), allowed.end(), can);
    std::string alg = a.get("algorithm").value_or(usable != allowed.end() ? *usable : allowed.front());
    if (std::find(allowed.begin(), allowed.end(), alg) == allowed.end())
      throw Error(ErrorKind::invalid_input, "the profile of this application allows only: " + json(allowed).dump());
    if (!can(alg))
      throw Error(ErrorKind::invalid_input,
                  "token '" + st.label + "' (" + st.manufacturer + " " + st.model + ") cannot generate " + alg +
                      " keys" + (usable != allowed.end() ? "; it can make " + *usable + " (--algorithm " + *usable + ")"
                                                         : "; the profile allows only " + json(allowed).dump() +
                                                               ": use a token that supports one of them") +
                      ". Nothing was sent to the server.");
    // The key may do what the certificate will allow (keyEncipherment: decrypt, for S/MIME), no more.
    std::vector<std::string> usage;
    for (const auto& u : status.value("key_usage", json::object()).value(alg, json::array())) usage.push_back(u.get<std::string>());
    auto uses = hsm::KeyUses::for_key_usage(usage);
    auto key = token.generate_key_and_csr(hsm::parse_key_algorithm(alg), key_label(o.application),
                                          key_label(o.application), uses);
    std::cout << "generated " << key.description << " key on the token (id " << to_hex(key.id) << ")"
              << (uses.decrypt ? ", for signing and decrypting" : uses.derive ? ", for signing and key agreement" : ", for signing only")
              << "\n";
    candidates = {key.id};
    json started = call(client, "enroll.start",
                         {{"application_id", o.application}, {"application_pin", app_pin}, {"csr", key.csr_pem}});
    std::cout << "the download PIN (ダウンロードPIN) was mailed to " << started.value("mailed_to", "the Form-5 address")
              << "; it expires at " << started.value("download_pin_expires_at", "?") << "\n";
    if (started.contains("mail_not_before"))
      std::cout << "the mail leaves at " << started["mail_not_before"].get<std::string>() << " (not before)\n";
  } else {
    std::cout << "continuing: the download PIN was mailed when this application was enrolled"
              << (status.contains("download_pin_expires_at")
                      ? " (it expires at " + status["download_pin_expires_at"].get<std::string>() + ")"
                      : "")
              << "\n";
  }

  json issued;
  for (;;) {
    std::string download_pin = pins.existing("download PIN (ダウンロードPIN) from the mail: ");
    auto [code, answer] = client.post("enroll.collect", {{"application_id", o.application}, {"download_pin", download_pin}});
    if (code == 200) {
      issued = answer;
      break;
    }
    if (answer.value("reason", "") == "download_pin_wrong" && answer.value("remaining", 0) > 0) {
      std::cerr << "the download PIN is wrong (" << answer["remaining"] << " tries left); type it again\n";
      continue;
    }
    fail_api("enroll.collect", code, answer);
  }
  auto cert = ossl::cert_from_pem(issued.at("certificate").get<std::string>());
  std::vector<ossl::Cert> chain;
  for (const auto& c : issued.value("chain", json::array())) chain.push_back(ossl::cert_from_pem(c.get<std::string>()));
  std::optional<Bytes> key_id;
  for (const auto& id : candidates)
    if (!key_id && token.key_matches(id, cert.get())) key_id = id;
  if (!key_id)
    throw Error(ErrorKind::crypto, "the returned certificate is not for the key on the token; nothing was written");
  verify_chain(cert.get(), chain, o.ca);
  std::vector<X509*> raw;
  for (auto& c : chain) raw.push_back(c.get());
  token.store_certificates(*key_id, key_label(o.application), cert.get(), raw);
  require_stored(token, st, user_pin, *key_id, cert.get(), raw);   // a token may accept a write it cannot keep
  std::cout << "certificate " << issued.value("serial", "") << " (" << ossl::name_to_string(X509_get_subject_name(cert.get()))
            << ", valid until " << issued.value("not_after", "?") << ") is on token '" << st.label
            << "' with the key's id " << to_hex(*key_id) << ", with its chain of " << chain.size() << "\n";
  return 0;
}

// ---------------------------------------------------------------- commands

int list_cmd(const GlobalOptions&, const std::vector<std::string>& argv) {
  Args a(argv, {"module"}, {"json"});
  auto tokens = hsm::agent::list_tokens(module_of(a));
  if (a.flag("json")) {
    json out = json::array();
    for (const auto& t : tokens) out.push_back(state_json(t));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (tokens.empty()) std::cout << "no token in any slot of " << module_of(a) << " (is the token plugged in?)\n";
  for (const auto& t : tokens) {
    std::cout << "slot " << t.slot_id << ": ";
    if (t.initialized)
      std::cout << "'" << t.label << "' serial " << t.serial << ", " << t.manufacturer << " " << t.model << " -- "
                << flags_of(t) << "\n  " << t.uri << "\n";
    else
      std::cout << "uninitialised token (" << t.manufacturer << " " << t.model << ") -- `jitsuin token init` prepares it\n";
  }
  return 0;
}

int show_cmd(const GlobalOptions&, const std::vector<std::string>& argv) {
  Args a(argv, kTokenOptions, {"login", "json"});
  auto token = open_token(a);
  PinReader pins(a);
  auto st = token.state();
  std::optional<std::string> pin;
  if (a.flag("login")) pin = pins.existing("token user PIN for '" + st.label + "': ");
  auto objects = token.objects(pin);
  if (a.flag("json")) {
    json out = state_json(st);
    out["objects"] = json::array();
    for (const auto& o : objects)
      out["objects"].push_back(object_json(o));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "token '" << st.label << "' serial " << st.serial << " (" << st.manufacturer << " " << st.model
            << ") -- " << flags_of(st) << "\n  " << st.uri << "\nobjects" << (pin ? "" : " (public only; --login shows the private keys)") << ":\n";
  print_objects(objects);
  return 0;
}

// Initialises the token; shared by `token init` and `token renew --init`. PIN order on --pin-fd:
// current admin (SO) PIN (only when the token is initialised), new admin PIN, new user PIN.
void initialise(const Args& a, AgentToken& token, PinReader& pins, const std::string& label) {
  auto st = token.state();
  if (st.initialized) {
    auto objects = token.objects(std::nullopt);
    std::cerr << "Initialising token '" << st.label << "' erases EVERY key and certificate on it";
    std::size_t certs = std::count_if(objects.begin(), objects.end(), [](auto& o) { return o.kind == "certificate"; });
    if (certs) std::cerr << " -- including " << certs << " stored certificate(s), which are lost for good";
    std::cerr << ", and resets both PINs.\n";
    for (const auto& o : objects)
      if (o.kind == "certificate") std::cerr << "  " << o.label << ": " << o.detail << " (expires " << o.not_after << ")\n";
    confirm(a, "Initialise token '" + st.label + "'?");
  }
  std::optional<std::string> current;
  if (st.initialized)
    current = pins.existing("current admin (SO) PIN of '" + st.label + "': ");
  else if (a.flag("factory-admin-pin"))   // the maker's SO PIN opens C_InitToken; then it is replaced
    current = pins.existing("the admin (SO) PIN the token's maker set (its documentation names it): ");
  std::string so = pins.chosen("new admin (SO) PIN" + pin_rule(st));
  hsm::check_pin_policy(so, "admin (SO) PIN");
  std::string user = pins.chosen("new user PIN" + pin_rule(st));
  hsm::check_pin_policy(user, "user PIN");
  warn_same(user, so);
  token.initialize(current, so, label, user);
  std::cout << "token initialised: label '" << label << "', no objects, new admin and user PINs\n";
}

int init_cmd(const GlobalOptions&, const std::vector<std::string>& argv) {
  Args a(argv, with(kTokenOptions, {"label"}), {"yes", "factory-admin-pin"});
  auto token = open_token(a, true);
  PinReader pins(a);
  std::string label = a.get("label").value_or(token.state().initialized ? token.state().label : "");
  if (label.empty()) throw UsageError("--label is needed for an uninitialised token");
  initialise(a, token, pins, label);
  return 0;
}

int set_pin_cmd(const GlobalOptions&, const std::vector<std::string>& argv) {
  Args a(argv, kTokenOptions, {});
  auto token = open_token(a);
  PinReader pins(a);
  std::string so = pins.existing("admin (SO) PIN: ");
  std::string user = pins.chosen("new user PIN" + pin_rule(token.state()));
  hsm::check_pin_policy(user, "new user PIN");
  warn_same(user, so);
  token.unblock(so, user);
  std::cout << "the user PIN of '" << token.state().label << "' is set\n";
  return 0;
}

int change_pin_cmd(const GlobalOptions&, const std::vector<std::string>& argv) {
  Args a(argv, kTokenOptions, {"so"});
  auto token = open_token(a);
  PinReader pins(a);
  bool so = a.flag("so");
  const std::string which = so ? "admin (SO) PIN" : "user PIN";
  std::string old_pin = pins.existing("current " + which + ": ");
  std::string new_pin = pins.chosen("new " + which + pin_rule(token.state()));
  hsm::check_pin_policy(new_pin, ("new " + which).c_str());
  if (new_pin == old_pin) throw Error(ErrorKind::invalid_input, "the new " + which + " is the current one; nothing was changed");
  if (so)
    token.change_so_pin(old_pin, new_pin);
  else
    token.change_user_pin(old_pin, new_pin);
  std::cout << "the " << which << " of '" << token.state().label << "' is changed\n";
  std::cerr << "reminder: keep the user PIN and the admin (SO) PIN different\n";
  return 0;
}

int unblock_cmd(const GlobalOptions&, const std::vector<std::string>& argv) {
  Args a(argv, kTokenOptions, {});
  auto token = open_token(a);
  PinReader pins(a);
  bool locked = token.state().user_pin_locked;
  std::string so = pins.existing("admin (SO) PIN: ");
  std::string user = pins.chosen("new user PIN" + pin_rule(token.state()));
  hsm::check_pin_policy(user, "new user PIN");
  warn_same(user, so);
  token.unblock(so, user);
  std::cout << (locked ? "the user PIN was locked; it is unblocked and set anew\n" : "the user PIN is set anew (it was not locked)\n");
  return 0;
}

int enroll_cmd(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, with(kTokenOptions, {"server", "application", "ca", "algorithm"}), {});
  auto o = enroll_options(g, a);
  auto token = open_token(a);
  PinReader pins(a);
  return run_enroll(o, a, token, pins);
}

int renew_cmd(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, with(kTokenOptions, {"server", "application", "ca", "algorithm", "label"}), {"init", "yes"});
  auto o = enroll_options(g, a);
  auto token = open_token(a);
  PinReader pins(a);
  auto left = leftovers(token, o.application);
  auto st = token.state();
  std::cout << "Renewal on the same token (the seeds' rule): the token is initialised right before the renewal "
               "enrollment, so that only the new key and certificate are on it.\n";
  if (!left.empty() && !a.flag("init")) {
    std::ostringstream msg;
    msg << "token '" << st.label << "' still holds the old key and certificate:\n";
    for (const auto& obj : left)
      msg << "  " << obj.kind << " '" << obj.label << "' " << obj.detail
          << (obj.not_after.empty() ? "" : " (expires " + obj.not_after + ")") << "\n";
    msg << "Steps:\n"
        << "  1. Have the approval notice of the renewal (its application PIN) and this token at hand.\n"
        << "  2. Initialise the token now, right before the renewal enrollment (this erases the old certificate):\n"
        << "       jitsuin token renew --init --token '" << st.label << "' --server " << o.server << " --application "
        << o.application << "\n"
        << "     (or `jitsuin token init --token '" << st.label << "'`, then `jitsuin token enroll ...`).\n"
        << "  3. Enter the application PIN, the token PIN, then the download PIN from the mail.\n"
        << "Nothing was changed.";
    throw Error(ErrorKind::conflict, msg.str());
  }
  if (!left.empty()) {
    std::cout << "step 1/2: initialising the token\n";
    initialise(a, token, pins, a.get("label").value_or(st.label));
  } else {
    std::cout << "step 1/2: the token holds no key or certificate: already initialised for the renewal\n";
  }
  std::cout << "step 2/2: enrolling application " << o.application << "\n";
  return run_enroll(o, a, token, pins);
}

int export_chain_cmd(const GlobalOptions&, const std::vector<std::string>& argv) {
  Args a(argv, with(kTokenOptions, {"out", "id"}), {});
  auto token = open_token(a);
  std::vector<ossl::Cert> certs;
  for (const auto& der : token.certificates()) certs.push_back(ossl::cert_from_der(der));
  if (certs.empty()) throw Error(ErrorKind::not_found, "no certificate on token '" + token.state().label + "'");
  // The end-entity certificate first (the one with --id, else the one no other certificate was
  // issued by), then each issuer in turn.
  auto objects = token.objects(std::nullopt);
  X509* leaf = nullptr;
  for (auto& c : certs) {
    if (a.get("id")) {
      for (const auto& o : objects)
        if (o.kind == "certificate" && to_hex(o.id) == *a.get("id") && o.der == ossl::cert_der(c.get())) leaf = c.get();
    } else {
      bool issues = false;
      for (auto& other : certs)
        if (other.get() != c.get() && X509_check_issued(c.get(), other.get()) == X509_V_OK) issues = true;
      if (!issues && !leaf) leaf = c.get();
    }
  }
  if (!leaf) throw Error(ErrorKind::not_found, "no end-entity certificate on the token matches");
  std::string pem;
  for (X509* cur = leaf; cur;) {
    pem += ossl::cert_pem(cur);
    X509* next = nullptr;
    if (X509_check_issued(cur, cur) != X509_V_OK)
      for (auto& c : certs)
        if (c.get() != cur && X509_check_issued(c.get(), cur) == X509_V_OK) next = c.get();
    cur = next;
  }
  if (auto out = a.get("out"))
    write_file_atomic(*out, pem, 0644);
  else
    std::cout << pem;
  return 0;
}

// Appended to every help text that takes a token.
#define TOKEN_HELP \
    "PINs: typed on the terminal without echo (a new PIN twice), or read from a file descriptor with\n" \
    "--pin-fd N, one per line in the order given above (a new PIN once). Never from the command line or\n" \
    "the environment.\n" \
    "  --module PATH   the PKCS#11 module (default /usr/lib/softhsm/libsofthsm2.so; OpenSC's or the\n" \
    "                  eToken vendor's module for a real token)\n" \
    "  --token SEL     the token: its label, serial=SERIAL, or an RFC 7512 URI (pkcs11:token=...;serial=...);\n" \
    "                  default: the only initialised token\n"

const CommandRegistrar reg({
    {"token", "list", "token list [--module PATH] [--json]",
     "Lists the tokens of the module: slot, label, serial, manufacturer, model, PIN state (locked, final try,\n"
     "count low, not initialised) and the token's PKCS#11 URI.",
     list_cmd},
    {"token", "show", "token show [--module PATH] [--token SEL] [--login] [--pin-fd N] [--json]",
     "Shows a token and its objects: keys and certificates with their CKA_ID, label, subject and expiry.\n"
     "--login asks the user PIN to list the private keys too.\n\n" TOKEN_HELP,
     show_cmd},
    {"token", "init", "token init [--module PATH] [--token SEL] [--label LABEL] [--factory-admin-pin] [--yes] [--pin-fd N]",
     "Initialises a token: erases every key and certificate on it (stored certificates are LOST), sets\n"
     "the label, the admin (SO) PIN and the user PIN (at least 4 half-width characters each, at most\n"
     "what the token takes, e.g. 8; different PINs recommended). Asks for confirmation unless --yes.\n"
     "Without --token: the only initialised token, else the first uninitialised one (then --label is\n"
     "needed). --factory-admin-pin: a new token whose maker set an admin PIN (opencryptoki's soft token,\n"
     "many smart cards) needs that PIN to be initialised; it is asked first, then replaced by yours.\n"
     "--pin-fd order: current admin PIN (for an initialised token, or the maker's with\n"
     "--factory-admin-pin), new admin PIN, new user PIN.\n" TOKEN_HELP,
     init_cmd},
    {"token", "set-pin", "token set-pin [--module PATH] [--token SEL] [--pin-fd N]",
     "Sets a new user PIN with the admin (SO) PIN, for a forgotten user PIN. Warns when both are the same.\n"
     "--pin-fd order: admin PIN, new user PIN.\n" TOKEN_HELP,
     set_pin_cmd},
    {"token", "change-pin", "token change-pin [--so] [--module PATH] [--token SEL] [--pin-fd N]",
     "Changes the user PIN (or with --so the admin PIN), knowing the current one.\n"
     "--pin-fd order: current PIN, new PIN.\n" TOKEN_HELP,
     change_pin_cmd},
    {"token", "unblock", "token unblock [--module PATH] [--token SEL] [--pin-fd N]",
     "Unblocks a user PIN locked by too many wrong tries: logs in with the admin (SO) PIN and sets a new\n"
     "user PIN. The keys and certificates stay. --pin-fd order: admin PIN, new user PIN.\n" TOKEN_HELP,
     unblock_cmd},
    {"token", "enroll",
     "token enroll --server URL --application ID [--ca root.pem] [--algorithm p256|rsa2048] [--module PATH] "
     "[--token SEL] [--pin-fd N]",
     "Enrolls an approved application onto the token: asks the application PIN (申請PIN, from the approval\n"
     "notice) and checks it with the server (enroll.status), asks the token's user PIN, generates the key\n"
     "on the token (sensitive, never extractable; by default the profile's first algorithm the token\n"
     "can make, e.g. rsa2048 on a token without EC mechanisms),\n"
     "sends its PKCS#10 request (enroll.start), says where the download PIN (ダウンロードPIN) was mailed,\n"
     "asks it, fetches certificate and chain (enroll.collect), checks that the certificate is for the key\n"
     "and chains to the root, and writes both onto the token, the certificate with the key's CKA_ID.\n"
     "Run again after an interruption, it continues with the key already made.\n"
     "The server is trusted only through --ca (default HOME/server/root.pem, the root jitsuind writes).\n"
     "--pin-fd order: application PIN, token user PIN, download PIN (another after a wrong one).\n" TOKEN_HELP,
     enroll_cmd},
    {"token", "renew",
     "token renew --server URL --application ID [--init [--yes] [--label LABEL]] [--ca root.pem] [--module PATH] "
     "[--token SEL] [--pin-fd N]",
     "Renewal on the same token (EN-4): the token is initialised right before the renewal enrollment.\n"
     "While the token still holds the old key or certificate it only explains the steps and changes\n"
     "nothing; with --init it initialises the token (confirmation unless --yes) and then enrolls.\n"
     "--pin-fd order: with --init the PINs of `token init`, then those of `token enroll`.\n" TOKEN_HELP,
     renew_cmd},
    {"token", "export-chain", "token export-chain [--id HEX] [--out FILE] [--module PATH] [--token SEL]",
     "Writes the certificate on the token (the one with CKA_ID --id, else the end-entity one) and its\n"
     "chain as PEM, end-entity first, to --out or standard output.\n" TOKEN_HELP,
     export_chain_cmd},
});

}  // namespace
}  // namespace jitsuin::cli
