// End to end across hosts: sessions whose services run on an agent's host, reached through the
// controller's proxy on another; their link to the controller outlives a restart of the
// controller; a service that never answers, and asks the API cannot meet, get clear answers, and
// nothing is left on the node.
#include "multihost.h"

namespace gwang::testing::multihost {
namespace {

// A service of the user's own (a custom app): it answers GET with what it was sent, POST with the
// body back, on 127.0.0.1 at the port given.
constexpr const char* kService = R"(import http.server, json, os, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Set-Cookie", "mine=1; Path=/")
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.answer(200, {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                          "secret_ok": self.headers.get("X-Gwang-Session-Secret") == os.environ["GWANG_SESSION_SECRET"],
                          "host": os.environ.get("SLURMD_NODENAME")})
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.answer(201, {"echo": body.decode(), "path": self.path})
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
)";

// A client of the proxy: METHOD PATH [TOKEN [BODY]] HOST:PORT -> "STATUS\nBODY" (redirects not
// followed); over HTTPS, verifying the controller with $GWANG_CA, where that is set.
constexpr const char* kClient = R"(import http.client, os, ssl, sys
method, path = sys.argv[1], sys.argv[2]
headers = {"Cookie": "gwang_session_1=forged; theirs=2"}
if len(sys.argv) > 3 and sys.argv[3]:
    headers["Authorization"] = "Bearer " + sys.argv[3]
host, port = sys.argv[-1].split(":")
ca = os.environ.get("GWANG_CA")
if ca:
    c = http.client.HTTPSConnection(host, int(port), timeout=30, context=ssl.create_default_context(cafile=ca))
else:
    c = http.client.HTTPConnection(host, int(port), timeout=30)
c.request(method, path, body=sys.argv[4] if len(sys.argv) > 5 else None, headers=headers)
r = c.getresponse()
print(r.status)
print(r.read().decode())
)";

class Sessions : public MultiHost {
 protected:
  // METHOD PATH through the controller's proxy, as `token` (none: ""): the status and the body.
  std::pair<int, std::string> call(const std::string& method, const std::string& path, const std::string& token,
                                   const std::string& body = "") {
    const Outcome o = sh((tls() ? "GWANG_CA=" + ca() + " " : std::string()) + "ip netns exec " + ns(0) + " python3 " +
                         (dir_ / "client.py").string() + " " + method + " '" + path + "' '" + token + "' " +
                         (body.empty() ? "" : "'" + body + "' ") + ip(0) + ":8686");
    const auto nl = o.output.find('\n');
    if (o.status != 0 || nl == std::string::npos) return {0, o.output};
    return {std::stoi(o.output.substr(0, nl)), o.output.substr(nl + 1)};
  }
  std::string start_custom(const std::string& command, const std::string& extra = "") {
    write(dir_ / "service.py", kService);
    write(dir_ / "client.py", kClient);
    const Outcome o = gwang("session start --no-wait --app custom:18080 --mem 64M --workdir " + dir_.string() + " " +
                            extra + " -- " + command);
    EXPECT_EQ(o.status, 0) << o.output;
    const std::string prefix = "session ";
    return o.output.substr(prefix.size(), o.output.find(' ', prefix.size()) - prefix.size());
  }
  json sessions() {
    const Outcome o = gwang("session list --all --json");
    EXPECT_EQ(o.status, 0) << o.output;
    const json j = json::parse(o.output, nullptr, false);
    return j.is_object() ? j["sessions"] : json::array();
  }
  json session(const std::string& id) {
    for (const json& s : sessions()) {
      if (std::to_string(s["id"].get<long long>()) == id) return s;
    }
    return json::object();
  }
};

