// Issuance benchmark: certificates issued per second through ca::CertificateAuthority::issue(),
// printed beside the raw signature rate of the same SoftHSM2 issuing-CA key measured in the same
// run (just before and just after each case), so the figure is a ratio that does not depend on
// how fast this machine is. For the single-threaded case it also prints where one issuance spends
// its time (CSR checks, token signature, the rest).
//
// Not a test assertion: it fails only when something does not work (an exception, a wrong count,
// a broken audit chain, a certificate that does not verify). ./test.sh runs a tiny smoke version
// (bench_smoke); tests/bench/run.sh runs the full size.
//
// The applicants' keys (in the CSRs) are RSA-2048 or P-256 (--csr-keys): the CSR self-signature
// check is part of every issuance, and a P-256 verification costs about as much as a P-256
// signature on the token, an RSA-2048 verification a quarter of that.
//
// Usage: bench_issue [--count N] [--raw-seconds S] [--algs rsa2048,p256] [--threads 1,2]
//                    [--sync full,normal] [--csr-keys rsa2048,p256]
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "jitsuin/ca/csr.h"
#include "jitsuin/db/audit.h"
#include "support/support.h"

namespace {

using namespace jitsuin;
using Clock = std::chrono::steady_clock;

struct Options {
  int count = 3000;             // issuances per case (split between the threads)
  double raw_seconds = 2.0;     // how long each raw-signature measurement runs
  std::vector<std::string> algs{"rsa2048", "p256"};
  std::vector<int> threads{1, 2};
  std::vector<std::string> syncs{"full", "normal"};
  std::vector<std::string> csr_keys{"rsa2048", "p256"};
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "bench_issue: " << why
            << "\nusage: bench_issue [--count N] [--raw-seconds S] [--algs rsa2048,p256] [--threads 1,2] "
               "[--sync full,normal] [--csr-keys rsa2048,p256]\n";
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--count") o.count = std::stoi(value());
    else if (a == "--raw-seconds") o.raw_seconds = std::stod(value());
    else if (a == "--algs") o.algs = split(value());
    else if (a == "--threads") {
      o.threads.clear();
      for (const auto& t : split(value())) o.threads.push_back(std::stoi(t));
    } else if (a == "--sync") o.syncs = split(value());
    else if (a == "--csr-keys") o.csr_keys = split(value());
    else usage("unknown argument " + a);
  }
  if (o.count < 1 || o.raw_seconds <= 0) usage("--count and --raw-seconds must be positive");
  for (int t : o.threads)
    if (t < 1) usage("--threads must be positive");
  for (const auto& s : o.syncs)
    if (s != "full" && s != "normal") usage("--sync takes full and/or normal");
  for (const auto& k : o.csr_keys)
    if (k != "rsa2048" && k != "p256") usage("--csr-keys takes rsa2048 and/or p256");
  return o;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// An applicant key: a fresh P-256 key, or one of 32 RSA-2048 keys (RSA key generation takes far
// longer than an issuance; every issuance has the same subject, so re-using a key is allowed).
ossl::PKey applicant_key(const std::string& alg) {
  if (alg == "p256") {
    ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    check(key != nullptr, "EVP_PKEY_Q_keygen failed");
    return key;
  }
  static std::vector<ossl::PKey> pool;
  static std::size_t next = 0;
  if (pool.size() < 32) {
    pool.emplace_back(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
    check(pool.back() != nullptr, "EVP_PKEY_Q_keygen failed");
  }
  EVP_PKEY* key = pool[next++ % pool.size()].get();
  EVP_PKEY_up_ref(key);
  return ossl::PKey(key);
}

// A PEM CSR for an applicant key of type alg, made in-process (keygen and signing are not timed).
std::string make_csr(const std::string& alg) {
  ossl::PKey key = applicant_key(alg);
  ossl::Req req(X509_REQ_new());
  X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("bench"), -1, -1, 0);
  check(X509_REQ_set_pubkey(req.get(), key.get()) == 1, "X509_REQ_set_pubkey failed");
  check(X509_REQ_sign(req.get(), key.get(), EVP_sha256()) > 0, "X509_REQ_sign failed");
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509_REQ(bio.get(), req.get()) == 1, "PEM_write_bio_X509_REQ failed");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// Every issuance has the same approved subject; each CSR has its own key.
ca::IssueRequest request_for(std::string csr) {
  ca::IssueRequest r;
  r.profile = "individual-signing";
  r.csr = std::move(csr);
  r.subject = {{"organization", "Bench Corp"}, {"common_name", "Bench User"}};
  return r;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Raw signatures per second with the issuing-CA key over a certificate-sized TBS, `threads` at once.
double raw_rate(EVP_PKEY* key, const Bytes& tbs, int threads, double seconds) {
  const EVP_MD* md = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && EVP_PKEY_get_bits(key) > 256 ? EVP_sha384()
                                                                                              : EVP_sha256();
  std::atomic<long> total{0};
  std::atomic<bool> failed{false};
  std::barrier sync(threads + 1);
  std::vector<std::thread> pool;
  Clock::time_point deadline;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      std::vector<unsigned char> sig(1024);
      long n = 0;
      sync.arrive_and_wait();
      while (Clock::now() < deadline) {
        ossl::MdCtx ctx(EVP_MD_CTX_new());
        std::size_t len = sig.size();
        if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
            EVP_DigestSign(ctx.get(), sig.data(), &len, tbs.data(), tbs.size()) != 1) {
          failed = true;
          break;
        }
        ++n;
      }
      total += n;
    });
  deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto start = Clock::now();
  sync.arrive_and_wait();
  for (auto& th : pool) th.join();
  double elapsed = seconds_since(start);
  check(!failed, "raw signature with the token key failed");
  return static_cast<double>(total) / elapsed;
}

