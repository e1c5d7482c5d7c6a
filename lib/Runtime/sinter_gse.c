/* GSE-INT linear layers (gse.matmul of a row-quantized x and a constant
 * weight; METHODS.md §2, docs/dialects/gse.md):
 *
 *   y[r][n] = Σ_g 2^(ea[r][g] + ew[n][g]) · Σ_{k ∈ g} qa[r][k] · qw[n][k]
 *
 * x is quantized here, per row and group, by the format's rule: e =
 * ⌊log₂ max|x|⌋ − (m − 2) clamped to [exp_lo, exp_hi], q = rint(x / 2^e)
 * saturated to ±(2^(m−1) − 1). The weight comes packed by the compiler
 * (sinter/Dialect/GSE/Quantize.h): panels of 16 outputs, each group padded
 * to whole quads of inputs, a quad of one output's bytes next to the next
 * output's, every byte q + 128. That is VNNI's layout: one vpdpbusd
 * multiplies a broadcast quad of 4 signed activations with 16 outputs'
 * unsigned quads and adds into 16 int32 lanes, exactly; since the weights
 * carry +128, each group's sum is corrected by 128 · Σ qa of the group
 * (once per row). Mantissas of at most 4 bits come as nibbles q + 8, two
 * quads' blocks folded into one (low nibbles first), unpacked by a mask
 * and a shift before their dot products; their correction is 8 · Σ qa.
 * Then each group pair's two exponents scale its int32 sum
 * into the f32 result (vscalefps). With AVX2 alone the weights widen to
 * 16 bits for `vpmaddwd`; elsewhere the same sums run in C.
 *
 * Rows go in chunks: first each row is quantized, then threads share
 * blocks of 64 outputs (4 panels), whose weights stay in cache while the
 * chunk's rows pass. The sums' order is fixed: any thread count gives the
 * same result. */
#include "sinter_vec.h"

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>
#define SINTER_GSE_VNNI 1
#elif defined(__AVX2__)
#include <immintrin.h>
#endif

float ldexpf(float x, int e);

#define PANEL 16
#define BLOCK_PANELS 4
#define ROW_CHUNK 16

typedef struct {
  const float *x;
  float *y;
  int64_t rows, k, n, group, limit, exp_lo, exp_hi;
  const uint8_t *w; /* panels, q + 128 (bytes) or q + 8 (nibbles) */
  int64_t nibbles, offset; /* nibbles: 0 or 1; offset: 128 or 8 */
  const int8_t *we; /* [panels][groups][16] */
  int64_t groups, gq, kp, panels;
  int64_t p_base; /* the panel w and we start at (a transposed block's) */
  int64_t r0, rc;
  int8_t *q;   /* [rc][kp], zero in the padding */
  int32_t *ea; /* [rc][groups] */
  int32_t *sa; /* [rc][groups]: offset · Σ q */
} gse_linear;

/* ⌊log₂ top⌋ − (m − 2) for the group's largest magnitude, clamped. */
static int32_t group_exponent(const gse_linear *g, float top, int64_t mantissa_bits) {
  if (!(top > 0.0f))
    return (int32_t)g->exp_lo;
  uint32_t bits;
  __builtin_memcpy(&bits, &top, sizeof(bits));
  int32_t biased = (int32_t)(bits >> 23 & 0xff);
  int32_t floor_log2;
  if (biased == 0xff)
    return (int32_t)g->exp_hi; /* ∞ (NaN never wins the max) */
  if (biased == 0)             /* subnormal: below 2^-126 */
    floor_log2 = -127 - __builtin_clz(bits & 0x7fffff) + 9;
  else
    floor_log2 = biased - 127;
  int64_t e = floor_log2 - (mantissa_bits - 2);
  return (int32_t)(e < g->exp_lo ? g->exp_lo : e > g->exp_hi ? g->exp_hi : e);
}

/* 2^e for e in [−126, 127] (a normal float), else 0. */
static inline float pow2(int32_t e) {
  if (e < -126 || e > 127)
    return 0.0f;
  uint32_t bits = (uint32_t)(e + 127) << 23;
  float f;
  __builtin_memcpy(&f, &bits, sizeof(f));
  return f;
}

