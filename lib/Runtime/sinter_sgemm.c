/* The f32 matrix-multiply microkernel that sinter-linalg-to-ukernel calls for
 * every f32 contraction: C[b] += A[b] · B[b] with arbitrary strides.
 *
 * The work is split over (batch, row block, column block) tasks on the
 * thread pool. A task walks K in blocks of KC; for each NR-column panel of B
 * it packs the KC×NR block contiguously (zero-padded past N) once and runs
 * the MR×NR register tile down its rows of A. With very few rows (decode)
 * packing would double B's traffic, so rows of B are read in place.
 *
 * The tile is written with clang's vector extension, so one source serves
 * every target: the build compiles this file once per instruction set
 * (SINTER_VL floats per vector) and sinter-compile links the variant that
 * the target CPU supports. */
#include "sinter_internal.h"

#ifndef SINTER_VL
#define SINTER_VL 4 /* SSE2 / NEON */
#endif
#ifndef SINTER_MR
#define SINTER_MR 6
#endif
#define VL SINTER_VL
#define MR SINTER_MR
#define NV 2 /* vectors per tile row */
#define NR (VL * NV)
#define KC 256
#define DIRECT_MAX_ROWS 4 /* up to this many rows, B is not packed */
#define TASKS_PER_THREAD 4 /* batched products: tasks per thread */
#define MAX_COL_BLOCKS 64

typedef float vf __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4)));

typedef struct gemm {
  int64_t batch, m, n, k;
  const float *a;
  int64_t a_bs, a_rs, a_cs;
  const float *b;
  int64_t b_bs, b_rs, b_cs;
  float *c;
  int64_t c_bs, c_rs, c_cs;
  int packed; /* b is pre-packed panels: [ceil(n / NR)][k][NR] */
  int64_t row_block, row_blocks, col_blocks;
  int32_t col_start[MAX_COL_BLOCKS + 1]; /* each column block's first panel */
} gemm;

/* C[0:mr, 0:nr] += A[0:mr, 0:kc] · B[0:kc, 0:NR]; B rows are `b_rs` apart
 * and hold NR readable floats (packed or in place). `mr` is a constant in
 * each instantiation below, so the accumulators live in registers. */
static inline __attribute__((always_inline)) void
tile(const int mr, int64_t kc, const float *a, int64_t a_rs, int64_t a_cs, const float *b,
     int64_t b_rs, float *c, int64_t c_rs, int64_t nr, const float *pf) {
  vf acc[MR][NV];
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < NV; ++j)
      acc[i][j] = (vf){0};
  for (int64_t p = 0; p < kc; ++p) {
    if (pf && (p & 7) == 0)
      __builtin_prefetch(pf + (p >> 3) * 16, 0, 2);
    vf bv[NV];
    for (int j = 0; j < NV; ++j)
      bv[j] = *(const vfu *)(b + p * b_rs + j * VL);
    for (int i = 0; i < mr; ++i) {
      float av = a[i * a_rs + p * a_cs];
      for (int j = 0; j < NV; ++j)
        acc[i][j] += bv[j] * av;
    }
  }
  if (nr == NR) {
    for (int i = 0; i < mr; ++i)
      for (int j = 0; j < NV; ++j)
        *(vfu *)(c + i * c_rs + j * VL) += acc[i][j];
    return;
  }
  for (int i = 0; i < mr; ++i) {
    float row[NR];
    for (int j = 0; j < NV; ++j)
      *(vfu *)(row + j * VL) = acc[i][j];
    for (int64_t j = 0; j < nr; ++j)
      c[i * c_rs + j] += row[j];
  }
}

#define TILE_CASE(R, PF)                                                               \
  case R:                                                                              \
    tile(R, kc, a, a_rs, a_cs, b, b_rs, c, c_rs, nr, PF);                              \
    break;

#if MR > 8
#error "SINTER_MR above 8 needs more TILE_CASEs"
#endif
#if MR > 4
#define TILE_CASES_5_6(PF) TILE_CASE(5, PF) TILE_CASE(6, PF)
#else
#define TILE_CASES_5_6(PF)
#endif
#if MR > 6
#define TILE_CASES_7_8(PF) TILE_CASE(7, PF) TILE_CASE(8, PF)
#else
#define TILE_CASES_7_8(PF)
#endif
#define TILE_SWITCH(PF)                                                                \
  switch (mr) {                                                                        \
    TILE_CASE(1, PF) TILE_CASE(2, PF) TILE_CASE(3, PF) TILE_CASE(4, PF)                \
    TILE_CASES_5_6(PF) TILE_CASES_7_8(PF)                                              \
  }

/* Without prefetching (a constant NULL: the tile's loop is as if it had
 * none), and with it: two copies, so a decode's tiles stay as tight as
 * before. Row counts above MR never occur. */
