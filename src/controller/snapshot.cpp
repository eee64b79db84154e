// Snapshots: the whole state in the binary format of api/codec.h (each format of it, and the first
// one, JSON, still read back), and when one is taken.

#include <nlohmann/json.hpp>

#include "controller/controller.h"
#include "controller/record_codec.h"

namespace gwang::controller {

using nlohmann::json;

namespace {

// Snapshots are binary (see api/codec.h): the first version, JSON, is still read.
// The binary snapshot's formats: "gwang snapshot N\n", then its fields. Each format adds fields at
// the end of a job's record, and every earlier one is still read: 3 each job's project and
// preemptibility, and the books (accounting.h); 4 begin time, dependency and array; 5 the batch
// script and output files; 6 input file, open mode and comment; 7 partition and holds; 8 steps;
// 9 the programme (QOS); 10 the books before the jobs (all but the jobs is encoded under the lock,
// the jobs after it, from a view); 11 the remote nodes after the jobs (encoded off the lock too);
// 12 each job's mail types and address; 13 the CPUs of its tasks and its steps' tasks; 14 the
// nodes it names (--nodelist, --exclude); 15 what its steps hold on each node; 16 their devices;
// 17 whether they keep the job's task counts (srun -E); 18 signals; 19 --kill-on-invalid-dep; 20
// steps' time limits; 21 node features, temporary disk and CPU shape asked, nice, priority, whole
// nodes, deadline, GPU binding and batch node's features, and its steps' reserved ports; 22 the
// group it runs as (sbatch --gid); 23 whether its nodes are adjacent (--contiguous); 24 its least
// cores per node (--ntasks-per-core) and threads per core of its CPUs (--hint, --threads-per-core);
// 25 its licenses (-L), --no-kill and the ranks it lost with their nodes, and its steps' -k.
constexpr int kSnapshotFormat = 25;
std::string snapshot_magic(int format) { return "gwang snapshot " + std::to_string(format) + "\n"; }

}  // namespace

Controller::SnapshotDraft Controller::draft_snapshot() const {
  SnapshotDraft draft;
  Encoder& e = draft.e;
  e.u(static_cast<std::uint64_t>(next_id_));
  std::set<std::string> drained = drained_names_;  // also of nodes not registered (yet)
  for (const Node* n : by_id_) {
    if (n->drained) drained.insert(n->name);
  }
  e.u(drained.size());
  for (const std::string& name : drained) e.s(name);
  if (!node_images_) {
    auto images = std::make_shared<std::vector<NodeImage>>();
    for (const Node* n : by_id_) {
      // The local node is this process's, found again at start.
      if (!n->local) images->push_back({n->name, n->instance, n->address, n->host});
    }
    node_images_ = std::move(images);
  }
  draft.nodes = node_images_;
  books_.encode(e);  // before the jobs since format 10
  draft.jobs = jobs_.share();
  draft.failures = failures_;
  return draft;
}

std::string Controller::finish_snapshot(SnapshotDraft& draft) {
  Encoder& e = draft.e;
  e.u(draft.jobs.size());
  draft.jobs.scan(false, [&](std::int64_t id, const JobRecord& j) {
    const auto f = draft.failures.find(id);
    encode_job(e, j, f == draft.failures.end() ? nullptr : &f->second);
    return true;
  });
  e.u(draft.nodes->size());
  for (const NodeImage& n : *draft.nodes) {
    e.s(n.name);
    e.s(n.instance);
    e.s(n.address);
    e.i(n.host.cpus);
    e.i(n.host.memory_bytes);
    encode_devices(e, n.host.devices);
    encode_strings(e, n.host.features);  // format 21 on
    e.i(n.host.tmp_bytes);
  }
  return e.finish(snapshot_magic(kSnapshotFormat));
}

Result<void> Controller::restore(const std::string& state) {
  if (state.starts_with("{")) return restore_json(state);
  int format = kSnapshotFormat;
  for (int f = 2; f < kSnapshotFormat; ++f) {
    if (state.starts_with(snapshot_magic(f))) format = f;
  }
  Decoder d(state, snapshot_magic(format));
  next_id_ = static_cast<std::int64_t>(d.u());
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) {
    const std::string name(d.s());
    drained_names_.insert(name);
    if (Node* node = find_node(name)) node->drained = true;  // the local node exists already
  }
  auto read_nodes = [&] {
    for (std::size_t n = d.count(); d.ok() && n > 0; --n) {
      const std::string name(d.s());
      const std::string instance(d.s());
      const std::string address(d.s());
      agent::HostResources host;
      host.cpus = static_cast<int>(d.i());
      host.memory_bytes = d.i();
      host.devices = decode_devices(d);
      if (format >= 21) {
        host.features = decode_strings(d);
        host.tmp_bytes = d.i();
      }
      if (!d.ok()) break;
      registered(name, host, instance, address).heard = false;
    }
  };
  if (format < 11) read_nodes();
  if (format >= 10 && d.ok()) {
    if (auto r = books_.decode(d); !r) return r;
  }
  for (std::size_t n = d.count(); d.ok() && n > 0; --n) {
    std::optional<Failure> failure;
    auto j = decode_job(d, format, failure);
    if (!j) return tl::unexpected(j.error());
    if (!d.ok()) break;
    if (failure) rank_ends_[j->id][-1] = std::move(*failure);
    const std::int64_t id = j->id;
    if (id < 1 || id > kMaxJobId)
      return fail("a job with id " + std::to_string(id) + " (byte " + std::to_string(d.offset()) + ")");
    jobs_.put(id, std::move(*j));
  }
  if (format >= 3 && format < 10 && d.ok()) {
    if (auto r = books_.decode(d); !r) return r;
  }
  if (format >= 11) read_nodes();
  if (d.ok() && !d.at_end()) return fail("byte " + std::to_string(d.offset()) + ": data after the last job");
  if (!d.ok()) return fail(d.error());
  return {};
}

