#include "jitsuin/hsm/softhsm.h"

#include "jitsuin/hsm/key_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace jitsuin::hsm {

namespace fs = std::filesystem;

namespace {

std::string random_pin() {
  // 20 characters from a 32-symbol alphabet without look-alikes: 100 bits.
  static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  Bytes r = random_bytes(20);
  std::string pin;
  for (auto b : r) pin.push_back(alphabet[b & 31]);
  return pin;
}

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

void sync_dir(const fs::path& dir) {
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

// A private folder (0700), its creation made durable.
void private_dir(const fs::path& dir) {
  if (!fs::exists(dir)) {
    fs::create_directories(dir);
    sync_dir(dir.parent_path());
  }
  ::chmod(dir.c_str(), 0700);
}

std::string read_or_empty(const fs::path& p, bool& exists) {
  std::error_code ec;
  exists = fs::exists(p, ec);
  return exists ? read_file(p) : std::string();
}

// Whether a folder holds at least one SoftHSM2 token (a sub-folder with a token.object).
bool has_token(const fs::path& tokens) {
  std::error_code ec;
  if (!fs::is_directory(tokens, ec)) return false;
  for (const auto& d : fs::directory_iterator(tokens, ec))
    if (d.is_directory() && fs::exists(d.path() / "token.object")) return true;
  return false;
}

// ---------------------------------------------------------------- SoftHSM2 state file format

// SoftHSM2 2.x (src/lib/object_store/ObjectFile.cpp, File.cpp): every number is 8 bytes big-endian.
// The file is a generation counter, then attributes: type, kind, value. Token attributes are
// CKA_VENDOR_DEFINED + 0x5348 ("SH") + 1..5: label, serial, flags, SO PIN, user PIN.
constexpr std::uint64_t kVendorSoftHsm = 0x80000000ULL + 0x5348ULL;
constexpr std::uint64_t kLabel = kVendorSoftHsm + 1, kSerial = kVendorSoftHsm + 2, kFlags = kVendorSoftHsm + 3,
                        kSoPin = kVendorSoftHsm + 4, kUserPin = kVendorSoftHsm + 5;

struct Reader {
  const std::string& s;
  std::size_t pos = 0;
  bool number(std::uint64_t& v) {
    if (s.size() - pos < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[pos++]);
    return true;
  }
  bool skip(std::uint64_t n) {
    if (n > s.size() - pos) return false;
    pos += static_cast<std::size_t>(n);
    return true;
  }
};

// ---------------------------------------------------------------- restore reports

// A restore that still has to be reported upward: HOME/token-backup/<dir>/restore.pending, written
// before the live file is replaced, removed once the observer took it. A crash in between repeats
// the report (same restore_id), never loses it.
fs::path pending_file(const fs::path& backup_dir) { return backup_dir / "restore.pending"; }

std::string encode_report(const TokenRestored& r) {
  return "token_file=" + r.token_file + "\nbackup_file=" + r.backup_file + "\nreason=" + r.reason +
         "\nsha256=" + r.sha256 + "\nrestore_id=" + r.restore_id + "\n";
}

TokenRestored decode_report(const std::string& text) {
  TokenRestored r;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "token_file") r.token_file = v;
    else if (k == "backup_file") r.backup_file = v;
    else if (k == "reason") r.reason = v;
    else if (k == "sha256") r.sha256 = v;
    else if (k == "restore_id") r.restore_id = v;
  }
  return r;
}

// Puts the verified copy back over a token's live state file (atomically), leaving the report.
void restore_state_file(const fs::path& home, const fs::path& token_dir, const std::string& copy,
                        const std::string& reason) {
  auto backup = token_backup_file(home, token_dir);
  TokenRestored r;
  r.token_file = (token_dir / "token.object").string();
  r.backup_file = backup.string();
  r.reason = reason;
  r.sha256 = to_hex(sha256(copy));
  r.restore_id = to_hex(random_bytes(8));
  write_file_atomic(pending_file(backup.parent_path()), encode_report(r), 0600);
  write_file_atomic(token_dir / "token.object", copy, 0600);
  if (read_file(token_dir / "token.object") != copy)
    throw Error(ErrorKind::hsm, "restoring " + r.token_file + " from " + r.backup_file + " failed: it does not read back equal");
  std::cerr << "jitsuin: warning: the embedded token's state file " << r.token_file << " was " << reason
            << "; restored it from the verified copy " << r.backup_file << " (an audit entry hsm.token.restore records it)\n";
}

