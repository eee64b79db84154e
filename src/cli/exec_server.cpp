// The command's long-running parts (gwang up, controller, agent) live in gwang-server, next to this
// program: the command itself then starts without the server's libraries (TLS, SQLite, TOML), which
// is most of what a `gwang submit` or `gwang queue` costs on the client side.
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"

namespace gwang::cli {

int exec_server(char** argv) {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string server = "gwang-server";
  if (n > 0) {
    self[n] = '\0';
    std::string path(self);
    server = path.substr(0, path.rfind('/') + 1) + "gwang-server";
  }
  argv[0] = server.data();
  ::execv(server.c_str(), argv);
  std::fprintf(stderr, "gwang: cannot run %s: %s\n", server.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace gwang::cli
