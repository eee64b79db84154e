// An allocation held by this command: asked for, waited for, asked after, relinquished.

#include "cli/allocation.h"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/api_call.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

volatile sig_atomic_t g_given_up = 0;  // a signal came while the allocation was waited for
void give_up(int) { g_given_up = 1; }

// How long one call waits for news: while waiting for the start, short, to see a signal soon;
// while held, long (the call is the holder's presence while it waits).
constexpr int kStartWaitMs = 1000;
constexpr int kHeldWaitMs = 20000;

struct Answer {
  api::JobView job;
  std::uint64_t news = 0;
  HeldAllocation::Env env;
};

// GET .../allocation: the job, its news, its environment once it runs; or the error's words, and
// whether asking again may bring an answer (`*transient`: no answer, or the controller's trouble).
Result<Answer> look(const ClientArgs& client, std::int64_t id, int wait_ms, std::uint64_t seen, bool* transient) {
  const ApiAnswer a = call_api(client, "GET",
                               "/api/v1/jobs/" + std::to_string(id) + "/allocation?wait=" + std::to_string(wait_ms) +
                                   "&seen=" + std::to_string(seen),
                               "");
  *transient = a.transient();
  if (!a.ok()) return fail(a.error.empty() ? "the controller answered " + std::to_string(a.status) : a.error);
  if (!a.body.contains("job")) return fail("the controller's answer has no job");
  auto view = api::read_job_view(a.body["job"]);
  if (!view) return fail("the controller's answer: " + view.error().message);
  Answer out{std::move(*view), a.body.value("news", std::uint64_t{0}), {}};
  if (const auto e = a.body.find("environment"); e != a.body.end() && e->is_object()) {
    for (const auto& [k, v] : e->items()) {
      if (v.is_string()) out.env.emplace_back(k, v.get<std::string>());
    }
  }
  return out;
}

// A POST about job `id` (`what`: cancel, relinquish), asked again while the controller cannot
// answer (a restart, a standby's turn), five times at most: the last answer.
ApiAnswer post_to_job(const ClientArgs& client, std::int64_t id, const std::string& what, const std::string& body) {
  ApiAnswer a;
  for (int attempt = 0; attempt < 5; ++attempt) {
    a = call_api(client, "POST", "/api/v1/jobs/" + std::to_string(id) + "/" + what, body);
    if (!a.transient()) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return a;
}

}  // namespace

