// Bearer tokens: random, shown once, stored only as SHA-256 hashes with the account they stand for.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace gwang::store {
class TokenTable;
}

namespace gwang::controller {

struct Principal {
  std::string user;
  bool is_operator = false;
};

// A token as listed: never the token itself, which is shown once when it is made.
struct TokenInfo {
  std::string id;  // the first 12 hex digits of its hash: names it for revoking
  std::string user;
  bool is_operator = false;
};

// Thread-safe: requests check tokens while others make or revoke them.
class TokenStore {
 public:
  // Loads `path` ("<sha256-hex> <user> <operator|user>" per line); a missing file is empty.
  static Result<TokenStore> load(const std::string& path);
  // The tokens in a PostgreSQL store (store/postgres.h), which every controller of it shares.
  static Result<TokenStore> load(std::shared_ptr<store::TokenTable> table);
  // Creates a token for `user`, stores its hash in the file (or table), and returns the token itself.
  Result<std::string> issue(const std::string& user, bool is_operator);
  // The principal a presented token stands for, compared in constant time per stored hash.
  std::optional<Principal> check(const std::string& token) const;
  // Every token, or those of one user, by id.
  std::vector<TokenInfo> list(const std::string& user = "") const;
  // Revokes a token: its line leaves the file (rewritten aside, then renamed). Errors: no such token.
  Result<TokenInfo> revoke(const std::string& id);

 private:
  std::string path_;
  std::shared_ptr<store::TokenTable> table_;  // or the shared table
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
  std::map<std::string, Principal> by_hash_;
};

std::string sha256_hex(const std::string& data);
std::string random_token();  // 32 random bytes, hex

}  // namespace gwang::controller
