#include "mpi/pmix_host.h"

#include <fcntl.h>
#include <pmix.h>
#include <pmix_server.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

namespace gwang::mpi {

namespace {

// A fence the library asked for: among `nodes` ("*": all of the step's; else "0,2"), this node's
// SEQth among them.
struct Fence {
  std::string nodes;
  std::int64_t seq = 0;
  bool here_only = false;  // no other node takes part
  std::string data;        // this node's ranks' part
  pmix_modex_cbfunc_t done = nullptr;
  void* cbdata = nullptr;
};

struct Ask {
  pmix_modex_cbfunc_t done = nullptr;
  void* cbdata = nullptr;
};

// Waits for one of the library's operations that answers through a callback.
struct Wait {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  pmix_status_t status = PMIX_SUCCESS;

  static void callback(pmix_status_t status, void* cbdata) {
    auto* w = static_cast<Wait*>(cbdata);
    std::lock_guard lock(w->mu);
    w->status = status;
    w->done = true;
    w->cv.notify_all();
  }
  // The outcome of an operation that returned `rc`, waiting for its callback when it will come.
  pmix_status_t outcome(pmix_status_t rc) {
    if (rc == PMIX_OPERATION_SUCCEEDED) return PMIX_SUCCESS;
    if (rc != PMIX_SUCCESS) return rc;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
    return status;
  }
};

void release_string(void* cbdata) { delete static_cast<std::string*>(cbdata); }

// Hands the library its answer to a fence or an ask; the bytes live until it lets go of them.
void complete(pmix_modex_cbfunc_t done, void* cbdata, pmix_status_t status, std::string bytes) {
  auto* held = new std::string(std::move(bytes));
  done(status, held->data(), held->size(), cbdata, release_string, held);
}

std::string why(const std::string& what, pmix_status_t rc) { return what + ": " + PMIx_Error_string(rc); }

}  // namespace

struct PmixHost::State {
  StepLayout layout;
  int wake[2] = {-1, -1};
  mutable std::mutex mu;
  std::vector<Fence> asked;                  // fences not yet taken
  std::map<std::string, std::int64_t> seqs;  // the next SEQ of each set of nodes
  std::map<std::string, Fence> waiting;      // sent to srun, by "NODES#SEQ"
  std::vector<WireMessage> outgoing;
  std::map<std::int64_t, Ask> asks;  // this node's asks for other nodes' ranks' data
  std::int64_t next_ask = 1;
  std::vector<int> finalized;
  bool serving = false;  // PMIx_server_init succeeded

