/* The BinaryMoS linear layer (bnn.mos_linear, METHODS.md §1) on packed
 * sign bits. Per row x of K inputs:
 *
 *   g = softmax(x · router)      s_in = g · S_in      s_out = g · S_out
 *   y[n] = (Σ_k x'[k] · sign W[k][n]) · s_out[n] + b[n],   x' = x ⊙ s_in
 *
 * and since sign is ±1, Σ_k x'[k]·sign = 2·Σ_{bit=1} x'[k] − Σ_k x'[k]: the
 * GEMV is masked sums of x' under each output's row of bits, no multiplies.
 * Row n of `bits` holds ⌈K/8⌉ bytes, bit k%8 of byte k/8 set when
 * W[k][n] ≥ 0 (layout rows_of_inputs, bnn dialect).
 *
 * Two phases: each row's x' (zero-padded to whole 32-float steps), Σ x' and
 * s_out are prepared once; then outputs are shared out in blocks among the
 * threads, and each block's bits (a few KB) stay in L1 while every row
 * passes over them. AVX-512F turns 16 bits into a lane mask of one masked
 * add; elsewhere eight lanes are selected by comparing a broadcast byte
 * with the eight bit positions. The order of the sums is fixed, so the
 * result does not depend on the thread count. */
#include "sinter_vec.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* Experts a layer may have (the verifier of bnn.mos_linear checks it). */
#define MAX_EXPERTS 64
/* x' is padded with zeros to whole steps of this many floats. */
#define STEP 32
/* Outputs per task of the output-parallel phase. */
#define OUTPUT_BLOCK 32

typedef struct {
  const float *x;
  float *y;
  int64_t rows, k, n, e;
  const uint8_t *bits;
  const float *s_in, *s_out, *router, *bias;
  int64_t kp;     /* K rounded up to STEP */
  float *xs;      /* [rows][kp]: x ⊙ s_in, zero past K */
  float *total;   /* [rows]: Σ x' */
  float *out_mix; /* [rows][n]: s_out, or null when E = 1 (S_out row 0) */
} mos_linear;

static int64_t row_bytes(const mos_linear *m) { return (m->k + 7) / 8; }

/* g = softmax(x · router) over the E experts. */
static void gates(const mos_linear *m, const float *x, float *g) {
  for (int64_t e = 0; e < m->e; ++e)
    g[e] = 0.0f;
  for (int64_t i = 0; i < m->k; ++i)
    for (int64_t e = 0; e < m->e; ++e)
      g[e] += x[i] * m->router[i * m->e + e];
  float top = g[0], sum = 0.0f;
  for (int64_t e = 1; e < m->e; ++e)
    top = g[e] > top ? g[e] : top;
  for (int64_t e = 0; e < m->e; ++e)
    sum += (g[e] = expf(g[e] - top));
  for (int64_t e = 0; e < m->e; ++e)
    g[e] /= sum;
}

/* out = Σ_e g[e] · table[e] over `len` floats. */
static void mix(const float *g, const float *table, int64_t e, int64_t len, float *out) {
  memcpy(out, table, (size_t)len * sizeof(float));
  for (int64_t j = 0; j < len; ++j)
    out[j] *= g[0];
  for (int64_t i = 1; i < e; ++i)
    axpy(out, g[i], table + i * len, len);
}

/* Phase 1 for rows [begin, end): x', Σ x' and s_out. */
static void prepare_rows(void *ctx, int64_t begin, int64_t end) {
  const mos_linear *m = (const mos_linear *)ctx;
  float g[MAX_EXPERTS] = {1.0f};
  for (int64_t r = begin; r < end; ++r) {
    const float *x = m->x + r * m->k;
    float *xs = m->xs + r * m->kp;
    if (m->e > 1) {
      gates(m, x, g);
      mix(g, m->s_out, m->e, m->n, m->out_mix + r * m->n);
    }
    mix(g, m->s_in, m->e, m->k, xs);
    float total = 0.0f;
    for (int64_t i = 0; i < m->k; ++i)
      total += (xs[i] *= x[i]);
    for (int64_t i = m->k; i < m->kp; ++i)
      xs[i] = 0.0f;
    m->total[r] = total;
  }
}

/* Σ_{bit=1} xs[k] for four outputs whose bit rows start at b[0..3]; xs is
 * zero past K, so bits read in whole bytes past K add nothing. */
