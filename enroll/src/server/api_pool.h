#pragma once
// API calls in parallel: each call in flight gets a Services of its own (its own SQLite connection,
// CA and key store) from a pool, so that independent calls do not wait for each other — a login's
// scrypt, a signature waiting for the token, a read. What they share is safe across connections
// and threads: SQLite in WAL mode (readers never wait; write transactions queue on the process's
// writer mutex per database file and, across processes, on SQLite's busy handler; see
// db::Transaction), and the token, which every key store of the process shares as one logged-in
// PKCS#11 session (hsm/key_store.cpp, SharedToken) with each use under the token's lock, as the
// OCSP responder and the outbox worker already do on Services of their own.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "jitsuin/api/services.h"

namespace jitsuin::server {

class ServicesPool {
 public:
  /// `size`: at most this many Services (database connections) at once; 0: no bound beyond the
  /// I/O threads (a call runs on its thread). 1: one call at a time.
  ServicesPool(const config::Config& config, Clock clock, int size)
      : config_(config), clock_(std::move(clock)), size_(size) {}

  /// A Services for one call, returned to the pool when the lease ends; waits while `size` are
  /// leased.
  class Lease {
   public:
    Lease(ServicesPool& pool, std::unique_ptr<api::Services> s) : pool_(pool), s_(std::move(s)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.give_back(std::move(s_)); }
    api::Services& operator*() const { return *s_; }

   private:
    ServicesPool& pool_;
    std::unique_ptr<api::Services> s_;
  };

  Lease acquire() {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return size_ <= 0 || leased_ < size_; });
      ++leased_;
      if (!idle_.empty()) {
        auto s = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(s));
      }
    }
    try {
      return Lease(*this, std::make_unique<api::Services>(config_, clock_, api::HomeCreation::refused));
    } catch (...) {
      give_back(nullptr);
      throw;
    }
  }

 private:
  void give_back(std::unique_ptr<api::Services> s) {
    {
      std::lock_guard lock(mutex_);
      --leased_;
      if (s) idle_.push_back(std::move(s));
    }
    cv_.notify_one();
  }

  const config::Config config_;
  const Clock clock_;
  const int size_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int leased_ = 0;
  std::vector<std::unique_ptr<api::Services>> idle_;
};

}  // namespace jitsuin::server
