/* Declarations shared by the runtime's C files. The runtime compiles for any
 * target without that target's libc headers (clang provides stddef/stdint),
 * so the few libc functions it uses are declared here. */
#ifndef SINTER_RUNTIME_INTERNAL_H
#define SINTER_RUNTIME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

void *malloc(size_t size);
void free(void *ptr);
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int strcmp(const char *a, const char *b);

/* The f32 whose bits a kernel argument carries (the compiler passes f32
 * attributes to kernels as their bit patterns in an int64). */
static inline float __sinter_f32_from_bits(int64_t bits) {
  uint32_t b = (uint32_t)bits;
  float f;
  __builtin_memcpy(&f, &b, sizeof(f));
  return f;
}

/* Writes a + b + c into `error` (if not NULL) and returns `status`: the
 * ABI's error messages, without snprintf (sinter_runtime.c). */
struct sinter_error;
int __sinter_fail(struct sinter_error *error, int status, const char *a, const char *b, const char *c);

/* A spin-wait hint (no inline asm: the in-process assembler may lack the
 * target's parser). */
#if defined(__x86_64__)
#define SINTER_CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define SINTER_CPU_RELAX() __builtin_arm_yield()
#else
#error "sinter runtime: unsupported architecture"
#endif

/* The compiled code's buffer allocator (sinter_alloc.c): malloc blocks,
 * recycled through a small cache. */
void *_mlir_memref_to_llvm_alloc(size_t size);
void _mlir_memref_to_llvm_free(void *ptr);

/* Runs fn(ctx, begin, end) over [0, n) in chunks of `grain` items on the
 * thread pool (sinter_threads.c); returns when every chunk has run. Runs on
 * the calling thread alone when the pool is busy (a concurrent or nested
 * call), when one thread is allowed, or when n <= grain. */
typedef void (*sinter_task_fn)(void *ctx, int64_t begin, int64_t end);
void __sinter_parallel_for(int64_t n, int64_t grain, sinter_task_fn fn, void *ctx);

/* Threads a parallel_for may use now (the cap, limited by the cores). */
int32_t __sinter_available_threads(void);

/* Caps the threads used by later runs; 0 restores the default (all the cores
 * this process may run on, or SINTER_NUM_THREADS). Returns the new cap. */
int32_t __sinter_set_num_threads(int32_t n);

/* C[b] += A[b] · B[b] for b < batch, f32, arbitrary element strides
 * (sinter_sgemm.c). Addresses are of element [0, 0, 0]. */
void __sinter_sgemm(int64_t batch, int64_t m, int64_t n, int64_t k,
                    int64_t a, int64_t a_bs, int64_t a_rs, int64_t a_cs,
                    int64_t b, int64_t b_bs, int64_t b_rs, int64_t b_cs,
                    int64_t c, int64_t c_bs, int64_t c_rs, int64_t c_cs);

/* Writes to idx (h int32), ascending, the indices of the `kept` largest of
 * logits[0..h), ties to the lower index, NaN ranked last (sinter_topk.c).
 * keys (h uint32) and cand (h uint64) are scratch. */
void __sinter_choose_top(const float *logits, int64_t h, int64_t kept, uint32_t *keys, uint64_t *cand,
                         int32_t *idx);

/* The same with B a constant packed by the compiler into column panels of
 * __sinter_gemm_panel_width floats: [ceil(n / width)][k][width], zero past n. */
void __sinter_sgemm_packed(int64_t batch, int64_t m, int64_t n, int64_t k,
                           int64_t a, int64_t a_bs, int64_t a_rs, int64_t a_cs, int64_t b,
                           int64_t c, int64_t c_bs, int64_t c_rs, int64_t c_cs);
extern const int32_t __sinter_gemm_panel_width;

/* LayerNorm of `rows` contiguous rows of d floats over each row, then
 * · scale[d] + bias[d] (bias 0: none); eps_bits holds the f32 epsilon's
 * bits (sinter_layer_norm.c). */
void __sinter_layer_norm(int64_t rows, int64_t d, int64_t x, int64_t scale, int64_t bias, int64_t out,
                         int64_t eps_bits);

/* Multi-head attention on sequence-major tensors (sinter_attention.c):
 * q [batch, t_len, heads·dk], k [batch, s_len, heads·dk], v [batch, s_len,
 * heads·dv] and out [batch, t_len, heads·dv], each with element strides
 * between batches and between rows (unit within a row); scale_bits holds
 * the f32 scale's bits; causal lets query t see keys s ≤ t + s_len − t_len. */
void __sinter_attention(int64_t batch, int64_t t_len, int64_t s_len, int64_t heads, int64_t dk, int64_t dv,
                        int64_t q, int64_t q_bs, int64_t q_ts, int64_t k, int64_t k_bs, int64_t k_ts,
                        int64_t v, int64_t v_bs, int64_t v_ts, int64_t out, int64_t o_bs, int64_t o_ts,
                        int64_t scale_bits, int64_t causal);

#endif
