// pgkeep's entry point: wires the real clock, keyring and storage drivers into the CLI.
#include "cli/app.h"

int main(int argc, char** argv) {
  pgkeep::SystemClock clock;
  pgkeep::CommandContext ctx;
  pgkeep::KernelKeyring keyring;
  ctx.clock = &clock;
  ctx.keyring = &keyring;
  ctx.open_storage = pgkeep::OpenConfiguredStorage;
  return pgkeep::RunCli(argc, argv, std::move(ctx));
}
