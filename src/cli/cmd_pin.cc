#include <ctime>

#include "cli/commands.h"
#include "repo/pins.h"

namespace pgkeep {

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
