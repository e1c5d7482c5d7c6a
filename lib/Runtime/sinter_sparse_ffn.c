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

/* Neurons computed side by side (dot4/axpy4), and how many a chunk
 * evaluates before it gathers their down rows. */
#define GROUP 4
#define BLOCK 64

/* h_i for the row x. */
static float neuron(const sparse_ffn *f, const float *x, int64_t i) {
  float z = dot(f->up + i * f->d, x, f->d) + f->up_bias[i];
  if (f->gate)
    return sinter_activation(dot(f->gate + i * f->d, x, f->d) + f->gate_bias[i], f->act) * z;
  return sinter_activation(z, f->act);
}

/* h of the GROUP neurons idx[0..GROUP) for the row x. */
static void neuron_group(const sparse_ffn *f, const float *x, const int32_t *idx, float *h) {
  const float *w[GROUP];
  float z[GROUP], g[GROUP];
  for (int k = 0; k < GROUP; ++k)
    w[k] = f->up + idx[k] * f->d;
  dot4(w, x, f->d, z);
  if (f->gate) {
    for (int k = 0; k < GROUP; ++k)
      w[k] = f->gate + idx[k] * f->d;
    dot4(w, x, f->d, g);
  }
  v8f zv = {0}, gv = {0};
  for (int k = 0; k < GROUP; ++k) {
    zv[k] = z[k] + f->up_bias[idx[k]];
    gv[k] = f->gate ? g[k] + f->gate_bias[idx[k]] : 0.0f;
  }
  v8f hv = f->gate ? activation8(gv, f->act) * zv : activation8(zv, f->act);
  for (int k = 0; k < GROUP; ++k)
    h[k] = hv[k];
}

/* h[j] for the neurons idx[0..n) of the row x. */
static void neuron_values(const sparse_ffn *f, const float *x, const int32_t *idx, int64_t n, float *h) {
  int64_t j = 0;
  for (; j + GROUP <= n; j += GROUP)
    neuron_group(f, x, idx + j, h + j);
  for (; j < n; ++j)
    h[j] = neuron(f, x, idx[j]);
}

/* acc += Σ_j h[j] · down_{idx[j]}. */
static void add_down_rows(const sparse_ffn *f, const int32_t *idx, const float *h, int64_t n, float *acc) {
  const float *w[GROUP];
  int64_t j = 0;
  for (; j + GROUP <= n; j += GROUP) {
    for (int k = 0; k < GROUP; ++k)
      w[k] = f->down + idx[j + k] * f->d_out;
    axpy4(acc, h + j, w, f->d_out);
  }
  for (; j < n; ++j)
    axpy(acc, h[j], f->down + idx[j] * f->d_out, f->d_out);
}

/* acc += Σ h_i · down_i over the neurons idx[0..n) of the row x. */
static void add_listed(const sparse_ffn *f, const float *x, const int32_t *idx, int64_t n, float *acc) {
  float h[BLOCK];
  for (int64_t b = 0; b < n; b += BLOCK) {
    int64_t m = n - b < BLOCK ? n - b : BLOCK;
    neuron_values(f, x, idx + b, m, h);
    add_down_rows(f, idx + b, h, m, acc);
  }
}

/* acc += Σ h_i · down_i over the neurons i in [begin, end) of the row x
 * whose |h_i| passes the threshold. */
static void add_above_threshold(const sparse_ffn *f, const float *x, int64_t begin, int64_t end, float *acc) {
  int32_t all[BLOCK], idx[BLOCK];
  float h[BLOCK], kept[BLOCK];
  for (int64_t b = begin; b < end; b += BLOCK) {
    int64_t m = end - b < BLOCK ? end - b : BLOCK, n = 0;
    for (int64_t j = 0; j < m; ++j)
      all[j] = (int32_t)(b + j);
    neuron_values(f, x, all, m, h);
    for (int64_t j = 0; j < m; ++j)
      if (h[j] > f->threshold || -h[j] > f->threshold) {
        idx[n] = all[j];
        kept[n++] = h[j];
      }
    add_down_rows(f, idx, kept, n, acc);
  }
}

