// repo/snapshot_meta.h — every key of a snapshot's `meta` object, in one
// place: backup writes them, restore, expire, status, verify and the CLI read
// them. They are part of the repository format (docs/repository-format.md,
// docs/physical-backups.md): renaming one breaks every existing snapshot.
#pragma once

namespace pgkeep {

// Any kind. The configured database a snapshot belongs to (backups, and
// `store --db`); retention, status and `list --db` group by it.
constexpr char kMetaDatabase[] = "database";
// Backups of both methods.
constexpr char kMetaServerVersion[] = "server_version";         // the server's version text
constexpr char kMetaServerVersionNum[] = "server_version_num";  // 150018 for 15.18

// A physical snapshot (kinds "full" and "incr"), written by
// backup/physical_backup.
constexpr char kMetaMethod[] = "method";  // "stream" | "local"
constexpr char kMetaParent[] = "parent";  // id of the backup an incremental builds on
constexpr char kMetaStartLsn[] = "start_lsn";
constexpr char kMetaStopLsn[] = "stop_lsn";
constexpr char kMetaTimeline[] = "timeline";
constexpr char kMetaStartWal[] = "start_wal";  // segment holding the start LSN
constexpr char kMetaStopWal[] = "stop_wal";    // last segment the backup needs
constexpr char kMetaSystemId[] = "system_identifier";
constexpr char kMetaStopMicros[] = "stop_micros";  // when it became consistent
constexpr char kMetaPort[] = "port";
constexpr char kMetaDataChecksums[] = "data_checksums";
constexpr char kMetaPagesChecked[] = "pages_checked";
constexpr char kMetaCorruptPageCount[] = "corrupt_page_count";
constexpr char kMetaCorruptPages[] = "corrupt_pages";  // the first few, {file, block}
constexpr char kMetaTablespaces[] = "tablespaces";     // [{oid, location}]
// Threads that stored the files, biggest first; each pack interleaves the
// chunks of about this many files (1: a streamed backup, file after file).
constexpr char kMetaReaders[] = "readers";

// A logical snapshot (kind "logical"), written by backup/logical_backup.
constexpr char kMetaDbname[] = "dbname";   // the PostgreSQL database dumped
constexpr char kMetaPgDump[] = "pg_dump";  // version text of the pg_dump used
constexpr char kMetaFormat[] = "format";   // "custom"
constexpr char kMetaScope[] = "scope";     // {schemas, tables, exclude_schemas, exclude_tables}
constexpr char kMetaRowCounts[] = "row_counts";
constexpr char kMetaDumpFile[] = "dump_file";
constexpr char kMetaGlobalsFile[] = "globals_file";

}  // namespace pgkeep
