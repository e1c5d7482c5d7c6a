/* Integrate-and-fire neurons over T time steps, and the accumulate-only
 * synaptic product they feed: the kernels of the spike dialect
 * (docs/dialects/spike.md).
 *
 * Currents and results are time-folded: with R rows per step, row t·R + r
 * is step t of row r. Each row's neurons run their T steps in order on one
 * thread (the membranes of a row stay in L1); rows run in parallel. The
 * spikes go to an int8 matrix, and the product then picks its kernel by
 * the firing rate it measures: event-driven below DENSE_RATE (each spike
 * adds, or for a negative spike subtracts, one row of the weights, in
 * register tiles of TILE outputs), above it the spikes as floats through
 * the SGEMM, whose blocking wins once most inputs fire. */
#include "sinter_internal.h"

#ifndef DENSE_RATE /* bench/spike_kernel.c builds the kernel with each path forced */
#define DENSE_RATE 0.2f
#endif
#define TILE 64

typedef struct {
  const float *current;
  int64_t rows, per_step, steps, k;
  const float *theta, *v0;
  int per_neuron;
  int64_t bound; /* 0: unsigned neurons; else signed (ST-BIF), count in [0, bound] */
  int8_t *spikes;
  int64_t *row_spikes; /* spikes of each row over its steps */
} neurons;

/* One row's T steps: v += x; fire where v ≥ θ (signed: +1 while the count
 * is below the bound, −1 where v < 0 while it is above 0); v −= s·θ. */
static void integrate_rows(void *ctx, int64_t begin, int64_t end) {
  const neurons *nr = (const neurons *)ctx;
  const int64_t k = nr->k;
  /* Membranes, then the thresholds one per neuron (so that the loops below
   * read them as a vector whether the layer has one or k). */
  float *v = (float *)malloc(2 * (size_t)k * sizeof(float));
  int32_t *count = nr->bound ? (int32_t *)malloc((size_t)k * sizeof(int32_t)) : 0;
  if (!v || (nr->bound && !count)) {
    free(v), free(count);
    for (int64_t r = begin; r < end; ++r)
      nr->row_spikes[r] = -1; /* the caller reports NaN */
    return;
  }
  float *theta = v + k;
  for (int64_t j = 0; j < k; ++j)
    theta[j] = nr->theta[nr->per_neuron ? j : 0];
  for (int64_t r = begin; r < end; ++r) {
    for (int64_t j = 0; j < k; ++j)
      v[j] = nr->v0[nr->per_neuron ? j : 0];
    if (count)
      memset(count, 0, (size_t)k * sizeof(int32_t));
    int64_t fired = 0;
    for (int64_t t = 0; t < nr->steps; ++t) {
      const int64_t row = t * nr->per_step + r;
      const float *x = nr->current + row * k;
      int8_t *s = nr->spikes + row * k;
      int32_t n = 0;
      if (!count) {
        for (int64_t j = 0; j < k; ++j) {
          const float th = theta[j];
          const float m = v[j] + x[j];
          const int8_t f = m >= th;
          v[j] = f ? m - th : m;
          s[j] = f;
          n += f;
        }
      } else {
        for (int64_t j = 0; j < k; ++j) {
          const float th = theta[j];
          const float m = v[j] + x[j];
          const int8_t f = (m >= th && count[j] < nr->bound) ? 1 : (m < 0.0f && count[j] > 0) ? -1 : 0;
          v[j] = f > 0 ? m - th : f < 0 ? m + th : m;
          count[j] += f;
          s[j] = f;
          n += f != 0;
        }
      }
      fired += n;
    }
    nr->row_spikes[r] = fired;
  }
  free(v);
  free(count);
}

/* Runs the neurons into nr->spikes; returns the fraction of neuron-steps
 * that fired, or −1 when out of memory. */
static float run_neurons(neurons *nr) {
  nr->row_spikes = (int64_t *)malloc((size_t)nr->per_step * sizeof(int64_t));
  if (!nr->row_spikes)
    return -1.0f;
  __sinter_parallel_for(nr->per_step, 4, integrate_rows, nr);
  int64_t total = 0;
  for (int64_t r = 0; r < nr->per_step; ++r) {
    if (nr->row_spikes[r] < 0) {
      total = -1;
      break;
    }
    total += nr->row_spikes[r];
  }
  free(nr->row_spikes);
  return total < 0 ? -1.0f : (float)((double)total / ((double)nr->rows * (double)nr->k));
}

static void fill_nan(float *y, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    y[i] = __builtin_nanf("");
}

typedef struct {
  const int8_t *spikes;
  const float *w;
  float *y;
  int64_t k, n;
} synapses;

/* Event-driven product: per row, the indices of its spikes, then for each
 * tile of TILE outputs the signed sum of those weight rows. */