/* logits[i] = p_bias[i] + Σ_r t[r] · p_out[r][i] for i in [begin, end). */
static void predict_range(const sparse_ffn *f, const float *t, float *logits, int64_t begin, int64_t end) {
  const float *w[GROUP];
  memcpy(logits + begin, f->p_bias + begin, (size_t)(end - begin) * sizeof(float));
  int64_t r = 0;
  for (; r + GROUP <= f->rank; r += GROUP) {
    for (int k = 0; k < GROUP; ++k)
      w[k] = f->p_out + (r + k) * f->h + begin;
    axpy4(logits + begin, t + r, w, end - begin);
  }
  for (; r < f->rank; ++r)
    axpy(logits + begin, t[r], f->p_out + r * f->h + begin, end - begin);
}

/* t = x · p_in (rank floats). */
static void project(const sparse_ffn *f, const float *x, float *t) {
  const float *w[GROUP];
  memset(t, 0, (size_t)f->rank * sizeof(float));
  int64_t j = 0;
  for (; j + GROUP <= f->d; j += GROUP) {
    for (int k = 0; k < GROUP; ++k)
      w[k] = f->p_in + (j + k) * f->rank;
    axpy4(t, x + j, w, f->rank);
  }
  for (; j < f->d; ++j)
    axpy(t, x[j], f->p_in + j * f->rank, f->rank);
}

/* Per-row scratch of the predictor: candidates [h] uint64, t [rank] and
 * logits [h] floats, keys [h] uint32, the choice [h] int32. */
static size_t choice_bytes(const sparse_ffn *f) { return (size_t)(f->rank + 5 * f->h) * 4; }

typedef struct choice {
  uint64_t *cand;
  float *t, *logits;
  uint32_t *keys;
  int32_t *idx;
} choice;

static choice choice_at(const sparse_ffn *f, void *scratch) {
  choice c;
  c.cand = (uint64_t *)scratch;
  c.t = (float *)(c.cand + f->h);
  c.logits = c.t + f->rank;
  c.keys = (uint32_t *)(c.logits + f->h);
  c.idx = (int32_t *)(c.keys + f->h);
  return c;
}

/* Per-row path: rows [begin, end), each with its own choice. */
static void sparse_rows(void *ctx, int64_t begin, int64_t end) {
  const sparse_ffn *f = (const sparse_ffn *)ctx;
  void *scratch = f->p_in ? malloc(choice_bytes(f)) : 0;
  choice c = {0};
  if (scratch)
    c = choice_at(f, scratch);
  for (int64_t r = begin; r < end; ++r) {
    const float *x = f->x + r * f->d;
    float *out = f->out + r * f->d_out;
    memset(out, 0, (size_t)f->d_out * sizeof(float));
    if (!f->p_in) {
      add_above_threshold(f, x, 0, f->h, out);
    } else if (!scratch) {
      for (int64_t j = 0; j < f->d_out; ++j)
        out[j] = __builtin_nanf(""); /* no memory for the choice: no answer rather than a wrong one */
    } else {
      project(f, x, c.t);
      predict_range(f, c.t, c.logits, 0, f->h);
      __sinter_choose_top(c.logits, f->h, f->kept, c.keys, c.cand, c.idx);
      add_listed(f, x, c.idx, f->kept < f->h ? f->kept : f->h, out);
    }
  }
  free(scratch);
}

/* One token (decode): the work split into fixed chunks, each summing into
 * its own slice of `partial`, so that the result does not depend on how
 * many threads share them. With a predictor a chunk is an equal share of
 * the chosen neurons; with a threshold, an equal range of all neurons. */
typedef struct chunk_task {
  const sparse_ffn *f;
  const float *t; /* the predictor's projection of x */
  float *logits;
  const int32_t *idx; /* the choice; NULL for threshold selection */
  int64_t count;
  float *partial; /* [SINTER_NEURON_CHUNKS][d_out], zeroed */
} chunk_task;

static int64_t chunk_start(int64_t n, int64_t k) { return n * k / SINTER_NEURON_CHUNKS; }

static void logit_chunks(void *ctx, int64_t begin, int64_t end) {
  const chunk_task *c = (const chunk_task *)ctx;
  for (int64_t k = begin; k < end; ++k)
    predict_range(c->f, c->t, c->logits, chunk_start(c->f->h, k), chunk_start(c->f->h, k + 1));
}

static void gather_chunks(void *ctx, int64_t begin, int64_t end) {
  const chunk_task *c = (const chunk_task *)ctx;
  const sparse_ffn *f = c->f;
  for (int64_t k = begin; k < end; ++k) {
    float *acc = c->partial + k * f->d_out;
    if (c->idx) {
      int64_t i0 = chunk_start(c->count, k);
      add_listed(f, f->x, c->idx + i0, chunk_start(c->count, k + 1) - i0, acc);
    } else {
      add_above_threshold(f, f->x, chunk_start(f->h, k), chunk_start(f->h, k + 1), acc);
    }
  }
}

