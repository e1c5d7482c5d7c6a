// The activation-sparsity kernel (__sinter_sparse_ffn) on its own, with
// Google Benchmark's repetitions and statistics (this VM's timings vary by
// ±15% between runs): d = 768, h = 3072 GELU FFN, random weights, by path
// (one token, batched) and selection (predictor rank and kept neurons,
// threshold), next to the runtime's GEMM on the same dense FFN. Built and
// run by `make bench-sparse-kernel`, against the runtime sources compiled
// for the host's widest vectors:
//   clang-22 -O3 -march=native -fno-strict-aliasing -DSINTER_VL=16 -DSINTER_MR=8 -Ilib/Runtime -c \
//     lib/Runtime/{sinter_sparse_ffn,sinter_topk,sinter_sgemm,sinter_threads}.c
//   clang++-22 -O3 -Ilib/Runtime bench/sparse_ffn_kernel.cpp *.o -lbenchmark -lpthread -lm
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

extern "C" {
void __sinter_sparse_ffn(intptr_t x, intptr_t out, int64_t rows, int64_t d, int64_t h, int64_t d_out,
                         intptr_t up, intptr_t up_bias, intptr_t gate, intptr_t gate_bias, intptr_t down,
                         intptr_t p_in, intptr_t p_out, intptr_t p_bias, int64_t rank, int64_t kept,
                         int64_t threshold_bits, int64_t act, int64_t dense_rows);
void __sinter_sgemm(int64_t batch, int64_t m, int64_t n, int64_t k, int64_t a, int64_t a_bs, int64_t a_rs,
                    int64_t a_cs, int64_t b, int64_t b_bs, int64_t b_rs, int64_t b_cs, int64_t c, int64_t c_bs,
                    int64_t c_rs, int64_t c_cs);
}

namespace {

constexpr int64_t D = 768, H = 3072, kGelu = 1;

std::vector<float> random(int64_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

struct FFN {
  std::vector<float> up = random(H * D, 0.036f, 1), upBias = random(H, 0.1f, 2), down = random(H * D, 0.018f, 3);
  std::vector<float> pIn = random(D * 64, 0.036f, 4), pOut = random(64 * H, 0.1f, 5), pBias = random(H, 0.1f, 6);
};

const FFN &ffn() {
  static FFN f;
  return f;
}

int64_t bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}

/// Args: rows, kept (0: threshold selection), predictor rank.
void SparseFFN(benchmark::State &state) {
  const FFN &f = ffn();
  int64_t rows = state.range(0), kept = state.range(1), rank = state.range(2);
  std::vector<float> x = random(rows * D, 1.f, 7), out(rows * D);
  bool predicted = kept > 0;
  for (auto _ : state) {
    __sinter_sparse_ffn((intptr_t)x.data(), (intptr_t)out.data(), rows, D, H, D, (intptr_t)f.up.data(),
                        (intptr_t)f.upBias.data(), 0, 0, (intptr_t)f.down.data(),
                        predicted ? (intptr_t)f.pIn.data() : 0, predicted ? (intptr_t)f.pOut.data() : 0,
                        predicted ? (intptr_t)f.pBias.data() : 0, predicted ? rank : 0, kept, bits(0.05f), kGelu,
                        /*dense_rows=*/4);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["rows"] = rows;
}

/// The dense FFN's two GEMMs on the runtime's kernel (weights unpacked;
/// sinter-compile's dense code reads them packed), σ left out.
void DenseGEMMs(benchmark::State &state) {
  const FFN &f = ffn();
  int64_t rows = state.range(0);
  std::vector<float> x = random(rows * D, 1.f, 7), hidden(rows * H), out(rows * D);
  for (auto _ : state) {
    std::fill(hidden.begin(), hidden.end(), 0.f);
    std::fill(out.begin(), out.end(), 0.f);
    // [h][d] rows read as Wᵀ: X · Upᵀ, then H · Down.
    __sinter_sgemm(1, rows, H, D, (int64_t)x.data(), 0, D, 1, (int64_t)f.up.data(), 0, 1, D,
                   (int64_t)hidden.data(), 0, H, 1);
    __sinter_sgemm(1, rows, D, H, (int64_t)hidden.data(), 0, H, 1, (int64_t)f.down.data(), 0, D, 1,
                   (int64_t)out.data(), 0, D, 1);
    benchmark::DoNotOptimize(out.data());
  }
}

BENCHMARK(SparseFFN)
    ->ArgNames({"rows", "kept", "rank"})
    ->Args({1, 614, 32})  // decode, 80% sparsity, the accuracy table's rank
    ->Args({1, 614, 64})
    ->Args({1, 1, 32})    // the predictor and the choice alone
    ->Args({1, 3072, 32}) // every neuron through the gather path
    ->Args({1, 0, 0})     // threshold selection
    ->Args({128, 614, 32}) // batched: GEMMs and the mask
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(DenseGEMMs)->ArgName("rows")->Arg(1)->Arg(128)->Unit(benchmark::kMicrosecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
