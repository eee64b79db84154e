// Snapshots: the whole state in the binary format of api/codec.h (each format of it, and the first
// one, JSON, still read back), and when one is taken.

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

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
// 25 its licenses (-L), --no-kill and the ranks it lost with their nodes, and its steps' -k; 26
// the jobs in blocks (each its count of jobs, then its bytes), read on every core at once; 27 its
// steps' terminals (srun --pty); 28 whether it is an allocation (salloc's, srun's).
constexpr int kSnapshotFormat = kJobFormat;
constexpr std::size_t kJobsPerBlock = 2048;
std::string snapshot_magic(int format) { return "gwang snapshot " + std::to_string(format) + "\n"; }

// A job read from a snapshot, made on the thread that read it, with where it ended (for errors).
struct DecodedJob {
  std::shared_ptr<JobRecord> record;
  std::optional<Failure> failure;
  std::size_t end = 0;
};

// The jobs of one block, or the first error in it.
struct DecodedBlock {
  std::vector<DecodedJob> jobs;
  std::string error;
};

DecodedBlock decode_block(const Decoder& whole, std::string_view bytes, std::size_t count, int format) {
  DecodedBlock out;
  Decoder d(whole, bytes);
  out.jobs.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    DecodedJob job{std::make_shared<JobRecord>(), std::nullopt, 0};
    if (auto r = decode_job(d, format, *job.record, job.failure); !r) {
      out.error = r.error().message;
      return out;
    }
    if (!d.ok()) {
      out.error = d.error();
      return out;
    }
    job.end = d.offset();
    out.jobs.push_back(std::move(job));
  }
  if (!d.at_end()) out.error = "byte " + std::to_string(d.offset()) + ": data after the last job of a block";
  return out;
}

// The jobs' blocks (format 26 on), each read on whichever thread takes it next: this one and one
// more for each further core.
std::vector<DecodedBlock> decode_blocks(Decoder& d, int format) {
  struct Block {
    std::size_t count = 0;
    std::string_view bytes;
  };
  std::vector<Block> blocks;
  const std::size_t total = d.count();
  for (std::size_t seen = 0; d.ok() && seen < total;) {
    Block b;
    b.count = d.count();
    b.bytes = d.bytes();
    if (d.ok() && (b.count == 0 || b.count > total - seen)) d.fail("a block of " + std::to_string(b.count) + " jobs");
    seen += b.count;
    blocks.push_back(b);
  }
  std::vector<DecodedBlock> out(d.ok() ? blocks.size() : 0);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t k; (k = next.fetch_add(1)) < out.size();) {
      try {
        out[k] = decode_block(d, blocks[k].bytes, blocks[k].count, format);
      } catch (const std::exception& e) {  // out of memory, most likely: the restore fails, saying so
        out[k].jobs.clear();
        out[k].error = "block " + std::to_string(k) + ": " + e.what();
      }
    }
  };
  const std::size_t helpers =
      std::min<std::size_t>({std::max(1u, std::thread::hardware_concurrency()) - 1, 7, out.size() / 2});
  std::vector<std::thread> threads;
  try {
    for (std::size_t k = 0; k < helpers; ++k) threads.emplace_back(work);
  } catch (const std::system_error&) {
    // No more threads to be had: those started and this one read the rest.
  }
  work();
  for (std::thread& t : threads) t.join();
  return out;
}

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
  std::size_t left = draft.jobs.size(), in_block = 0, mark = 0;
  e.u(left);
  draft.jobs.scan(false, [&](std::int64_t id, const JobRecord& j) {
    if (in_block == 0) {
      in_block = std::min(left, kJobsPerBlock);
      left -= in_block;
      e.u(in_block);
      mark = e.mark();
    }
    const auto f = draft.failures.find(id);
    encode_job(e, j, f == draft.failures.end() ? nullptr : &f->second);
    if (--in_block == 0) e.prefix_length(mark);
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
  auto keep = [&](DecodedJob& job) -> Result<void> {
    const std::int64_t id = job.record->id;
    if (id < 1 || id > kMaxJobId)
      return fail("a job with id " + std::to_string(id) + " (byte " + std::to_string(job.end) + ")");
    if (job.failure) rank_ends_[id][-1] = std::move(*job.failure);
    jobs_.adopt(id, std::move(job.record));
    return {};
  };
  if (format >= 26 && d.ok()) {
    for (DecodedBlock& block : decode_blocks(d, format)) {
      for (DecodedJob& job : block.jobs) {
        if (auto r = keep(job); !r) return r;
      }
      if (!block.error.empty()) return fail(block.error);
    }
  }
  for (std::size_t n = format < 26 ? d.count() : 0; d.ok() && n > 0; --n) {
    DecodedJob job{std::make_shared<JobRecord>(), std::nullopt, 0};
    if (auto r = decode_job(d, format, *job.record, job.failure); !r) return r;
    if (!d.ok()) break;
    job.end = d.offset();
    if (auto r = keep(job); !r) return r;
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
