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
 * Two phases: each row's x' (zero-padded to whole steps), Σ x' and s_out
 * are prepared once; then outputs are shared out in blocks among the
 * threads, and each block's bits (a few KB) stay in L1 while every row
 * passes over them. The order of the sums is fixed, so the result does
 * not depend on the thread count.
 *
 * fp32 activations: AVX-512F turns 16 bits into the lane mask of one
 * masked add; elsewhere eight lanes are selected by comparing a broadcast
 * byte with the eight bit positions.
 *
 * int8 activations (act_bits = 8): x' is quantized per row to
 * q = rint(x' · 127 / max|x'|), and Σ_{bit=1} q is an exact integer sum:
 * with AVX-512 VNNI, 64 bits select 64 bytes of q (a byte mask) that one
 * dot product with ones adds into 16 int32 lanes; elsewhere eight lanes at
 * a time, selected as for fp32. The sums are exact integers. The error
 * against fp32 is at most K · scale / 2 · |s_out| per output,
 * scale = max|x'| / 127. */
#include "sinter_vec.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define SINTER_VNNI 1
#endif

/* Experts a layer may have (the verifier of bnn.mos_linear checks it). */
#define MAX_EXPERTS 64
/* x' is padded with zeros to whole steps of this many floats, q to whole
 * steps of QSTEP bytes. */
#define STEP 32
#define QSTEP 128
/* Outputs per task of the output-parallel phase. */
#define OUTPUT_BLOCK 32

typedef int8_t v8c __attribute__((vector_size(8)));

typedef struct {
  const float *x;
  float *y;
  int64_t rows, k, n, e;
  const uint8_t *bits;
  const float *s_in, *s_out, *router, *bias;
  int64_t act_bits; /* 32: fp32 x'; 8: int8 q */
  int64_t kp;       /* K rounded up to STEP */
  float *xs;        /* [rows][kp]: x ⊙ s_in, zero past K */
  float *total;     /* [rows]: Σ x' (int8: Σ q) */
  float *out_mix;   /* [rows][n]: s_out, or null when E = 1 (S_out row 0) */
  int64_t kq;       /* int8: K rounded up to QSTEP */
  int8_t *q;        /* int8: [rows][kq], zero past K */
  float *qscale;    /* int8: [rows]: max|x'| / 127 */
} mos_linear;

static int64_t row_bytes(const mos_linear *m) { return (m->k + 7) / 8; }

/* g = softmax(x · router) over the E experts. */
typedef float v4f __attribute__((vector_size(16)));

/* x · router for E = 4 (the paper's default): one router row is one
 * 4-float vector; four partial sums keep the FMAs independent. */
static void logits4(const float *x, const float *router, int64_t k, float *g) {
  v4f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, row;
  int64_t i = 0;
#define ROW(j) (__builtin_memcpy(&row, router + 4 * (j), sizeof(row)), row)
  for (; i + 4 <= k; i += 4) {
    a0 += x[i] * ROW(i);
    a1 += x[i + 1] * ROW(i + 1);
    a2 += x[i + 2] * ROW(i + 2);
    a3 += x[i + 3] * ROW(i + 3);
  }
  for (; i < k; ++i)
    a0 += x[i] * ROW(i);
#undef ROW
  v4f sum = (a0 + a1) + (a2 + a3);
  __builtin_memcpy(g, &sum, sizeof(sum));
}

