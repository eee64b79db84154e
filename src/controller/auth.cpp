#include "controller/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "store/postgres.h"

namespace gwang::controller {

namespace {

std::string hex(const unsigned char* data, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

}  // namespace

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
  return hex(digest, n);
}

std::string random_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no randomness: nothing safe to do
  return hex(bytes, sizeof bytes);
}

Result<TokenStore> TokenStore::load(const std::string& path) {
  TokenStore s;
  s.path_ = path;
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string hash, user, role;
    if (!(fields >> hash >> user >> role) || hash.size() != 64 || (role != "operator" && role != "user")) {
      return fail(path + ":" + std::to_string(n) + ": expected '<sha256-hex> <user> <operator|user>'");
    }
    s.by_hash_[hash] = {user, role == "operator"};
  }
  return s;
}

Result<TokenStore> TokenStore::load(std::shared_ptr<store::TokenTable> table) {
  TokenStore s;
  auto rows = table->load();
  if (!rows) return tl::unexpected(rows.error());
  for (const store::TokenRow& row : *rows) s.by_hash_[row.hash] = {row.account, row.is_operator};
  s.table_ = std::move(table);
  return s;
}

Result<std::string> TokenStore::issue(const std::string& user, bool is_operator) {
  std::lock_guard lock(*mu_);
  const std::string token = random_token();
  const std::string hash = sha256_hex(token);
  if (table_) {
    if (auto r = table_->add({hash, user, is_operator}); !r) return tl::unexpected(r.error());
    by_hash_[hash] = {user, is_operator};
    return token;
  }
  const mode_t old = ::umask(077);
  std::ofstream out(path_, std::ios::app);
  out << hash << ' ' << user << ' ' << (is_operator ? "operator" : "user") << '\n';
  out.close();
  ::umask(old);
  if (!out) return fail(path_ + ": cannot write");
  by_hash_[hash] = {user, is_operator};
  return token;
}

std::optional<Principal> TokenStore::check(const std::string& token) const {
  const std::string hash = sha256_hex(token);
  std::lock_guard lock(*mu_);
  std::optional<Principal> found;
  for (const auto& [h, p] : by_hash_) {
    if (CRYPTO_memcmp(h.data(), hash.data(), hash.size()) == 0) found = p;
  }
  return found;
}

std::vector<TokenInfo> TokenStore::list(const std::string& user) const {
  std::lock_guard lock(*mu_);
  std::vector<TokenInfo> out;
  for (const auto& [hash, p] : by_hash_) {
    if (user.empty() || p.user == user) out.push_back({hash.substr(0, 12), p.user, p.is_operator});
  }
  return out;
}

Result<TokenInfo> TokenStore::revoke(const std::string& id) {
  std::lock_guard lock(*mu_);
  if (id.size() != 12) return fail("token '" + id + "' not found (a token id has 12 hex digits)");
  auto it = by_hash_.lower_bound(id);
  if (it == by_hash_.end() || it->first.compare(0, 12, id) != 0) return fail("token '" + id + "' not found");
  const TokenInfo gone{id, it->second.user, it->second.is_operator};
  if (table_) {
    if (auto r = table_->remove(it->first); !r) return tl::unexpected(r.error());
    by_hash_.erase(it);
    return gone;
  }
  std::map<std::string, Principal> kept = by_hash_;
  kept.erase(it->first);
  const std::string aside = path_ + ".new";
  const mode_t old = ::umask(077);
  std::ofstream out(aside, std::ios::trunc);
  for (const auto& [hash, p] : kept)
    out << hash << ' ' << p.user << ' ' << (p.is_operator ? "operator" : "user") << '\n';
  out.close();
  ::umask(old);
  if (!out || std::rename(aside.c_str(), path_.c_str()) != 0) return fail(path_ + ": cannot write");
  by_hash_ = std::move(kept);
  return gone;
}

}  // namespace gwang::controller
