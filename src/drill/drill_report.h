// drill/drill_report.h — a drill's report: JSON (the stored form, version 1,
// docs/drills.md), text and a self-contained HTML page; stored in the
// repository as drills/<database>/<id> (Repository::WriteDrillReport), so it
// outlives the host that ran the drill.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "drill/drill.h"
#include "repo/repository.h"

namespace pgkeep {

nlohmann::json DrillToJson(const DrillResult& r);
// kCorrupt naming what is missing or mistyped.
Result<DrillResult> DrillFromJson(const nlohmann::json& j);

std::string RenderDrillText(const DrillResult& r);
// One HTML document, no external resources (styles inline, no scripts).
std::string RenderDrillHtml(const DrillResult& r);

Status StoreDrillReport(const Repository& repo, const DrillResult& r);
Result<DrillResult> ReadDrillReport(const Repository& repo, const std::string& db,
                                    const std::string& id);

// Stored reports of `db` (every database when empty), newest first, at most
// `limit` (0: all). A report that cannot be read is skipped with a warning
// through the repository's warning sink.
Result<std::vector<DrillResult>> DrillHistory(const Repository& repo, const std::string& db,
                                              size_t limit);

}  // namespace pgkeep
