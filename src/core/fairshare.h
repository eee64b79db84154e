// Fair share over a tree of accounts (the centre -> institutions -> projects -> users), with usage
// that decays with a configurable half-life, and the multifactor priority that ranks waiting jobs
// by it. Pure and deterministic, as the rest of the core: time comes with each call.
//
// The fair-share factor of an account is 2^(-UE/S), as in Slurm's classic multifactor plugin:
//   S  (normalised shares)   the account's share of its siblings' shares, times its parent's S;
//   U  (normalised usage)    the account's decayed usage over the whole centre's;
//   UE (effective usage)     U + (UE_parent - U) * s, where s is the account's share among its
//                            siblings: an account inherits part of how much its parent has used
//                            (an institution's heavy use weighs on all its projects), the more the
//                            larger its share among its siblings. For institutions, UE = U.
// 1.0: nothing used; 0.5: used exactly its entitlement; toward 0: far over it (down to 0 itself,
// where the exponent underflows: an account far over a tiny share).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace gwang::core {

using AccountId = TypedId<struct AccountIdTag, std::uint32_t>;

// How accounts' factors come from their shares and usage.
enum class FairShareAlgorithm {
  // 2^(-UE/S) per account (below). Cheap, but an institution with several projects gets less than
  // its share against one with a single project: its projects' S multiply, their UE does not.
  Classic,
  // Fair Tree, as Slurm has it: siblings are ranked by their level fair share, (share among
  // siblings) / (usage among siblings), from the root down, depth first; every user (leaf) of a
  // better-placed account ranks above every user of a worse-placed one, and the factor is the
  // user's rank, from 1 (first) down to 1/N. An institution under its entitlement goes first, all
  // of it, whatever its projects and users: its share converges to its entitlement.
  FairTree,
};

struct FairShareOptions {
  Time half_life = 7 * 86400;  // seconds after which past usage counts half (> 0)
  FairShareAlgorithm algorithm = FairShareAlgorithm::Classic;
};

// How an account's factor comes about: what `gwang show` explains.
struct FairShareTerms {
  double usage = 0;             // decayed, in the unit charged (normalised accelerator-seconds)
  double normalized_usage = 0;  // U
  double effective_usage = 0;   // UE
  double normalized_shares = 0; // S
  double factor = 1;            // 2^(-UE/S)
};

class FairShare {
 public:
  explicit FairShare(FairShareOptions options = {});

  // The centre itself: the parent of institutions.
  static constexpr AccountId root() { return AccountId{0}; }

  // Adds an account under `parent` with `shares` (finite, > 0). Names are unique among siblings.
  Result<AccountId> add(AccountId parent, std::string name, double shares);
  Result<void> set_shares(AccountId account, double shares);
  std::optional<AccountId> find(AccountId parent, std::string_view name) const;
  // The account at a path of names from the root ({"kaist", "llm-lab", "kim"}).
  std::optional<AccountId> find_path(const std::vector<std::string>& path) const;
  AccountId parent(AccountId account) const;
  const std::string& name(AccountId account) const;
  std::size_t size() const { return nodes_.size(); }  // accounts, the root included

  // Adds `amount` (>= 0) of usage at `now` to the account and every account above it. Charges may
  // come out of time order (a job's end after a later one's): each is decayed from its own time.
  void charge(AccountId account, double amount, Time now);

  // Decayed usage at `now`, which is meant to be no earlier than the charges made so far (before
  // the latest charge, usage reads as if decayed backwards from it).
  double usage(AccountId account, Time now) const;
  FairShareTerms terms(AccountId account, Time now) const;
  // The factor of `account` under the configured algorithm. Fair Tree ranks the whole tree at
  // once: this answers from the last ranking (factors()), ranking anew only for an account made
  // since, as Slurm recomputes fair share once per period rather than per job.
  double factor(AccountId account, Time now) const;
  // Every account's factor at `now`, by account id (Fair Tree: leaves ranked; inner accounts get
  // the factor of their best-ranked leaf); under Fair Tree, also the ranking factor() answers from.
  std::vector<double> factors(Time now) const;
  const FairShareOptions& options() const { return options_; }

 private:
  struct Node {
    std::string name;
    AccountId parent;
    double shares = 1;
    double children_shares = 0;  // the sum of its children's shares
    double usage = 0;            // as of `as_of`
    Time as_of = 0;
  };
  double decayed(const Node& n, Time now) const;
  std::vector<double> fair_tree(Time now) const;
  const Node& node(AccountId id) const;

  FairShareOptions options_;
  std::vector<Node> nodes_;
  std::vector<std::vector<std::uint32_t>> kids_;  // children by parent, in the order made
  std::map<std::pair<std::uint32_t, std::string>, AccountId> children_;  // by (parent, name)
  mutable std::vector<double> ranked_;  // Fair Tree's last ranking, by account id
};

// The multifactor priority of a waiting job: each factor in [0, 1], times its weight, summed.
struct PriorityWeights {
  double age = 1000;         // grows with the time waited, up to max_age
  double fairshare = 10000;  // the owner's fair-share factor
  double size = 1000;        // smaller jobs first (1 - the job's share of the cluster)
  double programme = 1000;   // the programme's own priority (0 lowest, 1 highest)
  Time max_age = 7 * 86400;  // the wait at which the age factor reaches 1
};

struct PriorityTerms {
  double age = 0, fairshare = 0, size = 0, programme = 0;  // each weight times its factor
  std::int64_t total = 0;                                   // their sum, rounded
};

// `size_fraction`: the job's share of the cluster's capacity (what it asks of the kind it wants,
// over what the cluster has of it), clamped to [0, 1], as are the other factors.
PriorityTerms multifactor(const PriorityWeights& weights, Time submit, Time now, double fairshare_factor,
                          double size_fraction, double programme_factor);

}  // namespace gwang::core
