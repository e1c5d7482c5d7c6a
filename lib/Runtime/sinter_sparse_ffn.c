/* Activation sparsity (sinter-sparsify-ffn mode=dynamic, nn.sparse_ffn):
 * per row, choose the FFN neurons to compute — the `kept` best by a
 * low-rank predictor, or those with |h_i| above a threshold — and read only
 * their weights, which are stored neuron by neuron ([h][d] up and gate
 * rows, [h][d_out] down rows) so that each chosen neuron is a contiguous
 * gather. From `dense_rows` rows on (prefill) every neuron is computed with
 * GEMMs and the same choice applied as a mask: at that batch one pass over
 * all the weights costs less than a gather per row. */
#include "sinter_vec.h"

typedef struct sparse_ffn {
  const float *x;
  float *out;
  int64_t rows, d, h, d_out;
  const float *up, *up_bias, *gate, *gate_bias, *down; /* gate: NULL when not gated */
  const float *p_in, *p_out, *p_bias;                  /* p_in: NULL for threshold selection */
  int64_t rank, kept, act;
  float threshold;
} sparse_ffn;

/* h_i for the row x. */
static float neuron(const sparse_ffn *f, const float *x, int64_t i) {
  float z = dot(f->up + i * f->d, x, f->d) + f->up_bias[i];
  if (f->gate)
    return sinter_activation(dot(f->gate + i * f->d, x, f->d) + f->gate_bias[i], f->act) * z;
  return sinter_activation(z, f->act);
}

/* The value a[k] would hold if a (n floats, no NaN) were sorted in
 * descending order; reorders a. */
