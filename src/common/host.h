// common/host.h — facts about this host and its processes.
#pragma once

#include <string>

namespace pgkeep {

std::string Hostname();
// True if a process with this pid exists on this host.
bool IsProcessAlive(int pid);
int CurrentPid();

}  // namespace pgkeep
