#include "cli/client.h"

#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace gwang::cli {

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

std::string default_data_dir() {
  if (const char* d = std::getenv("GWANG_DATA"); d && *d) return d;
  if (::getuid() == 0) return "/var/lib/gwang";
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/gwang";
  return env_or("HOME", "/tmp") + "/.local/state/gwang";
}

Result<Endpoint> resolve_endpoint(const std::string& url_flag, const std::string& token_flag) {
  const std::string data = default_data_dir();
  Endpoint e;
  e.url = !url_flag.empty() ? url_flag : env_or("GWANG_URL", read_first_line(data + "/url"));
  e.token = !token_flag.empty() ? token_flag : env_or("GWANG_TOKEN", read_first_line(data + "/token"));
  if (e.url.empty()) {
    return fail("no controller: give --url, set GWANG_URL, or start one here with 'gwang up' (looked in " + data + ")");
  }
  if (e.token.empty()) return fail("no token: give --token or set GWANG_TOKEN (looked in " + data + "/token)");
  return e;
}

Result<Response> call(const Endpoint& endpoint, const std::string& method, const std::string& path,
                      const std::string& body) {
  httplib::Client client(endpoint.url);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  client.set_tcp_nodelay(true);  // headers and body go in two writes: no waiting for a delayed ACK between them
  client.set_bearer_token_auth(endpoint.token);
  httplib::Result r = method == "POST" ? client.Post(path, body, "application/json") : client.Get(path);
  if (!r) return fail("cannot reach the controller at " + endpoint.url + ": " + httplib::to_string(r.error()));
  Response out{r->status, r->body, r->get_header_value("X-Gwang-Next-Offset"), r->get_header_value("X-Gwang-Job-State")};
  return out;
}

}  // namespace gwang::cli
