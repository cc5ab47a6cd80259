#include <cstdio>

#include "cli/commands.h"
#include "expire/expire.h"
#include "repo/pins.h"

namespace pgkeep {

CommandOutput RunExpireCommand(const CommandContext& ctx, bool dry_run) {
  // A dry run changes nothing and may run beside backups.
  auto opened = OpenRepositoryOrThrow(ctx, dry_run ? LockMode::kShared : LockMode::kExclusive,
                                      dry_run ? "expire --dry-run" : "expire", true);
  ExpireOptions options;
  options.dry_run = dry_run;
  options.gc.pack_size = opened.config.repository.pack_size_mib << 20;
  ExpireReport r = ValueOrThrow(RunExpire(*opened.repo, opened.config, options));

  CommandOutput out;
  nlohmann::json list = nlohmann::json::array();
  char line[256];
  std::snprintf(line, sizeof line, "%-26s %-12s %-8s %-20s %-7s %s\n", "ID", "DATABASE", "KIND", "TIME",
                "ACTION", "WHY");
  std::string table = line;
  for (const auto& d : r.decisions) {
    std::string why;
    for (const auto& reason : d.reasons) why += (why.empty() ? "" : ", ") + reason;
    list.push_back({{"id", d.id}, {"database", d.database}, {"kind", d.kind},
                    {"time", FormatIsoTime(d.time)}, {"keep", d.keep}, {"reasons", d.reasons}});
    std::snprintf(line, sizeof line, "%-26s %-12s %-8s %-20s %-7s %s\n", d.id.c_str(),
                  d.database.empty() ? "-" : d.database.c_str(), d.kind.c_str(), FormatIsoTime(d.time).c_str(),
                  d.keep ? "keep" : (dry_run ? "expire" : "expired"), why.c_str());
    table += line;
  }
  const GcReport& g = r.gc;
  out.json = {{"ok", true},
              {"dry_run", dry_run},
              {"backups", list},
              {"expired", r.expired},
              {"gc",
               {{"packs", g.packs},
                {"packs_deleted", g.packs_deleted},
                {"packs_repacked", g.packs_repacked},
                {"packs_written", g.packs_written},
                {"leftovers_deleted", g.leftovers_deleted},
                {"chunks_live", g.chunks_live},
                {"chunks_dead", g.chunks_dead},
                {"bytes_freed", g.bytes_freed},
                {"bytes_moved", g.bytes_moved}}}};
  out.text = table + "\n" + (dry_run ? "dry run: would expire " : "expired ") + std::to_string(r.expired) +
             " of " + std::to_string(r.decisions.size()) + " backup(s); garbage collection " +
             (dry_run ? "would free " : "freed ") + FormatBytes(g.bytes_freed) + " (" +
             std::to_string(g.packs_deleted) + " pack(s) deleted, " + std::to_string(g.packs_repacked) +
             " repacked, " + std::to_string(g.leftovers_deleted) + " leftover(s) removed)\n";
  return out;
}

CommandOutput RunPin(const CommandContext& ctx, const PinArgs& args) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, args.unpin ? "unpin" : "pin", false);
  CommandOutput out;
  if (args.unpin) {
    // Works on the pin alone: a pin whose snapshot is gone can still be removed.
    auto pins = ValueOrThrow(ReadPins(*opened.repo));
    if (!pins.count(args.snapshot))
      throw CommandError{Status::Error(ErrorCode::kNotFound, "backup \"" + args.snapshot + "\" is not pinned",
                                       "see \"pgkeep expire --dry-run\" for what is pinned")};
    ThrowIfError(RemovePin(*opened.repo, args.snapshot));
    out.json = {{"ok", true}, {"backup", args.snapshot}, {"pinned", false}};
    out.text = "unpinned " + args.snapshot + ": retention rules decide its fate again\n";
    return out;
  }
  Snapshot s = ValueOrThrow(opened.repo->ReadSnapshot(args.snapshot));
  Pin pin;
  pin.snapshot = s.id;
  pin.note = args.note;
  pin.created = ctx.clock->NowSeconds();
  if (!args.until.empty()) {
    auto until = ParseDate(args.until);
    if (!until.ok()) throw CommandError{until.status()};
    if (*until <= pin.created)
      throw CommandError{Status::Error(ErrorCode::kUsage, "--until " + args.until + " is in the past",
                                       "give a future date, or no --until to pin until unpinned")};
    pin.until = *until;
  }
  ThrowIfError(WritePin(*opened.repo, pin));
  out.json = {{"ok", true},
              {"backup", s.id},
              {"pinned", true},
              {"until", pin.until ? nlohmann::json(FormatIsoTime(*pin.until)) : nlohmann::json()},
              {"note", pin.note}};
  out.text = "pinned " + s.id + (pin.until ? " until " + FormatIsoTime(*pin.until) : " until unpinned") +
             (pin.note.empty() ? "" : " (" + pin.note + ")") + "\n";
  return out;
}

Result<int64_t> ParseDate(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) {
    tm = {};
    end = strptime(text.c_str(), "%Y-%m-%d", &tm);
  }
  if (!end || *end)
    return Status::Error(ErrorCode::kUsage, "\"" + text + "\" is not a date",
                         "use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace pgkeep
