// gwang session: sessions (api/session.h) from the command line. start submits one and waits
// until its service answers, then says where it is (and a link a browser opens it by, once);
// list shows the caller's; open gives that link again (or, for a terminal session, a terminal in
// it); stop ends one.

#include "api/session.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "api/request.h"
#include "api/units.h"
#include "cli/api_call.h"
#include "cli/client.h"
#include "cli/commands.h"

namespace gwang::cli {

using nlohmann::json;

namespace {

// Where the controller is, as the command reached it (the first of a list).
std::string base_url(const ClientArgs& a) {
  auto e = resolve_endpoint(a.url, a.token);
  if (!e) return "";
  std::string url = e->url.substr(0, e->url.find(','));
  while (url.ends_with("/")) url.pop_back();
  return url;
}

std::string when(std::int64_t seconds) { return api::format_duration(std::max<std::int64_t>(0, seconds)); }

// A link that lets a browser into session `id`, once, within a minute; empty after saying why not.
std::string browser_link(const ClientArgs& a, std::int64_t id, int* rc) {
  auto login = request(a, "POST", "/api/v1/sessions/" + std::to_string(id) + "/login", "{}", rc);
  if (!login) return "";
  return base_url(a) + (*login)["open"].get<std::string>();
}

void say_ready(const ClientArgs& a, const json& s) {
  const std::int64_t id = s["id"].get<std::int64_t>();
  const std::string app = s["app"].get<std::string>();
  std::printf("session %lld (%s) is ready", static_cast<long long>(id), app.c_str());
  if (s.contains("time_left"))
    std::printf(", for %s at most (ends after %s unused)", when(s["time_left"].get<std::int64_t>()).c_str(),
                when(s["idle_timeout"].get<std::int64_t>()).c_str());
  std::printf("\n");
  if (app == "terminal") {
    std::printf("a terminal in it: gwang session open %lld (or the dashboard)\n", static_cast<long long>(id));
    return;
  }
  std::printf("its address: %s%s\n", base_url(a).c_str(), s["url"].get<std::string>().c_str());
  int rc = 0;
  const std::string link = browser_link(a, id, &rc);
  if (!link.empty()) std::printf("open it in a browser (this link works once, within a minute):\n  %s\n", link.c_str());
}

}  // namespace

int run_session_start(const SubmitArgs& args, const std::string& app, const std::string& idle, bool wait) {
  auto session = api::parse_session_app(app);
  if (!session) {
    std::fprintf(stderr, "gwang: --app: %s\n", session.error().message.c_str());
    return 2;
  }
  if (!idle.empty()) {
    auto t = api::parse_duration(idle);
    if (!t || *t < 10) {
      std::fprintf(stderr, "gwang: --idle-timeout: %s\n", t ? "at least 10 seconds" : t.error().message.c_str());
      return 2;
    }
    session->idle_timeout_s = *t;
  }
  if (session->app == api::SessionApp::Custom && args.command.empty()) {
    std::fprintf(stderr,
                 "gwang: a custom app's service is the command: gwang session start --app custom:PORT -- COMMAND\n");
    return 2;
  }
  if (session->app == api::SessionApp::Terminal && !args.command.empty()) {
    std::fprintf(stderr, "gwang: a terminal session runs no command of its own\n");
    return 2;
  }
  SubmitArgs a = args;
  const bool timed = !a.time.empty();
  if (!timed) a.time = "1h";
  api::SubmitRequest r;
  if (a.command.empty()) a.command = {"-"};  // submit_request's own check; taken out below
  if (auto failed = submit_request(a, r)) return *failed;
  if (args.command.empty()) r.command.clear();
  if (!timed) r.time_s = 0;  // the controller's longest
  if (args.name.empty()) r.name.clear();
  r.session = *session;
  if (r.session.app == api::SessionApp::Terminal) r.allocation = api::Allocation::Unattended;
  int rc = 0;
  auto job = request(a.client, "POST", "/api/v1/jobs", api::to_json(r), &rc);
  if (!job) return rc;
  const std::int64_t id = (*job)["id"].get<std::int64_t>();
  if (!wait || a.client.json) {
    if (a.client.json) {
      std::printf("%s\n", job->dump().c_str());
    } else {
      std::printf("session %lld submitted\n", static_cast<long long>(id));
    }
    return 0;
  }
  std::fprintf(stderr, "session %lld submitted; waiting for it to start", static_cast<long long>(id));
  bool said_started = false;
  for (;;) {
    auto s = request(a.client, "GET", "/api/v1/sessions/" + std::to_string(id), "", &rc);
    if (!s) return rc;
    const std::string state = (*s)["state"].get<std::string>();
    if (state != "PENDING" && state != "RUNNING") {
      std::fprintf(stderr, "\nsession %lld ended %s%s%s\n", static_cast<long long>(id), state.c_str(),
                   s->contains("reason") ? ": " : "", s->value("reason", "").c_str());
      return 1;
    }
    if (state == "RUNNING" && !said_started && session->app != api::SessionApp::Terminal) {
      std::fprintf(stderr, "\nsession %lld started; waiting for its service to answer", static_cast<long long>(id));
      said_started = true;
    }
    if ((*s)["ready"].get<bool>()) {
      std::fprintf(stderr, "\n");
      say_ready(a.client, *s);
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(state == "RUNNING" ? 100 : 500));
  }
}

int run_session_list(const ClientArgs& a, bool all) {
  int rc = 0;
  auto j = request(a, "GET", std::string("/api/v1/sessions") + (all ? "?all=1" : ""), "", &rc);
  if (!j) return rc;
  if (a.json) {
    std::printf("%s\n", j->dump().c_str());
    return 0;
  }
  std::printf("%-8s %-12s %-10s %-6s %-12s %-10s %s\n", "SESSION", "APP", "STATE", "READY", "TIME LEFT", "IDLE",
              "ADDRESS");
  const std::string base = base_url(a);
  for (const json& s : (*j)["sessions"]) {
    const bool running = s["state"] == "RUNNING";
    std::printf("%-8lld %-12s %-10s %-6s %-12s %-10s %s\n", static_cast<long long>(s["id"].get<std::int64_t>()),
                s["app"].get<std::string>().c_str(), s["state"].get<std::string>().c_str(),
                s["ready"].get<bool>() ? "yes" : "no", running ? when(s["time_left"].get<std::int64_t>()).c_str() : "-",
                s.contains("idle") ? when(s["idle"].get<std::int64_t>()).c_str() : "-",
                (running ? base + s["url"].get<std::string>() : s.value("reason", "")).c_str());
  }
  return 0;
}

int run_session_open(const ClientArgs& a, const std::string& session) {
  int rc = 0;
  auto s = request(a, "GET", "/api/v1/sessions/" + session, "", &rc);
  if (!s) return rc;
  if ((*s)["state"] != "RUNNING") {
    std::fprintf(stderr, "gwang: session %s is %s%s%s\n", session.c_str(), (*s)["state"].get<std::string>().c_str(),
                 s->contains("reason") ? ": " : "", s->value("reason", "").c_str());
    return 1;
  }
  if ((*s)["app"] == "terminal") return run_attach(a, session, {});
  const std::string link = browser_link(a, (*s)["id"].get<std::int64_t>(), &rc);
  if (link.empty()) return rc;
  std::printf("%s\n", link.c_str());
  return 0;
}

}  // namespace gwang::cli
