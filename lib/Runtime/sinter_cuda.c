/* The host side of objects compiled for --target=nvptx64-nvidia-cuda.
 *
 * Such an object carries its kernels as one CUDA image (a fatbin with
 * cubin and PTX, or PTX alone) and loads the CUDA driver itself, at run
 * time, with dlopen("libcuda.so.1"): it has no link-time CUDA dependency,
 * and a machine without the driver or a GPU gets SINTER_ERR_DEVICE with a
 * message, not a failed load. Per run (__sinter_gpu_begin/end) it makes the
 * selected device's primary context current, creates a stream, and after
 * the compiled code has run, waits and reports the first CUDA error.
 *
 * The compiled host code calls in here (sinter-gpu-host-to-runtime):
 * __sinter_gpu_launch for each kernel launch (the image is loaded into the
 * device's context on first use, kernel handles are cached by name), and
 * __sinter_gpu_constant for each constant a kernel may read (copied once to
 * managed memory, cached by host address). Buffers are CUDA managed memory
 * (cuMemAllocManaged), so that host code between kernels, the inputs'
 * copies and the outputs handed to the caller need no explicit transfers.
 * Each launch is synchronous: host code may read what the kernel wrote.
 *
 * In CPU objects __sinter_gpu_sm is 0 and all of this is dead code. */
#include "sinter/runtime/sinter.h"
#include "sinter_internal.h"

void *dlopen(const char *file, int mode);
void *dlsym(void *handle, const char *name);
char *dlerror(void);
char *getenv(const char *name);
#define RTLD_NOW 2

int32_t __sinter_gpu_sm = 0;

/* The driver API's types, as far as the object uses them. */
typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef unsigned long long CUdeviceptr;
#define CU_MEM_ATTACH_GLOBAL 1
#define CU_STREAM_NON_BLOCKING 1
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75
#define CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR 76
#define CU_JIT_ERROR_LOG_BUFFER 5
#define CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES 6

#define MAX_DEVICES 16
#define KERNEL_SLOTS 512 /* per device; a model has tens of kernels */
#define MANAGED_ALIGN 256 /* what the driver's allocations are aligned to */

static struct {
  CUresult (*Init)(unsigned flags);
  CUresult (*DeviceGetCount)(int *count);
  CUresult (*DeviceGet)(CUdevice *device, int ordinal);
  CUresult (*DeviceGetAttribute)(int *value, int attribute, CUdevice device);
  CUresult (*DevicePrimaryCtxRetain)(CUcontext *ctx, CUdevice device);
  CUresult (*CtxSetCurrent)(CUcontext ctx);
  CUresult (*MemAllocManaged)(CUdeviceptr *ptr, size_t bytes, unsigned flags);
  CUresult (*MemFree)(CUdeviceptr ptr);
  CUresult (*ModuleLoadDataEx)(CUmodule *module, const void *image, unsigned n, int *options, void **values);
  CUresult (*ModuleGetFunction)(CUfunction *fn, CUmodule module, const char *name);
  CUresult (*LaunchKernel)(CUfunction fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                           unsigned bz, unsigned shared_bytes, CUstream stream, void **params, void **extra);
  CUresult (*StreamCreate)(CUstream *stream, unsigned flags);
  CUresult (*StreamSynchronize)(CUstream stream);
  CUresult (*StreamDestroy)(CUstream stream);
  CUresult (*GetErrorName)(CUresult result, const char **name);
} cu;

/* Driver entry points by their exported names (cuda.h maps some to _v2). */
static const struct {
  const char *name;
  size_t offset;
} kSymbols[] = {
    {"cuInit", __builtin_offsetof(__typeof__(cu), Init)},
    {"cuDeviceGetCount", __builtin_offsetof(__typeof__(cu), DeviceGetCount)},
    {"cuDeviceGet", __builtin_offsetof(__typeof__(cu), DeviceGet)},
    {"cuDeviceGetAttribute", __builtin_offsetof(__typeof__(cu), DeviceGetAttribute)},
    {"cuDevicePrimaryCtxRetain", __builtin_offsetof(__typeof__(cu), DevicePrimaryCtxRetain)},
    {"cuCtxSetCurrent", __builtin_offsetof(__typeof__(cu), CtxSetCurrent)},
    {"cuMemAllocManaged", __builtin_offsetof(__typeof__(cu), MemAllocManaged)},
    {"cuMemFree_v2", __builtin_offsetof(__typeof__(cu), MemFree)},
    {"cuModuleLoadDataEx", __builtin_offsetof(__typeof__(cu), ModuleLoadDataEx)},
    {"cuModuleGetFunction", __builtin_offsetof(__typeof__(cu), ModuleGetFunction)},
    {"cuLaunchKernel", __builtin_offsetof(__typeof__(cu), LaunchKernel)},
    {"cuStreamCreate", __builtin_offsetof(__typeof__(cu), StreamCreate)},
    {"cuStreamSynchronize", __builtin_offsetof(__typeof__(cu), StreamSynchronize)},
    {"cuStreamDestroy_v2", __builtin_offsetof(__typeof__(cu), StreamDestroy)},
    {"cuGetErrorName", __builtin_offsetof(__typeof__(cu), GetErrorName)},
};