static void event_rows(void *ctx, int64_t begin, int64_t end) {
  const synapses *sy = (const synapses *)ctx;
  const int64_t k = sy->k, n = sy->n;
  int32_t *active = (int32_t *)malloc((size_t)k * sizeof(int32_t));
  if (!active) {
    fill_nan(sy->y + begin * n, (end - begin) * n);
    return;
  }
  for (int64_t i = begin; i < end; ++i) {
    const int8_t *s = sy->spikes + i * k;
    int64_t pos = 0, neg = k; /* +1 spikes from the front, −1 from the back */
    for (int64_t j0 = 0; j0 < k; j0 += 8) {
      /* Most bytes are 0 at low rates: skip 8 at a time. */
      uint64_t word = 0;
      if (j0 + 8 <= k)
        memcpy(&word, s + j0, 8);
      else
        word = 1;
      if (!word)
        continue;
      for (int64_t j = j0; j < j0 + 8 && j < k; ++j) {
        if (s[j] > 0)
          active[pos++] = (int32_t)j;
        else if (s[j] < 0)
          active[--neg] = (int32_t)j;
      }
    }
    float *y = sy->y + i * n;
    for (int64_t c0 = 0; c0 < n; c0 += TILE) {
      const int64_t width = n - c0 < TILE ? n - c0 : TILE;
      float acc[TILE];
      for (int64_t c = 0; c < TILE; ++c)
        acc[c] = 0.0f;
      if (width == TILE) {
        for (int64_t a = 0; a < pos; ++a) {
          const float *w = sy->w + (int64_t)active[a] * n + c0;
          for (int64_t c = 0; c < TILE; ++c)
            acc[c] += w[c];
        }
        for (int64_t a = neg; a < k; ++a) {
          const float *w = sy->w + (int64_t)active[a] * n + c0;
          for (int64_t c = 0; c < TILE; ++c)
            acc[c] -= w[c];
        }
      } else {
        for (int64_t a = 0; a < pos; ++a)
          for (int64_t c = 0; c < width; ++c)
            acc[c] += sy->w[(int64_t)active[a] * n + c0 + c];
        for (int64_t a = neg; a < k; ++a)
          for (int64_t c = 0; c < width; ++c)
            acc[c] -= sy->w[(int64_t)active[a] * n + c0 + c];
      }
      for (int64_t c = 0; c < width; ++c)
        y[c0 + c] = acc[c];
    }
  }
  free(active);
}

static void neurons_init(neurons *nr, intptr_t current, int64_t rows, int64_t steps, int64_t k, intptr_t theta,
                         int64_t per_neuron, intptr_t membrane, int64_t bound) {
  nr->current = (const float *)current;
  nr->rows = rows, nr->steps = steps, nr->k = k;
  nr->per_step = rows / steps;
  nr->theta = (const float *)theta;
  nr->v0 = (const float *)membrane;
  nr->per_neuron = per_neuron != 0;
  nr->bound = bound;
  nr->spikes = 0;
}

/* y = spikes(current) · w: current [rows][k] (time-folded, rows = T·R),
 * w [k][n] (the thresholds already folded in), y [rows][n]. */
void __sinter_spike_linear(intptr_t current, intptr_t out, int64_t rows, int64_t steps, int64_t k, intptr_t theta,
                           int64_t per_neuron, intptr_t membrane, int64_t bound, int64_t n, intptr_t weight) {
  float *y = (float *)out;
  if (rows <= 0 || n <= 0)
    return;
  if (k <= 0 || steps <= 0) {
    memset(y, 0, (size_t)(rows * n) * sizeof(float));
    return;
  }
  neurons nr;
  neurons_init(&nr, current, rows, steps, k, theta, per_neuron, membrane, bound);
  nr.spikes = (int8_t *)malloc((size_t)(rows * k));
  float rate = nr.spikes ? run_neurons(&nr) : -1.0f;
  if (rate < 0.0f) {
    free(nr.spikes);
    fill_nan(y, rows * n);
    return;
  }
  float *dense = rate >= DENSE_RATE ? (float *)malloc((size_t)(rows * k) * sizeof(float)) : 0;
  if (dense) {
    for (int64_t i = 0; i < rows * k; ++i)
      dense[i] = (float)nr.spikes[i];
    memset(y, 0, (size_t)(rows * n) * sizeof(float));
    __sinter_sgemm(1, rows, n, k, (int64_t)(intptr_t)dense, 0, k, 1, (int64_t)weight, 0, n, 1, (int64_t)out, 0, n,
                   1);
    free(dense);
  } else {
    synapses sy = {nr.spikes, (const float *)weight, y, k, n};
    __sinter_parallel_for(rows, 8, event_rows, &sy);
  }
  free(nr.spikes);
}

/* y = s · θ: what the neurons pass on at each step, [rows][k]. */
void __sinter_spike_values(intptr_t current, intptr_t out, int64_t rows, int64_t steps, int64_t k, intptr_t theta,
                           int64_t per_neuron, intptr_t membrane, int64_t bound) {
  float *y = (float *)out;
  if (rows <= 0 || k <= 0)
    return;
  neurons nr;
  neurons_init(&nr, current, rows, steps > 0 ? steps : 1, k, theta, per_neuron, membrane, bound);
  nr.spikes = (int8_t *)malloc((size_t)(rows * k));
  if (!nr.spikes || run_neurons(&nr) < 0.0f) {
    free(nr.spikes);
    fill_nan(y, rows * k);
    return;
  }
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < k; ++j)
      y[i * k + j] = (float)nr.spikes[i * k + j] * nr.theta[nr.per_neuron ? j : 0];
  free(nr.spikes);
}
