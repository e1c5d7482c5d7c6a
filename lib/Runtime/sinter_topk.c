/* The top-k choice of the activation-sparsity kernel (sinter_sparse_ffn.c):
 * which `kept` of h predictor logits are largest, as an ascending list of
 * indices, ties to the lower index and NaN last — the same choice as a
 * stable sort by descending logit, without sorting. */
#include "sinter_internal.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* Floats as unsigned integers in the same order, −0 as +0 and NaN below
 * −inf (the choice ranks NaN last). Branch-free, so that it vectorizes. */
static inline uint32_t order_key(float v) {
  uint32_t b;
  __builtin_memcpy(&b, &v, sizeof(b));
  b = b == 0x80000000u ? 0 : b;
  uint32_t key = b >> 31 ? ~b : b | 0x80000000u;
  return (b & 0x7fffffffu) > 0x7f800000u ? 0 : key;
}

/* The value a[k] would hold if a (n distinct values) were sorted in
 * descending order; reorders a. */
static uint64_t kth_largest(uint64_t *a, int64_t n, int64_t k) {
  int64_t lo = 0, hi = n - 1;
  while (lo < hi) {
    uint64_t pivot = a[lo + (hi - lo) / 2];
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] > pivot)
        ++i;
      while (a[j] < pivot)
        --j;
      if (i <= j) {
        uint64_t t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      return a[k];
  }
  return a[k];
}

/* Bits of a key histogram's bins. */
#define KEY_BITS 11
#define BINS (1 << KEY_BITS)

/* Neuron i's rank in the choice: its logit's key, then the lower index
 * first. Distinct for distinct neurons, so the choice has no ties left. */
static inline uint64_t rank_key(uint32_t key, int64_t i) { return (uint64_t)key << 32 | (uint32_t)~(uint32_t)i; }

/* The bin, counting down from the top, that holds the want-th largest
 * value (want ≥ 1, at most the total count); adds to *above the values in
 * the bins above it. */
static uint32_t bin_holding(const uint32_t *counts, int64_t want, int64_t *above) {
  uint32_t bin = BINS - 1;
  while (*above + counts[bin] < want)
    *above += counts[bin--];
  return bin;
}

/* The indices i < n whose key's top KEY_BITS are `bin`, ascending, into
 * out; returns their count. */
static int64_t indices_in_bin(const uint32_t *keys, int64_t n, uint32_t bin, int32_t *out) {
  int64_t count = 0, i = 0;
#if defined(__AVX512F__)
  __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; i + 16 <= n; i += 16, lane = _mm512_add_epi32(lane, _mm512_set1_epi32(16))) {
    __m512i top = _mm512_srli_epi32(_mm512_loadu_si512(keys + i), 32 - KEY_BITS);
    __mmask16 hit = _mm512_cmpeq_epi32_mask(top, _mm512_set1_epi32((int)bin));
    _mm512_mask_compressstoreu_epi32(out + count, hit, lane);
    count += __builtin_popcount(hit);
  }
#endif
  for (; i < n; ++i) { /* branch-free: which keys pass is data, and random */
    out[count] = (int32_t)i;
    count += keys[i] >> (32 - KEY_BITS) == bin;
  }
  return count;
}

/* The indices i < n whose rank key is at least kth, ascending, into out;
 * returns their count. */
static int64_t indices_from(const uint32_t *keys, int64_t n, uint64_t kth, int32_t *out) {
  uint32_t key = (uint32_t)(kth >> 32), last = ~(uint32_t)kth; /* the kth's key and index */
  int64_t count = 0, i = 0;
#if defined(__AVX512F__)
  __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i kv = _mm512_set1_epi32((int)key), lv = _mm512_set1_epi32((int)last);
  for (; i + 16 <= n; i += 16, lane = _mm512_add_epi32(lane, _mm512_set1_epi32(16))) {
    __m512i k = _mm512_loadu_si512(keys + i);
    __mmask16 take = _mm512_cmpgt_epu32_mask(k, kv) |
                     (_mm512_cmpeq_epi32_mask(k, kv) & _mm512_cmple_epu32_mask(lane, lv));
    _mm512_mask_compressstoreu_epi32(out + count, take, lane);
    count += __builtin_popcount(take);
  }
#endif
  for (; i < n; ++i) {
    out[count] = (int32_t)i;
    count += rank_key(keys[i], i) >= kth;
  }
  return count;
}

/* Writes to idx, in ascending order, the `kept` neurons with the largest
 * logits, ties to the lower index (NaN ranks last). A histogram of the keys'
 * top bits finds the bin that holds the kept-th largest, a second one the
 * sub-bin within it when the bin is crowded; only what is left is ordered.
 * keys is h uint32, cand h uint64 and idx h int32 of scratch. */
void __sinter_choose_top(const float *logits, int64_t h, int64_t kept, uint32_t *keys, uint64_t *cand, int32_t *idx) {
  kept = kept < h ? kept : h;
  if (kept <= 0)
    return;
  uint32_t counts[BINS] = {0};
  for (int64_t i = 0; i < h; ++i)
    keys[i] = order_key(logits[i]);
  for (int64_t i = 0; i < h; ++i)
    ++counts[keys[i] >> (32 - KEY_BITS)];
  int64_t above = 0; /* values ranked above the candidates */
  int64_t n = indices_in_bin(keys, h, bin_holding(counts, kept, &above), idx);
  for (int64_t j = 0; j < n; ++j)
    cand[j] = rank_key(keys[idx[j]], idx[j]);
  if (n > 64) { /* the next KEY_BITS of the key */
    const int shift = 64 - 2 * KEY_BITS;
    memset(counts, 0, sizeof(counts));
    for (int64_t j = 0; j < n; ++j)
      ++counts[cand[j] >> shift & (BINS - 1)];
    int64_t above_in_bin = 0;
    uint32_t bin = bin_holding(counts, kept - above, &above_in_bin);
    above += above_in_bin;
    int64_t m = 0;
    for (int64_t j = 0; j < n; ++j) {
      cand[m] = cand[j];
      m += (cand[j] >> shift & (BINS - 1)) == bin;
    }
    n = m;
  }
  indices_from(keys, h, kth_largest(cand, n, kept - above - 1), idx);
}

