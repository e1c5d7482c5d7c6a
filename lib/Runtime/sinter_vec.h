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
