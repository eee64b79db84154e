// Bearer tokens: random, shown once, stored only as SHA-256 hashes with the account they stand for.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/result.h"

namespace gwang::controller {

struct Principal {
  std::string user;
  bool is_operator = false;
};

class TokenStore {
 public:
  // Loads `path` ("<sha256-hex> <user> <operator|user>" per line); a missing file is empty.
  static Result<TokenStore> load(const std::string& path);
  // Creates a token for `user`, stores its hash in the file, and returns the token itself.
  Result<std::string> issue(const std::string& user, bool is_operator);
  // The principal a presented token stands for, compared in constant time per stored hash.
  std::optional<Principal> check(const std::string& token) const;

 private:
  std::string path_;
  std::map<std::string, Principal> by_hash_;
};

std::string sha256_hex(const std::string& data);
std::string random_token();  // 32 random bytes, hex

}  // namespace gwang::controller
