// bench/pipeline_bench.cc — the store and load pipelines against zstd -T2.
//
// Everything runs in one process on the same generated text-like data, so the
// ratios are fair on whatever machine runs it:
//   BM_ZstdT2        libzstd with 2 worker threads at the same level: the
//                    engine behind `zstd -T2`, without file I/O
//   BM_Store         chunk + HMAC + dedup check + zstd + AES-256-GCM + pack,
//                    into an in-memory storage
//   BM_Load          ranged read + GCM check + unzstd + id check, in order
//   BM_<component>   single-threaded costs of each stage, to see where time goes
// Run: build/bench/pgkeep_bench  (docs/benchmarks.md has figures).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <zstd.h>

#include "codec/chunker.h"
#include "codec/compressor.h"
#include "codec/crypto.h"
#include "repo/loader.h"
#include "repo/store_session.h"
#include "storage/memory_storage.h"
#include "support/text_data.h"

namespace pgkeep {
namespace {

constexpr int kLevel = 3;
const size_t kDataSize = size_t{256} << 20;

const Bytes& Data() {
  static const Bytes data = testing::MakeText(kDataSize, 1);
  return data;
}

// CPU seconds of the whole process (all threads) so far.
double ProcessCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Reports CPU nanoseconds spent per input byte over all threads: the work a
// pipeline does, independent of how well it spreads over the cores.
class CpuMeter {
 public:
  explicit CpuMeter(benchmark::State& state) : state_(state), start_(ProcessCpuSeconds()) {}
  ~CpuMeter() {
    double bytes = static_cast<double>(state_.iterations()) * static_cast<double>(Data().size());
    state_.counters["cpu_ns_per_byte"] = (ProcessCpuSeconds() - start_) * 1e9 / bytes;
  }

 private:
  benchmark::State& state_;
  double start_;
};

class NullSink final : public ByteSink {
 public:
  Status Write(ByteView data) override {
    benchmark::DoNotOptimize(data.data());
    bytes += data.size();
    return Status::Ok();
  }
  uint64_t bytes = 0;
};

void BM_ZstdT2(benchmark::State& state) {
  const Bytes& data = Data();
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, kLevel);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, 2);
  Bytes out(ZSTD_compressBound(data.size()));
  size_t n = 0;
  CpuMeter cpu(state);
  for (auto _ : state) {
    n = ZSTD_compress2(cctx, out.data(), out.size(), data.data(), data.size());
    if (ZSTD_isError(n)) state.SkipWithError(ZSTD_getErrorName(n));
  }
  ZSTD_freeCCtx(cctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["ratio"] = static_cast<double>(data.size()) / static_cast<double>(n);
}

struct BenchRepo {
  BenchRepo() {
    InitOptions options;
    options.scrypt = ScryptParams{1 << 10, 8, 1};
    repo = std::move(*Repository::Init(storage, clock, options, std::string("bench")));
  }
  MemoryStorage storage;
  SystemClock clock;
  std::unique_ptr<Repository> repo;
};

Snapshot StoreOnce(Repository& repo, const Bytes& data, size_t pack_size) {
  StoreOptions options;
  options.compression_level = kLevel;
  options.pack_size = pack_size;
  StoreSession session(repo, options);
  MemorySource source(data);
  auto entry = session.StoreStream(source, repo.stream_chunker(), FileEntry{"data"});
  Snapshot s;
  s.id = NewSnapshotId(repo.clock().NowSeconds());
  s.kind = "files";
  return *session.Commit(s, {*entry});
}

void BM_Store(benchmark::State& state) {
  const Bytes& data = Data();
  uint64_t stored = 0;
  CpuMeter cpu(state);
  for (auto _ : state) {
    state.PauseTiming();
    BenchRepo fresh;  // an empty repository each time: nothing deduplicates
    state.ResumeTiming();
    stored =
        StoreOnce(*fresh.repo, data, static_cast<size_t>(state.range(0)) << 20).stats.stored_bytes;
    state.PauseTiming();
    fresh.repo.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["ratio"] = static_cast<double>(data.size()) / static_cast<double>(stored);
}

void BM_Load(benchmark::State& state) {
  BenchRepo r;
  Snapshot s = StoreOnce(*r.repo, Data(), 16 << 20);
  (void)r.repo->LoadIndex();
  Loader loader(*r.repo);
  auto files = *loader.ReadManifest(s);
  CpuMeter cpu(state);
  for (auto _ : state) {
    NullSink sink;
    Status st = loader.LoadFile(files[0], sink);
    if (!st.ok() || sink.bytes != Data().size()) state.SkipWithError("load failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Data().size()));
}

void BM_Chunker(benchmark::State& state) {
  FastCdcChunker chunker(CdcParams{}, AsBytes("key"));
  const Bytes& data = Data();
  for (auto _ : state) {
    size_t pos = 0;
    while (pos < data.size()) pos += chunker.NextChunk(ByteView(data).subspan(pos), true);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}

void BM_HmacSha256(benchmark::State& state) {
  Hasher hasher(AsBytes("key"));
  ByteView chunk(Data().data(), 1 << 20);
  for (auto _ : state) benchmark::DoNotOptimize(hasher.Mac(chunk));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
}

void BM_ZstdChunk(benchmark::State& state) {
  Compressor compressor(kLevel);
  ByteView chunk(Data().data(), static_cast<size_t>(state.range(0)) << 10);
  Bytes out;
  for (auto _ : state) {
    out.clear();
    compressor.Compress(chunk, out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
}

void BM_AesGcm(benchmark::State& state) {
  Aead aead(RandomBytes(32));
  ByteView chunk(Data().data(), 1 << 20);
  Bytes out;
  for (auto _ : state) {
    out.clear();
    aead.Seal(chunk, {}, out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
}

BENCHMARK(BM_ZstdT2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2);
BENCHMARK(BM_Store)
    ->Arg(16)
    ->Arg(32)
    ->Arg(64)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2);
BENCHMARK(BM_Load)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2);
BENCHMARK(BM_Chunker)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HmacSha256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ZstdChunk)->Arg(256)->Arg(1024)->Arg(4096)->Arg(16384)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AesGcm)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace pgkeep

BENCHMARK_MAIN();
