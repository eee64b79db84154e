// Controllers' URLs, as the command line, the agents and the jobs are given them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gwang::api {

// The host and port of a controller's URL, http://HOST[:PORT] or https://HOST[:PORT] ("[v6]" hosts
// too; port 80 or 443 when none), or why it is not one.
Result<std::pair<std::string, std::string>> host_and_port(const std::string& url);

// Whether a controller's URL is https://.
bool uses_tls(const std::string& url);

// A URL's HOST[:PORT], as a request's Host header names it.
std::string authority_of(const std::string& url);

// The URLs of a comma-separated list ("http://ctl1:8686,http://ctl2:8686").
std::vector<std::string> controller_urls(const std::string& list);

}  // namespace gwang::api
