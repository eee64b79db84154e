// The leader's lease and the shared tokens in PostgreSQL (postgres.h).
#include <string>

#include "store/pg.h"
#include "store/postgres.h"

namespace gwang::store {

using pg::Res;

Result<std::unique_ptr<Lease>> Lease::open(const std::string& conninfo, std::string holder, std::string address,
                                           std::chrono::milliseconds ttl) {
  std::unique_ptr<Lease> lease(new Lease());
  lease->conn_ = std::make_unique<pg::Conn>();
  if (auto r = lease->conn_->connect(conninfo); !r) return tl::unexpected(r.error());
  if (auto r = pg::migrate(*lease->conn_); !r) return tl::unexpected(r.error());
  lease->holder_ = std::move(holder);
  lease->address_ = std::move(address);
  lease->ttl_ = ttl;
  return lease;
}

Lease::~Lease() = default;

Result<std::optional<std::int64_t>> Lease::acquire() {
  if (auto r = conn_->ready(); !r) return tl::unexpected(r.error());
  const std::string ttl = std::to_string(ttl_.count());
  // The database's clock decides expiry; taking the lease is one statement, so two standbys that
  // try at once cannot both win (the second's WHERE sees the first's new expiry).
  Res won(
      conn_->query("UPDATE leader SET epoch = epoch + 1, holder = $1, address = $2,"
                   " expires = clock_timestamp() + $3::bigint * interval '1 millisecond'"
                   " WHERE id = 1 AND expires < clock_timestamp() RETURNING epoch",
                   {holder_.c_str(), address_.c_str(), ttl.c_str()}));
  if (!won.ok()) return conn_->failure("taking the lease");
  if (won.rows() == 0) return std::optional<std::int64_t>();
  epoch_ = won.int64(0, 0);
  return std::optional<std::int64_t>(epoch_);
}

Result<void> Lease::renew() {
  if (epoch_ == 0) return fail("the lease is not held");
  if (auto r = conn_->ready(); !r) return r;
  const std::string epoch = std::to_string(epoch_), ttl = std::to_string(ttl_.count());
  Res kept(
      conn_->query("UPDATE leader SET expires = clock_timestamp() + $2::bigint * interval '1 millisecond'"
                   " WHERE id = 1 AND epoch = $1::bigint RETURNING epoch",
                   {epoch.c_str(), ttl.c_str()}));
  if (!kept.ok()) return conn_->failure("renewing the lease");
  if (kept.rows() == 1) return {};
  const std::int64_t lost = epoch_;
  epoch_ = 0;
  auto now = state();
  return fail("lost the lease of epoch " + std::to_string(lost) + ": " +
              (now ? now->holder + " (" + now->address + ") leads in epoch " + std::to_string(now->epoch)
                   : now.error().message));
}

void Lease::release() {
  if (epoch_ == 0 || !conn_->ready()) return;
  const std::string epoch = std::to_string(epoch_);
  Res gone(
      conn_->query("UPDATE leader SET expires = '-infinity' WHERE id = 1 AND epoch = $1::bigint", {epoch.c_str()}));
  epoch_ = 0;
}

Result<LeaseState> Lease::state() {
  if (auto r = conn_->ready(); !r) return tl::unexpected(r.error());
  Res row(
      conn_->query("SELECT epoch, holder, address, (expires > clock_timestamp()),"
                   " CASE WHEN expires > clock_timestamp()"
                   " THEN (EXTRACT(EPOCH FROM expires - clock_timestamp()) * 1000)::bigint ELSE 0::bigint END"
                   " FROM leader WHERE id = 1"));
  if (!row.ok() || row.rows() != 1) return conn_->failure("reading the lease");
  LeaseState s;
  s.epoch = row.int64(0, 0);
  s.holder = row.bytes(0, 1);
  s.address = row.bytes(0, 2);
  s.live = row.boolean(0, 3);
  s.expires_in_ms = s.live ? row.int64(0, 4) : 0;
  return s;
}

Result<std::unique_ptr<TokenTable>> TokenTable::open(const std::string& conninfo) {
  std::unique_ptr<TokenTable> table(new TokenTable());
  table->conn_ = std::make_unique<pg::Conn>();
  if (auto r = table->conn_->connect(conninfo); !r) return tl::unexpected(r.error());
  if (auto r = pg::migrate(*table->conn_); !r) return tl::unexpected(r.error());
  return table;
}

TokenTable::~TokenTable() = default;

Result<std::vector<TokenRow>> TokenTable::load() {
  if (auto r = conn_->ready(); !r) return tl::unexpected(r.error());
  Res rows(conn_->query("SELECT hash, account, operator FROM tokens ORDER BY hash"));
  if (!rows.ok()) return conn_->failure("reading the tokens");
  std::vector<TokenRow> out;
  for (int i = 0; i < rows.rows(); ++i) out.push_back({rows.bytes(i, 0), rows.bytes(i, 1), rows.boolean(i, 2)});
  return out;
}

Result<void> TokenTable::add(const TokenRow& row) {
  if (auto r = conn_->ready(); !r) return r;
  Res put(conn_->query("INSERT INTO tokens (hash, account, operator) VALUES ($1, $2, $3::boolean)",
                       {row.hash.c_str(), row.account.c_str(), row.is_operator ? "true" : "false"}));
  if (!put.ok()) return conn_->failure("storing a token");
  return {};
}

Result<void> TokenTable::remove(const std::string& hash) {
  if (auto r = conn_->ready(); !r) return r;
  Res gone(conn_->query("DELETE FROM tokens WHERE hash = $1", {hash.c_str()}));
  if (!gone.ok()) return conn_->failure("removing a token");
  return {};
}

}  // namespace gwang::store