static void masked_sums4(const float *xs, int64_t kp, int64_t nbytes, const uint8_t *const b[4], float out[4]) {
#if defined(__AVX512F__)
  __m512 a[4][2];
  for (int j = 0; j < 4; ++j)
    a[j][0] = a[j][1] = _mm512_setzero_ps();
  int64_t i = 0;
  /* Whole 32-float steps whose 4 bytes of bits all lie inside the rows. */
  for (; i + STEP <= kp && i / 8 + 4 <= nbytes; i += STEP) {
    __m512 x0 = _mm512_loadu_ps(xs + i), x1 = _mm512_loadu_ps(xs + i + 16);
    for (int j = 0; j < 4; ++j) {
      uint32_t word;
      __builtin_memcpy(&word, b[j] + i / 8, 4);
      a[j][0] = _mm512_mask_add_ps(a[j][0], (__mmask16)word, a[j][0], x0);
      a[j][1] = _mm512_mask_add_ps(a[j][1], (__mmask16)(word >> 16), a[j][1], x1);
    }
  }
  /* The last step: its bytes one at a time (a row may end mid-step). */
  for (; i < kp; i += 8) {
    int64_t byte = i / 8;
    __m512 xv = _mm512_maskz_loadu_ps(0xff, xs + i);
    for (int j = 0; j < 4; ++j)
      if (byte < nbytes)
        a[j][0] = _mm512_mask_add_ps(a[j][0], (__mmask16)b[j][byte], a[j][0], xv);
  }
  for (int j = 0; j < 4; ++j)
    out[j] = _mm512_reduce_add_ps(_mm512_add_ps(a[j][0], a[j][1]));
#else
  const v8i lanes = {1, 2, 4, 8, 16, 32, 64, 128};
  v8f a[4] = {{0}, {0}, {0}, {0}};
  int64_t nb = kp / 8 < nbytes ? kp / 8 : nbytes;
  for (int64_t byte = 0; byte < nb; ++byte) {
    v8f xv = load8(xs + byte * 8);
    for (int j = 0; j < 4; ++j) {
      v8i set = (((v8i){0} + b[j][byte]) & lanes) != 0;
      a[j] += bitselect8(set, xv);
    }
  }
  for (int j = 0; j < 4; ++j)
    out[j] = sum8(a[j]);
#endif
}

/* Phase 2 for output blocks [begin, end): every row over the block's bits. */
static void output_blocks(void *ctx, int64_t begin, int64_t end) {
  const mos_linear *m = (const mos_linear *)ctx;
  int64_t nbytes = row_bytes(m);
  int64_t lo = begin * OUTPUT_BLOCK, hi = end * OUTPUT_BLOCK < m->n ? end * OUTPUT_BLOCK : m->n;
  for (int64_t r = 0; r < m->rows; ++r) {
    const float *xs = m->xs + r * m->kp;
    const float *scale = m->out_mix ? m->out_mix + r * m->n : m->s_out;
    float *y = m->y + r * m->n;
    for (int64_t n0 = lo; n0 < hi; n0 += 4) {
      const uint8_t *b[4];
      for (int j = 0; j < 4; ++j)
        b[j] = m->bits + (n0 + j < hi ? n0 + j : n0) * nbytes;
      float sums[4];
      masked_sums4(xs, m->kp, nbytes, b, sums);
      for (int j = 0; j < 4 && n0 + j < hi; ++j) {
        float v = (2.0f * sums[j] - m->total[r]) * scale[n0 + j];
        y[n0 + j] = m->bias ? v + m->bias[n0 + j] : v;
      }
    }
  }
}

/* Without scratch memory: one output at a time, s_in mixed on the fly. */
static void unbuffered(const mos_linear *m) {
  float g[MAX_EXPERTS] = {1.0f};
  int64_t nbytes = row_bytes(m);
  for (int64_t r = 0; r < m->rows; ++r) {
    const float *x = m->x + r * m->k;
    if (m->e > 1)
      gates(m, x, g);
    for (int64_t j = 0; j < m->n; ++j) {
      float acc = 0.0f, scale = 0.0f;
      for (int64_t i = 0; i < m->k; ++i) {
        float s = 0.0f;
        for (int64_t e = 0; e < m->e; ++e)
          s += g[e] * m->s_in[e * m->k + i];
        acc += (m->bits[j * nbytes + i / 8] >> (i % 8) & 1) ? x[i] * s : -(x[i] * s);
      }
      for (int64_t e = 0; e < m->e; ++e)
        scale += g[e] * m->s_out[e * m->n + j];
      m->y[r * m->n + j] = acc * scale + (m->bias ? m->bias[j] : 0.0f);
    }
  }
}

void __sinter_mos_linear(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t e, intptr_t bits,
                         intptr_t s_in, intptr_t s_out, intptr_t router, intptr_t bias) {
  mos_linear m = {(const float *)x, (float *)y, rows, k, n, e, (const uint8_t *)bits,
                  (const float *)s_in, (const float *)s_out, (const float *)router, (const float *)bias,
                  (k + STEP - 1) / STEP * STEP, 0, 0, 0};
  if (rows <= 0 || n <= 0 || e < 1 || e > MAX_EXPERTS)
    return;
  size_t floats = (size_t)rows * (size_t)(m.kp + 1 + (e > 1 ? n : 0));
  float *scratch = (float *)malloc(floats * sizeof(float));
  if (!scratch) {
    unbuffered(&m);
    return;
  }
  m.xs = scratch;
  m.total = scratch + rows * m.kp;
  m.out_mix = e > 1 ? m.total + rows : 0;
  __sinter_parallel_for(rows, 8, prepare_rows, &m);
  __sinter_parallel_for((n + OUTPUT_BLOCK - 1) / OUTPUT_BLOCK, 1, output_blocks, &m);
  free(scratch);
}