typedef struct device_state {
  CUcontext ctx; /* the primary context, retained once */
  CUmodule module;
  const char *kernel_name[KERNEL_SLOTS]; /* by address: the names are the object's constants */
  CUfunction kernel[KERNEL_SLOTS];
} device_state;

/* A live managed allocation: what free needs to know. */
typedef struct allocation {
  void *ptr;
  CUdeviceptr base;
  size_t size;
  int32_t device;
} allocation;

/* A constant's managed copy, by the host address of its bytes. */
typedef struct constant_copy {
  const void *host;
  void *copy;
} constant_copy;

static struct {
  int32_t lock;
  int32_t state; /* 0: driver not tried yet; 1: loaded; -1: failed (why) */
  char why[200];
  int32_t devices;
  int32_t selected; /* -1 until chosen: SINTER_CUDA_DEVICE, else 0 */
  device_state dev[MAX_DEVICES];
  allocation *live; /* open addressing by ptr; capacity a power of two */
  int64_t live_cap, live_count;
  constant_copy *consts;
  int64_t consts_cap, consts_count;
} g = {.selected = -1};

/* Every size is kept: the driver's allocations cost tens of microseconds. */
static sinter_block_cache managed_cache = {.min_bytes = 1};
static _Thread_local sinter_gpu_run *current;

static void lock(void) {
  while (__atomic_exchange_n(&g.lock, 1, __ATOMIC_ACQUIRE))
    SINTER_CPU_RELAX();
}

static void unlock(void) { __atomic_store_n(&g.lock, 0, __ATOMIC_RELEASE); }

/* Appends the strings (NULL ends the list) to buf of cap bytes. */
static void append(char *buf, size_t cap, const char *a, const char *b, const char *c, const char *d) {
  size_t n = 0;
  while (n < cap - 1 && buf[n])
    ++n;
  const char *parts[4] = {a, b, c, d};
  for (int p = 0; p < 4; ++p)
    for (const char *s = parts[p]; s && *s && n < cap - 1; ++s)
      buf[n++] = *s;
  buf[n] = 0;
}

static const char *error_name(CUresult r) {
  const char *name = 0;
  if (!cu.GetErrorName || cu.GetErrorName(r, &name) != 0 || !name)
    return "an unknown CUDA error";
  return name;
}

/* Loads the driver and counts the devices once (under the lock). */
static int load_driver(void) {
  if (g.state)
    return g.state > 0;
  g.state = -1;
  void *lib = dlopen("libcuda.so.1", RTLD_NOW);
  if (!lib) {
    const char *why = dlerror();
    append(g.why, sizeof(g.why), "cannot load the CUDA driver libcuda.so.1 (", why ? why : "not found",
           "); this object runs on an NVIDIA GPU and needs its driver", 0);
    return 0;
  }
  for (size_t i = 0; i < sizeof(kSymbols) / sizeof(kSymbols[0]); ++i) {
    void *fn = dlsym(lib, kSymbols[i].name);
    if (!fn) {
      append(g.why, sizeof(g.why), "the CUDA driver lacks ", kSymbols[i].name, " (too old?)", 0);
      return 0;
    }
    __builtin_memcpy((char *)&cu + kSymbols[i].offset, &fn, sizeof(fn));
  }
  CUresult r = cu.Init(0);
  int count = 0;
  if (r == 0)
    r = cu.DeviceGetCount(&count);
  if (r != 0 || count <= 0) {
    append(g.why, sizeof(g.why), "no CUDA device: ", r ? "cuInit failed with " : "the driver reports none",
           r ? error_name(r) : "", 0);
    return 0;
  }
  g.devices = count < MAX_DEVICES ? count : MAX_DEVICES;
  g.state = 1;
  return 1;
}

static int device_error(sinter_error *error, const char *a, const char *b, const char *c) {
  return __sinter_fail(error, SINTER_ERR_DEVICE, a, b, c);
}

