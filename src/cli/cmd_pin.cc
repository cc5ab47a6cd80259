// pin and unpin: parse, call PinSnapshot/UnpinSnapshot (repo/pins.h), render.
#include "cli/commands.h"
#include "repo/pins.h"

namespace pgkeep {

CommandOutput RunPin(const CommandContext& ctx, const PinArgs& args) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, args.unpin ? "unpin" : "pin", false);
  CommandOutput out;
  if (args.unpin) {
    ThrowIfError(UnpinSnapshot(*opened.repo, args.snapshot));
    out.json = {{"ok", true}, {"backup", args.snapshot}, {"pinned", false}};
    out.text = "unpinned " + args.snapshot + ": retention rules decide its fate again\n";
    return out;
  }
  Pin pin =
      ValueOrThrow(PinSnapshot(*opened.repo, PinRequest{args.snapshot, args.until, args.note}));
  out.json = {{"ok", true},
              {"backup", pin.snapshot},
              {"pinned", true},
              {"until", pin.until ? nlohmann::json(FormatIsoTime(*pin.until)) : nlohmann::json()},
              {"note", pin.note}};
  out.text = "pinned " + pin.snapshot +
             (pin.until ? " until " + FormatIsoTime(*pin.until) : " until unpinned") +
             (pin.note.empty() ? "" : " (" + pin.note + ")") + "\n";
  return out;
}

}  // namespace pgkeep
