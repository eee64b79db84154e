// Slurm's compressed host lists: "node[01-04,07],gpu3". Parsed and printed as Slurm 22.05 does
// (scontrol show hostnames / hostlist): a name's trailing digits are its number and their count
// its width ("node007"); adjacent numbers of one prefix join into ranges; ranges of one prefix
// share brackets; nothing is sorted or made unique unless asked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gwang::slurm {

class HostList {
 public:
  // Parses a list: names and bracketed ranges, separated by commas or white space; a name may hold
  // two brackets ("rack[1-2]-n[01-04]": every name of the first with every one of the second, as
  // Slurm expands them). Refused, with what and where: an unclosed or stray bracket, text after
  // the last ']', a third bracket, an empty or backward range, a range of more than 65,536 names
  // (Slurm's limit), more than `max_hosts` names in all.
  static Result<HostList> parse(std::string_view text, std::size_t max_hosts = 1 << 20);

  // Appends one name, joining it to the last range where Slurm would.
  void push(std::string_view host);
  // Sorts by prefix, then number (as Slurm's hostlistsorted; duplicates are kept).
  void sort();

  std::size_t size() const;
  bool empty() const { return ranges_.empty(); }
  std::vector<std::string> expand() const;
  std::string str() const;  // the compressed form

 private:
  struct Range {
    std::string prefix;
    std::uint64_t lo = 0, hi = 0;
    int width = 0;
    bool single = false;  // a name without a number: just the prefix
  };
  void push(Range r);
  std::vector<Range> ranges_;
};

// The compressed form of these names, in this order: "a[1-3],b".
std::string compress_hosts(const std::vector<std::string>& hosts);

}  // namespace gwang::slurm
