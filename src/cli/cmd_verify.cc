#include "cli/commands.h"
#include "repo/verifier.h"

namespace pgkeep {

CommandOutput RunVerify(const CommandContext& ctx, bool read_data, int subset_percent) {
  if (subset_percent != 100 && !read_data)
    throw CommandError{Status::Error(ErrorCode::kUsage, "--subset needs --read-data",
                                     "pgkeep verify --read-data --subset 5")};
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "verify", false);
  Verifier verifier(*opened.repo);
  VerifyReport report = ValueOrThrow(verifier.Run(read_data, subset_percent));
  CommandOutput out;
  out.json = {{"ok", report.ok()},
              {"read_data", read_data},
              {"snapshots", report.snapshots},
              {"index_objects", report.index_objects},
              {"packs", report.packs},
              {"chunks", report.chunks},
              {"bytes_read", report.bytes_read},
              {"packs_read", report.packs_read},
              {"subset_percent", read_data ? subset_percent : 0},
              {"errors", report.errors},
              {"warnings", report.warnings}};
  for (const auto& w : report.warnings) out.text += "warning: " + w + "\n";
  for (const auto& e : report.errors) out.text += "error: " + e + "\n";
  out.text += std::string(report.ok() ? "repository is healthy" : "repository has problems") +
              ": " + std::to_string(report.snapshots) + " snapshot(s), " +
              std::to_string(report.packs) + " pack(s), " + std::to_string(report.chunks) +
              " chunk(s)" +
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
