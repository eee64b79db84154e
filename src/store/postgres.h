// The store in PostgreSQL: the journal (journal.h's contract), and what several controllers of one
// store share to take turns leading it: the leader's lease and the API's tokens.
//
// Failover. One row holds the lease: its epoch, who holds it, where it serves, and when it expires
// by the database's clock (so the controllers' clocks never matter). A controller takes a lease
// that has expired (the epoch grows by one), renews it well before it expires, and gives it up at
// a clean stop. Fencing: the journal of a leader carries its epoch, and each of its write
// transactions first reads the epoch under a share lock; a change of leader must wait for those
// transactions, and after it they fail. So a stale leader (paused, cut off, slow to notice) can
// never write, and the new leader reads everything the old one wrote before.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/journal.h"

namespace gwang::store {

namespace pg {
class Conn;
}

struct PostgresOptions {
  // 0: not fenced (a single controller, migrate-store). Else the lease's epoch this controller
  // leads in: a write when the lease has another epoch fails, and on_fenced is called first with it.
  std::int64_t fence_epoch = 0;
  std::function<void(std::int64_t epoch)> on_fenced;
  // How long an append that lost its connection keeps trying on new ones (the server restarting).
  std::chrono::milliseconds retry_for{10000};
  // Tests only: called with the connection's socket after COMMIT is sent, before its answer is read
  // (to cut the connection at the moment when the batch's fate is unknown).
  std::function<void(int socket)> after_commit_sent;
};

// `conninfo`: a libpq connection string or URI ("postgresql://gwang@db1/gwang",
// "host=/run/postgresql dbname=gwang"). Opening applies the schema's migrations (under an advisory
// lock) or refuses a newer schema. A lost connection is made again at the next call, which fails if
// the store no longer ends where this journal left it.
Result<std::unique_ptr<Journal>> open_postgres_journal(const std::string& conninfo, PostgresOptions options = {});

// The lease as the database has it.
struct LeaseState {
  std::int64_t epoch = 0;          // 0: nobody has ever led
  std::string holder;              // the controller's name for itself
  std::string address;             // where it serves the API (http://host:port)
  bool live = false;               // not expired
  std::int64_t expires_in_ms = 0;  // when live
};

// One controller's side of the lease. Not thread-safe (one connection of its own).
class Lease {
 public:
  // Connects and applies the schema's migrations. `holder` names this controller (unique among
  // them); `address` is where the others send clients while it leads.
  static Result<std::unique_ptr<Lease>> open(const std::string& conninfo, std::string holder, std::string address,
                                             std::chrono::milliseconds ttl);
  ~Lease();

  // Takes the lease if it has expired (or was given up): returns the new epoch, or nullopt while
  // another holds it. Errors: the database is out of reach.
  Result<std::optional<std::int64_t>> acquire();
  // Extends the lease this controller holds by the ttl from now. Errors: the lease is lost (another
  // took it; the message says who), or the database is out of reach.
  Result<void> renew();
  // Gives the lease up (it expires now), so that a standby takes over at once. Best effort.
  void release();
  Result<LeaseState> state();
  std::int64_t epoch() const { return epoch_; }  // held, or 0
  std::chrono::milliseconds ttl() const { return ttl_; }

 private:
  Lease() = default;
  std::unique_ptr<pg::Conn> conn_;
  std::string holder_, address_;
  std::chrono::milliseconds ttl_{0};
  std::int64_t epoch_ = 0;
};

// The API's tokens kept in the store (hashes only), so that every controller knows them.
struct TokenRow {
  std::string hash;  // SHA-256 hex of the token
  std::string account;
  bool is_operator = false;
};

class TokenTable {
 public:
  static Result<std::unique_ptr<TokenTable>> open(const std::string& conninfo);
  ~TokenTable();
  Result<std::vector<TokenRow>> load();
  Result<void> add(const TokenRow& row);
  Result<void> remove(const std::string& hash);

 private:
  TokenTable() = default;
  std::unique_ptr<pg::Conn> conn_;
};

}  // namespace gwang::store
