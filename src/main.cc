// pgkeep's entry point: wires the real clock, keyring, PostgreSQL connector and
// storage drivers into the CLI.
#include "cli/app.h"

int main(int argc, char** argv) {
  pgkeep::SystemClock clock;
  pgkeep::CommandContext ctx;
  pgkeep::KernelKeyring keyring;
  pgkeep::LibpqConnector pg;
  ctx.clock = &clock;
  ctx.pg = &pg;
  ctx.keyring = &keyring;
  ctx.open_storage = pgkeep::OpenConfiguredStorage;
  return pgkeep::RunCli(argc, argv, std::move(ctx));
}
