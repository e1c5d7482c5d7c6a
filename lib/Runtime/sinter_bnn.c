/* The BinaryMoS linear layer (bnn.mos_linear, METHODS.md §1) on packed
 * sign bits. Per row x of K inputs:
 *
 *   g = softmax(x · router)      s_in = g · S_in      s_out = g · S_out
 *   y[n] = (Σ_k x'[k] · sign W[k][n]) · s_out[n] + b[n],   x' = x ⊙ s_in
 *
 * Bit k%8 of output n's byte k/8 is set when W[k][n] ≥ 0. Two layouts of
 * those bytes: rows_of_inputs (the bnn dialect's: output n's ⌈K/8⌉ bytes in
 * a row) and tiles of 16 outputs ([⌈N/16⌉][⌈K/8⌉][16], zero past N), which
 * the compiler repacks constant bits into for fp32 activations.
 *
 * Rows go in chunks of ROW_CHUNK, each in two phases: each row's x'
 * (zero-padded to whole steps), Σ x', s_out and, where used, its lookup
 * tables are prepared; then outputs are shared out in blocks among the
 * threads, and each block's bits stay in L1 while the chunk's rows pass
 * over them. The order of the sums is fixed, so the result does not depend
 * on the thread count.
 *
 * fp32 activations, AVX-512 and tiles: lookup tables. For each group of
 * four inputs, t[m] = Σ_j ±x'[j] (+ where bit j of m is set) holds all 16
 * sums; one vpermps looks up 16 outputs' nibbles in it. Per 8 inputs × 16
 * outputs that is a widening load, a shift, two lookups and two adds,
 * where masked adds (one per 16 bits) took eight masks and eight adds.
 * Elsewhere: masked sums 2·Σ_{bit=1} x' − Σ x', eight lanes selected by
 * comparing a broadcast byte with the eight bit positions.
 *
 * int8 activations (act_bits = 8): x' is quantized per row to
 * q = rint(x' · 127 / max|x'|), and Σ_{bit=1} q is an exact integer sum:
 * with AVX-512 VNNI and rows, 64 bits select 64 bytes of q (a byte mask)
 * that one dot product with ones adds into 16 int32 lanes; elsewhere eight
 * lanes at a time, selected as for fp32. The error against fp32 is at most
 * K · scale / 2 · |s_out| per output, scale = max|x'| / 127.
 *
 * Scales and router are fp32 or IEEE half (scale_bits = 16), widened as
 * they are read. */
#include "sinter_vec.h"

#if defined(__AVX512F__) || defined(__F16C__)
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
/* Outputs per tile of the tiled layout, per task of the output phase. */
#define TILE 16
#define OUTPUT_BLOCK 64
/* Rows prepared and swept together: their tables stay in L2. */
#define ROW_CHUNK 16

enum { LAYOUT_ROWS = 0, LAYOUT_TILES = 1 };

typedef int8_t v8c __attribute__((vector_size(8)));
typedef uint16_t v8h __attribute__((vector_size(16)));

typedef struct {
  const float *x;
  float *y;
  int64_t rows, k, n, e;
  const uint8_t *bits;
  const void *s_in, *s_out; /* [E][K], [E][N]: float, or uint16_t halves */
  const void *router_raw;   /* [K][E], the same */
  const float *router;      /* the router in fp32 (halves widened); null
                               when unbuffered */
  const float *bias;
  int64_t act_bits; /* 32: fp32 x'; 8: int8 q */
  int64_t layout;   /* LAYOUT_ROWS or LAYOUT_TILES */
  int half;         /* scales are halves */
  int lut;          /* phase 2 by lookup tables */
  int mix_out;      /* s_out mixed per row (else S_out row 0, fp32) */
  int64_t kp;       /* K rounded up to STEP */
  int64_t kq;       /* int8: K rounded up to QSTEP */
  int64_t r0, rc;   /* the chunk of rows in flight: [r0, r0 + rc) */
  /* Per row of the chunk: */
  float *xs;      /* [kp]: x ⊙ s_in, zero past K */
  float *total;   /* Σ x' (int8: Σ q) */
  float *out_mix; /* [n]: s_out */
  int8_t *q;      /* int8: [kq], zero past K */
  float *qscale;  /* int8: max|x'| / 127 */
  float *tab;     /* lut: [2·⌈K/8⌉][16] */
} mos_linear;

