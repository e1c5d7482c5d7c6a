/* The outlier correction of a linearized FFN (sinter-linearize-ffn,
 * nn.ffn_outlier_correction): per row, a low-bit predictor of each kept
 * neuron's pre-activation decides whether it left its linear range; only
 * those neurons read their exact weights. Rows run on the thread pool. */
#include "sinter_vec.h"

typedef struct ffn_correction {
  const float *x, *linear;
  float *out;
  const float *estimates; /* [rows][kept] predictor sums, or NULL: per row */
  int64_t d, d_out, kept, bits, act; /* act: SINTER_ACT_* */
  const uint8_t *codes;
  const float *scale, *lower, *upper, *up, *up_bias, *slope, *intercept, *down;
} ffn_correction;

/* The code of input j in a predictor row of bit planes. */
static int code_at(const uint8_t *row, int64_t plane_bytes, int64_t bits, int64_t j) {
  int code = 0;
  for (int64_t p = 0; p < bits; ++p)
    code |= ((row[p * plane_bytes + j / 8] >> (j % 8)) & 1) << p;
  return code;
}

/* Σ_j (2·code_j − (2^bits − 1))·x_j for one predictor row of bit planes
 * (bit t of byte B of plane p is bit p of code 8B + t):
 * 2·Σ_p 2^p·(Σ_j over plane p's set bits of x_j) − (2^bits − 1)·Σ_j x_j.
 * One pass over x; each plane's bits become 0/1 lanes that scale x. */
static float predict(const uint8_t *row, const float *x, float x_sum, int64_t d, int64_t bits) {
  const v8i lanes = {0, 1, 2, 3, 4, 5, 6, 7};
  int64_t plane_bytes = (d + 7) / 8, full = d / 8;
  v8f acc = {0};
  for (int64_t b = 0; b < full; ++b) {
    v8f xv = load8(x + 8 * b);
    v8i weight = {0};
    for (int64_t p = 0; p < bits; ++p)
      weight += (((v8i){0} + (int32_t)row[p * plane_bytes + b]) >> lanes & 1) << (int32_t)p;
    acc += xv * __builtin_convertvector(weight, v8f);
  }
  float codes = sum8(acc);
  for (int64_t j = 8 * full; j < d; ++j)
    codes += (float)code_at(row, plane_bytes, bits, j) * x[j];
  return 2.0f * codes - (float)((1 << bits) - 1) * x_sum;
}

/* Adds the corrections of neurons [k_begin, k_end) of row r to acc. */
static void correct_neurons(const ffn_correction *c, int64_t r, int64_t k_begin, int64_t k_end, float *acc) {
  int64_t row_bytes = c->bits * ((c->d + 7) / 8);
  const float *x = c->x + r * c->d;
  float x_sum = 0.0f;
  for (int64_t j = 0; !c->estimates && j < c->d; ++j)
    x_sum += x[j];
  for (int64_t k = k_begin; k < k_end; ++k) {
    float sum = c->estimates ? c->estimates[r * c->kept + k]
                             : predict(c->codes + k * row_bytes, x, x_sum, c->d, c->bits);
    float estimate = c->up_bias[k] + c->scale[k] * sum;
    if (estimate >= c->lower[k] && estimate <= c->upper[k])
      continue;
    float z = dot(c->up + k * c->d, x, c->d) + c->up_bias[k];
    float delta = sinter_activation(z, c->act) - (c->slope[k] * z + c->intercept[k]);
    axpy(acc, delta, c->down + k * c->d_out, c->d_out);
  }
}

static void correct_rows(void *ctx, int64_t begin, int64_t end) {
  const ffn_correction *c = (const ffn_correction *)ctx;
  for (int64_t r = begin; r < end; ++r) {
    float *out = c->out + r * c->d_out;
    memcpy(out, c->linear + r * c->d_out, (size_t)c->d_out * sizeof(float));
    correct_neurons(c, r, 0, c->kept, out);
  }
}

/* One token (decode): the neurons split into SINTER_NEURON_CHUNKS. */

