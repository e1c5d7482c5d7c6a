/* Small vector helpers of the FFN kernels (sinter_ffn.c,
 * sinter_sparse_ffn.c): eight-float vectors that clang lowers to whatever
 * the target has, so the loops need no FP reassociation from the optimizer,
 * and the activations, numbered as the compiler passes them. */
#ifndef SINTER_RUNTIME_VEC_H
#define SINTER_RUNTIME_VEC_H

#include "sinter_internal.h"

float erff(float x);
float expf(float x);

enum { SINTER_ACT_RELU = 0, SINTER_ACT_GELU = 1, SINTER_ACT_SILU = 2 };

static inline float sinter_activation(float z, int64_t kind) {
  if (kind == SINTER_ACT_GELU)
    return 0.5f * z * (1.0f + erff(z * 0.70710678118654752f));
  if (kind == SINTER_ACT_SILU)
    return z / (1.0f + expf(-z));
  return z > 0.0f ? z : 0.0f;
}

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

/* (The runtime is freestanding: plain memcpy would be a call.) */
static inline v8f load8(const float *p) {
  v8f v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

static inline void store8(float *p, v8f v) { __builtin_memcpy(p, &v, sizeof(v)); }

/* out += a · w over n elements. */
static inline void axpy(float *out, float a, const float *w, int64_t n) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    store8(out + j, load8(out + j) + a * load8(w + j));
  for (; j < n; ++j)
    out[j] += a * w[j];
}

static inline float sum8(v8f v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* x · w over d elements (8 lanes, then a tail). */
static inline float dot(const float *w, const float *x, int64_t d) {
  v8f a0 = {0}, a1 = {0};
  int64_t j = 0;
  for (; j + 16 <= d; j += 16) {
    a0 += load8(w + j) * load8(x + j);
    a1 += load8(w + j + 8) * load8(x + j + 8);
  }
  for (; j + 8 <= d; j += 8)
    a0 += load8(w + j) * load8(x + j);
  float acc = sum8(a0 + a1);
  for (; j < d; ++j)
    acc += w[j] * x[j];
  return acc;
}

static inline v8f splat8(float v) { return (v8f){0} + v; }

static inline v8f bitselect8(v8i mask, v8f v) {
  v8i bits;
  __builtin_memcpy(&bits, &v, sizeof(bits));
  bits &= mask;
  __builtin_memcpy(&v, &bits, sizeof(v));
  return v;
}

/* e^x on eight lanes: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its
 * Taylor polynomial to r⁶ (relative error below 2e-7), 2^n written into
 * the exponent bits. x is clamped to [−87, 88], where 2^n stays normal. */
static inline v8f exp8(v8f x) {
  x = __builtin_elementwise_min(__builtin_elementwise_max(x, splat8(-87.0f)), splat8(88.0f));
  v8f n = __builtin_elementwise_floor(x * 1.44269504088896341f + 0.5f);
  v8f r = x - n * 0.693145751953125f - n * 1.42860682030941723e-6f; /* ln 2 in two parts */
  v8f p = ((((r * (1.0f / 720) + 1.0f / 120) * r + 1.0f / 24) * r + 1.0f / 6) * r + 0.5f) * r + 1.0f;
  p = p * r + 1.0f;
  v8i e = (__builtin_convertvector(n, v8i) + 127) << 23;
  v8f scale;
  __builtin_memcpy(&scale, &e, sizeof(scale));
  return p * scale;
}

/* erf on eight lanes by Abramowitz & Stegun 7.1.26 (absolute error below
 * 1.5e-7): 1 − t·P(t)·e^(−x²), t = 1 / (1 + 0.3275911·|x|), odd in x. */
static inline v8f erf8(v8f x) {
  v8f a = __builtin_elementwise_abs(x);
  v8f t = 1.0f / (1.0f + 0.3275911f * a);
  v8f poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  v8f y = 1.0f - poly * exp8(-(a * a));
  return __builtin_elementwise_copysign(y, x);
}

/* sinter_activation on eight lanes (within a few 1e-7 of it). */
static inline v8f activation8(v8f z, int64_t kind) {
  if (kind == SINTER_ACT_GELU)
    return 0.5f * z * (1.0f + erf8(z * 0.70710678118654752f));
  if (kind == SINTER_ACT_SILU)
    return z / (1.0f + exp8(-z));
  return __builtin_elementwise_max(z, splat8(0.0f));
}

/* out[k] = x · w[k] over d elements for four rows: one pass over x keeps
 * four streams of weights in flight. */
static inline void dot4(const float *const w[4], const float *x, int64_t d, float out[4]) {
  v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
  int64_t j = 0;
  for (; j + 8 <= d; j += 8) {
    v8f xv = load8(x + j);
    a0 += load8(w[0] + j) * xv;
    a1 += load8(w[1] + j) * xv;
    a2 += load8(w[2] + j) * xv;
    a3 += load8(w[3] + j) * xv;
  }
  out[0] = sum8(a0), out[1] = sum8(a1), out[2] = sum8(a2), out[3] = sum8(a3);
  for (; j < d; ++j)
    for (int k = 0; k < 4; ++k)
      out[k] += w[k][j] * x[j];
}

/* out += Σ_k a[k] · w[k] over n elements for four rows, out read and
 * written once. */
static inline void axpy4(float *out, const float a[4], const float *const w[4], int64_t n) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    store8(out + j, load8(out + j) + ((a[0] * load8(w[0] + j) + a[1] * load8(w[1] + j)) +
                                      (a[2] * load8(w[2] + j) + a[3] * load8(w[3] + j))));
  for (; j < n; ++j)
    out[j] += (a[0] * w[0][j] + a[1] * w[1][j]) + (a[2] * w[2][j] + a[3] * w[3][j]);
}

/* Fixed neuron chunks of a single-token kernel: each sums into its own
 * slice of a partial buffer, so that the result does not depend on how many
 * threads share the chunks. */
#define SINTER_NEURON_CHUNKS 8

#endif
