/* Buffer allocation for the compiled code (finalize-memref-to-llvm with
 * use-generic-functions calls these instead of malloc/free).
 *
 * A forward pass allocates and frees the same intermediate sizes every run;
 * served by malloc, large ones are mmapped (or trimmed back to the system)
 * and page-faulted in again each run, which cost a tenth of a GPT-2 prefill.
 * Freed blocks are kept in a small per-object cache and handed out again
 * for requests up to twice smaller. Blocks are ordinary malloc blocks, so
 * `free` (and the ABI's free_output) remains correct for any of them.
 * Objects for the GPU target allocate CUDA managed memory instead
 * (sinter_cuda.c), through a cache of the same kind. */
#include "sinter_internal.h"

size_t malloc_usable_size(void *ptr);
int posix_memalign(void **ptr, size_t alignment, size_t size);

#define MAX_CACHED_BYTES ((size_t)512 << 20)

/* malloc serves blocks under 64 KiB well. */
static sinter_block_cache cache = {.min_bytes = (size_t)64 << 10};

static void lock(sinter_block_cache *c) {
  while (__atomic_exchange_n(&c->lock, 1, __ATOMIC_ACQUIRE))
    SINTER_CPU_RELAX();
}

static void unlock(sinter_block_cache *c) { __atomic_store_n(&c->lock, 0, __ATOMIC_RELEASE); }

void *__sinter_cache_take(sinter_block_cache *c, size_t size, size_t align) {
  if (size < c->min_bytes)
    return 0;
  lock(c);
  int best = -1;
  for (int i = 0; i < c->count; ++i)
    if (c->size[i] >= size && c->size[i] <= 2 * size && (uintptr_t)c->ptr[i] % align == 0 &&
        (best < 0 || c->size[i] < c->size[best]))
      best = i;
  void *p = 0;
  if (best >= 0) {
    p = c->ptr[best];
    c->bytes -= c->size[best];
    --c->count;
    c->ptr[best] = c->ptr[c->count];
    c->size[best] = c->size[c->count];
  }
  unlock(c);
  return p;
}

void *__sinter_cache_put(sinter_block_cache *c, void *ptr, size_t size) {
  if (size < c->min_bytes || size > MAX_CACHED_BYTES)
    return ptr;
  void *evict = ptr;
  lock(c);
  if (c->count < SINTER_CACHE_SLOTS && c->bytes + size <= MAX_CACHED_BYTES) {
    c->ptr[c->count] = ptr;
    c->size[c->count++] = size;
    c->bytes += size;
    evict = 0;
  } else {
    int smallest = 0;
    for (int i = 1; i < c->count; ++i)
      if (c->size[i] < c->size[smallest])
        smallest = i;
    if (c->count > 0 && c->size[smallest] < size && c->bytes - c->size[smallest] + size <= MAX_CACHED_BYTES) {
      evict = c->ptr[smallest];
      c->bytes += size - c->size[smallest];
      c->ptr[smallest] = ptr;
      c->size[smallest] = size;
    }
  }
  unlock(c);
  return evict;
}

void __sinter_cache_drain(sinter_block_cache *c, void (*release)(void *)) {
  lock(c);
  for (int i = 0; i < c->count; ++i)
    release(c->ptr[i]);
  c->count = 0;
  c->bytes = 0;
  unlock(c);
}

void *_mlir_memref_to_llvm_alloc(size_t size) {
  if (__sinter_gpu_sm)
    return __sinter_gpu_alloc(size, 1);
  void *p = __sinter_cache_take(&cache, size, 1);
  return p ? p : malloc(size);
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  if (__sinter_gpu_sm)
    return __sinter_gpu_alloc(size, alignment);
  void *p = __sinter_cache_take(&cache, size, alignment);
  if (!p && posix_memalign(&p, alignment < sizeof(void *) ? sizeof(void *) : alignment, size) != 0)
    p = 0;
  return p;
}

/* Keeps a freed block for reuse; evicts the smallest if the cache is full. */
void _mlir_memref_to_llvm_free(void *ptr) {
  if (!ptr)
    return;
  if (__sinter_gpu_sm) {
    __sinter_gpu_free(ptr);
    return;
  }
  free(__sinter_cache_put(&cache, ptr, malloc_usable_size(ptr)));
}

/* Returns the cached blocks when the object is unloaded (dlclose), which
 * would otherwise leak them. */
__attribute__((destructor)) static void release_cache(void) { __sinter_cache_drain(&cache, free); }