typedef int8_t v8c __attribute__((vector_size(8)));

/* max |x| over len values; NaN is ignored (maxnum keeps the number). */
static float group_top(const float *x, int64_t len) {
  v8f top8 = {0};
  int64_t j = 0;
  for (; j + 8 <= len; j += 8)
    top8 = __builtin_elementwise_max(top8, __builtin_elementwise_abs(load8(x + j)));
  float top = 0.0f;
  for (int l = 0; l < 8; ++l)
    top = __builtin_fmaxf(top, top8[l]);
  for (; j < len; ++j)
    top = __builtin_fmaxf(top, __builtin_fabsf(x[j]));
  return top;
}

/* Mantissas rint(x / 2^e), saturated to ±limit (NaN → 0), into qg;
 * returns their sum. x · 2^-e is exact (or rounds as ldexp would) when
 * 2^-e is a normal float; MX's widest exponents take the library call. */
static int32_t quantize_group(const float *x, int64_t len, int32_t e, float limit, int8_t *qg) {
  float scale = pow2(-e);
  v8i sum8 = {0};
  int64_t j = 0;
  if (scale != 0.0f)
    for (; j + 8 <= len; j += 8) {
      v8f v = __builtin_elementwise_roundeven(load8(x + j) * scale);
      v8i number = v == v;
      v = __builtin_elementwise_min(__builtin_elementwise_max(v, splat8(-limit)), splat8(limit));
      v8i qi = __builtin_convertvector(bitselect8(number, v), v8i);
      v8c qc = __builtin_convertvector(qi, v8c);
      __builtin_memcpy(qg + j, &qc, sizeof(qc));
      sum8 += qi;
    }
  int32_t sum = 0;
  for (int l = 0; l < 8; ++l)
    sum += sum8[l];
  for (; j < len; ++j) {
    float v = __builtin_roundevenf(scale != 0.0f ? x[j] * scale : ldexpf(x[j], -e));
    v = v != v ? 0.0f : v < -limit ? -limit : v > limit ? limit : v;
    qg[j] = (int8_t)v;
    sum += (int8_t)v;
  }
  return sum;
}

/* Phase 1 for chunk rows [begin, end): q, ea and the offset corrections. */
static void quantize_rows(void *ctx, int64_t begin, int64_t end) {
  const gse_linear *g = (const gse_linear *)ctx;
  int64_t mantissa_bits = 64 - __builtin_clzll((uint64_t)g->limit) + 1;
  for (int64_t i = begin; i < end; ++i) {
    const float *x = g->x + (g->r0 + i) * g->k;
    int8_t *q = g->q + i * g->kp;
    for (int64_t grp = 0; grp < g->groups; ++grp) {
      int64_t lo = grp * g->group, len = (lo + g->group < g->k ? lo + g->group : g->k) - lo;
      int32_t e = group_exponent(g, group_top(x + lo, len), mantissa_bits);
      int8_t *qg = q + grp * g->gq;
      int32_t sum = quantize_group(x + lo, len, e, (float)g->limit, qg);
      for (int64_t j = len; j < g->gq; ++j)
        qg[j] = 0;
      g->ea[i * g->groups + grp] = e;
      g->sa[i * g->groups + grp] = (int32_t)g->offset * sum;
    }
  }
}

/* Panel p's weights and exponents. */
static const uint8_t *panel_weights(const gse_linear *g, int64_t p) {
  return g->w + ((p - g->p_base) * g->kp * PANEL >> g->nibbles);
}
static const int8_t *panel_exponents(const gse_linear *g, int64_t p) {
  return g->we + (p - g->p_base) * g->groups * PANEL;
}

#if !defined(SINTER_GSE_VNNI) && !defined(__AVX2__)
/* Byte b (0..63) of quad c's block of a panel's weights, as its unsigned
 * value (q + offset). */
