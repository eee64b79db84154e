// Controllers' URLs (urls.h).

#include "api/urls.h"

namespace gwang::api {

bool uses_tls(const std::string& url) { return url.rfind("https://", 0) == 0; }

std::string authority_of(const std::string& url) {
  const std::size_t start = url.find("://");
  const std::string rest = start == std::string::npos ? url : url.substr(start + 3);
  return rest.substr(0, rest.find('/'));
}

Result<std::pair<std::string, std::string>> host_and_port(const std::string& url) {
  const bool tls = uses_tls(url);
  if (!tls && url.rfind("http://", 0) != 0) {
    return fail("controller URL '" + url + "': expected http://HOST:PORT or https://HOST:PORT");
  }
  const std::string authority = authority_of(url);
  std::string host = authority, port = tls ? "443" : "80";
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string::npos) return fail("controller URL '" + url + "': unclosed '['");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos) {
    return fail("controller URL '" + url + "': expected " + (tls ? "https" : "http") + "://HOST:PORT");
  }
  return std::pair{host, port};
}

std::vector<std::string> controller_urls(const std::string& list) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= list.size()) {
    std::size_t comma = list.find(',', at);
    if (comma == std::string::npos) comma = list.size();
    std::string url = list.substr(at, comma - at);
    url.erase(0, url.find_first_not_of(' '));
    url.erase(url.find_last_not_of(' ') + 1);
    if (!url.empty()) out.push_back(url);
    at = comma + 1;
  }
  return out;
}

}  // namespace gwang::api