/* The ordinal SINTER_CUDA_DEVICE names, 0 if unset, -1 if malformed. */
static int32_t default_device(void) {
  const char *s = getenv("SINTER_CUDA_DEVICE");
  if (!s || !*s)
    return 0;
  int32_t v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || v > 1000)
      return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

/* Retains device d's primary context and checks its compute capability
 * against the object's (under the lock). */
static int open_device(int32_t d, sinter_error *error) {
  char num[24], have[24], need[24];
  if (d < 0 || d >= g.devices)
    return device_error(error, "CUDA device ", __sinter_format_i64(num, d),
                        d < 0 ? " is not an ordinal (SINTER_CUDA_DEVICE?)" : " does not exist on this machine");
  device_state *s = &g.dev[d];
  if (s->ctx)
    return SINTER_OK;
  CUdevice dev;
  int major = 0, minor = 0;
  CUresult r = cu.DeviceGet(&dev, d);
  if (r == 0)
    r = cu.DeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
  if (r == 0)
    r = cu.DeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
  if (r != 0)
    return device_error(error, "CUDA device ", __sinter_format_i64(num, d), ": cannot query it");
  if (major * 10 + minor < __sinter_gpu_sm) {
    char msg[160] = {0};
    append(msg, sizeof(msg), "CUDA device ", __sinter_format_i64(num, d), " is sm_",
           __sinter_format_i64(have, major * 10 + minor));
    append(msg, sizeof(msg), "; the object's kernels need sm_", __sinter_format_i64(need, __sinter_gpu_sm),
           " or newer (--mcpu)", 0);
    return device_error(error, msg, "", "");
  }
  r = cu.DevicePrimaryCtxRetain(&s->ctx, dev);
  if (r != 0) {
    s->ctx = 0;
    return device_error(error, "CUDA device ", __sinter_format_i64(num, d), ": cannot create its context");
  }
  return SINTER_OK;
}

/* Opens the selected device (under the lock); its ordinal, or -1 with the
 * error reported. */
static int32_t selected_device(sinter_error *error, int *status) {
  if (!load_driver()) {
    *status = device_error(error, g.why, "", "");
    return -1;
  }
  if (g.selected < 0)
    g.selected = default_device();
  *status = open_device(g.selected, error);
  return *status == SINTER_OK ? g.selected : -1;
}

int __sinter_set_device(int32_t ordinal, sinter_error *error) {
  if (error)
    error->message[0] = 0;
  if (!__sinter_gpu_sm)
    return ordinal == 0 ? SINTER_OK : device_error(error, "this object runs on the CPU: its only device is 0", "", "");
  lock();
  int status = load_driver() ? open_device(ordinal, error) : device_error(error, g.why, "", "");
  if (status == SINTER_OK)
    g.selected = ordinal;
  unlock();
  return status;
}

/* A GPU object's set_num_threads: it computes on the device, so it starts
 * no thread pool, and one host thread runs. */
int32_t __sinter_gpu_set_num_threads(int32_t n) {
  (void)n;
  return 1;
}

/* Records the run's first failure. */
static void fail(sinter_gpu_run *run, CUresult r, const char *what, const char *name) {
  if (!run || run->result)
    return;
  run->result = r ? r : -1;
  run->what[0] = 0;
  append(run->what, sizeof(run->what), what, name, 0, 0);
}

int __sinter_gpu_begin(sinter_gpu_run *run, sinter_error *error) {
  run->result = 0;
  run->what[0] = 0;
  run->stream = 0;
  int status;
  lock();
  run->device = selected_device(error, &status);
  CUcontext ctx = run->device >= 0 ? g.dev[run->device].ctx : 0;
  unlock();
  if (status != SINTER_OK)
    return status;
  CUresult r = cu.CtxSetCurrent(ctx);
  if (r == 0)
    r = cu.StreamCreate(&run->stream, CU_STREAM_NON_BLOCKING);
  if (r != 0)
    return device_error(error, "cannot start a run on the CUDA device: ", error_name(r), "");
  current = run;
  return SINTER_OK;
}

int __sinter_gpu_end(sinter_gpu_run *run, sinter_error *error) {
  if (run->stream) {
    CUresult r = cu.StreamSynchronize(run->stream);
    if (r != 0)
      fail(run, r, "waiting for the kernels", "");
    cu.StreamDestroy(run->stream);
  }
  current = 0;
  if (!run->result)
    return SINTER_OK;
  if (run->result < 0)
    return device_error(error, "GPU run failed: ", run->what, "");
  return device_error(error, error_name(run->result), " in ", run->what);
}

/* The image's module in device d's context, loaded on first use (under
 * the lock); 0 after recording why not. */