static inline int32_t weight_at(const gse_linear *g, const uint8_t *w, int64_t c, int b) {
  if (!g->nibbles)
    return w[c * PANEL + b];
  return w[(c / 8) * 4 * PANEL + b] >> (4 * ((c / 4) % 2)) & 15;
}
#endif

#if defined(SINTER_GSE_VNNI)
static inline __m512i broadcast_quad(const int8_t *q) {
  int32_t quad;
  __builtin_memcpy(&quad, q, sizeof(quad));
  return _mm512_set1_epi32(quad);
}

/* A block of 64 bytes of nibbles as the two quads' blocks it holds. */
static inline void unpack_nibbles(const uint8_t *w, __m512i *lo, __m512i *hi) {
  const __m512i low4 = _mm512_set1_epi8(15);
  __m512i v = _mm512_loadu_si512(w);
  *lo = _mm512_and_si512(v, low4);
  *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
}
#endif

/* Row r0 + i's outputs of panel p from out. */
static void store_panel(const gse_linear *g, int64_t i, int64_t p, const float out[PANEL]) {
  float *y = g->y + (g->r0 + i) * g->n + p * PANEL;
  int64_t count = g->n - p * PANEL < PANEL ? g->n - p * PANEL : PANEL;
  for (int64_t j = 0; j < count; ++j)
    y[j] = out[j];
}

#if defined(SINTER_GSE_VNNI)
/* Chunk rows [i, i + R) over panels [p, p + P), stored. Each group's R·P
 * int32 sums are independent chains (a vpdpbusd waits ~5 cycles for its
 * previous one), each weight load serves R rows and each broadcast P
 * panels. Called with constant R and P, so that the loops unroll. */
static inline __attribute__((always_inline)) void vnni_tile(const gse_linear *g, int64_t i, int R, int64_t p,
                                                            int P, int NIB) {
  const uint8_t *w[4];
  for (int j = 0; j < P; ++j)
    w[j] = panel_weights(g, p + j);
  __m512 acc[4][4];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < P; ++j)
      acc[r][j] = _mm512_setzero_ps();
  for (int64_t grp = 0; grp < g->groups; ++grp) {
    __m512i dot[4][4];
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < P; ++j)
        dot[r][j] = _mm512_set1_epi32(-g->sa[(i + r) * g->groups + grp]);
    for (int64_t c = grp * g->gq; c < (grp + 1) * g->gq; c += 4 << NIB) {
      __m512i wv[4][2];
      for (int j = 0; j < P; ++j) {
        if (NIB)
          unpack_nibbles(w[j] + c * PANEL / 2, &wv[j][0], &wv[j][1]);
        else
          wv[j][0] = _mm512_loadu_si512(w[j] + c * PANEL);
      }
      for (int half = 0; half <= NIB; ++half)
        for (int r = 0; r < R; ++r) {
          __m512i a = broadcast_quad(g->q + (i + r) * g->kp + c + 4 * half);
          for (int j = 0; j < P; ++j)
            dot[r][j] = _mm512_dpbusd_epi32(dot[r][j], wv[j][half], a);
        }
    }
    for (int j = 0; j < P; ++j) {
      const int8_t *exps = panel_exponents(g, p + j) + grp * PANEL;
      __m512i ew = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)exps));
      for (int r = 0; r < R; ++r) {
        __m512i e = _mm512_add_epi32(ew, _mm512_set1_epi32(g->ea[(i + r) * g->groups + grp]));
        acc[r][j] = _mm512_add_ps(acc[r][j], _mm512_scalef_ps(_mm512_cvtepi32_ps(dot[r][j]), _mm512_cvtepi32_ps(e)));
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < P; ++j) {
      float out[PANEL];
      _mm512_storeu_ps(out, acc[r][j]);
      store_panel(g, i + r, p + j, out);
    }
}
/* Every chunk row over panels [p0, p1): tiles of 4 rows × 2 panels, then
 * single rows over 4 panels. */
