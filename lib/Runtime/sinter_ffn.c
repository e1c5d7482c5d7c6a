/* The outlier correction of a linearized FFN (sinter-linearize-ffn,
 * nn.ffn_outlier_correction): per row, a low-bit predictor of each kept
 * neuron's pre-activation decides whether it left its linear range; only
 * those neurons read their exact weights. Rows run on the thread pool. */
#include "sinter_internal.h"

float erff(float x);

typedef struct ffn_correction {
  const float *x, *linear;
  float *out;
  int64_t d, d_out, kept, row_bytes, bits, gelu;
  const uint8_t *codes;
  const float *scale, *lower, *upper, *up, *up_bias, *slope, *intercept, *down;
} ffn_correction;

static float activation(float z, int64_t gelu) {
  if (gelu)
    return 0.5f * z * (1.0f + erff(z * 0.70710678118654752f));
  return z > 0.0f ? z : 0.0f;
}

/* Σ_j level(code_j)·x_j over one packed predictor row. */
static float predict(const uint8_t *codes, const float *x, int64_t d, int64_t bits) {
  int per_byte = (int)(8 / bits), mask = (1 << bits) - 1;
  float acc = 0.0f;
  for (int64_t j = 0; j < d; ++j) {
    int code = (codes[j / per_byte] >> ((j % per_byte) * bits)) & mask;
    acc += (float)(2 * code - mask) * x[j];
  }
  return acc;
}

static void correct_rows(void *ctx, int64_t begin, int64_t end) {
  const ffn_correction *c = (const ffn_correction *)ctx;
  for (int64_t r = begin; r < end; ++r) {
    const float *x = c->x + r * c->d;
    float *out = c->out + r * c->d_out;
    memcpy(out, c->linear + r * c->d_out, (size_t)c->d_out * sizeof(float));
    for (int64_t k = 0; k < c->kept; ++k) {
      float estimate = c->up_bias[k] + c->scale[k] * predict(c->codes + k * c->row_bytes, x, c->d, c->bits);
      if (estimate >= c->lower[k] && estimate <= c->upper[k])
        continue;
      const float *up = c->up + k * c->d;
      float z = 0.0f;
      for (int64_t j = 0; j < c->d; ++j)
        z += up[j] * x[j];
      z += c->up_bias[k];
      float delta = activation(z, c->gelu) - (c->slope[k] * z + c->intercept[k]);
      const float *down = c->down + k * c->d_out;
      for (int64_t j = 0; j < c->d_out; ++j)
        out[j] += delta * down[j];
    }
  }
}

void __sinter_ffn_correction(intptr_t x, intptr_t linear, intptr_t out, int64_t rows, int64_t d,
                             int64_t d_out, int64_t kept, intptr_t codes, intptr_t scale, intptr_t lower,
                             intptr_t upper, intptr_t up, intptr_t up_bias, intptr_t slope,
                             intptr_t intercept, intptr_t down, int64_t bits, int64_t gelu) {
  ffn_correction c = {(const float *)x, (const float *)linear, (float *)out, d, d_out, kept,
                      (d * bits + 7) / 8, bits, gelu, (const uint8_t *)codes, (const float *)scale,
                      (const float *)lower, (const float *)upper, (const float *)up,
                      (const float *)up_bias, (const float *)slope, (const float *)intercept,
                      (const float *)down};
  __sinter_parallel_for(rows, 4, correct_rows, &c);
}
