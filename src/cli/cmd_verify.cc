// verify: parses, calls VerifyRepository (monitor/verify.h), renders the report.
#include "cli/commands.h"
#include "monitor/verify.h"

namespace pgkeep {

CommandOutput RunVerify(const CommandContext& ctx, bool read_data, int subset_percent,
                        bool repair) {
  VerifyOptions options;
  options.read_data = read_data;
  options.subset_percent = subset_percent;
  options.repair = repair;
  options.progress = ctx.progress;
  ThrowIfError(CheckVerifyRequest(options));
  auto opened = OpenRepositoryOrThrow(ctx, repair ? LockMode::kExclusive : LockMode::kShared,
                                      repair ? "verify --repair" : "verify", false);
  VerifyResult result = ValueOrThrow(VerifyRepository(*ctx.env, *opened.repo, options));
  const VerifyReport& report = result.repository;
  const std::optional<RebuildReport>& rebuilt = result.rebuilt;
  const uint64_t wal_segments = result.wal.segments;
  nlohmann::json timelines = nlohmann::json::object();
  std::string timeline_text;
  for (const auto& [db, tree] : result.wal.timelines) {
    timelines[db] = TimelinesToJson(tree);
    timeline_text += "timelines of database \"" + db + "\":\n" + FormatTimelineTree(tree, "  ");
  }
  CommandOutput out;
  out.json = {{"ok", report.ok()},
              {"read_data", read_data},
              {"snapshots", report.snapshots},
              {"index_objects", report.index_objects},
              {"packs", report.packs},
              {"chunks", report.chunks},
              {"wal_segments", wal_segments},
              {"bytes_read", report.bytes_read},
              {"packs_read", report.packs_read},
              {"subset_percent", read_data ? subset_percent : 0},
              {"timelines", timelines},
              {"errors", report.errors},
              {"warnings", report.warnings}};
  out.text += timeline_text;
  if (rebuilt) {
    out.json["repair"] = {{"packs", rebuilt->packs},
                          {"chunks", rebuilt->chunks},
                          {"blobs_left_out", rebuilt->blobs_left_out},
                          {"index_objects_written", rebuilt->index_objects_written},
                          {"index_objects_removed", rebuilt->index_objects_removed},
                          {"problems", rebuilt->problems}};
    out.text += "index rebuilt from " + std::to_string(rebuilt->packs) +
                " pack(s): " + std::to_string(rebuilt->chunks) + " chunk(s) in " +
                std::to_string(rebuilt->index_objects_written) + " new index object(s), " +
                std::to_string(rebuilt->index_objects_removed) + " old one(s) removed\n";
    for (const auto& p : rebuilt->problems) out.text += "repair: " + p + "\n";
  }
  for (const auto& w : report.warnings) out.text += "warning: " + w + "\n";
  for (const auto& e : report.errors) out.text += "error: " + e + "\n";
  out.text += std::string(report.ok() ? "repository is healthy" : "repository has problems") +
              ": " + std::to_string(report.snapshots) + " snapshot(s), " +
              std::to_string(report.packs) + " pack(s), " + std::to_string(report.chunks) +
              " chunk(s), " + std::to_string(wal_segments) + " WAL segment(s)" +
              (read_data ? ", " + FormatBytes(report.bytes_read) + " read and checked" +
                               (subset_percent < 100
                                    ? " (" + std::to_string(report.packs_read) + " packs, a " +
                                          std::to_string(subset_percent) + "% sample)"
                                    : "")
                         : "") +
              (report.ok() ? "" : ", " + std::to_string(report.errors.size()) + " error(s)") + "\n";
  if (!report.ok()) out.result = ErrorCode::kCheckFailed;
  return out;
}

}  // namespace pgkeep