// Removes what a killed process may have left half-written: the staged copies of core's atomic
// writes (".token.object.XXXXXX", ".restore.pending.XXXXXX") in the token and backup folders.
void clean_staged(const fs::path& dir) {
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    auto name = f.path().filename().string();
    if (name.starts_with(".token.object.") || name.starts_with(".restore.pending.")) fs::remove(f.path(), ec);
  }
}

// Under the lock, before the module is loaded: every token of the home whose state file is
// missing, empty or unreadable while its copy is readable is restored. With `label`, also a token
// of that label whose live file differs from its copy (SoftHSM2 did not see it).
bool restore_broken(const fs::path& home, const std::optional<std::string>& differing_label) {
  bool restored = false;
  auto backups = home / "token-backup";
  std::error_code ec;
  if (!fs::is_directory(backups, ec)) return false;
  for (const auto& d : fs::directory_iterator(backups, ec)) {
    if (!d.is_directory()) continue;
    clean_staged(d.path());
    auto token_dir = home / "tokens" / d.path().filename();
    if (!fs::is_directory(token_dir)) continue;   // the token itself is gone: nothing to put back into
    clean_staged(token_dir);
    bool have_copy = false, have_live = false;
    std::string copy = read_or_empty(d.path() / "token.object", have_copy);
    if (!have_copy) continue;
    auto copy_state = parse_token_state(copy);
    if (!copy_state.readable) {
      std::cerr << "jitsuin: warning: the copy " << (d.path() / "token.object").string()
                << " is unreadable (" << copy_state.problem << "); not using it\n";
      continue;
    }
    std::string live = read_or_empty(token_dir / "token.object", have_live);
    auto live_state = parse_token_state(live);
    std::string reason;
    if (!have_live) reason = "missing";
    else if (!live_state.readable) reason = live_state.problem == "empty" ? "empty" : "unreadable (" + live_state.problem + ")";
    else if (differing_label && copy_state.label == *differing_label && live != copy)
      reason = "not seen by SoftHSM2 as token '" + *differing_label + "'";
    if (reason.empty()) continue;
    restore_state_file(home, token_dir, copy, reason);
    restored = true;
  }
  return restored;
}

// After a successful login: the copy of every token with this label (every token without one)
// is written if missing or if the live file's PINs, label or serial differ from it.
void keep_copy_current(const fs::path& home, const std::optional<std::string>& label) {
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(home / "tokens", ec)) {
    if (!d.is_directory()) continue;
    bool have_live = false, have_copy = false;
    auto live = parse_token_state(read_or_empty(d.path() / "token.object", have_live));
    if (!live.readable || (label && live.label != *label)) continue;
    auto copy = parse_token_state(read_or_empty(token_backup_file(home, d.path()), have_copy));
    if (!have_copy || !copy.readable || copy.identity != live.identity) back_up_token_state(home, d.path());
  }
}

// Hands every pending restore report to the observer; a report is removed once it was taken.
void report_restores(const fs::path& home, const KeyStoreObserver& observer) {
  if (!observer.token_restored) return;   // kept for an opener that records it
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(home / "token-backup", ec)) {
    auto pending = pending_file(d.path());
    if (!d.is_directory() || !fs::exists(pending)) continue;
    observer.token_restored(decode_report(read_file(pending)));
    fs::remove(pending);
    sync_dir(d.path());
  }
}

Token login(Token t, const config::HsmConfig& hc) {
  t.login(read_ca_pin(hc));
  return t;
}

}  // namespace

// ---------------------------------------------------------------- softhsm2.conf