typedef struct neuron_chunks {
  const ffn_correction *c;
  float *partial; /* [SINTER_NEURON_CHUNKS][d_out], zeroed */
} neuron_chunks;

static void correct_chunks(void *ctx, int64_t begin, int64_t end) {
  const neuron_chunks *n = (const neuron_chunks *)ctx;
  int64_t per = (n->c->kept + SINTER_NEURON_CHUNKS - 1) / SINTER_NEURON_CHUNKS;
  for (int64_t i = begin; i < end; ++i) {
    int64_t k0 = i * per, k1 = k0 + per < n->c->kept ? k0 + per : n->c->kept;
    if (k0 < k1)
      correct_neurons(n->c, 0, k0, k1, n->partial + i * n->c->d_out);
  }
}

/* Returns 0 when the scratch cannot be had (the caller goes serial). */
static int correct_one_row(const ffn_correction *c) {
  float *partial = (float *)malloc((size_t)(SINTER_NEURON_CHUNKS * c->d_out) * sizeof(float));
  if (!partial)
    return 0;
  memset(partial, 0, (size_t)(SINTER_NEURON_CHUNKS * c->d_out) * sizeof(float));
  neuron_chunks n = {c, partial};
  __sinter_parallel_for(SINTER_NEURON_CHUNKS, 1, correct_chunks, &n);
  memcpy(c->out, c->linear, (size_t)c->d_out * sizeof(float));
  for (int64_t i = 0; i < SINTER_NEURON_CHUNKS; ++i)
    axpy(c->out, 1.0f, partial + i * c->d_out, c->d_out);
  free(partial);
  return 1;
}

/* The predictor as a matrix of levels, [kept][d] floats (scales apart). */
static float *unpack_predictor(const ffn_correction *c) {
  float *levels = (float *)malloc((size_t)(c->kept * c->d) * sizeof(float));
  if (!levels)
    return 0;
  int64_t plane_bytes = (c->d + 7) / 8, top = (1 << c->bits) - 1;
  for (int64_t k = 0; k < c->kept; ++k) {
    const uint8_t *row = c->codes + k * c->bits * plane_bytes;
    for (int64_t j = 0; j < c->d; ++j)
      levels[k * c->d + j] = (float)(2 * code_at(row, plane_bytes, c->bits, j) - top);
  }
  return levels;
}

/* From this many rows (prefill), the predictor runs as one GEMM against its
 * unpacked levels instead of bit-plane sums per row. */
#define GEMM_PREDICTOR_ROWS 8

void __sinter_ffn_correction(intptr_t x, intptr_t linear, intptr_t out, int64_t rows, int64_t d,
                             int64_t d_out, int64_t kept, intptr_t codes, intptr_t scale, intptr_t lower,
                             intptr_t upper, intptr_t up, intptr_t up_bias, intptr_t slope,
                             intptr_t intercept, intptr_t down, int64_t bits, int64_t act) {
  ffn_correction c = {(const float *)x, (const float *)linear, (float *)out, 0, d, d_out, kept, bits, act,
                      (const uint8_t *)codes, (const float *)scale, (const float *)lower,
                      (const float *)upper, (const float *)up, (const float *)up_bias,
                      (const float *)slope, (const float *)intercept, (const float *)down};
  float *levels = 0, *estimates = 0;
  if (rows >= GEMM_PREDICTOR_ROWS && kept > 0) {
    levels = unpack_predictor(&c);
    estimates = levels ? (float *)malloc((size_t)(rows * kept) * sizeof(float)) : 0;
    if (estimates) {
      memset(estimates, 0, (size_t)(rows * kept) * sizeof(float));
      /* estimates[r][k] += Σ_j x[r][j] · levels[k][j] */
      __sinter_sgemm(1, rows, kept, d, x, 0, d, 1, (int64_t)levels, 0, 1, d, (int64_t)estimates, 0, kept, 1);
      c.estimates = estimates;
    }
  }
  if (rows != 1 || !correct_one_row(&c))
    __sinter_parallel_for(rows, 4, correct_rows, &c);
  free(estimates);
  free(levels);
}