static inline __attribute__((always_inline)) void vnni_block(const gse_linear *g, int64_t p0, int64_t p1, int NIB) {
  int64_t i = 0;
  for (; i + 4 <= g->rc; i += 4) {
    int64_t p = p0;
    for (; p + 2 <= p1; p += 2)
      vnni_tile(g, i, 4, p, 2, NIB);
    for (; p < p1; ++p)
      vnni_tile(g, i, 4, p, 1, NIB);
  }
  for (; i < g->rc; ++i) {
    if (p1 - p0 == 4)
      vnni_tile(g, i, 1, p0, 4, NIB);
    else
      for (int64_t p = p0; p < p1; ++p)
        vnni_tile(g, i, 1, p, 1, NIB);
  }
}
#else
#if defined(__AVX2__)
/* One group's exact sums Σ q_w · q_a for the panel's 16 outputs: the
 * weights widened to 16 bits (less their offset), `vpmaddwd` with the
 * quad of activations repeated, then pairs added across. */
static void group_dots(const gse_linear *g, const uint8_t *w, int64_t i, int64_t grp, int32_t dot[PANEL]) {
  const int8_t *q = g->q + i * g->kp;
  const __m256i offset = _mm256_set1_epi16((int16_t)g->offset), low4 = _mm256_set1_epi16(15);
  __m256i acc[4];
  for (int h = 0; h < 4; ++h)
    acc[h] = _mm256_setzero_si256();
  for (int64_t c = grp * g->gq; c < (grp + 1) * g->gq; c += 4) {
    uint64_t quad = 0;
    for (int b = 0; b < 4; ++b)
      quad |= (uint64_t)(uint16_t)(int16_t)q[c + b] << (16 * b);
    __m256i a = _mm256_set1_epi64x((long long)quad);
    for (int h = 0; h < 4; ++h) {
      __m256i wv;
      if (g->nibbles) {
        wv = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(w + (c / 8) * 4 * PANEL + 16 * h)));
        wv = _mm256_and_si256(_mm256_srli_epi16(wv, 4 * (int)((c / 4) % 2)), low4);
      } else {
        wv = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(w + c * PANEL + 16 * h)));
      }
      acc[h] = _mm256_add_epi32(acc[h], _mm256_madd_epi16(_mm256_sub_epi16(wv, offset), a));
    }
  }
  /* acc[h] holds outputs 4h..4h+3 as pairs; hadd pairs them within lanes. */
  const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
  for (int h = 0; h < 4; h += 2) {
    __m256i sums = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(acc[h], acc[h + 1]), order);
    _mm256_storeu_si256((__m256i *)(dot + 4 * h), sums);
  }
}
#else
/* The same in C (the weights carry their offset; q's sum removes it). */
static void group_dots(const gse_linear *g, const uint8_t *w, int64_t i, int64_t grp, int32_t dot[PANEL]) {
  const int8_t *q = g->q + i * g->kp;
  for (int j = 0; j < PANEL; ++j)
    dot[j] = -g->sa[i * g->groups + grp];
  for (int64_t c = grp * g->gq; c < (grp + 1) * g->gq; c += 4)
    for (int j = 0; j < PANEL; ++j)
      for (int b = 0; b < 4; ++b)
        dot[j] += weight_at(g, w, c, 4 * j + b) * q[c + b];
}
#endif

/* Chunk row i over panel p. */
static void panel_row(const gse_linear *g, int64_t i, int64_t p) {
  const uint8_t *w = panel_weights(g, p);
  const int8_t *we = panel_exponents(g, p);
  const int32_t *ea = g->ea + i * g->groups;
  float out[PANEL] = {0};
  for (int64_t grp = 0; grp < g->groups; ++grp) {
    int32_t dot[PANEL];
    group_dots(g, w, i, grp, dot);
    for (int j = 0; j < PANEL; ++j) {
      int32_t e = ea[grp] + we[grp * PANEL + j];
      float scale = pow2(e);
      out[j] += scale != 0.0f ? (float)dot[j] * scale : ldexpf((float)dot[j], e);
    }
  }
  store_panel(g, i, p, out);
}
#endif

/* Every chunk row over panels [p0, p1): with VNNI, tiles of 4 rows × 2
 * panels, else of 1 row × 1 panel. */
