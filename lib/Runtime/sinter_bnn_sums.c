/* The 1-bit products of the BinaryMoS kernel (phase 2, sinter_bnn.c): for
 * the chunk's rows and a block of outputs, Σ_k sign W[k][n] · x'[k].
 *
 * fp32 activations, AVX-512 and tiles: lookup tables. For each group of
 * four inputs, t[m] = Σ_j ±x'[j] (+ where bit j of m is set) holds all 16
 * sums; one vpermps looks up 16 outputs' nibbles in it. Per 8 inputs × 16
 * outputs that is a widening load, a shift, two lookups and two adds,
 * where masked adds (one per 16 bits) took eight masks and eight adds.
 * Elsewhere: masked sums 2·Σ_{bit=1} x' − Σ x', eight lanes selected by
 * comparing a broadcast byte with the eight bit positions.
 *
 * int8 activations: Σ_{bit=1} q is an exact integer sum: with AVX-512 VNNI
 * and rows, 64 bits select 64 bytes of q (a byte mask) that one dot
 * product with ones adds into 16 int32 lanes; elsewhere eight lanes at a
 * time, selected as for fp32. */
#include "sinter_bnn.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define SINTER_VNNI 1
#endif

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

/* Four rows over four tiles: each widened index serves four rows, each
 * table load four tiles. */
static void lut_rows4(const float *const tab[4], int64_t nbytes, const uint8_t *const tile[4],
                      float out[4][4][TILE]) {
  __m512 a[4][4];
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j)
      a[r][j] = _mm512_setzero_ps();
  for (int64_t c = 0; c < nbytes; ++c) {
    __m512i idx[4][2];
    for (int j = 0; j < 4; ++j) {
      idx[j][0] = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(tile[j] + TILE * c)));
      idx[j][1] = _mm512_srli_epi32(idx[j][0], 4);
    }
    for (int r = 0; r < 4; ++r) {
      __m512 lo = _mm512_loadu_ps(tab[r] + 32 * c), hi = _mm512_loadu_ps(tab[r] + 32 * c + 16);
      for (int j = 0; j < 4; ++j)
        a[r][j] = _mm512_add_ps(a[r][j], _mm512_add_ps(_mm512_permutexvar_ps(idx[j][0], lo),
                                                       _mm512_permutexvar_ps(idx[j][1], hi)));
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j)
      _mm512_storeu_ps(out[r][j], a[r][j]);
}

#elif defined(__AVX2__)
/* Entries idx (0..15) of a 16-float table t0:t1 for 8 lanes: two 8-entry
 * lookups on the low three bits, blended on the fourth (at sel's sign). */
static inline __m256 lookup16(__m256 t0, __m256 t1, __m256i idx, __m256i sel) {
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(t0, idx), _mm256_permutevar8x32_ps(t1, idx),
                          _mm256_castsi256_ps(sel));
}

/* One row over four tiles (64 outputs) by lookup, two tiles a pass, eight
 * lanes per half tile: AVX2 looks up 8 entries at a time. */
static void lut_row(const float *tab, int64_t nbytes, const uint8_t *const tile[4], float out[4][TILE]) {
  for (int j0 = 0; j0 < 4; j0 += 2) {
    __m256 a[2][2];
    for (int j = 0; j < 2; ++j)
      a[j][0] = a[j][1] = _mm256_setzero_ps();
    for (int64_t c = 0; c < nbytes; ++c) {
      const float *t = tab + 32 * c;
      __m256 l0 = _mm256_loadu_ps(t), l1 = _mm256_loadu_ps(t + 8);
      __m256 h0 = _mm256_loadu_ps(t + 16), h1 = _mm256_loadu_ps(t + 24);
      for (int j = 0; j < 2; ++j)
        for (int h = 0; h < 2; ++h) {
          __m256i idx =
              _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(tile[j0 + j] + TILE * c + 8 * h)));
          __m256 lo = lookup16(l0, l1, idx, _mm256_slli_epi32(idx, 28));
          __m256 hi = lookup16(h0, h1, _mm256_srli_epi32(idx, 4), _mm256_slli_epi32(idx, 24));
          a[j][h] = _mm256_add_ps(a[j][h], _mm256_add_ps(lo, hi));
        }
    }
    for (int j = 0; j < 2; ++j)
      for (int h = 0; h < 2; ++h)
        _mm256_storeu_ps(out[j0 + j] + 8 * h, a[j][h]);
  }
}
#endif

#if defined(SINTER_LUT)
/* Every chunk row over outputs [lo, hi) (lo a multiple of TILE) by lookup;
 * tiles past N hold zero bits and their sums are dropped. */
static void lut_block(const mos_linear *m, int64_t lo, int64_t hi) {
  int64_t nbytes = row_bytes(m), tiles = (m->n + TILE - 1) / TILE;
  int64_t t0 = lo / TILE, t1 = (hi + TILE - 1) / TILE;
  const uint8_t *tile[4];
  for (int j = 0; j < 4; ++j)
    tile[j] = m->bits + (t0 + j < tiles ? t0 + j : t0) * nbytes * TILE;
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 4 <= m->rc; i += 4) {
    const float *tab[4];
    for (int r = 0; r < 4; ++r)
      tab[r] = m->tab + (i + r) * tab_floats(m);
    float sums[4][4][TILE];
    lut_rows4(tab, nbytes, tile, sums);
    for (int r = 0; r < 4; ++r)
      for (int64_t t = t0; t < t1; ++t) {
        int64_t n0 = t * TILE;
        finish_row(m, i + r, n0, hi - n0 < TILE ? (int)(hi - n0) : TILE, sums[r][t - t0]);
      }
  }
#endif
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

void __sinter_mos_output_blocks(void *ctx, int64_t begin, int64_t end) {
  const mos_linear *m = (const mos_linear *)ctx;
  for (int64_t blk = begin; blk < end; ++blk) {
    int64_t lo = blk * OUTPUT_BLOCK, hi = lo + OUTPUT_BLOCK < m->n ? lo + OUTPUT_BLOCK : m->n;
#if defined(SINTER_LUT)
    if (m->lut) {
      lut_block(m, lo, hi);
      continue;
    }
#endif
    masked_block(m, lo, hi);
  }
}

