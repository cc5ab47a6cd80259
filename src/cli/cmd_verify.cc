// verify: the repository's objects (repo/verifier.h), then its WAL
// (wal/wal_verify.h); renders both as one report.
#include "cli/commands.h"
#include "expire/expire.h"
#include "repo/index_rebuild.h"
#include "repo/verifier.h"
#include "wal/wal_verify.h"

namespace pgkeep {

CommandOutput RunVerify(const CommandContext& ctx, bool read_data, int subset_percent, bool repair) {
  if (subset_percent != 100 && !read_data)
    throw CommandError{Status::Error(ErrorCode::kUsage, "--subset needs --read-data",
                                     "pgkeep verify --read-data --subset 5")};
  if (repair && subset_percent != 100)
    throw CommandError{Status::Error(ErrorCode::kUsage, "--repair reads every pack; --subset does not apply")};
  auto opened = OpenRepositoryOrThrow(ctx, repair ? LockMode::kExclusive : LockMode::kShared,
                                      repair ? "verify --repair" : "verify", false);
  std::optional<RebuildReport> rebuilt;
  if (repair) rebuilt = ValueOrThrow(RebuildIndex(*opened.repo, read_data));
  // The verifier reports every problem it meets itself; the same problems
  // as warnings would say everything twice.
  opened.repo->set_warning_sink({});
  Verifier verifier(*opened.repo);
  VerifyReport report = ValueOrThrow(verifier.Run(read_data, subset_percent));
  if (auto last_expire = ReadLastExpire(*opened.repo); !last_expire.ok())
    report.warnings.push_back(last_expire.status().message() + " (a monitoring record; the next expire rewrites it)");
  // WAL: timelines and continuity for every database with physical backups,
  // and with --read-data every WAL object.
  auto snapshots = ValueOrThrow(opened.repo->ListSnapshots()).snapshots;
  WalVerifyReport wal = ValueOrThrow(VerifyWal(*opened.repo, snapshots, read_data));
  report.bytes_read += wal.bytes_read;
  for (auto& e : wal.errors) report.errors.push_back(std::move(e));
  for (auto& w : wal.warnings) report.warnings.push_back(std::move(w));
  const uint64_t wal_segments = wal.segments;
  nlohmann::json timelines = nlohmann::json::object();
  std::string timeline_text;
  for (const auto& [db, tree] : wal.timelines) {
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
    out.text += "index rebuilt from " + std::to_string(rebuilt->packs) + " pack(s): " +
                std::to_string(rebuilt->chunks) + " chunk(s) in " + std::to_string(rebuilt->index_objects_written) +
                " new index object(s), " + std::to_string(rebuilt->index_objects_removed) + " old one(s) removed\n";
    for (const auto& p : rebuilt->problems) out.text += "repair: " + p + "\n";
  }
  for (const auto& w : report.warnings) out.text += "warning: " + w + "\n";
  for (const auto& e : report.errors) out.text += "error: " + e + "\n";
  out.text += std::string(report.ok() ? "repository is healthy" : "repository has problems") +
              ": " + std::to_string(report.snapshots) + " snapshot(s), " +
              std::to_string(report.packs) + " pack(s), " + std::to_string(report.chunks) +
              " chunk(s), " + std::to_string(wal_segments) + " WAL segment(s)" +
              (read_data ? ", " + FormatBytes(report.bytes_read) + " read and checked" +
                               (subset_percent < 100 ? " (" + std::to_string(report.packs_read) + " packs, a " +
                                                           std::to_string(subset_percent) + "% sample)"
                                                     : "")
                         : "") +
              (report.ok() ? "" : ", " + std::to_string(report.errors.size()) + " error(s)") + "\n";
  if (!report.ok()) out.result = ErrorCode::kCheckFailed;
  return out;
}

}  // namespace pgkeep