void prepare_embedded_softhsm(const fs::path& home) {
  fs::create_directories(home);
  auto tokens = fs::absolute(home / "tokens").lexically_normal();
  auto conf = home / "softhsm2.conf";
  const std::string key = "directories.tokendir";
  if (fs::exists(conf)) {
    // The token folder must be this home's: a copied, moved or restored home carries the
    // original's absolute path, and SoftHSM2 would silently use the original's token.
    std::string text = read_file(conf), out, line;
    std::optional<std::string> named;
    std::istringstream in(text);
    while (std::getline(in, line)) {
      std::string t = trim(line);
      if (t.starts_with(key) && trim(t.substr(key.size())).starts_with("=")) {
        named = trim(trim(t.substr(key.size())).substr(1));
        continue;
      }
      out += line + "\n";
    }
    std::error_code ec;
    bool same = named && (fs::path(*named).lexically_normal() == tokens ||
                          (fs::exists(*named, ec) && fs::exists(tokens, ec) && fs::equivalent(*named, tokens, ec)));
    if (!same) {
      std::string was = named ? *named : "(none)";
      if (!has_token(tokens))
        throw Error(ErrorKind::config,
                    conf.string() + " names the token folder " + was + ", not this home's " + tokens.string() +
                        " (a copied or moved home?), and this home has no token of its own there; copy the "
                        "home's tokens/ and token-backup/ folders along with it, or correct " + key);
      write_file_atomic(conf, key + " = " + tokens.string() + "\n" + out, 0600);
      std::cerr << "jitsuin: warning: " << conf.string() << " named the token folder " << was
                << ", not this home's (a copied or moved home?); it now names " << tokens.string()
                << ": this home uses its own token, never the original's\n";
    }
  } else {
    write_file_atomic(conf,
                      "# SoftHSM2 configuration of jitsuin's embedded CA token (created on first use; jitsuin\n"
                      "# points directories.tokendir back at this home's tokens/ if the home is copied or moved).\n" +
                          key + " = " + tokens.string() +
                          "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                      0600);
  }
  if (!fs::exists(tokens)) {
    fs::create_directories(tokens);
    ::chmod(tokens.c_str(), 0700);
  }
  ::setenv("SOFTHSM2_CONF", fs::absolute(conf).c_str(), 1);
}

// ---------------------------------------------------------------- the home's token lock

namespace detail {

// One home's lock as this process holds it: one flock on HOME/token.lock shared by the threads
// that hold it at the same time.
struct HomeLock {
  fs::path path;        // HOME/token.lock
  fs::path wait_path;   // HOME/token.wait: processes waiting for the lock hold a shared flock on it
  std::mutex mu;
  std::condition_variable cv;
  int holders = 0;      // TokenLocks alive on this home in this process
  bool taking = false;  // a thread is waiting for the flock; others wait for it on cv
  int fd = -1;          // HOME/token.lock, open for the process's life; flocked while holders > 0
  int wait_fd = -1;     // HOME/token.wait, open for the process's life
  std::chrono::steady_clock::time_point taken_at;
};

}  // namespace detail

namespace {

using LockClock = std::chrono::steady_clock;
// Threads join a hold only while it is this young: a process whose threads sign back to back
// still lets go of the lock at least this often.
constexpr auto kShareTurn = std::chrono::milliseconds(50);
// How long a process about to take the lock lets announced waiters of other processes go first.
constexpr auto kCourtesy = std::chrono::milliseconds(250);
constexpr auto kMaxPause = std::chrono::milliseconds(5);

// The holds of this thread (a thread that holds a home's lock joins its own hold, at any age).
thread_local std::vector<const detail::HomeLock*> this_thread_holds;

int open_lock_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    throw Error(ErrorKind::hsm, "cannot open the token lock " + path.string() + ": " + std::strerror(errno), errno);
  return fd;
}

[[noreturn]] void token_busy(const fs::path& path, int wait_seconds, bool this_process) {
  throw Error(ErrorKind::hsm, "the embedded token is busy: " +
                                  std::string(this_process ? "other threads of this process have held "
                                                           : "another jitsuin process has held ") +
                                  path.string() + " for more than " + std::to_string(wait_seconds) +
                                  " s (hsm.lock_wait_seconds); try again when it has finished");
}

// flock is not fair: a process that lets go and takes the lock again at once would nearly always
// win against one that polls. Waiters announce themselves with a shared flock on HOME/token.wait;
// before taking the lock, a process lets announced waiters go first: it waits until none is left
// (each drops its announcement once it has the lock), at most kCourtesy.
void let_waiters_in(int wait_fd, LockClock::time_point deadline) {
  auto until = std::min(deadline, LockClock::now() + kCourtesy);
  if (LockClock::now() >= until) return;
  while (::flock(wait_fd, LOCK_EX | LOCK_NB) != 0 && (errno == EWOULDBLOCK || errno == EINTR) &&
         LockClock::now() < until)
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  ::flock(wait_fd, LOCK_UN);   // drops the probe if it succeeded
}

// Takes the flock on HOME/token.lock (h.fd), waiting until deadline. Called by one thread at a
// time per home (HomeLock::taking).
void take_flock(detail::HomeLock& h, int wait_seconds, LockClock::time_point deadline) {
  if (h.fd < 0) h.fd = open_lock_file(h.path);
  if (h.wait_fd < 0) h.wait_fd = open_lock_file(h.wait_path);
  let_waiters_in(h.wait_fd, deadline);
  bool announced = false;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (::flock(h.fd, LOCK_EX | LOCK_NB) == 0) {
      if (announced) ::flock(h.wait_fd, LOCK_UN);
      return;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK || LockClock::now() >= deadline) {
      if (announced) ::flock(h.wait_fd, LOCK_UN);
      if (err != EWOULDBLOCK)
        throw Error(ErrorKind::hsm, "cannot lock " + h.path.string() + ": " + std::strerror(err), err);
      token_busy(h.path, wait_seconds, false);
    }
    // Fails only while another process probes for waiters (a moment): retried next round.
    if (!announced) announced = ::flock(h.wait_fd, LOCK_SH | LOCK_NB) == 0;
    // Back off (1 ms doubling to 5 ms, with up to 1 ms of jitter so waiters do not retry in step).
    auto jitter = std::chrono::microseconds(random_bytes(1)[0] * 4);
    std::this_thread::sleep_for(std::min<LockClock::duration>(pause + jitter, deadline - LockClock::now()));
    pause = std::min<std::chrono::milliseconds>(pause * 2, kMaxPause);
  }
}

}  // namespace

