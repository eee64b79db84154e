// Who goes next, and what may pass the queue's head: the scheduler's two queue policies, apart from
// placement (placement.h). A queue order gives each waiting job its key behind one interface; a
// backfill mode is a preset of rules the passes follow. One contract suite
// (tests/core/queue_contract_test.cpp) runs every order with every backfill mode.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/job.h"
#include "core/result.h"

namespace gwang::core {

// Who goes next. Multifactor: the priority of fairshare.h (age, fair share, size, programme),
// computed at submission and again for every waiting job every `reprioritize_every` seconds.
// Under every order, preemptible jobs come after all the others (in that order among themselves).
enum class QueueOrder { Fcfs, Sjf, Priority, Multifactor };

// What may pass the job at the head of the queue.
enum class Backfill {
  None,      // nothing: the head waits until it fits, and everyone waits behind it
  Easy,      // EASY: the head gets a reservation; later jobs start if they do not delay it
  EasySjbf,  // EASY, trying backfill candidates shortest estimate first
  // Conservative: every waiting job (up to backfill_depth) gets a reservation, the earliest time its
  // whole planned run fits beside the running jobs and the reservations of the jobs before it; a
  // job starts when its reservation is now. No job delays an earlier one's reservation, so with
  // exact runtime estimates every reservation is met or beaten. A reservation keeps its time and
  // place from pass to pass, moving only earlier, beside all the others; when what happened differs
  // from the plan (a job ended off its estimate, a cancel, a hold, a node change) the next pass
  // plans afresh in queue order. Each pass walks the queue over the planned steps: its cost grows
  // with the queue, the distinct end times and the nodes, for the simulator and small clusters
  // rather than 6,250 nodes. Jobs start only where the plan places them, and nothing is preempted
  // for a reservation.
  Conservative,
};

// Errors name the valid ones: "unknown queue order 'x' (valid: fcfs, sjf, priority, multifactor)".
Result<QueueOrder> parse_queue_order(std::string_view name);  // "fcfs", "sjf", "priority", "multifactor"
Result<Backfill> parse_backfill(std::string_view name);       // "none", "easy", "easy-sjbf", "conservative"
std::string_view to_string(QueueOrder order);
std::string_view to_string(Backfill backfill);
std::vector<QueueOrder> all_queue_orders();
std::vector<Backfill> all_backfills();

// A queue order: the key a waiting job is kept by, smaller first. The queue puts preemptible jobs
// after the others and breaks what the key leaves equal by the job's slot.
class QueueOrderPolicy {
 public:
  virtual ~QueueOrderPolicy() = default;
  virtual QueueOrder kind() const = 0;
  // The key of a job; `rank` is its multifactor priority as last ranked (Job::rank).
  virtual std::array<std::int64_t, 4> key(const JobSpec& spec, std::int64_t rank) const = 0;
  // Whether the keys depend on ranks that change as time passes, so that the scheduler ranks the
  // waiting jobs again (every reprioritize_every) and keeps the accounts their usage is charged to.
  virtual bool ranked() const { return false; }
};

std::unique_ptr<QueueOrderPolicy> make_queue_order(QueueOrder order);

// A backfill mode, expanded into the rules the passes follow.
struct BackfillRules {
  // Which waiting jobs keep a reservation: none (the head waits, and so does everyone behind it),
  // the head alone (EASY: later jobs start if they do not delay it), or every one (conservative:
  // jobs start where and when their reservation says).
  enum class Reservations { None, Head, All };
  Reservations reservations = Reservations::Head;
  // Whether the candidates behind the head are tried shortest planned runtime first (SJBF) rather
  // than in queue order.
  bool shortest_first = false;
};

BackfillRules rules_of(Backfill backfill);

}  // namespace gwang::core
