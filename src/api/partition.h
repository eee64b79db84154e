// Partitions: named pools of nodes (Slurm's), as the controller's configuration declares them; and
// the name of the cluster they make up.
#pragma once

#include <cstdint>
#include <string>

namespace gwang::api {

struct Partition {
  std::string name;             // letters, digits, '.', '_', '-' (1 to 64)
  std::string nodes = "ALL";    // a host list in Slurm's syntax (gpu[01-16],cpu1), or ALL
  bool is_default = false;      // where jobs that name none go
  std::int64_t max_time_s = 0;  // the longest time limit a job of it may ask for; 0: none
};

// The partition a cluster has when its configuration declares none: every node, the default.
inline Partition implicit_partition() { return {"main", "ALL", true, 0}; }

// Whether text is a partition's name.
inline bool partition_name_ok(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
             std::string::npos;
}

// Whether text is a cluster's name (Slurm's ClusterName): 1 to 40 lowercase letters, digits, '_'
// or '-', starting with a letter.
inline bool cluster_name_ok(const std::string& name) {
  return !name.empty() && name.size() <= 40 && name[0] >= 'a' && name[0] <= 'z' &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
}
inline constexpr const char* kClusterNameRule = "expected 1 to 40 lowercase letters, digits, '_' or '-', from a letter";

}  // namespace gwang::api
