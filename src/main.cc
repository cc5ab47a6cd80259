// pgkeep's entry point: wires the real clock and storage drivers into the CLI.
#include "cli/app.h"

int main(int argc, char** argv) {
  pgkeep::SystemClock clock;
  pgkeep::CommandContext ctx;
  ctx.clock = &clock;
  ctx.open_storage = pgkeep::OpenConfiguredStorage;
  return pgkeep::RunCli(argc, argv, std::move(ctx));
}