std::unique_ptr<TokenLock> TokenLock::acquire(const fs::path& home, int wait_seconds) {
  // Keyed by the home as named (jitsuin names a home one way: config.home); the folder is made
  // once per process.
  auto named = fs::absolute(home).lexically_normal();
  std::shared_ptr<detail::HomeLock> h;
  fs::path path;
  {
    static std::mutex registry_mutex;
    // Kept for the process's life (a few hundred bytes per home; no descriptor while not held).
    static std::map<std::string, std::shared_ptr<detail::HomeLock>> registry;
    std::lock_guard registry_lock(registry_mutex);
    auto& slot = registry[named.string()];
    h = slot;
    if (h) {
      path = h->path;
    } else {
      fs::create_directories(home);
      path = named / "token.lock";
      h = std::make_shared<detail::HomeLock>();
      h->path = path;
      h->wait_path = path.parent_path() / "token.wait";
      slot = h;
    }
  }
  const auto deadline = LockClock::now() + std::chrono::seconds(wait_seconds);
  std::unique_lock l(h->mu);
  bool mine = std::find(this_thread_holds.begin(), this_thread_holds.end(), h.get()) != this_thread_holds.end();
  for (bool timed_out = false;;) {
    if (h->holders > 0 && (mine || LockClock::now() - h->taken_at < kShareTurn)) {
      ++h->holders;
      this_thread_holds.push_back(h.get());
      return std::unique_ptr<TokenLock>(new TokenLock(std::move(h)));
    }
    if (h->holders == 0 && !h->taking) break;
    if (timed_out) token_busy(path, wait_seconds, true);
    timed_out = h->cv.wait_until(l, deadline) == std::cv_status::timeout;
  }
  h->taking = true;
  l.unlock();
  try {
    take_flock(*h, wait_seconds, deadline);
  } catch (...) {
    l.lock();
    h->taking = false;
    h->cv.notify_all();
    throw;
  }
  l.lock();
  h->taking = false;
  h->holders = 1;
  h->taken_at = LockClock::now();
  h->cv.notify_all();
  this_thread_holds.push_back(h.get());
  return std::unique_ptr<TokenLock>(new TokenLock(std::move(h)));
}