int relinquish_code(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

std::unique_ptr<HeldAllocation> HeldAllocation::ask(const ClientArgs& client, const api::SubmitRequest& request,
                                                    const Asking& how, int* exit_code) {
  *exit_code = 1;
  const ApiAnswer submitted = call_api(
      client, "POST", "/api/v1/jobs" + (how.as_user.empty() ? "" : "?as_user=" + how.as_user), api::to_json(request));
  if (!submitted.ok() || !submitted.body.contains("id")) {
    std::string why = submitted.body.is_object() ? submitted.body.value("error", "") : "";
    if (why.empty())
      why = submitted.error.empty() ? "the controller answered " + std::to_string(submitted.status) : submitted.error;
    std::fprintf(stderr, "%s: error: %s: %s\n", how.program.c_str(),
                 how.salloc_words ? "Job submit/allocate failed" : "Unable to allocate resources", why.c_str());
    return nullptr;
  }
  std::unique_ptr<HeldAllocation> held(new HeldAllocation(client, how, submitted.body["id"].get<std::int64_t>()));
  if (!held->wait_for_start(exit_code)) return nullptr;
  *exit_code = 0;
  return held;
}

bool HeldAllocation::wait_for_start(int* exit_code) {
  const char* prog = how_.program.c_str();
  const long long id = id_;
  struct sigaction sa {
  }, old[4];
  sa.sa_handler = give_up;
  sigemptyset(&sa.sa_mask);
  const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (int i = 0; i < 4; ++i) ::sigaction(signals[i], &sa, &old[i]);
  const auto restore = [&] {
    for (int i = 0; i < 4; ++i) ::sigaction(signals[i], &old[i], nullptr);
  };
  const auto since = std::chrono::steady_clock::now();
  bool queued = false;
  // Given up (a signal, -I): cancelled (CANCELLED, whether or not it has just started).
  const auto give_up_here = [&] {
    restore();
    relinquished_ = true;
    post_to_job(client_, id_, "cancel", "");
    *exit_code = 1;
  };
  for (int wait = 1500;; wait = kStartWaitMs) {
    if (g_given_up) {  // as Slurm's say it
      give_up_here();
      std::fprintf(stderr, "%s: Job allocation %lld has been revoked%s\n", prog, id, how_.salloc_words ? "." : "");
      if (how_.salloc_words) {
        std::fprintf(stderr, "%s: Job aborted due to signal\n", prog);
      } else {
        std::fprintf(stderr, "%s: Force Terminated JobId=%lld\n", prog, id);
      }
      return false;
    }
    const bool out_of_time = how_.immediate_s >= 0 && std::chrono::steady_clock::now() - since >=
                                                          std::chrono::seconds(std::max(how_.immediate_s, 1));
    bool transient = false;
    auto a = out_of_time ? Result<Answer>(fail("out of time")) : look(client_, id_, wait, news_, &transient);
    if (!a && transient) {
      // The controller may be restarting: the allocation is there still; asked again.
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    if (!a && !out_of_time) {
      restore();
      relinquished_ = true;
      std::fprintf(stderr, "%s: error: Job allocation %lld: %s\n", prog, id, a.error().message.c_str());
      *exit_code = 1;
      return false;
    }
    if (out_of_time) {  // -I
      give_up_here();
      if (how_.salloc_words) {
        std::fprintf(stderr, "%s: error: Unable to allocate resources: Connection timed out\n", prog);
        std::fprintf(stderr, "%s: Job allocation %lld has been revoked.\n", prog, id);
      } else {
        std::fprintf(stderr, "%s: error: Unable to allocate resources: Requested nodes are busy\n", prog);
      }
      return false;
    }
    job_ = std::move(a->job);
    news_ = a->news;
    if (job_.state == api::JobState::Running) {
      env_ = std::move(a->env);
      break;
    }
    if (job_.ended()) {
      restore();
      std::fprintf(stderr, "%s: error: Job allocation %lld has been revoked: %s\n", prog, id, job_.reason.c_str());
      relinquished_ = true;
      *exit_code = 1;
      return false;
    }
    if (!queued) {
      if (how_.salloc_words) std::fprintf(stderr, "%s: Pending job allocation %lld\n", prog, id);
      std::fprintf(stderr, "%s: job %lld queued and waiting for resources\n", prog, id);
      queued = true;
    }
  }
  restore();
  if (queued) std::fprintf(stderr, "%s: job %lld has been allocated resources\n", prog, id);
  if (how_.salloc_words) std::fprintf(stderr, "%s: Granted job allocation %lld\n", prog, id);
  return true;
}

void HeldAllocation::attend(std::function<void(const api::JobView&)> ended) {
  // The signals salloc and srun take are theirs: the thread that asks after the allocation blocks
  // them, so that the kernel gives them to the command's thread (a hang-up salloc passes on).
  sigset_t taken, before;
  sigemptyset(&taken);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&taken, sig);
  ::pthread_sigmask(SIG_BLOCK, &taken, &before);
  attender_ = std::thread([this, ended = std::move(ended)] { attending(ended); });
  ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

void HeldAllocation::attending(std::function<void(const api::JobView&)> ended) {
  while (!relinquished_) {
    const auto asked = std::chrono::steady_clock::now();
    bool transient = false;
    auto a = look(client_, id_, kHeldWaitMs, news_, &transient);
    if (relinquished_) return;
    if (!a) {
      std::this_thread::sleep_for(std::chrono::seconds(1));  // a controller restarting, or a standby's turn
      continue;
    }
    // An answer at once with nothing new (the controller had too many waiting calls, or waits
    // less than asked): asked again a second later, not at once.
    if (a->news == news_ && std::chrono::steady_clock::now() - asked < std::chrono::milliseconds(500))
      std::this_thread::sleep_for(std::chrono::seconds(1));
    news_ = a->news;
    if (a->job.ended()) {
      revoked_ = true;
      relinquished_ = true;
      if (ended) ended(a->job);
      return;
    }
  }
}

void HeldAllocation::relinquish(int exit_code, bool say) {
  const bool was = relinquished_.exchange(true);
  if (!was && !revoked_) {
    if (say)
      std::fprintf(stderr, "%s: Relinquishing job allocation %lld\n", how_.program.c_str(),
                   static_cast<long long>(id_));
    const ApiAnswer a =
        post_to_job(client_, id_, "relinquish", json{{"exit_code", std::min(std::max(exit_code, 0), 255)}}.dump());
    // Let go, or ended already (409, 404); else Slurm's words for a relinquish that failed.
    if (!a.ok() && !a.transient() && a.status != 409 && a.status != 404) {
      std::fprintf(stderr, "%s: error: Unable to clean up job allocation %lld: %s\n", how_.program.c_str(),
                   static_cast<long long>(id_), a.error.c_str());
    }
  }
  if (attender_.joinable()) attender_.join();
}

void HeldAllocation::keep() {
  relinquished_ = true;
  if (attender_.joinable()) attender_.join();
}

HeldAllocation::~HeldAllocation() { relinquish(1, false); }

}  // namespace gwang::cli
