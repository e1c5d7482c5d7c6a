/* A stand-in for the CUDA driver (libcuda.so.1) for testing the host side
 * of GPU objects on machines without a GPU. It implements the driver
 * functions those objects call and checks how they are called; it runs no
 * kernel, so the outputs it leaves are meaningless. Managed memory is
 * malloc'd. The environment shapes it, read at each call:
 * FAKE_CUDA_DEVICES (default 1), FAKE_CUDA_SM (default 90) and
 * FAKE_CUDA_FAIL_LAUNCH (the 0-based launch that fails with
 * CUDA_ERROR_LAUNCH_FAILED). fake_cuda_* report what happened. Built as
 * libcuda.so.1 only for the unit tests (GPUObjectTest.cpp). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
enum {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_INVALID_IMAGE = 200,
  CUDA_ERROR_INVALID_CONTEXT = 201,
  CUDA_ERROR_INVALID_HANDLE = 400,
  CUDA_ERROR_NOT_FOUND = 500,
  CUDA_ERROR_LAUNCH_FAILED = 719,
};

#define MAX_KERNELS 1024
#define MAX_ALLOCS 65536

static struct {
  int initialized;
  int context_current;
  const char *image; /* the loaded module's image (the object's constant) */
  char kernel_names[MAX_KERNELS][128];
  int kernels;
  long launches, syncs, allocs, frees, modules_loaded;
  void *live[MAX_ALLOCS];
  int live_count;
  char problem[512]; /* the first misuse seen */
} fake;

static int env_int(const char *name, int fallback) {
  const char *s = getenv(name);
  return s && *s ? atoi(s) : fallback;
}

static void misuse(const char *what, const char *detail) {
  if (!fake.problem[0])
    snprintf(fake.problem, sizeof(fake.problem), "%s%s", what, detail ? detail : "");
}

CUresult cuInit(unsigned flags) {
  if (flags != 0)
    return CUDA_ERROR_INVALID_VALUE;
  fake.initialized = 1;
  return env_int("FAKE_CUDA_DEVICES", 1) > 0 ? CUDA_SUCCESS : CUDA_ERROR_NO_DEVICE;
}

CUresult cuDeviceGetCount(int *count) {
  if (!fake.initialized)
    return CUDA_ERROR_NOT_INITIALIZED;
  *count = env_int("FAKE_CUDA_DEVICES", 1);
  return CUDA_SUCCESS;
}

CUresult cuDeviceGet(int *device, int ordinal) {
  if (ordinal < 0 || ordinal >= env_int("FAKE_CUDA_DEVICES", 1))
    return CUDA_ERROR_INVALID_DEVICE;
  *device = ordinal;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *value, int attribute, int device) {
  (void)device;
  int sm = env_int("FAKE_CUDA_SM", 90);
  if (attribute == 75)
    *value = sm / 10;
  else if (attribute == 76)
    *value = sm % 10;
  else
    return CUDA_ERROR_INVALID_VALUE;
  return CUDA_SUCCESS;
}

static int contexts[16];