static void block_outputs(const gse_linear *g, int64_t p0, int64_t p1) {
#if defined(SINTER_GSE_VNNI)
  if (g->nibbles)
    vnni_block(g, p0, p1, 1);
  else
    vnni_block(g, p0, p1, 0);
#else
  for (int64_t i = 0; i < g->rc; ++i)
    for (int64_t p = p0; p < p1; ++p)
      panel_row(g, i, p);
#endif
}

/* The block's panels of outputs. */
static void block_panels(const gse_linear *g, int64_t blk, int64_t *p0, int64_t *p1) {
  *p0 = blk * BLOCK_PANELS;
  *p1 = *p0 + BLOCK_PANELS < g->panels ? *p0 + BLOCK_PANELS : g->panels;
}

/* Phase 2 for output blocks [begin, end). */
static void output_blocks(void *ctx, int64_t begin, int64_t end) {
  const gse_linear *g = (const gse_linear *)ctx;
  for (int64_t blk = begin; blk < end; ++blk) {
    int64_t p0, p1;
    block_panels(g, blk, &p0, &p1);
    block_outputs(g, p0, p1);
  }
}

/* NaN in every output of rows [r0, r0 + count), columns [c0, c1): what a
 * layer that could not get memory to run returns, rather than a wrong
 * number. */
static void fail_outputs(const gse_linear *g, int64_t r0, int64_t count, int64_t c0, int64_t c1) {
  for (int64_t r = r0; r < r0 + count; ++r)
    for (int64_t c = c0; c < c1; ++c)
      g->y[r * g->n + c] = __builtin_nanf("");
}

/* What both entries share: the activations' side of the GEMM over k
 * inputs and n outputs. 0 when there is nothing to do. */
static int setup(gse_linear *g, intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t group,
                 int64_t a_bits, int64_t exp_lo, int64_t exp_hi, int64_t nibbles) {
  if (rows <= 0 || n <= 0 || k <= 0 || group <= 0 || a_bits < 2 || a_bits > 8)
    return 0;
  g->x = (const float *)x;
  g->y = (float *)y;
  g->rows = rows, g->k = k, g->n = n, g->group = group;
  g->limit = ((int64_t)1 << (a_bits - 1)) - 1;
  g->exp_lo = exp_lo, g->exp_hi = exp_hi;
  g->nibbles = nibbles != 0;
  g->offset = g->nibbles ? 8 : 128;
  g->groups = (k + group - 1) / group;
  g->gq = g->nibbles ? (group + 7) / 8 * 8 : (group + 3) / 4 * 4;
  g->kp = g->groups * g->gq;
  g->panels = (n + PANEL - 1) / PANEL;
  return 1;
}

/* Quantized rows in chunks of at most `chunk`: for each, phase 1 then
 * `phase2` over the blocks of outputs. Per row the scratch holds kp bytes
 * of q, then groups int32 of ea and of sa. */
static void run_chunks(gse_linear *g, int64_t chunk, void (*phase2)(void *, int64_t, int64_t), void *ctx) {
  size_t per_row = (size_t)(g->kp + 8 * g->groups + 8);
  char *scratch = (char *)malloc((size_t)chunk * per_row);
  if (!scratch) /* one row at a time, then */
    scratch = (char *)malloc(per_row), chunk = 1;
  if (!scratch) {
    fail_outputs(g, 0, g->rows, 0, g->n);
    return;
  }
  for (int64_t r0 = 0; r0 < g->rows; r0 += chunk) {
    g->r0 = r0;
    g->rc = g->rows - r0 < chunk ? g->rows - r0 : chunk;
    g->ea = (int32_t *)scratch;
    g->sa = g->ea + g->rc * g->groups;
    g->q = (int8_t *)(g->sa + g->rc * g->groups);
    __sinter_parallel_for(g->rc, 4, quantize_rows, g);
    __sinter_parallel_for((g->panels + BLOCK_PANELS - 1) / BLOCK_PANELS, 1, phase2, ctx);
  }
  free(scratch);
}