static float kth_largest(float *a, int64_t n, int64_t k) {
  int64_t lo = 0, hi = n - 1;
  while (lo < hi) {
    float pivot = a[lo + (hi - lo) / 2];
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] > pivot)
        ++i;
      while (a[j] < pivot)
        --j;
      if (i <= j) {
        float t = a[i];
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

/* Per-row scratch of the predictor: t [rank], logits [h], a copy [h]. */
static int64_t scratch_floats(const sparse_ffn *f) { return f->rank + 2 * f->h; }

/* Marks in `keep` (h bytes) the `kept` largest `logits`, ties to the lower
 * index (NaN ranks last). `copy` is h floats of scratch. */
static void choose_top(const sparse_ffn *f, float *logits, float *copy, uint8_t *keep) {
  for (int64_t i = 0; i < f->h; ++i) {
    if (logits[i] != logits[i])
      logits[i] = -__builtin_inff();
    copy[i] = logits[i];
  }
  float kth = kth_largest(copy, f->h, f->kept - 1);
  int64_t above = 0;
  for (int64_t i = 0; i < f->h; ++i)
    above += logits[i] > kth;
  int64_t ties = f->kept - above;
  for (int64_t i = 0; i < f->h; ++i) {
    int take = logits[i] > kth || (logits[i] == kth && ties > 0);
    ties -= logits[i] == kth && take;
    keep[i] = (uint8_t)take;
  }
}

/* The predictor's logits for row x: (x · p_in) · p_out + p_bias. */
static void predict_logits(const sparse_ffn *f, const float *x, float *t, float *logits) {
  memset(t, 0, (size_t)f->rank * sizeof(float));
  for (int64_t j = 0; j < f->d; ++j)
    axpy(t, x[j], f->p_in + j * f->rank, f->rank);
  memcpy(logits, f->p_bias, (size_t)f->h * sizeof(float));
  for (int64_t r = 0; r < f->rank; ++r)
    axpy(logits, t[r], f->p_out + r * f->h, f->h);
}

/* acc += Σ h_i · down_i over neurons [begin, end) of row x that `keep`
 * marks (predictor) or whose |h_i| passes the threshold (keep NULL). */
static void accumulate(const sparse_ffn *f, const float *x, const uint8_t *keep, int64_t begin, int64_t end,
                       float *acc) {
  for (int64_t i = begin; i < end; ++i) {
    if (keep && !keep[i])
      continue;
    float h = neuron(f, x, i);
    if (!keep && !(h > f->threshold || -h > f->threshold))
      continue;
    axpy(acc, h, f->down + i * f->d_out, f->d_out);
  }
}

/* Per-row path: rows [begin, end), each with its own choice. */
static void sparse_rows(void *ctx, int64_t begin, int64_t end) {
  const sparse_ffn *f = (const sparse_ffn *)ctx;
  float *scratch = f->p_in ? (float *)malloc((size_t)scratch_floats(f) * sizeof(float) + (size_t)f->h) : 0;
  for (int64_t r = begin; r < end; ++r) {
    const float *x = f->x + r * f->d;
    float *out = f->out + r * f->d_out;
    memset(out, 0, (size_t)f->d_out * sizeof(float));
    if (f->p_in && !scratch) {
      for (int64_t j = 0; j < f->d_out; ++j)
        out[j] = __builtin_nanf(""); /* no memory for the choice: no answer rather than a wrong one */
      continue;
    }
    uint8_t *keep = 0;
    if (f->p_in) {
      float *t = scratch, *logits = scratch + f->rank, *copy = logits + f->h;
      keep = (uint8_t *)(copy + f->h);
      predict_logits(f, x, t, logits);
      choose_top(f, logits, copy, keep);
    }
    accumulate(f, x, keep, 0, f->h, out);
  }
  free(scratch);
}

/* One token (decode): the chosen neurons split into fixed chunks. */
typedef struct chunk_task {
  const sparse_ffn *f;
  const uint8_t *keep;
  float *partial; /* [SINTER_NEURON_CHUNKS][d_out], zeroed */
} chunk_task;

static void sparse_chunks(void *ctx, int64_t begin, int64_t end) {
  const chunk_task *c = (const chunk_task *)ctx;
  int64_t per = (c->f->h + SINTER_NEURON_CHUNKS - 1) / SINTER_NEURON_CHUNKS;
  for (int64_t k = begin; k < end; ++k) {
    int64_t i0 = k * per, i1 = i0 + per < c->f->h ? i0 + per : c->f->h;
    if (i0 < i1)
      accumulate(c->f, c->f->x, c->keep, i0, i1, c->partial + k * c->f->d_out);
  }
}

/* The predictor's logits of one token, neurons split over the pool. */
typedef struct logit_task {
  const sparse_ffn *f;
  const float *t;
  float *logits;
} logit_task;

static void logit_chunks(void *ctx, int64_t begin, int64_t end) {
  const logit_task *l = (const logit_task *)ctx;
  const sparse_ffn *f = l->f;
  int64_t per = (f->h + SINTER_NEURON_CHUNKS - 1) / SINTER_NEURON_CHUNKS;
  for (int64_t k = begin; k < end; ++k) {
    int64_t i0 = k * per, i1 = i0 + per < f->h ? i0 + per : f->h;
    if (i0 >= i1)
      continue;
    memcpy(l->logits + i0, f->p_bias + i0, (size_t)(i1 - i0) * sizeof(float));
    for (int64_t r = 0; r < f->rank; ++r)
      axpy(l->logits + i0, l->t[r], f->p_out + r * f->h + i0, i1 - i0);
  }
}

/* Returns 0 when the scratch cannot be had (the caller goes serial). */
static int sparse_one_row(const sparse_ffn *f) {
  size_t partial_bytes = (size_t)(SINTER_NEURON_CHUNKS * f->d_out) * sizeof(float);
  size_t predictor_bytes = f->p_in ? (size_t)scratch_floats(f) * sizeof(float) + (size_t)f->h : 0;
  float *partial = (float *)malloc(partial_bytes + predictor_bytes);
  if (!partial)
    return 0;
  memset(partial, 0, partial_bytes);
  chunk_task c = {f, 0, partial};
  if (f->p_in) {
    float *t = partial + SINTER_NEURON_CHUNKS * f->d_out, *logits = t + f->rank, *copy = logits + f->h;
    uint8_t *keep = (uint8_t *)(copy + f->h);
    memset(t, 0, (size_t)f->rank * sizeof(float));
    for (int64_t j = 0; j < f->d; ++j)
      axpy(t, f->x[j], f->p_in + j * f->rank, f->rank);
    logit_task l = {f, t, logits};
    __sinter_parallel_for(SINTER_NEURON_CHUNKS, 1, logit_chunks, &l);
    choose_top(f, logits, copy, keep);
    c.keep = keep;
  }
  __sinter_parallel_for(SINTER_NEURON_CHUNKS, 1, sparse_chunks, &c);
  memset(f->out, 0, (size_t)f->d_out * sizeof(float));
  for (int64_t k = 0; k < SINTER_NEURON_CHUNKS; ++k)
    axpy(f->out, 1.0f, partial + k * f->d_out, f->d_out);
  free(partial);
  return 1;
}

/* Batched path: all of H by GEMM, then the choice as a mask per row. The
 * projections are computed transposed, Zᵀ = W · Xᵀ, so that the GEMM reads
 * the neuron-major weights along their rows. */
typedef struct mask_task {
  const sparse_ffn *f;
  const float *up_t, *gate_t; /* [h][rows]; gate_t NULL when not gated */
  float *hidden, *logits;     /* [rows][h]; logits NULL without a predictor */
} mask_task;

static void mask_rows(void *ctx, int64_t begin, int64_t end) {
  const mask_task *m = (const mask_task *)ctx;
  const sparse_ffn *f = m->f;
  float *copy = 0;
  uint8_t *keep = 0;
  if (f->p_in) {
    copy = (float *)malloc((size_t)f->h * (sizeof(float) + 1));
    keep = copy ? (uint8_t *)(copy + f->h) : 0;
  }
  for (int64_t r = begin; r < end; ++r) {
    float *h = m->hidden + r * f->h;
    if (f->p_in && keep)
      choose_top(f, m->logits + r * f->h, copy, keep);
    for (int64_t i = 0; i < f->h; ++i) {
      if (f->p_in && !keep) {
        h[i] = __builtin_nanf(""); /* no memory for the choice: no answer rather than a wrong one */
        continue;
      }
      if (f->p_in && !keep[i]) { /* chosen before σ: σ only for the kept */
        h[i] = 0.0f;
        continue;
      }
      float z = m->up_t[i * f->rows + r] + f->up_bias[i];
      float v = m->gate_t ? sinter_activation(m->gate_t[i * f->rows + r] + f->gate_bias[i], f->act) * z
                          : sinter_activation(z, f->act);
      h[i] = f->p_in || v > f->threshold || -v > f->threshold ? v : 0.0f;
    }
  }
  free(copy);
}

/* C (m × n, row stride ldc) += A · B with A row-major [m][k] and B element
 * (k, n) at b + k·b_rs + n·b_cs. */
static void gemm(const float *a, int64_t m, int64_t k, const float *b, int64_t b_rs, int64_t b_cs, float *c,
                 int64_t n) {
  __sinter_sgemm(1, m, n, k, (int64_t)a, 0, k, 1, (int64_t)b, 0, b_rs, b_cs, (int64_t)c, 0, n, 1);
}

/* Returns 0 when the buffers cannot be had (the caller goes per row). */
static int dense_rows_path(const sparse_ffn *f) {
  int64_t rows = f->rows, h = f->h, n = rows * h;
  int64_t floats = n * (2 + (f->gate != 0) + (f->p_in != 0)) + (f->p_in ? rows * f->rank : 0);
  float *buf = (float *)malloc((size_t)floats * sizeof(float));
  if (!buf)
    return 0;
  memset(buf, 0, (size_t)floats * sizeof(float));
  float *up_t = buf, *next = buf + n;
  mask_task m = {f, up_t, 0, next, 0};
  next += n;
  gemm(f->up, h, f->d, f->x, 1, f->d, up_t, rows); /* Upᵀ-major: [h][d] · Xᵀ */
  if (f->gate) {
    m.gate_t = next;
    gemm(f->gate, h, f->d, f->x, 1, f->d, next, rows);
    next += n;
  }
  if (f->p_in) {
    m.logits = next;
    float *t = next + n;
    gemm(f->x, rows, f->d, f->p_in, f->rank, 1, t, f->rank);
    for (int64_t r = 0; r < rows; ++r)
      memcpy(m.logits + r * h, f->p_bias, (size_t)h * sizeof(float));
    gemm(t, rows, f->rank, f->p_out, h, 1, m.logits, h);
  }
  __sinter_parallel_for(rows, 4, mask_rows, &m);
  memset(f->out, 0, (size_t)(rows * f->d_out) * sizeof(float));
  gemm(m.hidden, rows, h, f->down, f->d_out, 1, f->out, f->d_out);
  free(buf);
  return 1;
}

void __sinter_sparse_ffn(intptr_t x, intptr_t out, int64_t rows, int64_t d, int64_t h, int64_t d_out,
                         intptr_t up, intptr_t up_bias, intptr_t gate, intptr_t gate_bias, intptr_t down,
                         intptr_t p_in, intptr_t p_out, intptr_t p_bias, int64_t rank, int64_t kept,
                         int64_t threshold_bits, int64_t act, int64_t dense_rows) {
  union {
    uint32_t bits;
    float value;
  } threshold = {(uint32_t)threshold_bits};
  sparse_ffn f = {(const float *)x, (float *)out, rows, d, h, d_out,
                  (const float *)up, (const float *)up_bias, (const float *)gate, (const float *)gate_bias,
                  (const float *)down, (const float *)p_in, (const float *)p_out, (const float *)p_bias,
                  rank, kept, act, threshold.value};
  if (rows <= 0)
    return;
  if (rows >= dense_rows && dense_rows_path(&f))
    return;
  if (rows == 1 && sparse_one_row(&f))
    return;
  __sinter_parallel_for(rows, 1, sparse_rows, &f);
}