CUresult cuDevicePrimaryCtxRetain(void **ctx, int device) {
  if (device < 0 || device >= 16)
    return CUDA_ERROR_INVALID_DEVICE;
  *ctx = &contexts[device];
  return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(void *ctx) {
  if (!ctx)
    misuse("cuCtxSetCurrent(NULL)", 0);
  fake.context_current = ctx != 0;
  return CUDA_SUCCESS;
}

CUresult cuMemAllocManaged(unsigned long long *ptr, size_t bytes, unsigned flags) {
  if (!fake.context_current)
    return CUDA_ERROR_INVALID_CONTEXT;
  if (flags != 1 || bytes == 0)
    return CUDA_ERROR_INVALID_VALUE;
  if (fake.live_count == MAX_ALLOCS)
    return CUDA_ERROR_OUT_OF_MEMORY;
  void *p = aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!p)
    return CUDA_ERROR_OUT_OF_MEMORY;
  fake.live[fake.live_count++] = p;
  ++fake.allocs;
  *ptr = (unsigned long long)(uintptr_t)p;
  return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(unsigned long long ptr) {
  void *p = (void *)(uintptr_t)ptr;
  for (int i = 0; i < fake.live_count; ++i)
    if (fake.live[i] == p) {
      fake.live[i] = fake.live[--fake.live_count];
      free(p);
      ++fake.frees;
      return CUDA_SUCCESS;
    }
  misuse("cuMemFree of a pointer not from cuMemAllocManaged", 0);
  return CUDA_ERROR_INVALID_VALUE;
}

/* Records the kernels a PTX image defines (".entry NAME("); a fatbin's
 * are taken on trust. */
CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned n, int *options, void **values) {
  if (!fake.context_current)
    return CUDA_ERROR_INVALID_CONTEXT;
  if (n != 2 || options[0] != 5 || options[1] != 6 || !values[0])
    misuse("cuModuleLoadDataEx without an error log buffer", 0);
  const char *text = image;
  fake.image = text;
  fake.kernels = 0;
  uint32_t magic;
  memcpy(&magic, image, sizeof(magic));
  if (magic != 0xBA55ED50u) {
    if (!strstr(text, ".version") || !strstr(text, ".target sm_"))
      return CUDA_ERROR_INVALID_IMAGE;
    for (const char *p = strstr(text, ".entry "); p && fake.kernels < MAX_KERNELS; p = strstr(p + 1, ".entry ")) {
      const char *name = p + 7, *end = strchr(name, '(');
      if (!end || end - name >= 128)
        return CUDA_ERROR_INVALID_IMAGE;
      memcpy(fake.kernel_names[fake.kernels], name, (size_t)(end - name));
      fake.kernel_names[fake.kernels++][end - name] = 0;
    }
  }
  ++fake.modules_loaded;
  *module = &fake;
  return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(void **fn, void *module, const char *name) {
  if (module != &fake)
    return CUDA_ERROR_INVALID_HANDLE;
  uint32_t magic;
  memcpy(&magic, fake.image, sizeof(magic));
  if (magic == 0xBA55ED50u) {
    *fn = (void *)strdup(name); /* leaked: a handful per test */
    return CUDA_SUCCESS;
  }
  for (int i = 0; i < fake.kernels; ++i)
    if (!strcmp(fake.kernel_names[i], name)) {
      *fn = fake.kernel_names[i];
      return CUDA_SUCCESS;
    }
  return CUDA_ERROR_NOT_FOUND;
}

CUresult cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared_bytes, void *stream, void **params, void **extra) {
  (void)fn;
  if (!stream)
    misuse("cuLaunchKernel on the default stream", 0);
  if (!gx || !gy || !gz || !bx || !by || !bz || (unsigned long)bx * by * bz > 1024 || shared_bytes > 48 * 1024)
    return CUDA_ERROR_INVALID_VALUE;
  if (!params || extra)
    misuse("cuLaunchKernel without kernelParams", 0);
  else if (!params[0])
    misuse("cuLaunchKernel with a NULL first parameter", 0);
  long index = fake.launches++;
  return index == env_int("FAKE_CUDA_FAIL_LAUNCH", -1) ? CUDA_ERROR_LAUNCH_FAILED : CUDA_SUCCESS;
}

static int streams;

CUresult cuStreamCreate(void **stream, unsigned flags) {
  if (flags != 1)
    misuse("cuStreamCreate not non-blocking", 0);
  ++streams;
  *stream = &streams;
  return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(void *stream) {
  ++fake.syncs;
  return stream == &streams ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult cuStreamDestroy_v2(void *stream) {
  if (stream != &streams || streams <= 0)
    return CUDA_ERROR_INVALID_HANDLE;
  --streams;
  return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult result, const char **name) {
  switch (result) {
  case CUDA_ERROR_NO_DEVICE: *name = "CUDA_ERROR_NO_DEVICE"; break;
  case CUDA_ERROR_LAUNCH_FAILED: *name = "CUDA_ERROR_LAUNCH_FAILED"; break;
  case CUDA_ERROR_NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; break;
  case CUDA_ERROR_INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; break;
  case CUDA_ERROR_INVALID_IMAGE: *name = "CUDA_ERROR_INVALID_IMAGE"; break;
  default: return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

/* What the tests read back. */
long fake_cuda_launches(void) { return fake.launches; }
long fake_cuda_allocs(void) { return fake.allocs; }
long fake_cuda_modules_loaded(void) { return fake.modules_loaded; }
int fake_cuda_live_allocations(void) { return fake.live_count; }
int fake_cuda_open_streams(void) { return streams; }
int fake_cuda_kernels(void) { return fake.kernels; }
const char *fake_cuda_problem(void) { return fake.problem; }