struct IssueResult {
  double rate = 0;
  long issued = 0;
};

// Issues `count` certificates from pre-made CSRs with `threads` threads, each with its own
// database connection and CertificateAuthority; the token is shared.
IssueResult issue_rate(test::CaFixture& f, int count, int threads, bool sync_full, const std::string& csr_key) {
  std::vector<std::vector<ca::IssueRequest>> work(static_cast<std::size_t>(threads));
  for (int i = 0; i < count; ++i)
    work[static_cast<std::size_t>(i % threads)].push_back(request_for(make_csr(csr_key)));
  // Connections and CA objects are opened before the clock starts, as a server would hold them.
  std::vector<std::unique_ptr<db::Database>> dbs;
  std::vector<std::unique_ptr<ca::CertificateAuthority>> cas;
  for (int t = 0; t < threads; ++t) {
    dbs.push_back(db::Database::open(f.config.database.path, {.synchronous_full = sync_full}));
    cas.push_back(std::make_unique<ca::CertificateAuthority>(f.config, *dbs.back(), *f.keys, system_clock()));
  }
  std::int64_t before = test::count_rows(*f.db, "certificates");
  std::atomic<long> issued{0};
  std::string error;
  std::mutex error_mutex;
  std::barrier start_line(threads + 1);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      start_line.arrive_and_wait();
      try {
        for (const auto& req : work[static_cast<std::size_t>(t)]) {
          auto out = cas[static_cast<std::size_t>(t)]->issue(req, {"bench"});
          if (!out.certificate) throw std::runtime_error("issue() returned no certificate");
          ++issued;
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(error_mutex);
        error = e.what();
      }
    });
  auto start = Clock::now();
  start_line.arrive_and_wait();
  for (auto& th : pool) th.join();
  double elapsed = seconds_since(start);
  check(error.empty(), "issuance failed: " + error);
  check(test::count_rows(*f.db, "certificates") - before == count, "certificate rows do not match the issuance count");
  return {static_cast<double>(issued) / elapsed, issued};
}

// Microseconds per call of f, over n calls.
template <typename F>
double micros_per_call(int n, F&& f) {
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) f();
  return seconds_since(start) * 1e6 / n;
}

// Where one single-threaded issuance spends its time: the steps that do not depend on the
// database, timed alone in this run, and the rest (database, audit entry, extensions, ...).
// The CSR check (mostly the self-signature verification CA-3 requires) alone bounds the ratio.
void print_breakdown(const std::string& alg, const std::string& csr_key, double issue_rate, double raw_rate, int n) {
  std::vector<std::string> csrs;
  for (int i = 0; i < n; ++i) csrs.push_back(make_csr(csr_key));
  std::size_t next = 0;
  double csr_check = micros_per_call(n, [&] { ca::check_csr(csrs[next++ % csrs.size()]); });
  double total = 1e6 / issue_rate, sign = 1e6 / raw_rate;
  std::printf("   %s key, %s CSRs, 1 thread, sync normal: one issuance %.0f us = check_csr (parse, self-signature, "
              "key fingerprint) %.0f + token signature %.0f + the rest %.0f (certificate, database, audit); the CSR "
              "check alone caps the ratio at %.0f%%\n",
              alg.c_str(), csr_key.c_str(), total, csr_check, sign, total - csr_check - sign,
              100.0 * sign / (sign + csr_check));
}

