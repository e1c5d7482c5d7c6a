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
 * tables or int8 quantization are prepared (here); then outputs are shared
 * out in blocks among the threads, and each block's bits stay in L1 while
 * the chunk's rows pass over them (sinter_bnn_sums.c). The order of the
 * sums is fixed, so the result does not depend on the thread count.
 *
 * int8 activations (act_bits = 8): x' is quantized per row to
 * q = rint(x' · 127 / max|x'|); the error against fp32 is at most
 * K · scale / 2 · |s_out| per output, scale = max|x'| / 127.
 *
 * Scales and router are fp32 or IEEE half (scale_bits = 16), widened as
 * they are read. */
#include "sinter_bnn.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

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
  return m->kp + 1 + (m->mix_out ? m->n : 0) + (m->act_bits == 8 ? 1 + m->kq / 4 : 0) +
         (m->lut ? tab_floats(m) : 0);
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
#if defined(SINTER_LUT)
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
    __sinter_parallel_for((n + OUTPUT_BLOCK - 1) / OUTPUT_BLOCK, 1, __sinter_mos_output_blocks, &m);
  }
  free(scratch);
}
