// copy: parse, open both repositories, call CopyBackups (copy/copy.h), render.
#include "cli/commands.h"
#include "copy/copy.h"

namespace pgkeep {

CommandOutput RunCopy(const CommandContext& ctx, const CopyArgs& args) {
  // CopyBackups loads the index itself, after listing the snapshots.
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "copy", false);
  if (!args.db.empty()) DatabaseOrThrow(opened.config, args.db);
  Config target_config = ValueOrThrow(ConfigForCopy(opened.config, args.to));
  auto target = ValueOrThrow(ctx.open_storage(target_config.repository));
  CopyOptions options;
  if (!args.db.empty()) options.databases.push_back(args.db);
  options.backup = args.backup;
  options.lock_wait = ctx.lock_wait;
  // ConfigForCopy put the copy's own password in place of the repository's, if it has one.
  const RepositoryConfig& main_repo = opened.config.repository;
  if (target_config.repository.password_env != main_repo.password_env ||
      target_config.repository.password_file != main_repo.password_file)
    options.target_password = RepositoryPasswordOrThrow(*ctx.env, target_config.repository);
  options.progress = ctx.progress;
  options.target_databases = &target_config.databases;
  CopyReport r = ValueOrThrow(CopyBackups(*ctx.env, *opened.repo, *target, *ctx.clock, options));

  CommandOutput out;
  out.json = {{"ok", true},
              {"target", args.to},
              {"location", target->Describe()},
              {"initialized", r.initialized},
              {"copied", r.copied},
              {"present", r.present},
              {"skipped_by_retention", r.skipped_by_retention},
              {"packs_copied", r.packs_copied},
              {"packs_present", r.packs_present},
              {"packs_indexed", r.packs_indexed},
              {"wal_copied", r.wal_copied},
              {"reports_copied", r.reports_copied},
              {"forget_entries_copied", r.forget_entries_copied},
              {"bytes_copied", r.bytes_copied}};
  std::string text;
  if (r.initialized) text += "made " + target->Describe() + " a copy of this repository\n";
  for (const std::string& id : r.copied) text += "copied  " + id + "\n";
  text += std::to_string(r.copied.size()) + " backup(s) copied to \"" + args.to + "\", " +
          std::to_string(r.present.size()) + " already there" +
          (r.skipped_by_retention.empty()
               ? std::string()
               : ", " + std::to_string(r.skipped_by_retention.size()) +
                     " not sent (the copy's retention would expire them; --backup ID sends one)") +
          "; " + std::to_string(r.packs_copied) + " pack(s)" +
          (r.packs_indexed ? " (" + std::to_string(r.packs_indexed) + " more indexed again)"
                           : std::string()) +
          ", " + std::to_string(r.wal_copied) + " WAL file(s), " +
          std::to_string(r.reports_copied) + " drill report(s), " +
          std::to_string(r.forget_entries_copied) + " forget-log entr(ies), " +
          std::to_string(r.bytes_copied) + " bytes sent\n";
  out.text = text;
  return out;
}

}  // namespace pgkeep