TokenLock::~TokenLock() {
  std::lock_guard l(home_->mu);
  auto it = std::find(this_thread_holds.begin(), this_thread_holds.end(), home_.get());
  if (it != this_thread_holds.end()) this_thread_holds.erase(it);
  if (--home_->holders == 0) {
    ::flock(home_->fd, LOCK_UN);
    home_->cv.notify_all();
  }
}

// ---------------------------------------------------------------- the state file and its copy

TokenStateFile parse_token_state(const std::string& content) {
  TokenStateFile r;
  if (content.empty()) {
    r.problem = "empty";
    return r;
  }
  Reader rd{content};
  std::uint64_t generation = 0;
  if (!rd.number(generation)) {
    r.problem = "truncated generation counter";
    return r;
  }
  std::map<std::uint64_t, std::string> attrs;   // type -> encoded attribute
  while (rd.pos < content.size()) {
    std::size_t start = rd.pos;
    std::uint64_t type = 0, kind = 0, n = 0;
    if (!rd.number(type) || !rd.number(kind)) {
      r.problem = "truncated attribute header at byte " + std::to_string(start);
      return r;
    }
    bool ok = false;
    switch (kind) {
      case 1: ok = rd.skip(1); break;                        // boolean
      case 2: ok = rd.skip(8); break;                        // unsigned long
      case 3: case 4: ok = rd.number(n) && rd.skip(n); break;   // byte string; attribute map (byte length)
      case 5: ok = rd.number(n) && n <= content.size() / 8 && rd.skip(n * 8); break;   // mechanism set
      default:
        r.problem = "unknown attribute kind " + std::to_string(kind) + " at byte " + std::to_string(start);
        return r;
    }
    if (!ok) {
      r.problem = "truncated attribute at byte " + std::to_string(start);
      return r;
    }
    attrs[type] = content.substr(start, rd.pos - start);
  }
  for (auto [type, name] : {std::pair{kLabel, "label"}, {kSerial, "serial"}, {kFlags, "flags"},
                            {kSoPin, "SO PIN"}, {kUserPin, "user PIN"}}) {
    if (!attrs.count(type)) {
      r.problem = std::string("no ") + name;
      return r;
    }
  }
  const std::string& label = attrs[kLabel];
  if (label.size() < 24 || static_cast<unsigned char>(label[15]) != 3) {   // byte string: 16 + 8 + value
    r.problem = "label is not a byte string";
    return r;
  }
  r.label = label.substr(24);
  while (!r.label.empty() && (r.label.back() == ' ' || r.label.back() == '\0')) r.label.pop_back();
  for (const auto& [type, encoded] : attrs)
    if (type != kFlags) r.identity += encoded;
  r.readable = true;
  return r;
}

fs::path token_backup_file(const fs::path& home, const fs::path& token_dir) {
  return home / "token-backup" / token_dir.filename() / "token.object";
}

void back_up_token_state(const fs::path& home, const fs::path& token_dir) {
  auto live_file = token_dir / "token.object";
  std::string live = read_file(live_file);
  auto state = parse_token_state(live);
  if (!state.readable)
    throw Error(ErrorKind::hsm, "cannot copy the token's state file " + live_file.string() + ": " + state.problem);
  auto copy = token_backup_file(home, token_dir);
  private_dir(copy.parent_path().parent_path());
  private_dir(copy.parent_path());
  write_file_atomic(copy, live, 0600);   // write, fsync, rename, fsync the folder
  if (read_file(copy) != live)
    throw Error(ErrorKind::hsm, "the copy " + copy.string() + " of the token's state file does not read back equal");
}

