#include "core/fairshare.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <optional>

namespace gwang::core {

namespace {

Result<void> check_shares(double shares) {
  if (!std::isfinite(shares) || shares <= 0) return fail("shares must be a finite number above 0");
  return {};
}

}  // namespace

FairShare::FairShare(FairShareOptions options) : options_(options) {
  assert(options_.half_life > 0);
  nodes_.push_back(Node{"", root(), 1, 0, 0, 0});
  kids_.emplace_back();
}

const FairShare::Node& FairShare::node(AccountId id) const {
  assert(id.value < nodes_.size());
  return nodes_[id.value];
}

Result<AccountId> FairShare::add(AccountId parent, std::string name, double shares) {
  if (parent.value >= nodes_.size()) return fail("no account " + std::to_string(parent.value) + " to add under");
  if (name.empty()) return fail("an account needs a name");
  if (auto ok = check_shares(shares); !ok) return fail("account '" + name + "': " + ok.error().message);
  if (find(parent, name)) return fail("account '" + name + "' exists already there");
  const AccountId id{static_cast<std::uint32_t>(nodes_.size())};
  children_.emplace(std::make_pair(parent.value, name), id);
  nodes_.push_back(Node{std::move(name), parent, shares, 0, 0, 0});
  kids_.emplace_back();
  kids_[parent.value].push_back(id.value);
  nodes_[parent.value].children_shares += shares;
  return id;
}

Result<void> FairShare::set_shares(AccountId account, double shares) {
  if (account.value == 0 || account.value >= nodes_.size()) return fail("no such account");
  if (auto ok = check_shares(shares); !ok) return ok;
  Node& n = nodes_[account.value];
  nodes_[n.parent.value].children_shares += shares - n.shares;
  n.shares = shares;
  return {};
}

std::optional<AccountId> FairShare::find(AccountId parent, std::string_view name) const {
  auto it = children_.find(std::make_pair(parent.value, std::string(name)));
  if (it == children_.end()) return std::nullopt;
  return it->second;
}

std::optional<AccountId> FairShare::find_path(const std::vector<std::string>& path) const {
  AccountId at = root();
  for (const std::string& name : path) {
    auto next = find(at, name);
    if (!next) return std::nullopt;
    at = *next;
  }
  return at;
}

AccountId FairShare::parent(AccountId account) const { return node(account).parent; }
const std::string& FairShare::name(AccountId account) const { return node(account).name; }

double FairShare::decayed(const Node& n, Time now) const {
  if (n.usage == 0) return 0;
  return n.usage * std::exp2(-static_cast<double>(now - n.as_of) / static_cast<double>(options_.half_life));
}

void FairShare::charge(AccountId account, double amount, Time now) {
  assert(account.value < nodes_.size());
  assert(std::isfinite(amount) && amount >= 0);
  if (amount == 0) return;
  for (AccountId at = account;; at = nodes_[at.value].parent) {
    Node& n = nodes_[at.value];
    if (n.usage == 0 || now >= n.as_of) {
      n.usage = decayed(n, now) + amount;
      n.as_of = now;
    } else {  // a charge from before the last one: decayed to the account's time
      n.usage += amount * std::exp2(-static_cast<double>(n.as_of - now) / static_cast<double>(options_.half_life));
    }
    if (at == root()) break;
  }
}

double FairShare::usage(AccountId account, Time now) const { return decayed(node(account), now); }

FairShareTerms FairShare::terms(AccountId account, Time now) const {
  FairShareTerms t;
  const double total = decayed(nodes_[0], now);
  t.usage = decayed(node(account), now);
  if (account == root()) {
    t.normalized_usage = t.effective_usage = total > 0 ? 1 : 0;
    t.normalized_shares = 1;
    t.factor = std::exp2(-t.effective_usage);
    return t;
  }
  // From the top down: S and UE of each account on the path.
  std::vector<AccountId> path;
  for (AccountId at = account; at != root(); at = node(at).parent) path.push_back(at);
  double shares = 1, effective = 0;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    const Node& n = node(*it);
    const Node& up = node(n.parent);
    const double among_siblings = n.shares / up.children_shares;
    const double used = total > 0 ? decayed(n, now) / total : 0;
    shares *= among_siblings;
    effective = n.parent == root() ? used : used + (effective - used) * among_siblings;
    if (*it == account) t.normalized_usage = used;
  }
  t.normalized_shares = shares;
  t.effective_usage = std::max(0.0, effective);
  t.factor = std::exp2(-t.effective_usage / t.normalized_shares);
  return t;
}

