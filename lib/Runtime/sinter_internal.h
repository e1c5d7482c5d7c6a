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
 * recycled through a small cache; CUDA managed memory in GPU objects. */
void *_mlir_memref_to_llvm_alloc(size_t size);
void _mlir_memref_to_llvm_free(void *ptr);

/* A cache of freed blocks of at least min_bytes, 512 MiB at most in all:
 * take returns the smallest block of size..2·size bytes aligned to `align`
 * (NULL if none); put keeps a block and returns the one the caller must
 * release now (the block itself, an evicted smaller one, or NULL); drain
 * releases them all. */
#define SINTER_CACHE_SLOTS 64
typedef struct sinter_block_cache {
  size_t min_bytes; /* smaller blocks are not kept */
  int32_t lock;
  int32_t count;
  size_t bytes;
  void *ptr[SINTER_CACHE_SLOTS];
  size_t size[SINTER_CACHE_SLOTS];
} sinter_block_cache;
void *__sinter_cache_take(sinter_block_cache *c, size_t size, size_t align);
void *__sinter_cache_put(sinter_block_cache *c, void *ptr, size_t size);
void __sinter_cache_drain(sinter_block_cache *c, void (*release)(void *));

/* Decimal digits of v into buf (at least 21 bytes); returns buf. */
const char *__sinter_format_i64(char *buf, int64_t v);

/* The GPU side (sinter_cuda.c). __sinter_gpu_sm is the compute capability
 * an object's kernels were compiled for (90 for sm_90); sinter-compile sets
 * it in GPU objects and leaves it 0 elsewhere, where the optimizer then
 * drops everything below. */
extern int32_t __sinter_gpu_sm;
typedef struct sinter_gpu_run {
  int32_t device;
  int32_t result;     /* the first CUDA error of the run (CUresult), or 0 */
  void *stream;       /* CUstream */
  char what[128];     /* what failed */
} sinter_gpu_run;
/* Starts a run on the selected device (loads the driver on first use) and
 * makes it the calling thread's; a sinter_status. */
int __sinter_gpu_begin(sinter_gpu_run *run, struct sinter_error *error);
/* Waits for the run's work and reports its first error; a sinter_status. */
int __sinter_gpu_end(sinter_gpu_run *run, struct sinter_error *error);
/* Managed memory for the compiled code and the ABI's buffers. */
void *__sinter_gpu_alloc(size_t size, size_t align);
void __sinter_gpu_free(void *ptr);
/* The ABI's set_device. */
int __sinter_set_device(int32_t ordinal, struct sinter_error *error);

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
