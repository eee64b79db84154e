// The queue orders behind their interface, the backfill modes as rules, and their names.

#include "core/queue_policy.h"

#include <string>

#include "core/names.h"

namespace gwang::core {

namespace {

constexpr std::pair<QueueOrder, std::string_view> kOrders[] = {{QueueOrder::Fcfs, "fcfs"},
                                                               {QueueOrder::Sjf, "sjf"},
                                                               {QueueOrder::Priority, "priority"},
                                                               {QueueOrder::Multifactor, "multifactor"}};
constexpr std::pair<Backfill, std::string_view> kBackfills[] = {{Backfill::None, "none"},
                                                                {Backfill::Easy, "easy"},
                                                                {Backfill::EasySjbf, "easy-sjbf"},
                                                                {Backfill::Conservative, "conservative"}};

template <class E, class Table>
Result<E> parse_named(std::string_view what, std::string_view name, const Table& table) {
  if (auto v = names::value_of<E>(name, table)) return *v;
  return fail("unknown " + std::string(what) + " '" + std::string(name) +
              "' (valid: " + names::list(table, ", ", ", ") + ")");
}

// First come, first served: by submission time, then id (after the nice, JobSpec::nice_rank).
class Fcfs final : public QueueOrderPolicy {
 public:
  QueueOrder kind() const override { return QueueOrder::Fcfs; }
  std::array<std::int64_t, 4> key(const JobSpec& s, std::int64_t) const override {
    return {s.nice_rank(), s.submit, s.id.value, 0};
  }
};

// Shortest job first: by planned runtime (the estimate, else the time limit), then as FCFS
// (after the nice, JobSpec::nice_rank).
class Sjf final : public QueueOrderPolicy {
 public:
  QueueOrder kind() const override { return QueueOrder::Sjf; }
  std::array<std::int64_t, 4> key(const JobSpec& s, std::int64_t) const override {
    return {s.nice_rank(), s.planned_runtime(), s.submit, s.id.value};
  }
};

// By the priority the job was submitted with less its nice (or its fixed priority), highest
// first, then as FCFS.
class Priority final : public QueueOrderPolicy {
 public:
  QueueOrder kind() const override { return QueueOrder::Priority; }
  std::array<std::int64_t, 4> key(const JobSpec& s, std::int64_t) const override {
    const std::int64_t p = s.fixed_priority >= 0 ? s.fixed_priority : s.priority - s.nice;
    return {~p, s.submit, s.id.value, 0};  // ~p: -p - 1, no overflow
  }
};

// By the multifactor priority as last ranked, highest first, then as FCFS.
class Multifactor final : public QueueOrderPolicy {
 public:
  QueueOrder kind() const override { return QueueOrder::Multifactor; }
  std::array<std::int64_t, 4> key(const JobSpec& s, std::int64_t rank) const override {
    return {~rank, s.submit, s.id.value, 0};
  }
  bool ranked() const override { return true; }
};

}  // namespace

Result<QueueOrder> parse_queue_order(std::string_view name) {
  return parse_named<QueueOrder>("queue order", name, kOrders);
}
Result<Backfill> parse_backfill(std::string_view name) { return parse_named<Backfill>("backfill", name, kBackfills); }
std::string_view to_string(QueueOrder order) { return names::name_of(order, kOrders); }
std::string_view to_string(Backfill backfill) { return names::name_of(backfill, kBackfills); }

std::vector<QueueOrder> all_queue_orders() {
  std::vector<QueueOrder> out;
  for (const auto& [order, name] : kOrders) out.push_back(order);
  return out;
}

std::vector<Backfill> all_backfills() {
  std::vector<Backfill> out;
  for (const auto& [backfill, name] : kBackfills) out.push_back(backfill);
  return out;
}

std::unique_ptr<QueueOrderPolicy> make_queue_order(QueueOrder order) {
  switch (order) {
    case QueueOrder::Fcfs:
      return std::make_unique<Fcfs>();
    case QueueOrder::Sjf:
      return std::make_unique<Sjf>();
    case QueueOrder::Priority:
      return std::make_unique<Priority>();
    case QueueOrder::Multifactor:
      return std::make_unique<Multifactor>();
  }
  return std::make_unique<Fcfs>();
}

BackfillRules rules_of(Backfill backfill) {
  using R = BackfillRules::Reservations;
  switch (backfill) {
    case Backfill::None:
      return {R::None, false};
    case Backfill::Easy:
      return {R::Head, false};
    case Backfill::EasySjbf:
      return {R::Head, true};
    case Backfill::Conservative:
      return {R::All, false};
  }
  return {};
}

}  // namespace gwang::core
