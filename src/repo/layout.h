// repo/layout.h — which object names belong in a repository.
//
// Every folder has a grammar (docs/repository-format.md, "Object layout").
// A name outside it is not pgkeep's: a stray file, an editor's backup, a
// half-copied object. Such names are reported as warnings and otherwise left
// alone: they are never read as objects (so they cannot blind a command) and
// never deleted (they may be somebody's data).
#pragma once

#include <string>
#include <vector>

#include "storage/storage.h"

namespace pgkeep {

// "data/xx/<64 hex>" whose folder is the first two digits of the name.
bool IsPackObjectName(const std::string& name);
// "index/<64 hex>".
bool IsIndexObjectName(const std::string& name);
// Whether `name` fits the grammar of its folder. Under "wal/" only the shape
// "wal/<database>/<file>" is checked; the WAL archive owns the rest.
bool IsKnownObjectName(const std::string& name);

// Warnings for every listed object that IsKnownObjectName rejects.
std::vector<std::string> UnknownObjectWarnings(const std::vector<ObjectInfo>& listing);

}  // namespace pgkeep