static int64_t row_bytes(const mos_linear *m) { return (m->k + 7) / 8; }
static int64_t tab_floats(const mos_linear *m) { return 32 * row_bytes(m); }

/* Output n's byte c is bit_row(m, n)[c · bit_stride(m)]. */
static const uint8_t *bit_row(const mos_linear *m, int64_t n) {
  int64_t nb = row_bytes(m);
  return m->layout == LAYOUT_ROWS ? m->bits + n * nb : m->bits + (n / TILE) * nb * TILE + n % TILE;
}
static int64_t bit_stride(const mos_linear *m) { return m->layout == LAYOUT_ROWS ? 1 : TILE; }

/* Eight halves widened to floats: F16C where the target has it, else by
 * moving the exponent and mantissa bits (subnormals through a subtraction). */
static inline v8f halves8(const uint16_t *p) {
#if defined(__F16C__)
  __m128i h;
  __builtin_memcpy(&h, p, sizeof(h));
  return (v8f)_mm256_cvtph_ps(h);
#else
  v8h h;
  __builtin_memcpy(&h, p, sizeof(h));
  v8i w = __builtin_convertvector(h, v8i);
  v8i o = (w & 0x7fff) << 13, exp = o & 0x0f800000;
  o += (127 - 15) << 23;
  o += (exp == 0x0f800000) & ((128 - 16) << 23); /* inf, NaN */
  v8i tiny = exp == 0;                           /* zero, subnormal */
  v8f f, magic = (v8f){0} + 6.103515625e-05f;    /* 2^-14 */
  v8i lifted = o + (1 << 23);
  __builtin_memcpy(&f, &lifted, sizeof(f));
  f -= magic;
  v8i sub;
  __builtin_memcpy(&sub, &f, sizeof(sub));
  o = (tiny & sub) | (~tiny & o);
  o |= (w & 0x8000) << 16;
  __builtin_memcpy(&f, &o, sizeof(f));
  return f;
#endif
}

static float half_at(const uint16_t *p, int64_t i) {
  uint16_t h[8] = {p[i]};
  return halves8(h)[0];
}

/* Element i of a scale table of floats or halves. */
static float scale_at(const mos_linear *m, const void *table, int64_t i) {
  return m->half ? half_at((const uint16_t *)table, i) : ((const float *)table)[i];
}

/* out[j] = a · table[j] (add: out[j] += …) over len entries. */
static void scaled(float *out, float a, const void *table, int64_t len, int half, int add) {
  if (!half) {
    if (!add)
      for (int64_t j = 0; j < len; ++j)
        out[j] = 0.0f;
    axpy(out, a, (const float *)table, len);
    return;
  }
  const uint16_t *h = (const uint16_t *)table;
  int64_t j = 0;
  for (; j + 8 <= len; j += 8)
    store8(out + j, (add ? load8(out + j) : splat8(0.0f)) + a * halves8(h + j));
  for (; j < len; ++j)
    out[j] = (add ? out[j] : 0.0f) + a * half_at(h, j);
}

/* out = the `len` halves at h, widened. */
static void widen(const uint16_t *h, int64_t len, float *out) {
  int64_t i = 0;
  for (; i + 8 <= len; i += 8)
    store8(out + i, halves8(h + i));
  for (; i < len; ++i)
    out[i] = half_at(h, i);
}

/* out = Σ_e g[e] · table[e] over `len` entries. */
static void mix(const mos_linear *m, const float *g, const void *table, int64_t len, float *out) {
  size_t width = m->half ? 2 : 4;
  for (int64_t i = 0; i < m->e; ++i)
    scaled(out, g[i], (const char *)table + (size_t)(i * len) * width, len, m->half, i > 0);
}

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