struct Row {
  std::string alg, csr_key, sync;
  int threads;
  double raw, issue, drift;
};

// The 1-minute load average: other work on the machine shows in every rate.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "?" : one;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_args(argc, argv);
  std::vector<Row> rows;
  try {
    for (const auto& alg_name : opt.algs) {
      auto alg = hsm::parse_key_algorithm(alg_name);
      std::cout << "== issuing key " << alg_name << ": setting up a CA on a SoftHSM2 token\n" << std::flush;
      // The root key only signs the issuing CA certificate: P-256 keeps the setup quick.
      auto f = test::make_ca(hsm::KeyAlgorithm::p256, alg);
      hsm::PrivateKey key = f->token->find_key(std::string("jitsuin-issuing-ca"), std::nullopt);

      // Warm-up issuance: loads the profile, and gives a real TBSCertificate to sign in the raw loop.
      auto first = f->ca->issue(request_for(make_csr("p256")), {"bench"});
      check(X509_verify(first.certificate.get(), X509_get0_pubkey(f->ca->issuing_certificate())) == 1,
            "the issued certificate does not verify with the issuing CA key");
      unsigned char* tbs_raw = nullptr;
      int tbs_len = i2d_re_X509_tbs(first.certificate.get(), &tbs_raw);
      check(tbs_len > 0, "cannot encode the TBSCertificate");
      Bytes tbs(tbs_raw, tbs_raw + tbs_len);
      OPENSSL_free(tbs_raw);
      std::cout << "   TBSCertificate " << tbs.size() << " bytes, certificate "
                << ossl::cert_der(first.certificate.get()).size() << " bytes\n";

      for (const auto& csr_key : opt.csr_keys)
        for (int threads : opt.threads)
          for (const auto& sync : opt.syncs) {
            // The raw rate is measured just before and just after the issuance run and averaged, so
            // a change in machine load during the run shows (as "drift") instead of skewing the ratio.
            double before = raw_rate(key.pkey(), tbs, threads, opt.raw_seconds);
            auto r = issue_rate(*f, opt.count, threads, sync == "full", csr_key);
            double after = raw_rate(key.pkey(), tbs, threads, opt.raw_seconds);
            double raw = (before + after) / 2;
            double drift = 100.0 * std::abs(before - after) / raw;
            rows.push_back({alg_name, csr_key, sync, threads, raw, r.rate, drift});
            std::printf("   %-8s csr=%-7s threads=%d sync=%-6s raw %8.0f sig/s (before %.0f, after %.0f)   issue %8.0f "
                        "cert/s   ratio %5.1f%%   load %s\n",
                        alg_name.c_str(), csr_key.c_str(), threads, sync.c_str(), raw, before, after, r.rate,
                        100.0 * r.rate / raw, load_average().c_str());
            std::fflush(stdout);
          }
      for (const auto& r : rows)
        if (r.alg == alg_name && r.threads == 1 && r.sync == "normal")
          print_breakdown(alg_name, r.csr_key, r.issue, r.raw, std::min(opt.count, 500));
      auto audit = db::verify_audit(*f->db);
      check(audit.ok, "the audit chain is broken: " + audit.problem);
      std::cout << "   audit chain ok (" << audit.entries << " entries)\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_issue: FAILED: " << e.what() << "\n";
    return 1;
  }
  std::printf("\nIssuance vs raw SoftHSM2 signatures with the same key (same run)\n");
  std::printf("%-8s %-8s %7s %-6s %12s %12s %7s %7s %7s\n", "CA key", "CSR key", "threads", "sync", "raw sig/s",
              "issue/s", "ratio", "target", "drift");
  for (const auto& r : rows) {
    double target = r.alg.rfind("rsa", 0) == 0 ? 85.0 : 50.0;
    std::printf("%-8s %-8s %7d %-6s %12.0f %12.0f %6.1f%% %6.0f%% %6.0f%%\n", r.alg.c_str(), r.csr_key.c_str(),
                r.threads, r.sync.c_str(), r.raw, r.issue, 100.0 * r.issue / r.raw, target, r.drift);
  }
  std::printf("(drift: how much the raw rate changed between before and after the issuance run; a large drift\n"
              " means the machine's load changed and the ratio is unreliable)\n");
  return 0;
}