static CUmodule module_for(sinter_gpu_run *run, const char *image) {
  device_state *s = &g.dev[run->device];
  if (s->module)
    return s->module;
  char log[512] = {0};
  int options[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[2] = {log, (void *)(uintptr_t)sizeof(log)};
  CUresult r = cu.ModuleLoadDataEx(&s->module, image, 2, options, values);
  if (r != 0) {
    s->module = 0;
    fail(run, r, "loading the object's GPU kernels: ", log[0] ? log : "no log");
  }
  return s->module;
}

/* The named kernel's handle on the run's device, cached by name address
 * (looked up uncached once the table is full); 0 after recording why. */
static CUfunction kernel_for(sinter_gpu_run *run, const char *image, const char *name) {
  device_state *s = &g.dev[run->device];
  size_t start = ((uintptr_t)name >> 3) % KERNEL_SLOTS, slot = KERNEL_SLOTS;
  CUfunction fn = 0;
  lock();
  for (size_t k = 0; k < KERNEL_SLOTS; ++k) {
    size_t i = (start + k) % KERNEL_SLOTS;
    if (s->kernel_name[i] == name) {
      fn = s->kernel[i];
      break;
    }
    if (!s->kernel_name[i]) {
      slot = i;
      break;
    }
  }
  if (!fn) {
    CUmodule m = module_for(run, image);
    CUresult r = m ? cu.ModuleGetFunction(&fn, m, name) : 0;
    if (r != 0) {
      fail(run, r, "finding kernel ", name);
      fn = 0;
    } else if (fn && slot < KERNEL_SLOTS) {
      s->kernel_name[slot] = name;
      s->kernel[slot] = fn;
    }
  }
  unlock();
  return fn;
}

void __sinter_gpu_launch(const char *image, const char *name, int64_t gx, int64_t gy, int64_t gz, int64_t bx,
                         int64_t by, int64_t bz, int32_t shared_bytes, void **params) {
  sinter_gpu_run *run = current;
  if (!run || run->result)
    return; /* an earlier failure: the run reports it */
  CUfunction fn = kernel_for(run, image, name);
  if (!fn)
    return; /* recorded */
  if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0)
    return; /* an empty tensor: nothing to compute */
  if (gx < 0 || gy < 0 || gz < 0 || gx > 0x7fffffff || gy > 65535 || gz > 65535) {
    fail(run, 0, "launching kernel (grid out of range) ", name);
    return;
  }
  CUresult r = cu.LaunchKernel(fn, (unsigned)gx, (unsigned)gy, (unsigned)gz, (unsigned)bx, (unsigned)by,
                               (unsigned)bz, (unsigned)shared_bytes, run->stream, params, 0);
  if (r == 0)
    r = cu.StreamSynchronize(run->stream);
  if (r != 0)
    fail(run, r, "kernel ", name);
}

/* --- Managed memory ------------------------------------------------------ */

static uint64_t hash_ptr(const void *p) { return ((uint64_t)(uintptr_t)p >> 8) * 0x9E3779B97F4A7C15ull; }

/* Finds p's slot in the live table, or the empty slot it would take. */
static int64_t live_slot(const void *p) {
  int64_t mask = g.live_cap - 1, i = (int64_t)(hash_ptr(p) & (uint64_t)mask);
  while (g.live[i].ptr && g.live[i].ptr != p)
    i = (i + 1) & mask;
  return i;
}

/* Keeps the live table at most half full (under the lock); 0 if out of
 * host memory. */
static int live_reserve(void) {
  if (2 * (g.live_count + 1) <= g.live_cap)
    return 1;
  int64_t cap = g.live_cap ? 2 * g.live_cap : 256;
  allocation *old = g.live, *table = malloc((size_t)cap * sizeof(allocation));
  if (!table)
    return 0;
  memset(table, 0, (size_t)cap * sizeof(allocation));
  int64_t old_cap = g.live_cap;
  g.live = table;
  g.live_cap = cap;
  for (int64_t i = 0; i < old_cap; ++i)
    if (old[i].ptr)
      g.live[live_slot(old[i].ptr)] = old[i];
  free(old);
  return 1;
}

/* Removes slot i, moving later entries of its cluster back. */
static void live_remove(int64_t i) {
  int64_t mask = g.live_cap - 1;
  g.live[i].ptr = 0;
  --g.live_count;
  for (int64_t j = (i + 1) & mask; g.live[j].ptr; j = (j + 1) & mask) {
    allocation a = g.live[j];
    g.live[j].ptr = 0;
    g.live[live_slot(a.ptr)] = a;
  }
}