static void tile_rows(int64_t mr, int64_t kc, const float *a, int64_t a_rs, int64_t a_cs,
                      const float *b, int64_t b_rs, float *c, int64_t c_rs, int64_t nr) {
  TILE_SWITCH((const float *)0)
}

static void tile_rows_prefetch(int64_t mr, int64_t kc, const float *a, int64_t a_rs, int64_t a_cs,
                               const float *b, int64_t b_rs, float *c, int64_t c_rs, int64_t nr,
                               const float *pf) {
  TILE_SWITCH(pf)
}

/* Copies B[0:kc, 0:nr] into dst as kc rows of NR floats, zero past nr. */
static void pack_panel(float *dst, const float *b, int64_t b_rs, int64_t b_cs, int64_t kc,
                       int64_t nr) {
  for (int64_t p = 0; p < kc; ++p) {
    const float *src = b + p * b_rs;
    float *row = dst + p * NR;
    if (nr == NR && b_cs == 1) {
      for (int j = 0; j < NV; ++j)
        *(vf *)(row + j * VL) = *(const vfu *)(src + j * VL);
      continue;
    }
    for (int64_t j = 0; j < NR; ++j)
      row[j] = j < nr ? src[j * b_cs] : 0.0f;
  }
}

static void run_task(const gemm *g, int64_t t) {
  int64_t per_batch = g->row_blocks * g->col_blocks;
  int64_t bi = t / per_batch, rb = t % per_batch / g->col_blocks, cb = t % g->col_blocks;
  int64_t m0 = rb * g->row_block, m1 = m0 + g->row_block < g->m ? m0 + g->row_block : g->m;
  int64_t n0 = g->col_start[cb] * NR, n1 = g->col_start[cb + 1] * NR;
  n1 = n1 < g->n ? n1 : g->n;
  const float *a = g->a + bi * g->a_bs;
  const float *b = g->b + bi * g->b_bs;
  float *c = g->c + bi * g->c_bs;
  int direct = m1 - m0 <= DIRECT_MAX_ROWS && g->b_cs == 1;
  float packed[KC * NR] __attribute__((aligned(64)));
  for (int64_t p0 = 0; p0 < g->k; p0 += KC) {
    int64_t kc = g->k - p0 < KC ? g->k - p0 : KC;
    for (int64_t n = n0; n < n1; n += NR) {
      int64_t nr = n1 - n < NR ? n1 - n : NR;
      const float *bp = b + p0 * g->b_rs + n * g->b_cs;
      int64_t bp_rs = g->b_rs;
      if (g->packed) {
        bp = b + (n / NR * g->k + p0) * NR;
        bp_rs = NR;
      } else if (!direct || nr < NR) {
        pack_panel(packed, bp, g->b_rs, g->b_cs, kc, nr);
        bp = packed;
        bp_rs = NR;
      }
      /* With several row tiles per block (a prefill), each prefetches to
       * L2 its share of the next panel's packed block, one line per 8
       * steps, so that block arrives during this pass instead of stalling
       * the next pass's first tile: 4-9% of a GPT-2 prefill here. A single
       * row tile (decode) streams each block once; prefetching there
       * measured 7-10% slower. */
      int reused = g->packed && m1 - m0 > MR && n + NR < n1;
      const float *next = reused ? bp + g->k * NR : 0;
      int64_t share = kc / 8 * 16; /* floats one tile prefetches */
      for (int64_t m = m0; m < m1; m += MR) {
        int64_t mr = m1 - m < MR ? m1 - m : MR;
        const float *pf = next && (m - m0) / MR * share < kc * NR ? next + (m - m0) / MR * share : 0;
        if (pf)
          tile_rows_prefetch(mr, kc, a + m * g->a_rs + p0 * g->a_cs, g->a_rs, g->a_cs, bp, bp_rs,
                             c + m * g->c_rs + n, g->c_rs, nr, pf);
        else
          tile_rows(mr, kc, a + m * g->a_rs + p0 * g->a_cs, g->a_rs, g->a_cs, bp, bp_rs,
                    c + m * g->c_rs + n, g->c_rs, nr);
      }
    }
  }
}

static void run_tasks(void *ctx, int64_t begin, int64_t end) {
  for (int64_t t = begin; t < end; ++t)
    run_task((const gemm *)ctx, t);
}

static float b_elem(const gemm *g, int64_t bi, int64_t p, int64_t j) {
  if (g->packed)
    return g->b[(j / NR * g->k + p) * NR + j % NR];
  return g->b[bi * g->b_bs + p * g->b_rs + j * g->b_cs];
}

/* C with non-unit column stride: plain loops (no lowering produces it for a
 * hot path; kept for completeness). */
