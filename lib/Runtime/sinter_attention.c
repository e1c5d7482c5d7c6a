/* Fused multi-head attention (nn.attention): for each batch b, head h and
 * query t,
 *   out[b, t, h·dv : (h+1)·dv] = Σ_s p_ts · v[b, s, h·dv : (h+1)·dv],
 *   p_t = softmax_s(scale · q[b, t, h·dk : …] · k[b, s, h·dk : …])
 * over the keys s ≤ t when causal, every key otherwise. Q, K, V and the
 * output are read and written in place, sequence-major with any row
 * strides (slices of one fused projection need no copy), so the unfused
 * graph's head transposes, masks, fills and four softmax passes become one
 * pass per block of queries whose scores stay in cache.
 *
 * Work is split into (batch, head, block of ROWS queries) tasks on the pool;
 * each computes its scores with the GEMM kernel (Kᵀ read as strided columns),
 * the softmax with the vector exp, and P·V with the GEMM kernel again. Each
 * output element is computed by one task in a fixed order, so results do
 * not depend on the thread count. */
#include "sinter_internal.h"
#include "sinter_vec.h"

#define ROWS 32 /* queries per task */

typedef struct attention {
  int64_t batch, t_len, s_len, heads, dk, dv;
  const float *q, *k, *v;
  float *out;
  int64_t q_bs, q_ts, k_bs, k_ts, v_bs, v_ts, o_bs, o_ts;
  float scale;
  int64_t causal;
} attention;

/* Scales row[0:n) (the keys the query sees) and turns it into
 * probabilities; row[n:width) (the masked keys) becomes 0. */
static void softmax_row(float *row, int64_t n, int64_t width, float scale) {
  float top = -__builtin_inff();
  for (int64_t s = 0; s < n; ++s) {
    row[s] *= scale;
    top = row[s] > top ? row[s] : top;
  }
  v8f sum8v = splat8(0.0f);
  float sum = 0.0f;
  int64_t s = 0;
  for (; s + 8 <= n; s += 8) {
    v8f e = exp8(load8(row + s) - top);
    store8(row + s, e);
    sum8v += e;
  }
  for (; s < n; ++s) {
    v8f e = exp8(splat8(row[s] - top));
    row[s] = e[0];
    sum += e[0];
  }
  sum += sum8(sum8v);
  float inv = 1.0f / sum;
  for (s = 0; s < n; ++s)
    row[s] *= inv;
  for (; s < width; ++s)
    row[s] = 0.0f;
}

static void attention_task(const attention *a, int64_t task, float *scores) {
  int64_t blocks = (a->t_len + ROWS - 1) / ROWS;
  int64_t b = task / (a->heads * blocks), h = task / blocks % a->heads, t0 = task % blocks * ROWS;
  int64_t rows = a->t_len - t0 < ROWS ? a->t_len - t0 : ROWS;
  /* Keys the block can see: query t sees s ≤ t + (s_len − t_len) when
   * causal (the last query sees every key). */
  int64_t offset = a->s_len - a->t_len;
  int64_t keys = a->causal ? t0 + rows + offset : a->s_len;
  if (keys > a->s_len)
    keys = a->s_len;
  const float *q = a->q + b * a->q_bs + t0 * a->q_ts + h * a->dk;
  const float *k = a->k + b * a->k_bs + h * a->dk;
  const float *v = a->v + b * a->v_bs + h * a->dv;
  float *out = a->out + b * a->o_bs + t0 * a->o_ts + h * a->dv;
  if (keys <= 0) { /* a causal query before every key: no probability mass */
    for (int64_t i = 0; i < rows; ++i)
      memset(out + i * a->o_ts, 0, (size_t)a->dv * sizeof(float));
    return;
  }
  memset(scores, 0, (size_t)(rows * keys) * sizeof(float));
  /* scores[rows, keys] = Q · Kᵀ: B[d][s] = k[s · k_ts + d]. */
  __sinter_sgemm(1, rows, keys, a->dk, (int64_t)(intptr_t)q, 0, a->q_ts, 1, (int64_t)(intptr_t)k, 0, 1,
                 a->k_ts, (int64_t)(intptr_t)scores, 0, keys, 1);
  for (int64_t i = 0; i < rows; ++i) {
    int64_t allowed = a->causal ? t0 + i + offset + 1 : keys;
    if (allowed > keys)
      allowed = keys;
    if (allowed <= 0) {
      memset(scores + i * keys, 0, (size_t)keys * sizeof(float));
      continue;
    }
    softmax_row(scores + i * keys, allowed, keys, a->scale);
  }
  for (int64_t i = 0; i < rows; ++i)
    memset(out + i * a->o_ts, 0, (size_t)a->dv * sizeof(float));
  /* out[rows, dv] = P · V. */
  __sinter_sgemm(1, rows, a->dv, keys, (int64_t)(intptr_t)scores, 0, keys, 1, (int64_t)(intptr_t)v, 0,
                 a->v_ts, 1, (int64_t)(intptr_t)out, 0, a->o_ts, 1);
}

static void attention_tasks(void *ctx, int64_t begin, int64_t end) {
  const attention *a = (const attention *)ctx;
  float *scores = (float *)malloc((size_t)(ROWS * a->s_len) * sizeof(float));
  if (!scores)
    __builtin_trap(); /* out of memory: the generated code's allocations trap the same way */
  for (int64_t t = begin; t < end; ++t)
    attention_task(a, t, scores);
  free(scores);
}

void __sinter_attention(int64_t batch, int64_t t_len, int64_t s_len, int64_t heads, int64_t dk, int64_t dv,
                        int64_t q, int64_t q_bs, int64_t q_ts, int64_t k, int64_t k_bs, int64_t k_ts,
                        int64_t v, int64_t v_bs, int64_t v_ts, int64_t out, int64_t o_bs, int64_t o_ts,
                        int64_t scale_bits, int64_t causal) {
  if (batch <= 0 || t_len <= 0 || heads <= 0 || dv <= 0)
    return;
  attention a = {batch, t_len, s_len, heads, dk, dv,
                 (const float *)(intptr_t)q, (const float *)(intptr_t)k, (const float *)(intptr_t)v,
                 (float *)(intptr_t)out, q_bs, q_ts, k_bs, k_ts, v_bs, v_ts, o_bs, o_ts,
                 __sinter_f32_from_bits(scale_bits), causal};
  if (s_len <= 0) { /* no keys: softmax of nothing is no mass */
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < t_len; ++t)
        memset(a.out + b * o_bs + t * o_ts, 0, (size_t)(heads * dv) * sizeof(float));
    return;
  }
  int64_t tasks = batch * heads * ((t_len + ROWS - 1) / ROWS);
  int64_t work = batch * heads * t_len * s_len * (dk + dv);
  if (work < (1 << 17))
    attention_tasks(&a, 0, tasks); /* not worth a wake-up */
  else
    __sinter_parallel_for(tasks, 1, attention_tasks, &a);
}
