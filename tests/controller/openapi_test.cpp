// docs/api/openapi.yaml and the server agree: every route served is documented, and every
// documented operation is served.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "controller/http.h"

namespace gwang::controller {
namespace {

// The "METHOD /path" pairs that openapi.yaml documents (path keys at two spaces, methods at four).
std::set<std::string> documented() {
  std::ifstream in(std::string(GWANG_TEST_DIR) + "/../../docs/api/openapi.yaml");
  EXPECT_TRUE(in.good());
  std::set<std::string> out;
  std::string line, path;
  const std::regex path_re(R"(^  (/api/v1/[^:]*|/metrics|/s/[^:]*):\s*$)");
  const std::regex method_re(R"(^    (get|post|put|delete|patch|options):)");
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (line == "paths:")
      in_paths = true;
    else if (!line.empty() && line[0] != ' ')
      in_paths = false;
    std::smatch m;
    if (!in_paths) continue;
    if (std::regex_match(line, m, path_re))
      path = m[1];
    else if (std::regex_search(line, m, method_re)) {
      std::string method = m[1];
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.insert(method + " " + path);
    }
  }
  return out;
}

// The server's routes and the document's operations are the same set.
TEST(OpenApi, RoutesMatchTheDocument) {
  const auto dir = std::filesystem::temp_directory_path() / ("gwang_openapi_test_" + std::to_string(::getpid()));
  ControllerOptions options;
  options.data_dir = dir.string();
  options.local_node = "n";
  options.host.cpus = 1;
  options.host.memory_bytes = 1LL << 30;
  auto controller = Controller::open(options, 0);
  ASSERT_TRUE(controller) << controller.error().message;
  auto tokens = TokenStore::load((dir / "tokens").string());
  ASSERT_TRUE(tokens);
  ApiServer server(**controller, *tokens);
  const std::set<std::string> served(server.routes().begin(), server.routes().end());
  std::filesystem::remove_all(dir);
  const std::set<std::string> doc = documented();
  EXPECT_FALSE(doc.empty());
  for (const auto& r : served) EXPECT_TRUE(doc.contains(r)) << r << " is served but not documented";
  for (const auto& r : doc) EXPECT_TRUE(served.contains(r)) << r << " is documented but not served";
}

}  // namespace
}  // namespace gwang::controller
