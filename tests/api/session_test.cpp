// Sessions' submissions (api/session.h): what is accepted, the exact error for each kind of bad
// input, and the link's messages (api/service_frame.h), whole and damaged.
#include "api/session.h"

#include <gtest/gtest.h>

#include "api/request.h"
#include "api/service_frame.h"

namespace gwang::api {
namespace {

std::string error_of(const std::string& body) {
  auto r = parse_submit(body);
  EXPECT_FALSE(r) << body;
  return r ? "" : r.error().message;
}

TEST(SessionRequests, AnAppIsASessionOfOneNodeNeverRequeued) {
  auto r = parse_submit(R"({"session":{"app":"jupyter","idle_timeout":"30m"},"requeue":true,"command":["--debug"]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->session.app, SessionApp::Jupyter);
  EXPECT_EQ(r->session.idle_timeout_s, 1800);
  EXPECT_EQ(r->session.port, 0);
  EXPECT_EQ(r->name, "jupyter");
  EXPECT_EQ(r->time_s, 0) << "no time asked: the controller's longest";
  EXPECT_FALSE(r->requeue);
  EXPECT_EQ(r->allocation, Allocation::None);
  EXPECT_EQ(r->command, std::vector<std::string>{"--debug"}) << "the app's arguments";
  auto back = parse_submit(to_json(*r));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->session, r->session);
  EXPECT_EQ(back->time_s, 0);
  auto own =
      parse_submit(R"({"session":{"app":"custom","port":8888},"command":["python3","-m","http.server"],"time":60})");
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_EQ(own->session.port, 8888);
  EXPECT_EQ(own->name, "python3");
  EXPECT_EQ(own->time_s, 60);
  EXPECT_EQ(parse_submit(to_json(*own))->session, own->session);
  // A terminal session is an unattended allocation its owner's terminals use.
  auto terminal = parse_submit(R"({"session":{"app":"terminal"}})");
  ASSERT_TRUE(terminal) << terminal.error().message;
  EXPECT_EQ(terminal->allocation, Allocation::Unattended);
  auto again = parse_submit(to_json(*terminal));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->session.app, SessionApp::Terminal);
}

TEST(SessionRequests, BadSessionsAreRefusedByField) {
  EXPECT_EQ(error_of(R"({"session":{"app":"notebook"}})"),
            "field 'session.app': no app 'notebook' (the apps: jupyter, tensorboard, vscode, terminal or custom)");
  EXPECT_EQ(error_of(R"({"session":{}})"),
            "field 'session.app': required, one of jupyter, tensorboard, vscode, terminal or custom");
  EXPECT_EQ(error_of(R"({"session":"jupyter"})"), "field 'session': must be an object");
  EXPECT_EQ(error_of(R"({"session":{"app":"jupyter","ports":1}})"), "field 'session': unknown field 'ports'");
  EXPECT_EQ(error_of(R"({"session":{"app":"custom"},"command":["x"]})"),
            "field 'session.port': required for a custom app (the port its service listens on)");
  EXPECT_EQ(error_of(R"({"session":{"app":"custom","port":80},"command":["x"]})"),
            "field 'session.port': the port must be a number from 1024 to 65535");
  EXPECT_EQ(error_of(R"({"session":{"app":"custom","port":"8888"},"command":["x"]})"),
            "field 'session.port': the port must be a number from 1024 to 65535");
  EXPECT_EQ(error_of(R"({"session":{"app":"jupyter","port":8888}})"),
            "field 'session.port': only a custom app names its port");
  EXPECT_EQ(error_of(R"({"session":{"app":"custom","port":8888}})"), "field 'command': required");
  EXPECT_EQ(error_of(R"({"session":{"app":"jupyter","idle_timeout":5}})"),
            "field 'session.idle_timeout': at least 10 seconds");
  EXPECT_EQ(
      error_of(R"({"session":{"app":"jupyter","idle_timeout":"soon"}})").rfind("field 'session.idle_timeout': ", 0),
      0u);
  EXPECT_EQ(error_of(R"({"session":{"app":"terminal"},"command":["bash"]})"),
            "field 'command': a terminal session runs no command of its own");
  EXPECT_EQ(error_of(R"({"session":{"app":"jupyter"},"script":"#!/bin/sh\n"})"),
            "field 'session': a session's app is its script; it has no \"script\" or \"allocation\"");
  EXPECT_EQ(error_of(R"({"session":{"app":"jupyter"},"allocation":"attended"})"),
            "field 'session': a session's app is its script; it has no \"script\" or \"allocation\"");
  EXPECT_EQ(error_of(R"({"session":{"app":"jupyter"},"nodes":2})"), "field 'nodes': a session runs on one node");
  EXPECT_EQ(error_of(R"({"session":{"app":"jupyter"},"array":"0-3"})"),
            "field 'session': a job array is not a session");
}

TEST(SessionRequests, TheCommandLineNamesAnApp) {
  EXPECT_EQ(parse_session_app("tensorboard")->app, SessionApp::TensorBoard);
  EXPECT_EQ(parse_session_app("custom:8080")->port, 8080);
  EXPECT_EQ(parse_session_app("custom").error().message,
            "a custom app is written custom:PORT (the port its service listens on)");
  EXPECT_EQ(parse_session_app("custom:http").error().message, "the port must be a number from 1024 to 65535");
  EXPECT_EQ(parse_session_app("jupyter:8888").error().message, "only a custom app names its port (custom:PORT)");
  EXPECT_FALSE(parse_session_app("lab"));
}

TEST(SessionRequests, EachAppSaysHowItIsServed) {
  const SessionAppPlan jupyter = plan_app(SessionApp::Jupyter);
  EXPECT_TRUE(jupyter.keeps_prefix);
  EXPECT_TRUE(jupyter.token_authorization);
  // Its token from the environment, never on its command line (which every user of the node sees).
  EXPECT_NE(jupyter.script.find("export JUPYTER_TOKEN=\"$GWANG_SESSION_SECRET\""), std::string::npos);
  EXPECT_EQ(jupyter.script.find("--NotebookApp.token"), std::string::npos);
  EXPECT_NE(jupyter.script.find("--ip=127.0.0.1"), std::string::npos);
  EXPECT_TRUE(plan_app(SessionApp::TensorBoard).keeps_prefix);
  EXPECT_FALSE(plan_app(SessionApp::VSCode).keeps_prefix);
  EXPECT_TRUE(plan_app(SessionApp::Custom).script.empty());
  EXPECT_FALSE(plan_app(SessionApp::Terminal).serves);
}

ServiceFrame full_frame() {
  ServiceFrame f;
  f.type = ServiceFrame::Type::Request;
  f.stream = 1ULL << 40;
  f.method = "POST";
  f.target = "/s/7/api/contents?x=%20";
  f.status = 201;
  f.headers = {{"Host", "ctl:8686"}, {"Cookie", "a=1; b=\xff"}, {"X-Empty", ""}};
  f.protocol = "v1.kernel.websocket.jupyter.org";
  f.text = true;
  f.message = "why";
  f.body = std::string("bytes\0of any kind\xff", 19);
  return f;
}

TEST(ServiceFrames, EveryFieldComesBackAndDamageIsRefused) {
  const std::string data = encode(full_frame());
  auto back = decode_service_frame(data);
  ASSERT_TRUE(back) << back.error().message;
  const ServiceFrame& f = *back;
  const ServiceFrame want = full_frame();
  EXPECT_EQ(f.type, want.type);
  EXPECT_EQ(f.stream, want.stream);
  EXPECT_EQ(
      std::tie(f.method, f.target, f.status, f.headers, f.protocol, f.text, f.message, f.body),
      std::tie(want.method, want.target, want.status, want.headers, want.protocol, want.text, want.message, want.body));
  for (std::size_t n = 0; n < data.size(); ++n) {
    auto cut = decode_service_frame(data.substr(0, n));
    EXPECT_FALSE(cut) << "cut at " << n;
  }
  EXPECT_FALSE(decode_service_frame(data + "x"));
  std::string unknown = encode(ServiceFrame{});
  auto ready = decode_service_frame(unknown);
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->type, ServiceFrame::Type::Ready);
  EXPECT_EQ(decode_service_frame("not a frame").error().message.rfind("a session link's message: byte ", 0), 0u);
}

}  // namespace
}  // namespace gwang::api
