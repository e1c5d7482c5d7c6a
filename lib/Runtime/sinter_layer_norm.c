/* LayerNorm over the last dimension (nn.layer_norm with f32 rows):
 *   out = (x − mean) / sqrt(var + eps) · scale + bias,
 * one row at a time in two vector passes (the row stays in L1), rows split
 * over the thread pool. The linalg lowering it replaces makes five passes,
 * two of them reductions whose f32 sums stay scalar (a vectorizer may not
 * reassociate them): a tenth of a GPT-2 prefill's non-GEMM time.
 * Each row is computed by one thread in a fixed order, so results do not
 * depend on the thread count. */
#include "sinter_internal.h"

#ifndef SINTER_VL
#define SINTER_VL 4
#endif
#define VL SINTER_VL
#define ROWS_PER_CHUNK 4

typedef float vf __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4)));

typedef struct layer_norm {
  int64_t d;
  const float *x, *scale, *bias;
  float *out;
  float eps;
} layer_norm;

static float sum_lanes(vf v) {
  float s = 0.0f;
  for (int i = 0; i < VL; ++i)
    s += v[i];
  return s;
}

static void norm_row(const layer_norm *l, const float *x, float *out) {
  int64_t d = l->d, j = 0;
  vf acc = {0};
  float tail = 0.0f;
  for (; j + VL <= d; j += VL)
    acc += *(const vfu *)(x + j);
  for (; j < d; ++j)
    tail += x[j];
  float mean = (sum_lanes(acc) + tail) / (float)d;
  vf dev = {0};
  tail = 0.0f;
  for (j = 0; j + VL <= d; j += VL) {
    vf c = *(const vfu *)(x + j) - mean;
    dev += c * c;
  }
  for (; j < d; ++j)
    tail += (x[j] - mean) * (x[j] - mean);
  float inv = 1.0f / __builtin_sqrtf((sum_lanes(dev) + tail) / (float)d + l->eps);
  for (j = 0; j + VL <= d; j += VL) {
    vf y = (*(const vfu *)(x + j) - mean) * inv * *(const vfu *)(l->scale + j);
    if (l->bias)
      y += *(const vfu *)(l->bias + j);
    *(vfu *)(out + j) = y;
  }
  for (; j < d; ++j)
    out[j] = (x[j] - mean) * inv * l->scale[j] + (l->bias ? l->bias[j] : 0.0f);
}

static void norm_rows(void *ctx, int64_t begin, int64_t end) {
  const layer_norm *l = (const layer_norm *)ctx;
  for (int64_t r = begin; r < end; ++r)
    norm_row(l, l->x + r * l->d, l->out + r * l->d);
}

void __sinter_layer_norm(int64_t rows, int64_t d, int64_t x, int64_t scale, int64_t bias, int64_t out,
                         int64_t eps_bits) {
  if (rows <= 0 || d <= 0)
    return;
  layer_norm l = {d, (const float *)(intptr_t)x, (const float *)(intptr_t)scale, (const float *)(intptr_t)bias,
                  (float *)(intptr_t)out, __sinter_f32_from_bits(eps_bits)};
  if (rows * d < (1 << 14))
    norm_rows(&l, 0, rows); /* a decode step's row: not worth a wake-up */
  else
    __sinter_parallel_for(rows, ROWS_PER_CHUNK, norm_rows, &l);
}