/* g = softmax(x · router) over the E experts. */
static void gates(const mos_linear *m, const float *x, float *g) {
  /* Otherwise one expert at a time down its router column, four partial
   * sums: a running g[e] in memory would make every step wait for the last. */
  const int64_t k = m->k, e_count = m->e;
  if (!m->router) /* unbuffered, halves */
    for (int64_t e = 0; e < e_count; ++e) {
      g[e] = 0.0f;
      for (int64_t i = 0; i < k; ++i)
        g[e] += x[i] * scale_at(m, m->router_raw, i * e_count + e);
    }
  else if (e_count == 4)
    logits4(x, m->router, k, g);
  for (int64_t e = 0; e < (e_count == 4 || !m->router ? 0 : e_count); ++e) {
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

/* Chunk row i's x' as int8 q = rint(x' / scale), scale = max|x'| / 127,
 * and Σ q in `total`. */
static void quantize_row(const mos_linear *m, int64_t i) {
  const float *xs = m->xs + i * m->kp;
  int8_t *q = m->q + i * m->kq;
  /* Eight lanes at a time over x' (zero-padded to kp, a multiple of 8). */
  v8f top8 = {0};
  for (int64_t j = 0; j < m->kp; j += 8)
    top8 = __builtin_elementwise_max(top8, __builtin_elementwise_abs(load8(xs + j)));
  float top = 0.0f;
  for (int j = 0; j < 8; ++j)
    top = top8[j] > top ? top8[j] : top;
  float inv = top > 0.0f ? 127.0f / top : 0.0f;
  v8i sum8v = {0};
  for (int64_t j = 0; j < m->kp; j += 8) {
    v8f v = __builtin_elementwise_roundeven(load8(xs + j) * inv);
    v8i qi = __builtin_convertvector(
        __builtin_elementwise_min(__builtin_elementwise_max(v, splat8(-127.0f)), splat8(127.0f)), v8i);
    v8c qc = __builtin_convertvector(qi, v8c);
    __builtin_memcpy(q + j, &qc, sizeof(qc));
    sum8v += qi;
  }
  int32_t sum = 0;
  for (int j = 0; j < 8; ++j)
    sum += sum8v[j];
  for (int64_t j = m->kp; j < m->kq; ++j)
    q[j] = 0;
  m->qscale[i] = top / 127.0f;
  m->total[i] = (float)sum;
}

/* Chunk row i's lookup tables: for each group of four inputs, the 16 sums
 * Σ_j ±x'[j], + where bit j of the entry's index is set. */
static void build_tables(const mos_linear *m, int64_t i) {
  static const v8f plus[4][2] = {
      {{-1, 1, -1, 1, -1, 1, -1, 1}, {-1, 1, -1, 1, -1, 1, -1, 1}},
      {{-1, -1, 1, 1, -1, -1, 1, 1}, {-1, -1, 1, 1, -1, -1, 1, 1}},
      {{-1, -1, -1, -1, 1, 1, 1, 1}, {-1, -1, -1, -1, 1, 1, 1, 1}},
      {{-1, -1, -1, -1, -1, -1, -1, -1}, {1, 1, 1, 1, 1, 1, 1, 1}},
  };
  const float *xs = m->xs + i * m->kp;
  float *tab = m->tab + i * tab_floats(m);
  for (int64_t g = 0; g < 2 * row_bytes(m); ++g, xs += 4, tab += 16)
    for (int h = 0; h < 2; ++h)
      store8(tab + 8 * h, ((xs[0] * plus[0][h] + xs[1] * plus[1][h]) + (xs[2] * plus[2][h] + xs[3] * plus[3][h])));
}

/* Phase 1 for chunk rows [begin, end): x', Σ x', s_out and the tables. */
static void prepare_rows(void *ctx, int64_t begin, int64_t end) {
  const mos_linear *m = (const mos_linear *)ctx;
  float g[MAX_EXPERTS] = {1.0f};
  for (int64_t i = begin; i < end; ++i) {
    const float *x = m->x + (m->r0 + i) * m->k;
    float *xs = m->xs + i * m->kp;
    if (m->e > 1)
      gates(m, x, g);
    if (m->mix_out)
      mix(m, g, m->s_out, m->n, m->out_mix + i * m->n);
    mix(m, g, m->s_in, m->k, xs);
    float total = 0.0f;
    for (int64_t j = 0; j < m->k; ++j)
      total += (xs[j] *= x[j]);
    for (int64_t j = m->k; j < m->kp; ++j)
      xs[j] = 0.0f;
    m->total[i] = total;
    if (m->act_bits == 8)
      quantize_row(m, i);
    if (m->lut)
      build_tables(m, i);
  }
}

/* Σ_{bit=1} xs[k] for four outputs whose bytes are b[j][c · stride]; xs is
 * zero past K, so bits read in whole bytes past K add nothing. */
static void masked_sums4(const float *xs, int64_t nbytes, const uint8_t *const b[4], int64_t stride,
                         float out[4]) {
  const v8i lanes = {1, 2, 4, 8, 16, 32, 64, 128};
  v8f a[4] = {{0}, {0}, {0}, {0}};
  for (int64_t c = 0; c < nbytes; ++c) {
    v8f xv = load8(xs + c * 8);
    for (int j = 0; j < 4; ++j) {
      v8i set = (((v8i){0} + b[j][c * stride]) & lanes) != 0;
      a[j] += bitselect8(set, xv);
    }
  }
  for (int j = 0; j < 4; ++j)
    out[j] = sum8(a[j]);
}

/* The same for four rows: each selection serves four rows. */
static void masked_sums4x4(const float *const xs[4], int64_t nbytes, const uint8_t *const b[4], int64_t stride,
                           float out[4][4]) {
  const v8i lanes = {1, 2, 4, 8, 16, 32, 64, 128};
  v8f a[4][4];
  __builtin_memset(a, 0, sizeof(a));
  for (int64_t c = 0; c < nbytes; ++c) {
    v8i set[4];
    for (int j = 0; j < 4; ++j)
      set[j] = (((v8i){0} + b[j][c * stride]) & lanes) != 0;
    for (int r = 0; r < 4; ++r) {
      v8f xv = load8(xs[r] + c * 8);
      for (int j = 0; j < 4; ++j)
        a[r][j] += bitselect8(set[j], xv);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j)
      out[r][j] = sum8(a[r][j]);
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
static void masked_qsums4(const int8_t *q, int64_t kq, int64_t nbytes, const uint8_t *const b[4], int64_t stride,
                          int32_t out[4]) {
#if defined(SINTER_VNNI)
  if (stride == 1) {
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
    return;
  }
#endif
  (void)kq;
  const v8i lanes = {1, 2, 4, 8, 16, 32, 64, 128};
  v8i a[4] = {{0}, {0}, {0}, {0}};
  for (int64_t c = 0; c < nbytes; ++c) {
    v8c raw;
    __builtin_memcpy(&raw, q + c * 8, sizeof(raw));
    v8i qv = __builtin_convertvector(raw, v8i);
    for (int j = 0; j < 4; ++j)
      a[j] += qv & ((((v8i){0} + b[j][c * stride]) & lanes) != 0);
  }
  for (int j = 0; j < 4; ++j)
    out[j] = ((a[j][0] + a[j][1]) + (a[j][2] + a[j][3])) + ((a[j][4] + a[j][5]) + (a[j][6] + a[j][7]));
}

/* The int8 counterpart of masked_sums4x4: exact. */
static void masked_qsums4x4(const int8_t *const q[4], int64_t kq, int64_t nbytes, const uint8_t *const b[4],
                            int64_t stride, int32_t out[4][4]) {
#if defined(SINTER_VNNI)
  if (stride == 1) {
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
    return;
  }
#endif
  for (int r = 0; r < 4; ++r)
    masked_qsums4(q[r], kq, nbytes, b, stride, out[r]);
}

/* y[r0 + i][n0 + j] for `count` outputs from Σ_k sign · x' (int8: in
 * units of the row's q scale). */
static void finish_row(const mos_linear *m, int64_t i, int64_t n0, int count, const float sums[]) {
  const float *scale = m->mix_out ? m->out_mix + i * m->n : (const float *)m->s_out;
  float unit = m->act_bits == 8 ? m->qscale[i] : 1.0f;
  float *y = m->y + (m->r0 + i) * m->n;
  for (int j = 0; j < count; ++j) {
    float v = sums[j] * unit * scale[n0 + j];
    y[n0 + j] = m->bias ? v + m->bias[n0 + j] : v;
  }
}

/* Signed sums from masked ones: Σ sign · v = 2 · Σ_{bit=1} v − Σ v. */
static void unmask(const mos_linear *m, int64_t i, float sums[4]) {
  for (int j = 0; j < 4; ++j)
    sums[j] = 2.0f * sums[j] - m->total[i];
}

/* Chunk rows [i, i + 4) over four outputs from n0, by masked sums. */
static void four_rows(const mos_linear *m, int64_t i, int64_t n0, int count, const uint8_t *const b[4]) {
  float sums[4][4];
  int64_t stride = bit_stride(m);
  if (m->act_bits == 8) {
    const int8_t *q[4] = {m->q + i * m->kq, m->q + (i + 1) * m->kq, m->q + (i + 2) * m->kq,
                          m->q + (i + 3) * m->kq};
    int32_t qsums[4][4];
    masked_qsums4x4(q, m->kq, row_bytes(m), b, stride, qsums);
    for (int r = 0; r < 4; ++r)
      for (int j = 0; j < 4; ++j)
        sums[r][j] = (float)qsums[r][j];
  } else {
    const float *xs[4] = {m->xs + i * m->kp, m->xs + (i + 1) * m->kp, m->xs + (i + 2) * m->kp,
                          m->xs + (i + 3) * m->kp};
    masked_sums4x4(xs, row_bytes(m), b, stride, sums);
  }
  for (int r = 0; r < 4; ++r) {
    unmask(m, i + r, sums[r]);
    finish_row(m, i + r, n0, count, sums[r]);
  }
}

/* Chunk row i over four outputs from n0, by masked sums. */
static void one_row(const mos_linear *m, int64_t i, int64_t n0, int count, const uint8_t *const b[4]) {
  float sums[4];
  if (m->act_bits == 8) {
    int32_t qsums[4];
    masked_qsums4(m->q + i * m->kq, m->kq, row_bytes(m), b, bit_stride(m), qsums);
    for (int j = 0; j < 4; ++j)
      sums[j] = (float)qsums[j];
  } else {
    masked_sums4(m->xs + i * m->kp, row_bytes(m), b, bit_stride(m), sums);
  }
  unmask(m, i, sums);
  finish_row(m, i, n0, count, sums);
}

/* Every chunk row over outputs [lo, hi), four at a time, by masked sums. */
static void masked_block(const mos_linear *m, int64_t lo, int64_t hi) {
  for (int64_t i = 0; i < m->rc; i += 4)
    for (int64_t n0 = lo; n0 < hi; n0 += 4) {
      const uint8_t *b[4];
      for (int j = 0; j < 4; ++j)
        b[j] = bit_row(m, n0 + j < hi ? n0 + j : n0);
      int count = hi - n0 < 4 ? (int)(hi - n0) : 4;
      if (i + 4 <= m->rc)
        four_rows(m, i, n0, count, b);
      else
        for (int64_t r = i; r < m->rc; ++r)
          one_row(m, r, n0, count, b);
    }
}

#if defined(__AVX512F__)
/* One row over four tiles (64 outputs) by lookup: lo and hi nibbles of
 * each byte index the tables of its two groups of inputs (vpermps reads
 * only an index's low four bits). */
static void lut_row(const float *tab, int64_t nbytes, const uint8_t *const tile[4], float out[4][TILE]) {
  __m512 a[4][2];
  for (int j = 0; j < 4; ++j)
    a[j][0] = a[j][1] = _mm512_setzero_ps();
  for (int64_t c = 0; c < nbytes; ++c) {
    __m512 lo = _mm512_loadu_ps(tab + 32 * c), hi = _mm512_loadu_ps(tab + 32 * c + 16);
    for (int j = 0; j < 4; ++j) {
      __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(tile[j] + TILE * c)));
      a[j][0] = _mm512_add_ps(a[j][0], _mm512_permutexvar_ps(idx, lo));
      a[j][1] = _mm512_add_ps(a[j][1], _mm512_permutexvar_ps(_mm512_srli_epi32(idx, 4), hi));
    }
  }
  for (int j = 0; j < 4; ++j)
    _mm512_storeu_ps(out[j], _mm512_add_ps(a[j][0], a[j][1]));
}

/* Four rows over two tiles: each widened index serves four rows. */
static void lut_rows4(const float *const tab[4], int64_t nbytes, const uint8_t *const tile[2],
                      float out[4][2][TILE]) {
  __m512 a[4][2];
  for (int r = 0; r < 4; ++r)
    a[r][0] = a[r][1] = _mm512_setzero_ps();
  for (int64_t c = 0; c < nbytes; ++c) {
    __m512i idx[2][2];
    for (int j = 0; j < 2; ++j) {
      idx[j][0] = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(tile[j] + TILE * c)));
      idx[j][1] = _mm512_srli_epi32(idx[j][0], 4);
    }
    for (int r = 0; r < 4; ++r) {
      __m512 lo = _mm512_loadu_ps(tab[r] + 32 * c), hi = _mm512_loadu_ps(tab[r] + 32 * c + 16);
      for (int j = 0; j < 2; ++j)
        a[r][j] = _mm512_add_ps(a[r][j], _mm512_add_ps(_mm512_permutexvar_ps(idx[j][0], lo),
                                                       _mm512_permutexvar_ps(idx[j][1], hi)));
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 2; ++j)
      _mm512_storeu_ps(out[r][j], a[r][j]);
}

/* Every chunk row over outputs [lo, hi) (lo a multiple of TILE) by lookup;
 * tiles past N hold zero bits and their sums are dropped. */
static void lut_block(const mos_linear *m, int64_t lo, int64_t hi) {
  int64_t nbytes = row_bytes(m), tiles = (m->n + TILE - 1) / TILE;
  int64_t t0 = lo / TILE, t1 = (hi + TILE - 1) / TILE;
  const uint8_t *tile[4];
  for (int j = 0; j < 4; ++j)
    tile[j] = m->bits + (t0 + j < tiles ? t0 + j : t0) * nbytes * TILE;
  int64_t i = 0;
  for (; i + 4 <= m->rc; i += 4) {
    const float *tab[4];
    for (int r = 0; r < 4; ++r)
      tab[r] = m->tab + (i + r) * tab_floats(m);
    for (int64_t t = t0; t < t1; t += 2) {
      float sums[4][2][TILE];
      lut_rows4(tab, nbytes, tile + (t - t0), sums);
      for (int r = 0; r < 4; ++r)
        for (int j = 0; j < 2 && t + j < t1; ++j) {
          int64_t n0 = (t + j) * TILE;
          finish_row(m, i + r, n0, hi - n0 < TILE ? (int)(hi - n0) : TILE, sums[r][j]);
        }
    }
  }
  for (; i < m->rc; ++i) {
    float sums[4][TILE];
    lut_row(m->tab + i * tab_floats(m), nbytes, tile, sums);
    for (int64_t t = t0; t < t1; ++t) {
      int64_t n0 = t * TILE;
      finish_row(m, i, n0, hi - n0 < TILE ? (int)(hi - n0) : TILE, sums[t - t0]);
    }
  }
}
#endif

/* Phase 2 for output blocks [begin, end). */
static void output_blocks(void *ctx, int64_t begin, int64_t end) {
  const mos_linear *m = (const mos_linear *)ctx;
  for (int64_t blk = begin; blk < end; ++blk) {
    int64_t lo = blk * OUTPUT_BLOCK, hi = lo + OUTPUT_BLOCK < m->n ? lo + OUTPUT_BLOCK : m->n;
#if defined(__AVX512F__)
    if (m->lut) {
      lut_block(m, lo, hi);
      continue;
    }
#endif
    masked_block(m, lo, hi);
  }
}

/* Without scratch memory: one output at a time, s_in mixed on the fly, in
 * fp32 whatever act_bits asks (more exact, never less). */
static void unbuffered(const mos_linear *m) {
  float g[MAX_EXPERTS] = {1.0f};
  for (int64_t r = 0; r < m->rows; ++r) {
    const float *x = m->x + r * m->k;
    if (m->e > 1)
      gates(m, x, g);
    for (int64_t j = 0; j < m->n; ++j) {
      const uint8_t *b = bit_row(m, j);
      float acc = 0.0f, scale = 0.0f;
      for (int64_t i = 0; i < m->k; ++i) {
        float s = 0.0f;
        for (int64_t e = 0; e < m->e; ++e)
          s += g[e] * scale_at(m, m->s_in, e * m->k + i);
        acc += (b[i / 8 * bit_stride(m)] >> (i % 8) & 1) ? x[i] * s : -(x[i] * s);
      }
      for (int64_t e = 0; e < m->e; ++e)
        scale += g[e] * scale_at(m, m->s_out, e * m->n + j);
      m->y[r * m->n + j] = acc * scale + (m->bias ? m->bias[j] : 0.0f);
    }
  }
}

/* Scratch floats per row of a chunk. */
static int64_t row_floats(const mos_linear *m) {
  return m->kp + 1 + (m->mix_out ? m->n : 0) + (m->act_bits == 8 ? 1 + m->kq / 4 : 0) + (m->lut ? tab_floats(m) : 0);
}

/* Carves the chunk's per-row arrays out of `scratch`. */
static void carve(mos_linear *m, float *scratch, int64_t rc) {
  m->xs = scratch;
  m->total = m->xs + rc * m->kp;
  float *next = m->total + rc;
  if (m->mix_out) {
    m->out_mix = next;
    next += rc * m->n;
  }
  if (m->act_bits == 8) {
    m->qscale = next;
    m->q = (int8_t *)(next + rc);
    next += rc + rc * m->kq / 4;
  }
  m->tab = next;
}

void __sinter_mos_linear(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t e, intptr_t bits,
                         intptr_t s_in, intptr_t s_out, intptr_t router, intptr_t bias, int64_t act_bits,
                         int64_t bits_layout, int64_t scale_bits) {
  if (rows <= 0 || n <= 0 || e < 1 || e > MAX_EXPERTS)
    return;
  mos_linear m = {0};
  m.x = (const float *)x;
  m.y = (float *)y;
  m.rows = rows, m.k = k, m.n = n, m.e = e;
  m.bits = (const uint8_t *)bits;
  m.s_in = (const void *)s_in, m.s_out = (const void *)s_out, m.router_raw = (const void *)router;
  m.bias = (const float *)bias;
  m.act_bits = act_bits == 8 ? 8 : 32;
  m.layout = bits_layout == LAYOUT_TILES ? LAYOUT_TILES : LAYOUT_ROWS;
  m.half = scale_bits == 16;
#if defined(__AVX512F__)
  m.lut = m.act_bits == 32 && m.layout == LAYOUT_TILES;
#endif
  m.kp = (k + STEP - 1) / STEP * STEP;
  m.kq = (k + QSTEP - 1) / QSTEP * QSTEP;
  /* s_out is mixed per row unless one fp32 expert is s_out itself. */
  m.mix_out = e > 1 || m.half;
  /* One block: a widened router (halves, E > 1), then the chunk's rows. */
  int64_t chunk = rows < ROW_CHUNK ? rows : ROW_CHUNK, wide = m.half && e > 1 ? k * e : 0;
  float *scratch = (float *)malloc((size_t)(wide + chunk * row_floats(&m)) * sizeof(float));
  if (!scratch) {
    unbuffered(&m);
    return;
  }
  if (wide)
    widen((const uint16_t *)router, wide, scratch);
  m.router = wide ? scratch : (const float *)router;
  for (int64_t r0 = 0; r0 < rows; r0 += ROW_CHUNK) {
    m.r0 = r0;
    m.rc = rows - r0 < ROW_CHUNK ? rows - r0 : ROW_CHUNK;
    carve(&m, scratch + wide, m.rc);
    __sinter_parallel_for(m.rc, 4, prepare_rows, &m);
    __sinter_parallel_for((n + OUTPUT_BLOCK - 1) / OUTPUT_BLOCK, 1, output_blocks, &m);
  }
  free(scratch);
}
