/* Buffer allocation for the compiled code (finalize-memref-to-llvm with
 * use-generic-functions calls these instead of malloc/free).
 *
 * A forward pass allocates and frees the same intermediate sizes every run;
 * served by malloc, large ones are mmapped (or trimmed back to the system)
 * and page-faulted in again each run, which cost a tenth of a GPT-2 prefill.
 * Freed blocks are kept in a small per-object cache and handed out again
 * for requests up to twice smaller. Blocks are ordinary malloc blocks, so
 * `free` (and the ABI's free_output) remains correct for any of them. */
#include "sinter_internal.h"

size_t malloc_usable_size(void *ptr);
int posix_memalign(void **ptr, size_t alignment, size_t size);

#define SLOTS 64
#define MAX_CACHED_BYTES ((size_t)512 << 20)
#define MIN_CACHED_BYTES ((size_t)64 << 10) /* malloc serves small ones well */

static struct {
  int32_t lock;
  int32_t count;
  size_t bytes;
  void *ptr[SLOTS];
  size_t size[SLOTS];
} cache;

static void lock(void) {
  while (__atomic_exchange_n(&cache.lock, 1, __ATOMIC_ACQUIRE))
    SINTER_CPU_RELAX();
}

static void unlock(void) { __atomic_store_n(&cache.lock, 0, __ATOMIC_RELEASE); }

/* The smallest cached block of at least `size` bytes (and at most twice
 * that), aligned to `align`, removed from the cache; NULL if none. */
static void *take(size_t size, size_t align) {
  if (size < MIN_CACHED_BYTES)
    return 0;
  lock();
  int best = -1;
  for (int i = 0; i < cache.count; ++i)
    if (cache.size[i] >= size && cache.size[i] <= 2 * size &&
        (uintptr_t)cache.ptr[i] % align == 0 && (best < 0 || cache.size[i] < cache.size[best]))
      best = i;
  void *p = 0;
  if (best >= 0) {
    p = cache.ptr[best];
    cache.bytes -= cache.size[best];
    --cache.count;
    cache.ptr[best] = cache.ptr[cache.count];
    cache.size[best] = cache.size[cache.count];
  }
  unlock();
  return p;
}

void *_mlir_memref_to_llvm_alloc(size_t size) {
  void *p = take(size, 1);
  return p ? p : malloc(size);
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  void *p = take(size, alignment);
  if (!p && posix_memalign(&p, alignment < sizeof(void *) ? sizeof(void *) : alignment, size) != 0)
    p = 0;
  return p;
}

/* Keeps a freed block for reuse; evicts the smallest if the cache is full. */
void _mlir_memref_to_llvm_free(void *ptr) {
  if (!ptr)
    return;
  size_t size = malloc_usable_size(ptr);
  if (size < MIN_CACHED_BYTES || size > MAX_CACHED_BYTES) {
    free(ptr);
    return;
  }
  void *evict = ptr;
  lock();
  if (cache.count < SLOTS && cache.bytes + size <= MAX_CACHED_BYTES) {
    cache.ptr[cache.count] = ptr;
    cache.size[cache.count++] = size;
    cache.bytes += size;
    evict = 0;
  } else {
    int smallest = 0;
    for (int i = 1; i < cache.count; ++i)
      if (cache.size[i] < cache.size[smallest])
        smallest = i;
    if (cache.count > 0 && cache.size[smallest] < size &&
        cache.bytes - cache.size[smallest] + size <= MAX_CACHED_BYTES) {
      evict = cache.ptr[smallest];
      cache.bytes += size - cache.size[smallest];
      cache.ptr[smallest] = ptr;
      cache.size[smallest] = size;
    }
  }
  unlock();
  free(evict);
}

/* Returns the cached blocks when the object is unloaded (dlclose), which
 * would otherwise leak them. */
__attribute__((destructor)) static void release_cache(void) {
  lock();
  for (int i = 0; i < cache.count; ++i)
    free(cache.ptr[i]);
  cache.count = 0;
  cache.bytes = 0;
  unlock();
}