void __sinter_gse_linear(intptr_t x, intptr_t y, int64_t rows, int64_t k, int64_t n, int64_t group,
                         int64_t a_bits, int64_t exp_lo, int64_t exp_hi, intptr_t w, intptr_t we, int64_t w_nibbles) {
  gse_linear g = {0};
  if (!setup(&g, x, y, rows, k, n, group, a_bits, exp_lo, exp_hi, w_nibbles))
    return;
  g.w = (const uint8_t *)w;
  g.we = (const int8_t *)we;
  run_chunks(&g, rows < ROW_CHUNK ? rows : ROW_CHUNK, output_blocks, &g);
}

/* ---- x · W through W's own panels ------------------------------------
 *
 * The gradient of a frozen linear's input, dX [rows, K] = dY [rows, N] ·
 * W [N, K] (gse.matmul of gse.transpose, docs/dialects/gse.md), runs the
 * kernel above on Wᵀ requantized into the weights' format grouped along
 * N, as gse.transpose defines it. Wᵀ is never stored: each block of 64
 * outputs (columns of W) is repacked from W's panels into a block of
 * panels in the thread's heap scratch, exactly as the compiler would
 * have packed the requantized Wᵀ, just before the block's GEMM over every
 * row. Rows go in large chunks so that the repacking (∝ K·N) stays small
 * against the GEMM (∝ rows·K·N / 64 per instruction). */

#define TRANSPOSED_ROW_CHUNK 2048

typedef struct {
  const gse_linear *g; /* k = N (W's rows), n = K (W's columns) */
  const uint8_t *w;    /* W's panels and exponents, as __sinter_gse_linear reads them */
  const int8_t *we;
  int64_t w_nibbles, w_gq, w_kp, w_groups;
  int64_t w_bits, w_limit, w_exp_lo, w_exp_hi;
} gse_transposed;

/* W's mantissa at row `row`, padded column kk. */
static inline int32_t w_mantissa(const gse_transposed *t, int64_t row, int64_t kk) {
  const uint8_t *panel = t->w + ((row / PANEL) * t->w_kp * PANEL >> t->w_nibbles);
  int64_t b = (row % PANEL) * 4 + kk % 4;
  if (!t->w_nibbles)
    return (int32_t)panel[(kk / 4) * 4 * PANEL + b] - 128;
  return (int32_t)(panel[(kk / 8) * 4 * PANEL + b] >> (4 * ((kk / 4) % 2)) & 15) - 8;
}

static inline int32_t w_exponent(const gse_transposed *t, int64_t row, int64_t group) {
  return t->we[((row / PANEL) * t->w_groups + group) * PANEL + row % PANEL];
}

/* m · 2^-s rounded to nearest even (|m| < 2^8). */
static inline int32_t shift_round_even(int32_t m, int32_t s) {
  if (s <= 0)
    return s < -16 ? (m > 0 ? 1 << 24 : m < 0 ? -(1 << 24) : 0) : m * (1 << -s); /* saturates later */
  if (s > 16)
    return 0;
  int32_t a = m < 0 ? -m : m, q = a >> s, rem = a & ((1 << s) - 1), half = 1 << (s - 1);
  q += rem > half || (rem == half && (q & 1));
  return m < 0 ? -q : q;
}

/* Output panel p of Wᵀ (columns 16p.. of W) into bytes (q + 128, the
 * forward's layout over N) and exponents, requantized per group of N:
 * the exponent from the group's largest magnitude, ⌊log₂(|m| · 2^e)⌋ =
 * ⌊log₂ |m|⌋ + e, exactly as the compiler's quantizer would find it from
 * the dequantized values. */
