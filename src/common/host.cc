#include "common/host.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace pgkeep {

std::string Hostname() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) return "unknown";
  return host;
}

bool IsProcessAlive(int pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

int CurrentPid() { return static_cast<int>(::getpid()); }

}  // namespace pgkeep