static void sgemm_strided(const gemm *g) {
  for (int64_t bi = 0; bi < g->batch; ++bi)
    for (int64_t i = 0; i < g->m; ++i)
      for (int64_t p = 0; p < g->k; ++p) {
        float av = g->a[bi * g->a_bs + i * g->a_rs + p * g->a_cs];
        for (int64_t j = 0; j < g->n; ++j)
          g->c[bi * g->c_bs + i * g->c_rs + j * g->c_cs] += av * b_elem(g, bi, p, j);
      }
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Column blocks, in panels. One product: guided, each block a share
 * 1/(2·threads) of the panels left (at least one), so blocks shrink towards
 * the end and whichever thread finishes last waits at most one panel's work
 * for the other (equal blocks of 3 panels left a thread idle for up to a
 * ninth of a GEMM); one thread takes all the panels in one block.
 * Batched products: `want` equal shares over the batch. */
static void split_columns(gemm *g, int64_t threads, int64_t want) {
  int64_t panels = ceil_div(g->n, NR), start = 0, count = 0, equal = 0;
  if (g->batch > 1) {
    int64_t shares = ceil_div(want, g->batch);
    equal = ceil_div(panels, panels < shares ? panels : shares);
  }
  while (start < panels) {
    int64_t take = equal ? equal : threads == 1 ? panels : (panels - start) / (2 * threads);
    if (take < 1)
      take = 1;
    if (count == MAX_COL_BLOCKS - 1 || start + take > panels)
      take = panels - start;
    g->col_start[count++] = (int32_t)start;
    start += take;
  }
  g->col_start[count] = (int32_t)panels;
  g->col_blocks = count;
}

/* Splits the work into tasks: column blocks first, so each task owns its
 * panels of B and streams every block of them once through all the rows
 * (splitting rows too would read each weight once per row block: a 2-thread
 * GPT-2 prefill ran 10% slower with two row blocks). Rows are split only
 * when there are too few column blocks to keep every thread busy. Tasks are
 * handed out dynamically, so a thread that starts late or runs slow (a busy
 * sibling core) takes fewer of them. */
static void run_gemm(gemm *g) {
  if (g->c_cs != 1) {
    sgemm_strided(g);
    return;
  }
  int64_t threads = __sinter_available_threads();
  if (2 * g->m * g->n * g->k * g->batch < (1 << 18))
    threads = 1; /* not worth a wake-up */
  int64_t want = TASKS_PER_THREAD * threads;
  split_columns(g, threads, want);
  int64_t row_tiles = ceil_div(g->m, MR);
  int64_t row_blocks = 1;
  if (g->batch * g->col_blocks < threads)
    row_blocks = ceil_div(want, g->batch * g->col_blocks);
  if (row_blocks > row_tiles)
    row_blocks = row_tiles;
  g->row_block = ceil_div(row_tiles, row_blocks) * MR;
  g->row_blocks = ceil_div(g->m, g->row_block);
  int64_t tasks = g->batch * g->row_blocks * g->col_blocks;
  if (threads == 1)
    run_tasks(g, 0, tasks);
  else
    __sinter_parallel_for(tasks, 1, run_tasks, g);
}

void __sinter_sgemm(int64_t batch, int64_t m, int64_t n, int64_t k,
                    int64_t a, int64_t a_bs, int64_t a_rs, int64_t a_cs,
                    int64_t b, int64_t b_bs, int64_t b_rs, int64_t b_cs,
                    int64_t c, int64_t c_bs, int64_t c_rs, int64_t c_cs) {
  if (batch <= 0 || m <= 0 || n <= 0 || k <= 0)
    return;
  gemm g = {batch, m, n, k, (const float *)(intptr_t)a, a_bs, a_rs, a_cs,
            (const float *)(intptr_t)b, b_bs, b_rs, b_cs, (float *)(intptr_t)c,
            c_bs, c_rs, c_cs, 0};
  run_gemm(&g);
}

/* The panel width the compiler packs constant weights for; sinter-compile
 * reads it from this variant's bitcode. */
__attribute__((used)) const int32_t __sinter_gemm_panel_width = NR;

void __sinter_sgemm_packed(int64_t batch, int64_t m, int64_t n, int64_t k,
                           int64_t a, int64_t a_bs, int64_t a_rs, int64_t a_cs, int64_t b,
                           int64_t c, int64_t c_bs, int64_t c_rs, int64_t c_cs) {
  if (batch <= 0 || m <= 0 || n <= 0 || k <= 0)
    return;
  gemm g = {batch, m, n, k, (const float *)(intptr_t)a, a_bs, a_rs, a_cs,
            (const float *)(intptr_t)b, 0, NR, 1, (float *)(intptr_t)c,
            c_bs, c_rs, c_cs, 1};
  run_gemm(&g);
}
