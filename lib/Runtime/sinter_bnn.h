/* Shared by the two halves of the BinaryMoS kernel: sinter_bnn.c (the
 * entry, routing, scales, quantization and lookup tables: phase 1) and
 * sinter_bnn_sums.c (the 1-bit products: phase 2). */
#ifndef SINTER_RUNTIME_BNN_H
#define SINTER_RUNTIME_BNN_H

#include "sinter_vec.h"

/* Experts a layer may have (the verifier of bnn.mos_linear checks it). */
#define MAX_EXPERTS 64
/* x' is padded with zeros to whole steps of this many floats, q to whole
 * steps of QSTEP bytes. */
#define STEP 32
#define QSTEP 128
/* Outputs per tile of the tiled layout, per task of the output phase. */
#define TILE 16
#define OUTPUT_BLOCK 64
/* Rows prepared and swept together: their tables stay in L2. */
#define ROW_CHUNK 16

enum { LAYOUT_ROWS = 0, LAYOUT_TILES = 1 };

/* fp32 activations on tiles go by lookup tables where the target can look
 * up 8 or 16 lanes at once (vpermps). */
#if defined(__AVX512F__) || defined(__AVX2__)
#define SINTER_LUT 1
#endif

typedef int8_t v8c __attribute__((vector_size(8)));
typedef uint16_t v8h __attribute__((vector_size(16)));

typedef struct {
  const float *x;
  float *y;
  int64_t rows, k, n, e;
  const uint8_t *bits;
  const void *s_in, *s_out; /* [E][K], [E][N]: float, or uint16_t halves */
  const void *router_raw;   /* [K][E], the same */
  const float *router;      /* the router in fp32 (halves widened); null
                               when unbuffered */
  const float *bias;
  int64_t act_bits; /* 32: fp32 x'; 8: int8 q */
  int64_t layout;   /* LAYOUT_ROWS or LAYOUT_TILES */
  int half;         /* scales are halves */
  int lut;          /* phase 2 by lookup tables */
  int mix_out;      /* s_out mixed per row (else S_out row 0, fp32) */
  int64_t kp;       /* K rounded up to STEP */
  int64_t kq;       /* int8: K rounded up to QSTEP */
  int64_t r0, rc;   /* the chunk of rows in flight: [r0, r0 + rc) */
  /* Per row of the chunk: */
  float *xs;      /* [kp]: x ⊙ s_in, zero past K */
  float *total;   /* Σ x' (int8: Σ q) */
  float *out_mix; /* [n]: s_out */
  int8_t *q;      /* int8: [kq], zero past K */
  float *qscale;  /* int8: max|x'| / 127 */
  float *tab;     /* lut: [2·⌈K/8⌉][16] */
} mos_linear;

static inline int64_t row_bytes(const mos_linear *m) { return (m->k + 7) / 8; }
static inline int64_t tab_floats(const mos_linear *m) { return 32 * row_bytes(m); }

/* Output n's byte c is bit_row(m, n)[c · bit_stride(m)]. */
static inline const uint8_t *bit_row(const mos_linear *m, int64_t n) {
  int64_t nb = row_bytes(m);
  return m->layout == LAYOUT_ROWS ? m->bits + n * nb : m->bits + (n / TILE) * nb * TILE + n % TILE;
}
static inline int64_t bit_stride(const mos_linear *m) { return m->layout == LAYOUT_ROWS ? 1 : TILE; }

/* Phase 2 for output blocks [begin, end) of the chunk in flight (a
 * parallel_for task; ctx is the mos_linear). */
void __sinter_mos_output_blocks(void *ctx, int64_t begin, int64_t end);

#endif
