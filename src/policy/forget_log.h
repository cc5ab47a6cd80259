// policy/forget_log.h — the forget log: which rows retention policies
// erased, kept in the repository (forget/<database>/<id>;
// docs/repository-format.md), so that a restore of a backup taken before an
// erasure erases those rows again before it reports success.
//
// Staging: a batch inserts its entry into pgkeep.forget_staged, in the
// erased database and in the batch's own transaction (StageErasures), so a
// committed erasure always has its entry and a rolled-back one has none,
// and no file is written or synced while the batch holds its row locks.
// ShipStagedErasures then moves the staged entries to the repository,
// merged (one entry per table and action, split at 100,000 rows), and
// deletes them from the table in one transaction: the run ships every few
// seconds, at its end, and (for a run that died) at the next run's start.
// A crash between the write and the delete ships an entry twice, which
// re-applying does not mind. Until it is shipped, an erasure is in the
// database but not yet in the repository's log.
//
// A row is named by its primary key *and* the value its timestamp column
// had (as epoch seconds): a key used again later for another row (a user
// signing up again, a sequence that went back with a restore) has another
// timestamp and is never erased by an old entry.
//
// Re-applying reads the entries written since a point (the restored
// backup's start, less kForgetMarginSeconds (repo/format.h) for batches
// that began before it and committed after), looks each table and column up
// in the restored database's catalog (nothing from an entry becomes SQL
// text: names are quoted, values and keys are parameters), and deletes or
// redacts the rows. A row counts as redacted when every redacted column
// holds one of the values the log ever redacted it to (a policy whose
// redact value changed leaves rows with the old one: still redacted). It is
// idempotent. A statement that fails (a foreign key another table's rows
// still use) is tried again after the others, until no more succeed; what
// still fails is the error.
//
// Thread safety: none; one connection, one thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "postgres/connection.h"
#include "repo/repository.h"

namespace pgkeep {

struct ForgetEntry {
  std::string policy;
  std::string schema;            // unquoted, as in the catalog
  std::string table;             // unquoted
  std::vector<std::string> key;  // primary-key column names, in index order
  std::string timestamp_column;  // unquoted
  std::string action;            // "redact" | "delete"
  std::vector<std::pair<std::string, std::string>> redact;  // column -> value
  int64_t at = 0;                                           // unix seconds, written
  // Each row: its key values as text, then its timestamp as epoch seconds
  // (extract(epoch from ...), text).
  std::vector<std::vector<std::string>> rows;
};

std::string EncodeForgetEntry(const ForgetEntry& entry);
// kCorrupt naming `what` when the JSON is not an entry or breaks a bound.
Result<ForgetEntry> DecodeForgetEntry(const std::string& json, const std::string& what);

// Writes `entry` to `db`'s forget log under new ids (another on a clash),
// split in parts of at most 100,000 rows and about 8 MiB; returns how many
// entries were written.
Result<int> AppendForgetEntry(const Repository& repo, const std::string& db,
                              const ForgetEntry& entry);

// The table staged entries wait in, in the erased database.
inline constexpr char kStagedErasuresTable[] = "pgkeep.forget_staged";

// Creates schema pgkeep and kStagedErasuresTable when missing.
Status CreateStagedErasuresTable(PgConnection& pg);

// Inserts `entry` into kStagedErasuresTable; call inside the transaction
// that erased its rows.
Status StageErasures(PgConnection& pg, const ForgetEntry& entry);

// Moves the entries staged in the database `pg` is connected to into `db`'s
// forget log: merged per table, action and redaction, each merged entry
// carrying the earliest time of its parts; the staged rows deleted in the
// transaction that read them (FOR UPDATE SKIP LOCKED: two shippers never
// take the same rows). Call outside a transaction. Returns how many entries
// were written. A staged row that is not a valid entry is kCorrupt (nothing
// of its chunk is shipped or deleted). The staging table is writable by
// whoever holds its privileges, and restores re-apply what the log says:
// an entry that none of `policies` (those of `db`) could have written (its
// policy, table, timestamp column, action or redaction differ) is never
// shipped; it is deleted from the staging table and warned about.
Result<int> ShipStagedErasures(const Repository& repo, PgConnection& pg, const std::string& db,
                               const std::vector<const RetentionPolicyConfig*>& policies);

// What waits in kStagedErasuresTable: batches (rows of the table) and the
// oldest one's staging time (text, as the server prints it; "" when none).
// None when the table does not exist.
struct StagedErasures {
  int64_t batches = 0;
  std::string oldest;
};
Result<StagedErasures> CountStagedErasures(PgConnection& pg);

// The ids of `db`'s entries written at or after `since` (unix seconds).
Result<std::vector<std::string>> ForgetEntriesSince(const Repository& repo, const std::string& db,
                                                    int64_t since);

// Session settings that make values read as text read back the same in
// another session: UTF-8, ISO dates. Run on every connection that writes
// or re-applies the log.
Status SetForgetLogSession(PgConnection& pg);

struct ErasureReplay {
  int entries = 0;                 // entries read
  int64_t rows = 0;                // row identities they hold
  int64_t redacted = 0;            // rows this pass redacted again (they had come back)
  int64_t deleted = 0;             // rows this pass deleted again
  int64_t since = 0;               // unix seconds: entries from then on
  std::vector<std::string> notes;  // tables or columns the restored database lacks
};

// Re-applies `db`'s entries written at or after `since` to the database
// `pg` is connected to. Failure: the repository's (an entry unreadable is
// kCorrupt, never skipped), or kPostgres naming the first statement that
// still failed after the retries (the others are applied).
Result<ErasureReplay> ReapplyErasures(const Repository& repo, PgConnection& pg,
                                      const std::string& db, int64_t since);

struct ErasureCheck {
  int entries = 0;
  int64_t rows = 0;       // row identities checked
  int64_t came_back = 0;  // of them, present (delete) or not redacted (redact)
  std::string first;      // the first that came back: "schema.table key (1041), ..."
  std::vector<std::string> notes;
};

// Checks, for every entry of `db` (whatever its time), that none of its
// rows is present again (delete) or unredacted (redact), in the database
// `pg` is connected to. Changes nothing.
Result<ErasureCheck> CheckErasures(const Repository& repo, PgConnection& pg, const std::string& db);

}  // namespace pgkeep