static void repack_panel(const gse_transposed *t, int64_t p, uint8_t *out, int8_t *exps) {
  const gse_linear *g = t->g;
  memset(out, 128, (size_t)(g->kp * PANEL));
  memset(exps, 0, (size_t)(g->groups * PANEL));
  for (int64_t j = 0; j < PANEL && p * PANEL + j < g->n; ++j) {
    int64_t col = p * PANEL + j, wg = col / g->group, kk = wg * t->w_gq + col % g->group;
    for (int64_t grp = 0; grp < g->groups; ++grp) {
      int64_t lo = grp * g->group, hi = lo + g->group < g->k ? lo + g->group : g->k;
      const int32_t none = -(1 << 30);
      int32_t top = none;
      for (int64_t r = lo; r < hi; ++r) {
        int32_t m = w_mantissa(t, r, kk);
        if (m != 0) {
          int32_t l = 31 - __builtin_clz((uint32_t)(m < 0 ? -m : m)) + w_exponent(t, r, wg);
          top = l > top ? l : top;
        }
      }
      int64_t e = top == none ? t->w_exp_lo : top - (t->w_bits - 2);
      e = e < t->w_exp_lo ? t->w_exp_lo : e > t->w_exp_hi ? t->w_exp_hi : e;
      exps[grp * PANEL + j] = (int8_t)e;
      for (int64_t r = lo; r < hi; ++r) {
        int32_t q = shift_round_even(w_mantissa(t, r, kk), (int32_t)e - w_exponent(t, r, wg));
        q = q < -t->w_limit ? (int32_t)-t->w_limit : q > t->w_limit ? (int32_t)t->w_limit : q;
        int64_t nn = grp * g->gq + (r - lo);
        out[(nn / 4) * 4 * PANEL + j * 4 + nn % 4] = (uint8_t)(q + 128);
      }
    }
  }
}

/* Phase 2 of x · W for output blocks [begin, end): repack, then the
 * forward's block over the repacked panels. */
static void transposed_blocks(void *ctx, int64_t begin, int64_t end) {
  const gse_transposed *t = (const gse_transposed *)ctx;
  gse_linear g = *t->g;
  size_t panel_bytes = (size_t)(g.kp * PANEL), exp_bytes = (size_t)(g.groups * PANEL);
  uint8_t *panels = (uint8_t *)malloc(BLOCK_PANELS * (panel_bytes + exp_bytes));
  for (int64_t blk = begin; blk < end; ++blk) {
    int64_t p0, p1;
    block_panels(&g, blk, &p0, &p1);
    if (!panels) {
      int64_t c1 = p1 * PANEL < g.n ? p1 * PANEL : g.n;
      fail_outputs(&g, g.r0, g.rc, p0 * PANEL, c1);
      continue;
    }
    int8_t *exps = (int8_t *)(panels + BLOCK_PANELS * panel_bytes);
    for (int64_t p = p0; p < p1; ++p)
      repack_panel(t, p, panels + (p - p0) * panel_bytes, exps + (p - p0) * exp_bytes);
    g.w = panels, g.we = exps, g.p_base = p0;
    block_outputs(&g, p0, p1);
  }
  free(panels);
}

void __sinter_gse_linear_transposed(intptr_t x, intptr_t y, int64_t rows, int64_t w_rows, int64_t w_cols,
                                    int64_t group, int64_t a_bits, int64_t exp_lo, int64_t exp_hi, intptr_t w,
                                    intptr_t we, int64_t w_nibbles, int64_t w_bits, int64_t w_exp_lo,
                                    int64_t w_exp_hi) {
  gse_linear g = {0};
  if (w_bits < 2 || w_bits > 8 || !setup(&g, x, y, rows, w_rows, w_cols, group, a_bits, exp_lo, exp_hi, 0))
    return;
  gse_transposed t = {&g, (const uint8_t *)w, (const int8_t *)we, w_nibbles != 0};
  t.w_gq = t.w_nibbles ? (group + 7) / 8 * 8 : (group + 3) / 4 * 4;
  t.w_groups = (w_cols + group - 1) / group;
  t.w_kp = t.w_groups * t.w_gq;
  t.w_bits = w_bits, t.w_limit = ((int64_t)1 << (w_bits - 1)) - 1;
  t.w_exp_lo = w_exp_lo, t.w_exp_hi = w_exp_hi;
  run_chunks(&g, rows < TRANSPOSED_ROW_CHUNK ? rows : TRANSPOSED_ROW_CHUNK, transposed_blocks, &t);
}
