#include "monitor/verify.h"

#include "expire/expire.h"

namespace pgkeep {

Status CheckVerifyRequest(const VerifyOptions& options) {
  if (options.subset_percent != 100 && !options.read_data)
    return Status::Error(ErrorCode::kUsage, "--subset needs --read-data",
                         "pgkeep verify --read-data --subset 5");
  if (options.repair && options.subset_percent != 100)
    return Status::Error(ErrorCode::kUsage, "--repair reads every pack; --subset does not apply");
  return Status::Ok();
}

Result<VerifyResult> VerifyRepository(Env& env, Repository& repo, const VerifyOptions& options) {
  PGKEEP_RETURN_IF_ERROR(CheckVerifyRequest(options));
  VerifyResult result;
  if (options.repair) {
    ReportStep(options.progress, "rebuilding the index");
    auto rebuilt = RebuildIndex(repo, options.read_data);
    if (!rebuilt.ok()) return rebuilt.status();
    result.rebuilt = std::move(*rebuilt);
  }
  // The verifier reports every problem it meets itself; the same problems
  // as warnings would say everything twice.
  repo.set_warning_sink({});
  ReportStep(options.progress, "checking objects");
  Verifier verifier(repo);
  auto report = verifier.Run(options.read_data, options.subset_percent, env.Random64());
  if (!report.ok()) return report.status();
  result.repository = std::move(*report);
  if (auto last_expire = ReadLastExpire(repo); !last_expire.ok())
    result.repository.warnings.push_back(last_expire.status().message() +
                                         " (a monitoring record; the next expire rewrites it)");
  ReportStep(options.progress, "checking WAL");
  auto listed = repo.ListSnapshots();
  if (!listed.ok()) return listed.status();
  auto wal = VerifyWal(repo, listed->snapshots, options.read_data);
  if (!wal.ok()) return wal.status();
  result.wal = std::move(*wal);
  result.repository.bytes_read += result.wal.bytes_read;
  for (const auto& e : result.wal.errors) result.repository.errors.push_back(e);
  for (const auto& w : result.wal.warnings) result.repository.warnings.push_back(w);
  return result;
}

}  // namespace pgkeep