// ---------------------------------------------------------------- opening the CA token

std::string read_ca_pin(const config::HsmConfig& hsm) {
  if (!hsm.pin_env.empty())
    if (const char* v = std::getenv(hsm.pin_env.c_str()); v && *v) return v;
  return read_secret_file(hsm.pin_file);
}

Token open_ca_token(const config::Config& config, bool provision, const KeyStoreObserver& observer) {
  const auto& hc = config.hsm;
  auto uri = Pkcs11Uri::parse(hc.token);
  fs::path module_path = uri.module_path ? fs::path(*uri.module_path) : hc.module;
  if (!hc.embedded_softhsm) return login(Module::load(module_path)->open(uri), hc);   // a real HSM keeps its own state

  // Embedded SoftHSM2, under the home's token lock: repair before SoftHSM2 reads the files.
  prepare_embedded_softhsm(config.home);
  restore_broken(config.home, std::nullopt);
  auto module = Module::load(module_path);
  std::optional<Token> token;
  try {
    token = module->open(uri);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::not_found) throw;
    // SoftHSM2 does not see the token although its files parse: if a copy for its label differs,
    // put it back and load the module afresh (it reads the token folder at C_Initialize).
    if (uri.token && restore_broken(config.home, uri.token)) {
      module.reset();
      module = Module::load(module_path);
      try {
        token = module->open(uri);
      } catch (const Error& again) {
        if (again.kind() != ErrorKind::not_found) throw;
      }
    }
    if (!token && !provision) throw;
  }
  if (!token) {
    if (!uri.token) throw Error(ErrorKind::config, "hsm.token must name the token label (token=...) to create it");
    std::string user_pin, so_pin;
    auto so_file = config.home / "ca.so-pin";
    if (fs::exists(hc.pin_file)) {
      user_pin = read_secret_file(hc.pin_file);
    } else {
      user_pin = random_pin();
      write_file_atomic(hc.pin_file, user_pin + "\n", 0600);
    }
    if (fs::exists(so_file)) {
      so_pin = read_secret_file(so_file);
    } else {
      so_pin = random_pin();
      write_file_atomic(so_file, so_pin + "\n", 0600);
    }
    module->open_uninitialized().initialize(so_pin, *uri.token, user_pin);
    token = module->open(uri);
  }
  Token t = login(*token, hc);
  // The login proved the file's PINs; keep the copy equal to them (first at `ca init`).
  keep_copy_current(config.home, uri.token);
  report_restores(config.home, observer);
  return t;
}

bool verify_token_pin(const config::Config& config, TokenPin which, const std::string& pin) {
  JITSUIN_ARG_CHECK(!pin.empty(), "the PIN is empty");
  const auto& hc = config.hsm;
  auto uri = Pkcs11Uri::parse(hc.token);
  fs::path module_path = uri.module_path ? fs::path(*uri.module_path) : hc.module;
  // A login rewrites the embedded token's state file like a signing command's does: the same lock
  // and repair first (a restore made here is reported by the next signing command). Declared
  // before the module and token, so it is released after they are closed.
  std::unique_ptr<TokenLock> lock;
  if (hc.embedded_softhsm) {
    lock = TokenLock::acquire(config.home, hc.lock_wait_seconds);
    prepare_embedded_softhsm(config.home);
    restore_broken(config.home, std::nullopt);
  }
  auto module = Module::load(module_path);
  Token token = module->open(uri);
  try {
    if (which == TokenPin::so) token.login_so(pin);
    else token.login(pin);
  } catch (const HsmError& e) {
    // A wrong PIN is the token's answer (unauthenticated); a locked PIN (forbidden) or a failure
    // of the module is not, and propagates.
    if (e.kind() != ErrorKind::unauthenticated) throw;
    return false;
  }
  token.logout();
  return true;
}

}  // namespace jitsuin::hsm
