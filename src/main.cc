// pgkeep's entry point: wires the real Env, clock, keyring, PostgreSQL
// connector, alert transport and storage drivers into the CLI.
#include "cli/app.h"
#include "common/bytes.h"
#include "notify/curl_transport.h"

int main(int argc, char** argv) {
  pgkeep::KeepSmallBuffersInTheHeap();
  pgkeep::PosixEnv env;
  pgkeep::SystemClock clock;
  pgkeep::CommandContext ctx;
  pgkeep::KernelKeyring keyring;
  ctx.env = &env;
  pgkeep::LibpqConnector pg(env);
  ctx.clock = &clock;
  ctx.pg = &pg;
  ctx.keyring = &keyring;
  pgkeep::CurlTransport transport;
  ctx.alert_transport = &transport;
  ctx.open_storage = [&env](const pgkeep::RepositoryConfig& config) {
    return pgkeep::OpenConfiguredStorage(env, config);
  };
  return pgkeep::RunCli(argc, argv, std::move(ctx));
}