/* Returns 0 when the scratch cannot be had (the caller goes serial). */
static int sparse_one_row(const sparse_ffn *f) {
  size_t partial_bytes = (size_t)(SINTER_NEURON_CHUNKS * f->d_out) * sizeof(float);
  float *partial = (float *)malloc(partial_bytes + (f->p_in ? choice_bytes(f) : 0));
  if (!partial)
    return 0;
  memset(partial, 0, partial_bytes);
  chunk_task task = {f, 0, 0, 0, 0, partial};
  if (f->p_in) {
    choice c = choice_at(f, partial + SINTER_NEURON_CHUNKS * f->d_out);
    project(f, f->x, c.t);
    task.t = c.t;
    task.logits = c.logits;
    __sinter_parallel_for(SINTER_NEURON_CHUNKS, 1, logit_chunks, &task);
    __sinter_choose_top(c.logits, f->h, f->kept, c.keys, c.cand, c.idx);
    task.idx = c.idx;
    task.count = f->kept < f->h ? f->kept : f->h;
  }
  __sinter_parallel_for(SINTER_NEURON_CHUNKS, 1, gather_chunks, &task);
  memset(f->out, 0, (size_t)f->d_out * sizeof(float));
  for (int64_t k = 0; k < SINTER_NEURON_CHUNKS; ++k)
    axpy(f->out, 1.0f, partial + k * f->d_out, f->d_out);
  free(partial);
  return 1;
}

/* Batched path: all of H by GEMM, then the choice as a mask. Everything
 * stays transposed, one row of Zᵀ = W · Xᵀ per neuron, so that the GEMMs
 * read the neuron-major weights along their rows and the mask runs along
 * contiguous rows; the down GEMM reads Hᵀ through its strides. */
typedef struct mask_task {
  const sparse_ffn *f;
  float *up_t;         /* [h][rows], becomes Hᵀ */
  const float *gate_t; /* [h][rows]; NULL when not gated */
  const float *logits; /* [rows][h]; NULL without a predictor */
  uint8_t *keep;       /* [rows][h]: the choice, zeroed (by row: no two threads share a line) */
  int failed;          /* set when a choice found no scratch */
} mask_task;

/* The predictor's choice of rows [begin, end) into keep. */
static void choose_rows(void *ctx, int64_t begin, int64_t end) {
  mask_task *m = (mask_task *)ctx;
  const sparse_ffn *f = m->f;
  uint64_t *cand = (uint64_t *)malloc((size_t)f->h * (8 + 4 + 4)); /* then keys, then the choice */
  if (!cand) {
    __atomic_store_n(&m->failed, 1, __ATOMIC_RELAXED);
    return;
  }
  uint32_t *keys = (uint32_t *)(cand + f->h);
  int32_t *idx = (int32_t *)(keys + f->h);
  for (int64_t r = begin; r < end; ++r) {
    __sinter_choose_top(m->logits + r * f->h, f->h, f->kept, keys, cand, idx);
    for (int64_t j = 0; j < f->kept && j < f->h; ++j)
      m->keep[r * f->h + idx[j]] = 1;
  }
  free(cand);
}

/* Hᵀ of neurons [begin, end) in place of Zᵀ_up: σ of the chosen, 0 elsewhere
 * (σ runs on all lanes: eight at once cost less than a branch per row). */
static void mask_neurons(void *ctx, int64_t begin, int64_t end) {
  const mask_task *m = (const mask_task *)ctx;
  const sparse_ffn *f = m->f;
  for (int64_t i = begin; i < end; ++i) {
    float *z = m->up_t + i * f->rows;
    const float *g = m->gate_t ? m->gate_t + i * f->rows : 0;
    const uint8_t *keep = m->keep ? m->keep + i : 0; /* row r at keep[r·h] */
    int64_t r = 0;
    for (; r + 8 <= f->rows; r += 8) {
      v8f zr = load8(z + r) + f->up_bias[i];
      v8f v = g ? activation8(load8(g + r) + f->gate_bias[i], f->act) * zr : activation8(zr, f->act);
      v8i pass;
      if (keep) {
        v8i k;
        for (int l = 0; l < 8; ++l)
          k[l] = keep[(r + l) * f->h];
        pass = k != 0;
      } else {
        pass = (v > f->threshold) | (-v > f->threshold);
      }
      store8(z + r, bitselect8(pass, v));
    }
    for (; r < f->rows; ++r) {
      if (keep && !keep[r * f->h]) { /* chosen before σ: σ only for the kept */
        z[r] = 0.0f;
        continue;
      }
      float zr = z[r] + f->up_bias[i];
      float v = g ? sinter_activation(g[r] + f->gate_bias[i], f->act) * zr : sinter_activation(zr, f->act);
      z[r] = keep || v > f->threshold || -v > f->threshold ? v : 0.0f;
    }
  }
}

