// Slurm's license lists: what a job asks for (sbatch, srun and salloc -L, --licenses) and what the
// cluster has (slurm.conf's Licenses=, gwang up --licenses): NAME[:COUNT], separated by ',' or ';',
// a count of 1 where none is given (0 after a bare ':'), a name named twice counted once with both
// counts, empty items skipped (Slurm 22.05 takes ",matlab" and "matlab:1,matlab:1", and keeps a
// job's text as given).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::slurm {

struct LicenseCount {
  std::string name;
  std::int64_t count = 1;
  bool operator==(const LicenseCount&) const = default;
};

// The list in the order of first mention. An empty name, a blank, or a count that is not a whole
// number from 0 is an error that says which item.
Result<std::vector<LicenseCount>> parse_licenses(std::string_view text);
// Whether a cluster's license may be called `name`: 1 to 64 letters, digits, '.', '_' or '-'.
bool license_name_ok(std::string_view name);
// "matlab:2,fluent:1": as Slurm shows a job's request and a cluster's licenses.
std::string format_licenses(const std::vector<LicenseCount>& licenses);

}  // namespace gwang::slurm