  void notify() { (void)!::write(wake[1], "x", 1); }
};

namespace {

PmixHost::State* g_state = nullptr;  // the library's callbacks reach the one server through it

pmix_status_t on_connected(const pmix_proc_t*, void*, pmix_op_cbfunc_t, void*) { return PMIX_OPERATION_SUCCEEDED; }

pmix_status_t on_finalized(const pmix_proc_t* proc, void*, pmix_op_cbfunc_t, void*) {
  std::lock_guard lock(g_state->mu);
  g_state->finalized.push_back(static_cast<int>(proc->rank));
  g_state->notify();
  return PMIX_OPERATION_SUCCEEDED;
}

pmix_status_t on_abort(const pmix_proc_t* proc, void*, int status, const char msg[], pmix_proc_t[], size_t,
                       pmix_op_cbfunc_t, void*) {
  std::lock_guard lock(g_state->mu);
  g_state->outgoing.push_back({"abort", status, static_cast<std::int64_t>(proc->rank), msg ? msg : ""});
  g_state->notify();
  return PMIX_OPERATION_SUCCEEDED;
}

pmix_status_t on_fence(const pmix_proc_t procs[], size_t nprocs, const pmix_info_t[], size_t, char* data, size_t ndata,
                       pmix_modex_cbfunc_t done, void* cbdata) {
  PmixHost::State& s = *g_state;
  bool all = nprocs == 0;
  std::set<int> nodes;
  for (size_t i = 0; i < nprocs && !all; ++i) {
    if (procs[i].rank == PMIX_RANK_WILDCARD ||
        std::strncmp(procs[i].nspace, s.layout.nspace.c_str(), PMIX_MAX_NSLEN) != 0) {
      all = true;
    } else if (procs[i].rank < static_cast<pmix_rank_t>(s.layout.ntasks())) {
      nodes.insert(s.layout.task_nodes[procs[i].rank]);
    }
  }
  Fence f;
  if (all) {
    f.nodes = "*";
    f.here_only = s.layout.hosts.size() == 1;
  } else {
    for (int n : nodes) f.nodes += (f.nodes.empty() ? "" : ",") + std::to_string(n);
    f.here_only = nodes.size() <= 1;
  }
  f.data.assign(data ? data : "", data ? ndata : 0);
  f.done = done;
  f.cbdata = cbdata;
  std::lock_guard lock(s.mu);
  f.seq = s.seqs[f.nodes]++;
  s.asked.push_back(std::move(f));
  s.notify();
  return PMIX_SUCCESS;
}

pmix_status_t on_direct_modex(const pmix_proc_t* proc, const pmix_info_t[], size_t, pmix_modex_cbfunc_t done,
                              void* cbdata) {
  PmixHost::State& s = *g_state;
  if (proc->rank >= static_cast<pmix_rank_t>(s.layout.ntasks())) return PMIX_ERR_NOT_FOUND;
  std::lock_guard lock(s.mu);
  const std::int64_t id = s.next_ask++;
  s.asks[id] = {done, cbdata};
  s.outgoing.push_back({"modex-ask", id, static_cast<std::int64_t>(proc->rank), ""});
  s.notify();
  return PMIX_SUCCESS;
}

// The library's answer to another node's ask for one of this node's ranks' data.
struct Answer {
  std::int64_t id = 0;
};
void on_modex_answer(pmix_status_t status, char* data, size_t size, void* cbdata) {
  std::unique_ptr<Answer> a(static_cast<Answer*>(cbdata));
  std::lock_guard lock(g_state->mu);
  g_state->outgoing.push_back({"modex-data", a->id, status, std::string(data ? data : "", data ? size : 0)});
  g_state->notify();
}

// Adds a value to a list of the library's.
void add(void* list, const char* key, const void* value, pmix_data_type_t type) {
  PMIx_Info_list_add(list, key, value, type);
}

// What every rank of the step learns of it: its size, where each rank runs, which are its
// neighbours, where its files go (as Slurm's mpi/pmix registers a step's namespace).
Result<void> describe_step(const StepLayout& l, void* info) {
  const auto ntasks = static_cast<std::uint32_t>(l.ntasks());
  const std::vector<int> locals = l.local_ranks();
  const auto nlocal = static_cast<std::uint32_t>(locals.size());
  for (const char* key : {PMIX_UNIV_SIZE, PMIX_JOB_SIZE, PMIX_MAX_PROCS, PMIX_APP_SIZE})
    add(info, key, &ntasks, PMIX_UINT32);
  for (const char* key : {PMIX_LOCAL_SIZE, PMIX_NODE_SIZE}) add(info, key, &nlocal, PMIX_UINT32);
  const auto nnodes = static_cast<std::uint32_t>(l.hosts.size());
  add(info, PMIX_NUM_NODES, &nnodes, PMIX_UINT32);
  const std::string jobid = std::to_string(l.job) + "." + std::to_string(l.step);
  add(info, PMIX_JOBID, jobid.c_str(), PMIX_STRING);
  const int zero = 0;
  add(info, PMIX_APPLDR, &zero, PMIX_INT);
  add(info, PMIX_APPNUM, &zero, PMIX_INT);
  const bool no = false, yes = true;
  add(info, PMIX_SPAWNED, &no, PMIX_BOOL);
  add(info, PMIX_TMPDIR, l.tmpdir.c_str(), PMIX_STRING);
  const std::string nsdir = l.dir + "/ns";
  add(info, PMIX_NSDIR, nsdir.c_str(), PMIX_STRING);
  add(info, PMIX_TDIR_RMCLEAN, &yes, PMIX_BOOL);
  if (!l.distribution.empty()) add(info, PMIX_APP_MAP_TYPE, l.distribution.c_str(), PMIX_STRING);

  std::string hosts, ranks_by_node;
  for (std::size_t n = 0; n < l.hosts.size(); ++n) {
    hosts += (n ? "," : "") + l.hosts[n];
    std::string here;
    for (int r = 0; r < l.ntasks(); ++r) {
      if (l.task_nodes[static_cast<std::size_t>(r)] == static_cast<int>(n))
        here += (here.empty() ? "" : ",") + std::to_string(r);
    }
    ranks_by_node += (n ? ";" : "") + here;
  }
  char* regex = nullptr;
  if (const pmix_status_t rc = PMIx_generate_regex(hosts.c_str(), &regex); rc != PMIX_SUCCESS) {
    return fail(why("the step's node map", rc));
  }
  add(info, PMIX_NODE_MAP, regex, PMIX_REGEX);
  std::free(regex);
  char* ppn = nullptr;
  if (const pmix_status_t rc = PMIx_generate_ppn(ranks_by_node.c_str(), &ppn); rc != PMIX_SUCCESS) {
    return fail(why("the step's process map", rc));
  }
  add(info, PMIX_PROC_MAP, ppn, PMIX_REGEX);
  std::free(ppn);

  std::string peers;
  for (int r : locals) peers += (peers.empty() ? "" : ",") + std::to_string(r);
  add(info, PMIX_LOCAL_PEERS, peers.c_str(), PMIX_STRING);
  const auto leader = static_cast<std::uint32_t>(locals.empty() ? 0 : locals.front());
  add(info, PMIX_LOCALLDR, &leader, PMIX_UINT32);

  for (int r = 0; r < l.ntasks(); ++r) {  // each rank's own
    void* proc = PMIx_Info_list_start();
    const auto rank = static_cast<pmix_rank_t>(r);
    add(proc, PMIX_RANK, &rank, PMIX_PROC_RANK);
    add(proc, PMIX_APPNUM, &zero, PMIX_INT);
    const auto global = static_cast<std::uint32_t>(r);
    add(proc, PMIX_GLOBAL_RANK, &global, PMIX_UINT32);
    add(proc, PMIX_APP_RANK, &global, PMIX_UINT32);
    const auto local = static_cast<std::uint16_t>(l.local_rank_of(r));
    add(proc, PMIX_LOCAL_RANK, &local, PMIX_UINT16);
    add(proc, PMIX_NODE_RANK, &local, PMIX_UINT16);
    const int node = l.task_nodes[static_cast<std::size_t>(r)];
    add(proc, PMIX_HOSTNAME, l.hosts[static_cast<std::size_t>(node)].c_str(), PMIX_STRING);
    const auto nodeid = static_cast<std::uint32_t>(node);
    add(proc, PMIX_NODEID, &nodeid, PMIX_UINT32);
    pmix_data_array_t array;
    PMIx_Info_list_convert(proc, &array);
    PMIx_Info_list_release(proc);
    add(info, PMIX_PROC_DATA, &array, PMIX_DATA_ARRAY);
    PMIX_DATA_ARRAY_DESTRUCT(&array);
  }
  return {};
}

}  // namespace

PmixHost::PmixHost(std::unique_ptr<State> state) : state_(std::move(state)) {}

PmixHost::~PmixHost() {
  if (state_->serving) PMIx_server_finalize();
  g_state = nullptr;
  for (int fd : state_->wake) {
    if (fd >= 0) ::close(fd);
  }
}

Result<std::unique_ptr<PmixHost>> PmixHost::start(const StepLayout& layout, uid_t uid, gid_t gid) {
  auto state = std::make_unique<State>();
  state->layout = layout;
  if (::pipe2(state->wake, O_CLOEXEC | O_NONBLOCK) != 0) return fail(std::string("a pipe: ") + std::strerror(errno));
  g_state = state.get();
  std::unique_ptr<PmixHost> host(new PmixHost(std::move(state)));

  static pmix_server_module_t module{};
  module.client_connected = on_connected;
  module.client_finalized = on_finalized;
  module.abort = on_abort;
  module.fence_nb = on_fence;
  module.direct_modex = on_direct_modex;

  void* init = PMIx_Info_list_start();
  add(init, PMIX_SERVER_TMPDIR, layout.dir.c_str(), PMIX_STRING);
  add(init, PMIX_SYSTEM_TMPDIR, layout.dir.c_str(), PMIX_STRING);
  const std::string& me = layout.hosts[static_cast<std::size_t>(layout.node)];
  add(init, PMIX_HOSTNAME, me.c_str(), PMIX_STRING);
  pmix_data_array_t init_array;
  PMIx_Info_list_convert(init, &init_array);
  PMIx_Info_list_release(init);
  const pmix_status_t rc = PMIx_server_init(&module, static_cast<pmix_info_t*>(init_array.array), init_array.size);
  PMIX_DATA_ARRAY_DESTRUCT(&init_array);
  if (rc != PMIX_SUCCESS) return fail(why("the PMIx server cannot start", rc));
  host->state_->serving = true;

  void* info = PMIx_Info_list_start();
  if (auto ok = describe_step(layout, info); !ok) {
    PMIx_Info_list_release(info);
    return tl::unexpected(ok.error());
  }
  pmix_data_array_t step;
  PMIx_Info_list_convert(info, &step);
  PMIx_Info_list_release(info);
  const std::vector<int> locals = layout.local_ranks();
  Wait registered;
  const pmix_status_t reg = registered.outcome(
      PMIx_server_register_nspace(layout.nspace.c_str(), static_cast<int>(locals.size()),
                                  static_cast<pmix_info_t*>(step.array), step.size, Wait::callback, &registered));
  PMIX_DATA_ARRAY_DESTRUCT(&step);
  if (reg != PMIX_SUCCESS) return fail(why("the step cannot be registered with the PMIx server", reg));
  for (int r : locals) {
    pmix_proc_t proc;
    PMIX_LOAD_PROCID(&proc, layout.nspace.c_str(), static_cast<pmix_rank_t>(r));
    Wait client;
    const pmix_status_t crc =
        client.outcome(PMIx_server_register_client(&proc, uid, gid, nullptr, Wait::callback, &client));
    if (crc != PMIX_SUCCESS) return fail(why("rank " + std::to_string(r) + " cannot be registered", crc));
  }
  return host;
}

Result<std::vector<std::pair<std::string, std::string>>> PmixHost::client_env(int rank) {
  pmix_proc_t proc;
  PMIX_LOAD_PROCID(&proc, state_->layout.nspace.c_str(), static_cast<pmix_rank_t>(rank));
  char** env = nullptr;
  const pmix_status_t rc = PMIx_server_setup_fork(&proc, &env);
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = env; e && *e; ++e) {
    const std::string kv(*e);
    std::free(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::free(env);
  if (rc != PMIX_SUCCESS) return fail(why("rank " + std::to_string(rank) + "'s PMIx environment", rc));
  return out;
}

int PmixHost::wake_fd() const { return state_->wake[0]; }

std::vector<WireMessage> PmixHost::take() {
  char buf[256];
  while (::read(state_->wake[0], buf, sizeof buf) > 0) {
  }
  std::vector<Fence> here;
  std::vector<WireMessage> out;
  {
    std::lock_guard lock(state_->mu);
    for (Fence& f : state_->asked) {
      if (f.here_only) {
        here.push_back(std::move(f));
        continue;
      }
      out.push_back({"fence", f.seq, 0, f.nodes + "\n" + f.data});
      f.data.clear();
      state_->waiting[f.nodes + "#" + std::to_string(f.seq)] = std::move(f);
    }
    state_->asked.clear();
    for (WireMessage& m : state_->outgoing) out.push_back(std::move(m));
    state_->outgoing.clear();
  }
  for (Fence& f : here) complete(f.done, f.cbdata, PMIX_SUCCESS, std::move(f.data));
  return out;
}

void PmixHost::deliver(const WireMessage& m) {
  if (m.verb == "fenced") {
    const std::size_t nl = m.data.find('\n');
    if (nl == std::string::npos) return;
    Fence f;
    {
      std::lock_guard lock(state_->mu);
      auto it = state_->waiting.find(m.data.substr(0, nl) + "#" + std::to_string(m.a));
      if (it == state_->waiting.end()) return;
      f = std::move(it->second);
      state_->waiting.erase(it);
    }
    complete(f.done, f.cbdata, static_cast<pmix_status_t>(m.b), m.data.substr(nl + 1));
  } else if (m.verb == "modex-ask") {
    pmix_proc_t proc;
    PMIX_LOAD_PROCID(&proc, state_->layout.nspace.c_str(), static_cast<pmix_rank_t>(m.b));
    auto* answer = new Answer{m.a};
    if (const pmix_status_t rc = PMIx_server_dmodex_request(&proc, on_modex_answer, answer); rc != PMIX_SUCCESS) {
      delete answer;
      std::lock_guard lock(state_->mu);
      state_->outgoing.push_back({"modex-data", m.a, rc, ""});
      state_->notify();
    }
  } else if (m.verb == "modex-data") {
    Ask a;
    {
      std::lock_guard lock(state_->mu);
      auto it = state_->asks.find(m.a);
      if (it == state_->asks.end()) return;
      a = it->second;
      state_->asks.erase(it);
    }
    complete(a.done, a.cbdata, static_cast<pmix_status_t>(m.b), m.data);
  }
}

std::vector<int> PmixHost::finalized() const {
  std::lock_guard lock(state_->mu);
  return state_->finalized;
}

}  // namespace gwang::mpi