Result<void> Controller::restore_json(const std::string& state) {
  try {
    const json s = json::parse(state);
    if (s.at("version").get<int>() != 1) return fail("unknown snapshot version " + s.at("version").dump());
    next_id_ = s.at("next_id").get<std::int64_t>();
    for (const json& entry : s.at("drained")) {
      const std::string name = entry.get<std::string>();
      drained_names_.insert(name);
      if (Node* node = find_node(name)) node->drained = true;  // the local node exists already
    }
    for (const json& n : s.at("nodes")) {
      agent::HostResources host;
      host.cpus = n.at("cpus").get<int>();
      host.memory_bytes = n.at("memory").get<std::int64_t>();
      host.devices = events::devices_from(n.at("devices"));
      registered(n.at("node").get<std::string>(), host, n.at("instance").get<std::string>(),
                 n.at("address").get<std::string>())
          .heard = false;
    }
    for (const json& o : s.at("jobs")) {
      JobRecord j;
      j.id = o.at("id").get<std::int64_t>();
      auto request = api::parse_submit(o.at("request"));
      if (!request) return fail("job " + std::to_string(j.id) + ": " + request.error().message);
      j.request = *request;
      j.user = o.at("user").get<std::string>();
      const auto state = parse_job_state(o.at("state").get<std::string>());
      if (!state) return fail("job " + std::to_string(j.id) + ": unknown state " + o.at("state").dump());
      j.state = *state;
      j.reason = o.at("reason").get<std::string>();
      j.submit = o.at("submit").get<std::int64_t>();
      j.start = o.at("start").get<std::int64_t>();
      j.end = o.at("end").get<std::int64_t>();
      j.exit_code = o.at("exit_code").get<int>();
      j.attempt = o.at("attempt").get<int>();
      for (const json& t : o.at("tasks")) {
        TaskRecord task;
        task.node = t.at("node").get<std::string>();
        task.devices = t.at("devices").get<std::vector<std::string>>();
        for (const json& d : t.at("shares"))
          task.shares.push_back({d.at(0).get<std::uint16_t>(), d.at(1).get<core::Milli>()});
        task.done = t.at("done").get<bool>();
        j.tasks.push_back(std::move(task));
      }
      if (o.contains("failure")) {
        const json& f = o["failure"];
        const auto failed = parse_job_state(f.at("state").get<std::string>());
        if (!failed) return fail("job " + std::to_string(j.id) + ": unknown state " + f.at("state").dump());
        rank_ends_[j.id][-1] = {*failed, f.at("exit_code").get<int>(), f.at("reason").get<std::string>()};
      }
      if (j.id < 1 || j.id > kMaxJobId) return fail("a job with id " + std::to_string(j.id));
      jobs_.put(j.id, std::move(j));
    }
  } catch (const json::exception& e) {
    return fail(e.what());
  }
  return {};
}

std::optional<Controller::SnapshotDraft> Controller::snapshot_due(bool forced, Result<void>& failed) {
  // Under the lock with no submission half-way and no snapshot being written, every journalled
  // record is applied in memory, and no other thread uses the journal until the lock is let go.
  if (inflight_ > 0 || awaiting_ || snapshotting_) return std::nullopt;
  if (!forced && !unflushed_.empty()) return std::nullopt;
  if (auto r = flush(); !r) {
    failed = r;
    return std::nullopt;
  }
  const std::int64_t seq = journal_->last_seq();
  if (seq <= snapshot_seq_ || (!forced && seq - snapshot_seq_ < options_.snapshot_every)) return std::nullopt;
  SnapshotDraft draft = draft_snapshot();
  draft.seq = seq;
  snapshotting_ = true;
  return draft;
}

Result<void> Controller::write_snapshot(SnapshotDraft draft) {
  const std::int64_t seq = draft.seq;
  std::string state = finish_snapshot(draft);
  return committer_->snapshot({seq, std::move(state)}).get();
}

void Controller::snapshot_written(std::int64_t seq, const Result<void>& written) {
  snapshotting_ = false;
  if (written) snapshot_seq_ = std::max(snapshot_seq_, seq);
}

void Controller::snapshot_in_background() {
  if (snapshot_job_.valid() && snapshot_job_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
    snapshot_written(snapshot_job_seq_, snapshot_job_.get());
  }
  Result<void> failed;
  std::optional<SnapshotDraft> draft = snapshot_due(false, failed);
  if (!draft) return;
  snapshot_job_seq_ = draft->seq;
  snapshot_job_ =
      std::async(std::launch::async, [this, d = std::move(*draft)]() mutable { return write_snapshot(std::move(d)); });
}

Result<void> Controller::checkpoint(std::int64_t) {
  std::future<Result<void>> under_way;
  {
    std::lock_guard lock(mu_);
    under_way = std::move(snapshot_job_);
  }
  if (under_way.valid()) {
    const Result<void> r = under_way.get();
    std::lock_guard lock(mu_);
    snapshot_written(snapshot_job_seq_, r);
  }
  Result<void> failed;
  std::optional<SnapshotDraft> draft;
  {
    std::lock_guard lock(mu_);
    draft = snapshot_due(true, failed);
  }
  if (!draft) return failed;
  const std::int64_t seq = draft->seq;
  Result<void> written = write_snapshot(std::move(*draft));
  std::lock_guard lock(mu_);
  snapshot_written(seq, written);
  return written;
}

}  // namespace gwang::controller
