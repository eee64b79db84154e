#include "cli/step_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gwang::cli {

Result<StepSocket> StepSocket::open(const std::string& what) {
  StepSocket s;
  s.listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s.listener < 0) return fail("a socket for " + what + ": " + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t len = sizeof addr;
  if (::bind(s.listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s.listener, 1024) != 0 ||
      ::getsockname(s.listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || ::pipe2(s.wake, O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    ::close(s.listener);
    return fail(what + " cannot listen: " + why);
  }
  s.port = ntohs(addr.sin_port);
  return s;
}

void StepSocket::wake_up() const { (void)!::write(wake[1], "x", 1); }

void StepSocket::drain() const {
  char buf[16];
  (void)!::read(wake[0], buf, sizeof buf);
}

void StepSocket::close() {
  for (int* fd : {&listener, &wake[0], &wake[1]}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void send_whole(int fd, std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace gwang::cli