static void gates(const mos_linear *m, const float *x, float *g) {
  /* Otherwise one expert at a time down its router column, four partial
   * sums: a running g[e] in memory would make every step wait for the last. */
  const int64_t k = m->k, e_count = m->e;
  if (e_count == 4)
    logits4(x, m->router, k, g);
  for (int64_t e = 0; e < (e_count == 4 ? 0 : e_count); ++e) {
    const float *r = m->router + e;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
    int64_t i = 0;
    for (; i + 4 <= k; i += 4) {
      s0 += x[i] * r[i * e_count];
      s1 += x[i + 1] * r[(i + 1) * e_count];
      s2 += x[i + 2] * r[(i + 2) * e_count];
      s3 += x[i + 3] * r[(i + 3) * e_count];
    }
    for (; i < k; ++i)
      s0 += x[i] * r[i * e_count];
    g[e] = (s0 + s1) + (s2 + s3);
  }
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

/* Row r's x' as int8 q = rint(x' / scale), scale = max|x'| / 127, and Σ q
 * in `total`. */
static void quantize_row(const mos_linear *m, int64_t r) {
  const float *xs = m->xs + r * m->kp;
  int8_t *q = m->q + r * m->kq;
  /* Eight lanes at a time over x' (zero-padded to kp, a multiple of 8). */
  v8f top8 = {0};
  for (int64_t i = 0; i < m->kp; i += 8)
    top8 = __builtin_elementwise_max(top8, __builtin_elementwise_abs(load8(xs + i)));
  float top = 0.0f;
  for (int j = 0; j < 8; ++j)
    top = top8[j] > top ? top8[j] : top;
  float inv = top > 0.0f ? 127.0f / top : 0.0f;
  v8i sum8v = {0};
  for (int64_t i = 0; i < m->kp; i += 8) {
    v8f v = __builtin_elementwise_roundeven(load8(xs + i) * inv);
    v8i qi = __builtin_convertvector(
        __builtin_elementwise_min(__builtin_elementwise_max(v, splat8(-127.0f)), splat8(127.0f)), v8i);
    v8c qc = __builtin_convertvector(qi, v8c);
    __builtin_memcpy(q + i, &qc, sizeof(qc));
    sum8v += qi;
  }
  int32_t sum = 0;
  for (int j = 0; j < 8; ++j)
    sum += sum8v[j];
  for (int64_t i = m->kp; i < m->kq; ++i)
    q[i] = 0;
  m->qscale[r] = top / 127.0f;
  m->total[r] = (float)sum;
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
    if (m->act_bits == 8)
      quantize_row(m, r);
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
    /* Masks load straight from memory: through general registers they
     * took a second move each (measured 0.34 → 0.26 ms on 4096×4096). */
    for (int j = 0; j < 4; ++j) {
      a[j][0] = _mm512_mask_add_ps(a[j][0], _load_mask16((__mmask16 *)(b[j] + i / 8)), a[j][0], x0);
      a[j][1] = _mm512_mask_add_ps(a[j][1], _load_mask16((__mmask16 *)(b[j] + i / 8 + 2)), a[j][1], x1);
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

/* The row's bits from byte `byte` on, as a 64-bit mask; bytes past the
 * row's end read as zero. */
static inline uint64_t mask64(const uint8_t *row, int64_t byte, int64_t nbytes) {
  uint64_t word = 0;
  if (byte + 8 <= nbytes) {
    __builtin_memcpy(&word, row + byte, 8); /* one load, not a call */
    return word;
  }
  for (int64_t i = byte; i < nbytes; ++i)
    word |= (uint64_t)row[i] << (8 * (i - byte));
  return word;
}

/* Σ_{bit=1} q[k] for four outputs, exactly, in int32. */
static void masked_qsums4(const int8_t *q, int64_t kq, int64_t nbytes, const uint8_t *const b[4], int32_t out[4]) {
#if defined(SINTER_VNNI)
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i a[4][2];
  for (int j = 0; j < 4; ++j)
    a[j][0] = a[j][1] = _mm512_setzero_si512();
  int64_t i = 0;
  /* Whole 128-byte steps whose 16 bytes of bits lie inside the rows. */
  for (; i + QSTEP <= kq && i / 8 + 16 <= nbytes; i += QSTEP) {
    __m512i q0 = _mm512_loadu_si512(q + i), q1 = _mm512_loadu_si512(q + i + 64);
    for (int j = 0; j < 4; ++j) {
      __m512i s0 = _mm512_maskz_mov_epi8(_load_mask64((__mmask64 *)(b[j] + i / 8)), q0);
      __m512i s1 = _mm512_maskz_mov_epi8(_load_mask64((__mmask64 *)(b[j] + i / 8 + 8)), q1);
      a[j][0] = _mm512_dpbusd_epi32(a[j][0], ones, s0);
      a[j][1] = _mm512_dpbusd_epi32(a[j][1], ones, s1);
    }
  }
  for (; i < kq; i += 64) {
    __m512i qv = _mm512_loadu_si512(q + i);
    for (int j = 0; j < 4; ++j)
      a[j][0] = _mm512_dpbusd_epi32(a[j][0], ones,
                                    _mm512_maskz_mov_epi8(_cvtu64_mask64(mask64(b[j], i / 8, nbytes)), qv));
  }
  for (int j = 0; j < 4; ++j)
    out[j] = _mm512_reduce_add_epi32(_mm512_add_epi32(a[j][0], a[j][1]));
#else
  const v8i lanes = {1, 2, 4, 8, 16, 32, 64, 128};
  v8i a[4] = {{0}, {0}, {0}, {0}};
  int64_t nb = kq / 8 < nbytes ? kq / 8 : nbytes;
  for (int64_t byte = 0; byte < nb; ++byte) {
    v8c raw;
    __builtin_memcpy(&raw, q + byte * 8, sizeof(raw));
    v8i qv = __builtin_convertvector(raw, v8i);
    for (int j = 0; j < 4; ++j)
      a[j] += qv & ((((v8i){0} + b[j][byte]) & lanes) != 0);
  }
  for (int j = 0; j < 4; ++j)
    out[j] = ((a[j][0] + a[j][1]) + (a[j][2] + a[j][3])) + ((a[j][4] + a[j][5]) + (a[j][6] + a[j][7]));
#endif
}

/* Four rows × four outputs: each mask, loaded once, serves four rows and
 * each x' vector four outputs, so the masked adds (not the loads) set the
 * pace. Same sums as masked_sums4 row by row, in another order. */
static void masked_sums4x4(const float *const xs[4], int64_t kp, int64_t nbytes, const uint8_t *const b[4],
                           float out[4][4]) {
#if defined(__AVX512F__)
  __m512 a[4][4];
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j)
      a[r][j] = _mm512_setzero_ps();
  for (int64_t i = 0; i < kp; i += 16) {
    __mmask16 mk[4];
    int64_t byte = i / 8;
    for (int j = 0; j < 4; ++j)
      /* Both bytes inside the row, or only the first (the row's end). */
      mk[j] = byte + 2 <= nbytes ? _load_mask16((__mmask16 *)(b[j] + byte))
                                 : _cvtu32_mask16(byte < nbytes ? b[j][byte] : 0);
    for (int r = 0; r < 4; ++r) {
      __m512 xv = _mm512_loadu_ps(xs[r] + i);
      for (int j = 0; j < 4; ++j)
        a[r][j] = _mm512_mask_add_ps(a[r][j], mk[j], a[r][j], xv);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j)
      out[r][j] = _mm512_reduce_add_ps(a[r][j]);
#else
  const v8i lanes = {1, 2, 4, 8, 16, 32, 64, 128};
  v8f a[4][4];
  __builtin_memset(a, 0, sizeof(a));
  for (int64_t byte = 0; byte < nbytes; ++byte) {
    v8i set[4];
    for (int j = 0; j < 4; ++j)
      set[j] = (((v8i){0} + b[j][byte]) & lanes) != 0;
    for (int r = 0; r < 4; ++r) {
      v8f xv = load8(xs[r] + byte * 8);
      for (int j = 0; j < 4; ++j)
        a[r][j] += bitselect8(set[j], xv);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j)
      out[r][j] = sum8(a[r][j]);
#endif
}

/* The int8 counterpart: Σ_{bit=1} q for four rows × four outputs, exact. */
static void masked_qsums4x4(const int8_t *const q[4], int64_t kq, int64_t nbytes, const uint8_t *const b[4],
                            int32_t out[4][4]) {
#if defined(SINTER_VNNI)
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i a[4][4];
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j)
      a[r][j] = _mm512_setzero_si512();
  for (int64_t i = 0; i < kq; i += 64) {
    __mmask64 mk[4];
    for (int j = 0; j < 4; ++j)
      mk[j] = _cvtu64_mask64(mask64(b[j], i / 8, nbytes));
    for (int r = 0; r < 4; ++r) {
      __m512i qv = _mm512_loadu_si512(q[r] + i);
      for (int j = 0; j < 4; ++j)
        a[r][j] = _mm512_dpbusd_epi32(a[r][j], ones, _mm512_maskz_mov_epi8(mk[j], qv));
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j)
      out[r][j] = _mm512_reduce_add_epi32(a[r][j]);
#else
  for (int r = 0; r < 4; ++r)
    masked_qsums4(q[r], kq, nbytes, b, out[r]);
#endif
}

/* y[r][n0 + j] for `count` outputs from their masked sums (as float). */
static void finish_row(const mos_linear *m, int64_t r, int64_t n0, int count, const float sums[4]) {
  const float *scale = m->out_mix ? m->out_mix + r * m->n : m->s_out;
  float unit = m->act_bits == 8 ? m->qscale[r] : 1.0f;
  float *y = m->y + r * m->n;
  for (int j = 0; j < count; ++j) {
    float v = (2.0f * sums[j] - m->total[r]) * unit * scale[n0 + j];
    y[n0 + j] = m->bias ? v + m->bias[n0 + j] : v;
  }
}

/* Rows [r, r + 4) over four outputs from n0. */
static void four_rows(const mos_linear *m, int64_t r, int64_t n0, int count, const uint8_t *const b[4]) {
  float sums[4][4];
  if (m->act_bits == 8) {
    const int8_t *q[4] = {m->q + r * m->kq, m->q + (r + 1) * m->kq, m->q + (r + 2) * m->kq,
                          m->q + (r + 3) * m->kq};
    int32_t qsums[4][4];
    masked_qsums4x4(q, m->kq, row_bytes(m), b, qsums);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        sums[i][j] = (float)qsums[i][j];
  } else {
    const float *xs[4] = {m->xs + r * m->kp, m->xs + (r + 1) * m->kp, m->xs + (r + 2) * m->kp,
                          m->xs + (r + 3) * m->kp};
    masked_sums4x4(xs, m->kp, row_bytes(m), b, sums);
  }
  for (int i = 0; i < 4; ++i)
    finish_row(m, r + i, n0, count, sums[i]);
}

/* Row r over four outputs from n0. */
static void one_row(const mos_linear *m, int64_t r, int64_t n0, int count, const uint8_t *const b[4]) {
  float sums[4];
  if (m->act_bits == 8) {
    int32_t qsums[4];
    masked_qsums4(m->q + r * m->kq, m->kq, row_bytes(m), b, qsums);
    for (int j = 0; j < 4; ++j)
      sums[j] = (float)qsums[j];
  } else {
    masked_sums4(m->xs + r * m->kp, m->kp, row_bytes(m), b, sums);
  }
  finish_row(m, r, n0, count, sums);
}

/* Phase 2 for output blocks [begin, end): every row over the block's bits
 * (which stay in L1), four rows at a time while there are four. */
static void output_blocks(void *ctx, int64_t begin, int64_t end) {
  const mos_linear *m = (const mos_linear *)ctx;
  int64_t nbytes = row_bytes(m);
  int64_t lo = begin * OUTPUT_BLOCK, hi = end * OUTPUT_BLOCK < m->n ? end * OUTPUT_BLOCK : m->n;
  for (int64_t r = 0; r < m->rows; r += 4)
    for (int64_t n0 = lo; n0 < hi; n0 += 4) {
      const uint8_t *b[4];
      for (int j = 0; j < 4; ++j)
        b[j] = m->bits + (n0 + j < hi ? n0 + j : n0) * nbytes;
      int count = hi - n0 < 4 ? (int)(hi - n0) : 4;
      if (r + 4 <= m->rows)
        four_rows(m, r, n0, count, b);
      else
        for (int64_t i = r; i < m->rows; ++i)
          one_row(m, i, n0, count, b);
    }
}

/* Without scratch memory: one output at a time, s_in mixed on the fly, in
 * fp32 whatever act_bits asks (more exact, never less). */
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
                         intptr_t s_in, intptr_t s_out, intptr_t router, intptr_t bias, int64_t act_bits) {
  mos_linear m = {(const float *)x, (float *)y, rows, k, n, e, (const uint8_t *)bits,
                  (const float *)s_in, (const float *)s_out, (const float *)router, (const float *)bias,
                  act_bits == 8 ? 8 : 32, (k + STEP - 1) / STEP * STEP, 0, 0, 0, (k + QSTEP - 1) / QSTEP * QSTEP, 0, 0};
  if (rows <= 0 || n <= 0 || e < 1 || e > MAX_EXPERTS)
    return;
  int int8 = m.act_bits == 8;
  size_t floats = (size_t)rows * (size_t)(m.kp + 1 + (e > 1 ? n : 0) + (int8 ? 1 + m.kq / 4 : 0));
  float *scratch = (float *)malloc(floats * sizeof(float));
  if (!scratch) {
    unbuffered(&m);
    return;
  }
  m.xs = scratch;
  m.total = scratch + rows * m.kp;
  m.out_mix = e > 1 ? m.total + rows : 0;
  if (int8) {
    m.qscale = m.total + rows + (e > 1 ? rows * n : 0);
    m.q = (int8_t *)(m.qscale + rows);
  }
  __sinter_parallel_for(rows, 8, prepare_rows, &m);
  __sinter_parallel_for((n + OUTPUT_BLOCK - 1) / OUTPUT_BLOCK, 1, output_blocks, &m);
  free(scratch);
}