/* C (m × n, row stride n) += A · B, element (i, k) of A at a + i·a_rs + k·a_cs
 * and (k, j) of B at b + k·b_rs + j·b_cs. */
static void gemm(const float *a, int64_t a_rs, int64_t a_cs, int64_t m, int64_t k, const float *b, int64_t b_rs,
                 int64_t b_cs, float *c, int64_t n) {
  __sinter_sgemm(1, m, n, k, (int64_t)a, 0, a_rs, a_cs, (int64_t)b, 0, b_rs, b_cs, (int64_t)c, 0, n, 1);
}

/* Returns 0 when the buffers cannot be had (the caller goes per row). */
static int dense_rows_path(const sparse_ffn *f) {
  int64_t rows = f->rows, h = f->h, n = rows * h;
  int64_t zeroed = n * (1 + (f->gate != 0)) + (f->p_in ? rows * f->rank : 0);
  int64_t floats = zeroed + (f->p_in ? n : 0);
  float *buf = (float *)malloc((size_t)floats * sizeof(float) + (f->p_in ? (size_t)n : 0));
  if (!buf)
    return 0;
  memset(buf, 0, (size_t)zeroed * sizeof(float));
  mask_task m = {f, buf, 0, 0, 0, 0};
  float *next = buf + n;
  gemm(f->up, f->d, 1, h, f->d, f->x, 1, f->d, m.up_t, rows); /* [h][d] · Xᵀ */
  if (f->gate) {
    m.gate_t = next;
    gemm(f->gate, f->d, 1, h, f->d, f->x, 1, f->d, next, rows);
    next += n;
  }
  if (f->p_in) {
    float *t = next, *logits = t + rows * f->rank;
    gemm(f->x, f->d, 1, rows, f->d, f->p_in, f->rank, 1, t, f->rank);
    for (int64_t r = 0; r < rows; ++r)
      memcpy(logits + r * h, f->p_bias, (size_t)h * sizeof(float));
    gemm(t, f->rank, 1, rows, f->rank, f->p_out, h, 1, logits, h);
    m.logits = logits;
    m.keep = (uint8_t *)(logits + n);
    memset(m.keep, 0, (size_t)n);
    __sinter_parallel_for(rows, 4, choose_rows, &m);
  }
  if (!m.failed)
    __sinter_parallel_for(h, 64, mask_neurons, &m);
  memset(f->out, 0, (size_t)(rows * f->d_out) * sizeof(float));
  if (m.failed) /* no memory for a choice: no answer rather than a wrong one */
    for (int64_t j = 0; j < rows * f->d_out; ++j)
      f->out[j] = __builtin_nanf("");
  else
    gemm(m.up_t, 1, rows, rows, h, f->down, f->d_out, 1, f->out, f->d_out); /* (Hᵀ)ᵀ · Down */
  free(buf);
  return 1;
}

void __sinter_sparse_ffn(intptr_t x, intptr_t out, int64_t rows, int64_t d, int64_t h, int64_t d_out,
                         intptr_t up, intptr_t up_bias, intptr_t gate, intptr_t gate_bias, intptr_t down,
                         intptr_t p_in, intptr_t p_out, intptr_t p_bias, int64_t rank, int64_t kept,
                         int64_t threshold_bits, int64_t act, int64_t dense_rows) {
  sparse_ffn f = {(const float *)x, (float *)out, rows, d, h, d_out,
                  (const float *)up, (const float *)up_bias, (const float *)gate, (const float *)gate_bias,
                  (const float *)down, (const float *)p_in, (const float *)p_out, (const float *)p_bias,
                  rank, kept, act, __sinter_f32_from_bits(threshold_bits)};
  if (rows <= 0)
    return;
  if (rows >= dense_rows && dense_rows_path(&f))
    return;
  if (rows == 1 && sparse_one_row(&f))
    return;
  __sinter_parallel_for(rows, 1, sparse_rows, &f);
}