TEST_F(Sessions, AServiceOnAnotherHostIsItsOwnersAloneThroughTheProxy) {
  const std::string id = start_custom("python3 " + (dir_ / "service.py").string() + " 18080");
  wait_for("the service to answer", [&] { return session(id)["ready"] == true; });
  const std::string host = job(id)["node"];
  const std::string base = "/s/" + id;
  auto [status, body] = call("GET", base + "/where?x=1", token_);
  ASSERT_EQ(status, 200) << body;
  json seen = json::parse(body);
  EXPECT_EQ(seen["path"], "/where?x=1") << "a custom app is served without the proxy's prefix";
  EXPECT_EQ(seen["host"], host) << "the service runs on the session's node";
  EXPECT_EQ(seen["secret_ok"], true) << "the service is shown the session's secret";
  EXPECT_EQ(seen["headers"]["x-forwarded-prefix"], base);
  EXPECT_EQ(seen["headers"]["x-forwarded-proto"], tls() ? "https" : "http");
  EXPECT_NE(gwang("show " + id).output.find("   Session=custom (its address: gwang session open " + id + ")"),
            std::string::npos);
  EXPECT_FALSE(seen["headers"].contains("authorization")) << "the caller's token stays with the proxy";
  EXPECT_EQ(seen["headers"]["cookie"], "theirs=2") << "gwang's cookie stays with the proxy, the service's own go on";
  auto [posted, echoed] = call("POST", base + "/form", token_, "a=6*7");
  EXPECT_EQ(posted, 201) << echoed;
  EXPECT_EQ(json::parse(echoed)["echo"], "a=6*7");
  // Others see no session there; nobody without a login or a token gets in.
  const std::string other = gwang("token create --user daemon").output;
  const std::string theirs = other.substr(other.find_first_of("0123456789abcdef", other.find(':')), 64);
  EXPECT_EQ(call("GET", base + "/where", theirs).first, 404);
  EXPECT_EQ(call("GET", base + "/where", "").first, 401);
  EXPECT_EQ(call("GET", base, token_).first, 301);
  // The controller restarts: the agent links the service again, and the proxy reaches it.
  ::kill(pids_[0], SIGTERM);
  ::waitpid(pids_[0], nullptr, 0);
  pids_[0] = spawn(0, "controller", dir_ / "controller.toml");
  wait_for("the proxy to reach the service again", [&] { return call("GET", base + "/again", token_).first == 200; });
  // Stopped, it is gone: the proxy says so, and nothing of it is left on its node.
  EXPECT_EQ(gwang("session stop " + id).status, 0);
  wait_for("the session to end", [&] { return ended(job(id)); });
  auto [gone, why] = call("GET", base + "/where", token_);
  EXPECT_EQ(gone, 410) << why;
  EXPECT_NE(why.find("has ended (CANCELLED"), std::string::npos) << why;
  wait_for("the service's processes to be gone", [&] {
    return sh("ip netns exec " + ns(host_of(host)) + " pgrep -f '[s]ervice.py' >/dev/null; echo $?").output == "1\n";
  });
}

TEST_F(Sessions, AServiceThatNeverAnswersEndsTheSessionWithWhy) {
  const std::string id = start_custom("sleep 319");
  wait_for("the session to start", [&] { return job(id)["state"] == "RUNNING"; });
  auto [status, body] = call("GET", "/s/" + id + "/", token_);
  EXPECT_EQ(status, 503) << body;  // not yet: it is starting
  wait_for("the session to end", [&] { return ended(job(id)); });
  const json j = job(id);
  EXPECT_EQ(j["state"], "CANCELLED");
  EXPECT_EQ(j["reason"].get<std::string>().rfind(
                "its service never answered on its port (5 s, the controller's session_start_timeout)", 0),
            0u)
      << j["reason"];
  wait_for("its processes to be gone",
           [&] { return sh("pgrep -f 'sleep 31[9]' >/dev/null; echo $?").output == "1\n"; });
}

TEST_F(Sessions, WhatASessionCannotBeIsRefusedWithWhy) {
  write(dir_ / "service.py", kService);
  Outcome o = gwang("session start --app notebook");
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("--app: no app 'notebook' (the apps: jupyter, tensorboard, vscode, terminal or custom)"),
            std::string::npos)
      << o.output;
  o = gwang("session start --app custom");
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.output.find("custom:PORT"), std::string::npos) << o.output;
  o = gwang("session start --app jupyter --cpus 64 --mem 64M");
  EXPECT_NE(o.status, 0);
  EXPECT_NE(o.output.find("no node can ever hold this job"), std::string::npos) << o.output;
  o = gwang("session start --app jupyter --nodes 2 --mem 64M");
  EXPECT_NE(o.status, 0);
  EXPECT_NE(o.output.find("field 'nodes': a session runs on one node"), std::string::npos) << o.output;
  o = gwang("session start --app jupyter --time 2-00:00:00 --mem 64M");
  EXPECT_NE(o.status, 0);
  EXPECT_NE(o.output.find("a session lives at most 1-00:00:00 (the controller's session_max_life)"), std::string::npos)
      << o.output;
  EXPECT_EQ(sessions().size(), 0u) << "nothing was accepted";
}

}  // namespace
}  // namespace gwang::testing::multihost