double FairShare::factor(AccountId account, Time now) const {
  if (options_.algorithm == FairShareAlgorithm::Classic) return terms(account, now).factor;
  // The last ranking, as the queue was ordered by it; ranked anew only for an account it lacks.
  if (account.value >= ranked_.size()) ranked_ = fair_tree(now);
  return ranked_[account.value];
}

std::vector<double> FairShare::factors(Time now) const {
  if (options_.algorithm == FairShareAlgorithm::FairTree) {
    ranked_ = fair_tree(now);
    return ranked_;
  }
  std::vector<double> out(nodes_.size());
  for (std::uint32_t i = 0; i < nodes_.size(); ++i) out[i] = terms(AccountId{i}, now).factor;
  return out;
}

std::vector<double> FairShare::fair_tree(Time now) const {
  const std::size_t n = nodes_.size();
  std::vector<double> used(n), level(n, 0);
  for (std::size_t i = 0; i < n; ++i) used[i] = decayed(nodes_[i], now);
  // Depth first from the root, siblings by level fair share (best first; on a tie, the account made
  // first). The children of the accounts on the path are kept sorted in one buffer, a segment per
  // account, dropped when the account is done. Leaves are numbered in visit order; a leaf that ties
  // with the one before it under the same parent shares its rank.
  std::vector<std::uint32_t> buffer;
  buffer.reserve(n);
  struct Frame {
    std::uint32_t begin, end, next;
  };
  std::vector<Frame> stack;
  auto descend = [&](std::uint32_t parent) {
    const auto begin = static_cast<std::uint32_t>(buffer.size());
    double siblings_usage = 0;
    for (std::uint32_t c : kids_[parent]) siblings_usage += used[c];
    for (std::uint32_t c : kids_[parent]) {
      const double s = nodes_[c].shares / nodes_[parent].children_shares;
      const double u = siblings_usage > 0 ? used[c] / siblings_usage : 0;
      level[c] = u > 0 ? s / u : std::numeric_limits<double>::infinity();
      buffer.push_back(c);
    }
    std::sort(buffer.begin() + begin, buffer.end(), [&](std::uint32_t a, std::uint32_t b) {
      return level[a] != level[b] ? level[a] > level[b] : a < b;
    });
    stack.push_back({begin, static_cast<std::uint32_t>(buffer.size()), begin});
  };
  std::vector<std::uint32_t> rank(n, 0);
  std::uint32_t leaves = 0;
  std::optional<std::uint32_t> previous;
  descend(0);
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.next == f.end) {
      buffer.resize(f.begin);
      stack.pop_back();
      continue;
    }
    const std::uint32_t c = buffer[f.next++];
    if (!kids_[c].empty()) {
      descend(c);  // invalidates `f`
      continue;
    }
    const bool tie = previous && nodes_[*previous].parent == nodes_[c].parent && level[*previous] == level[c];
    rank[c] = tie ? rank[*previous] : leaves;
    ++leaves;
    previous = c;
  }
  std::vector<double> out(n, 0);
  for (std::size_t i = 1; i < n; ++i) {
    if (kids_[i].empty()) out[i] = static_cast<double>(leaves - rank[i]) / static_cast<double>(leaves);
  }
  // Inner accounts: their best leaf's factor (what a job charged to the account itself would get).
  // Children are made after their parents, so going down the ids sees children first.
  for (std::size_t i = n; i-- > 1;) {
    for (std::uint32_t c : kids_[i]) out[i] = std::max(out[i], out[c]);
  }
  out[0] = 1;
  return out;
}

PriorityTerms multifactor(const PriorityWeights& w, Time submit, Time now, double fairshare_factor,
                          double size_fraction, double programme_factor) {
  auto unit = [](double x) { return std::isfinite(x) ? std::clamp(x, 0.0, 1.0) : 0.0; };
  PriorityTerms t;
  const double waited = static_cast<double>(std::max<Time>(0, now - submit));
  t.age = w.age * (w.max_age > 0 ? std::min(1.0, waited / static_cast<double>(w.max_age)) : 1.0);
  t.fairshare = w.fairshare * unit(fairshare_factor);
  t.size = w.size * (1 - unit(size_fraction));
  t.programme = w.programme * unit(programme_factor);
  t.total = std::llround(t.age + t.fairshare + t.size + t.programme);
  return t;
}

}  // namespace gwang::core
