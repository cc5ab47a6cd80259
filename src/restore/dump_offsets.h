// restore/dump_offsets.h — data offsets written into the table of contents of
// a custom-format dump that pg_dump streamed into a pipe.
//
// pg_dump writes each table's data position into the archive's table of
// contents only when its output is seekable; a logical backup streams
// pg_dump's output into the repository, so its entries say "position not
// set", and a parallel pg_restore then has to read through the data to find
// each table (27% slower in bench/, docs/benchmarks.md). Once the dump is
// staged in a file, the positions are known: this finds every data block and
// fills in its entry's offset, in place (each offset field has a fixed size,
// so nothing else moves). The format is pg_dump's (pg_backup_archiver.c,
// pg_backup_custom.c): archive versions 1.12 to 1.16 are understood.
//
// A file it does not understand exactly (another version, a compressed dump,
// a block that does not parse, anything left over at the end) is left as it
// is: pg_restore reads it as before, only slower.
#pragma once

#include "common/env.h"
#include "common/status.h"

namespace pgkeep {

// Returns how many entries got their offset (0: the file was left as it
// is). Fails only when the file cannot be read or written.
Result<int> AddDumpDataOffsets(ReadableFile& in, WritableFile& out);

}  // namespace pgkeep
