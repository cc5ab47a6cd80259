#include "cli/commands.h"

namespace pgkeep {

CommandOutput RunInit(const CommandContext& ctx) {
  Config config = LoadConfigOrThrow(ctx);
  auto password = RepositoryPasswordOrThrow(*ctx.env, config.repository);
  auto storage = ValueOrThrow(ctx.open_storage(config.repository));
  InitOptions options;
  options.encrypted = config.repository.encryption != "none";
  auto repo = ValueOrThrow(Repository::Init(*storage, *ctx.clock, options, password));
  const RepoSettings& s = repo->settings();

  CommandOutput out;
  out.json = {{"ok", true},
              {"repository",
               {{"location", storage->Describe()},
                {"id", s.id},
                {"format_version", s.version},
                {"encryption", s.encrypted ? "aes-256-gcm" : "none"},
                {"created", FormatIsoTime(s.created)}}}};
  out.text = "created repository " + s.id + " at " + storage->Describe() + "\n" +
             "  encryption: " + (s.encrypted ? "aes-256-gcm (key wrapped with scrypt)" : "none") +
             "\n  format version: " + std::to_string(s.version) + "\n";
  if (s.encrypted)
    out.text += "  keep the repository password safe: without it the backups cannot be read\n";
  return out;
}

}  // namespace pgkeep