void *__sinter_gpu_alloc(size_t size, size_t align) {
  if (align < 1)
    align = 1;
  void *p = __sinter_cache_take(&managed_cache, size, align);
  if (p)
    return p;
  sinter_gpu_run *run = current;
  size_t extra = align > MANAGED_ALIGN ? align : 0;
  CUdeviceptr base = 0;
  lock();
  CUresult r = g.state > 0 && run ? cu.MemAllocManaged(&base, (size ? size : 1) + extra, CU_MEM_ATTACH_GLOBAL) : -1;
  if (r == 0 && live_reserve()) {
    p = (void *)(uintptr_t)((base + extra) & ~(CUdeviceptr)(extra ? align - 1 : 0));
    g.live[live_slot(p)] = (allocation){p, base, size, run->device};
    ++g.live_count;
  } else if (r == 0) {
    cu.MemFree(base);
  }
  unlock();
  if (!p && run) {
    char bytes[24];
    fail(run, r > 0 ? r : 0, "allocating managed memory of bytes: ", __sinter_format_i64(bytes, (int64_t)size));
  }
  return p;
}

/* Returns a block to the driver (its device's context current). */
static void release_block(void *p) {
  lock();
  int64_t i = g.live_cap ? live_slot(p) : 0;
  if (g.live_cap && g.live[i].ptr == p) {
    allocation a = g.live[i];
    live_remove(i);
    /* Freed in its device's context; a run on this thread keeps its own. */
    cu.CtxSetCurrent(g.dev[a.device].ctx);
    cu.MemFree(a.base);
    if (current)
      cu.CtxSetCurrent(g.dev[current->device].ctx);
  }
  unlock();
}

void __sinter_gpu_free(void *ptr) {
  if (!ptr)
    return;
  lock();
  int64_t i = g.live_cap ? live_slot(ptr) : 0;
  size_t size = g.live_cap && g.live[i].ptr == ptr ? g.live[i].size : 0;
  unlock();
  if (!size) {
    free(ptr); /* an output the ABI copied into host memory (take_output) */
    return;
  }
  void *evicted = __sinter_cache_put(&managed_cache, ptr, size);
  if (evicted)
    release_block(evicted);
}

/* The managed copy of a constant of `bytes` at `host`, made on first use;
 * the host address itself if no copy can be made (the run reports why). */
void *__sinter_gpu_constant(const void *host, int64_t bytes) {
  lock();
  int64_t mask = g.consts_cap - 1, i = g.consts_cap ? (int64_t)(hash_ptr(host) & (uint64_t)mask) : 0;
  while (g.consts_cap && g.consts[i].host && g.consts[i].host != host)
    i = (i + 1) & mask;
  void *copy = g.consts_cap && g.consts[i].host == host ? g.consts[i].copy : 0;
  unlock();
  if (copy)
    return copy;
  copy = __sinter_gpu_alloc((size_t)bytes, 64);
  if (!copy)
    return (void *)host;
  memcpy(copy, host, (size_t)bytes);
  lock();
  if (2 * (g.consts_count + 1) > g.consts_cap) {
    int64_t cap = g.consts_cap ? 2 * g.consts_cap : 256;
    constant_copy *table = malloc((size_t)cap * sizeof(constant_copy));
    if (table) {
      memset(table, 0, (size_t)cap * sizeof(constant_copy));
      for (int64_t j = 0; j < g.consts_cap; ++j) {
        if (!g.consts[j].host)
          continue;
        int64_t k = (int64_t)(hash_ptr(g.consts[j].host) & (uint64_t)(cap - 1));
        while (table[k].host)
          k = (k + 1) & (cap - 1);
        table[k] = g.consts[j];
      }
      free(g.consts);
      g.consts = table;
      g.consts_cap = cap;
    }
  }
  void *kept = 0;
  if (2 * (g.consts_count + 1) <= g.consts_cap) {
    mask = g.consts_cap - 1;
    i = (int64_t)(hash_ptr(host) & (uint64_t)mask);
    while (g.consts[i].host && g.consts[i].host != host)
      i = (i + 1) & mask;
    if (g.consts[i].host) {
      kept = g.consts[i].copy; /* another thread copied it first */
    } else {
      g.consts[i] = (constant_copy){host, copy};
      ++g.consts_count;
    }
  }
  unlock();
  if (kept) {
    __sinter_gpu_free(copy);
    return kept;
  }
  /* Without room in the table the copy serves this run and is then leaked
   * rather than freed under a kernel still reading it; the host is out of
   * memory anyway. */
  return copy;
}
