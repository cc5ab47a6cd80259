// monitor/copy_status.h — what `status` says about [[copy]] targets: per
// database and target, the newest backup present there, and a problem when
// it is older than the target's max_copy_age (or the target cannot be read).
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "config/config.h"
#include "monitor/status.h"
#include "repo/repository.h"

namespace pgkeep {

// Adds `copy`'s part to every database of `report` (DatabaseStatus::copies,
// reasons, healthy), from the target's snapshot listing or the error that
// kept it from being read.
void AddCopyStatus(StatusReport& report, const CopyConfig& copy,
                   const Result<SnapshotList>& listing);

}  // namespace pgkeep
