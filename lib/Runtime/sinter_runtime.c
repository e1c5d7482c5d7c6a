/* The run-time half of every emitted object: argument checking and the
 * bridge from the C ABI (sinter.h) to the compiled function's memref
 * descriptors. Compiled to LLVM bitcode at build time and linked into each
 * model by sinter-compile; everything here becomes internal to the object.
 * The compiler supplies, for each exported function, a `sinter_internal`
 * describing it and a `run` that passes it to __sinter_run_entry. */
#include "sinter/runtime/sinter.h"
#include "sinter_internal.h"

typedef struct sinter_internal {
  const sinter_model *model;
  int64_t results_size;          /* bytes of the compiled function's result struct */
  const int64_t *result_offsets; /* byte offset of each output's descriptor */
  void (*invoke)(void **args, void *results);
  int64_t status_offset; /* descriptor of the run-time check result, or -1 */
  int32_t num_checks;
  const char *const *check_names; /* each check's message, naming the node */
} sinter_internal;


/* A ranked memref descriptor as MLIR's LLVM lowering lays it out. */
typedef struct descriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes_and_strides[2 * SINTER_MAX_RANK];
} descriptor;

int __sinter_fail(sinter_error *error, int status, const char *a, const char *b, const char *c) {
  if (error) {
    /* No snprintf: keep the object's libc needs to the string basics. */
    size_t n = 0, cap = sizeof(error->message) - 1;
    const char *parts[3] = {a, b, c};
    for (int p = 0; p < 3; ++p)
      for (const char *s = parts[p]; s && *s && n < cap; ++s)
        error->message[n++] = *s;
    error->message[n] = 0;
  }
  return status;
}

const char *__sinter_format_i64(char *buf, int64_t v) {
  char tmp[24];
  int n = 0, neg = v < 0;
  uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  int j = 0;
  if (neg)
    buf[j++] = '-';
  while (n)
    buf[j++] = tmp[--n];
  buf[j] = 0;
  return buf;
}

static int check_input(const sinter_model *m, const sinter_tensor *inputs,
                       int32_t i, sinter_error *error) {
  const sinter_tensor_info *info = &m->inputs[i];
  const sinter_tensor *t = &inputs[i];
  char a[32], b[32], what[160];
  if (t->dtype != info->dtype)
    return __sinter_fail(error, SINTER_ERR_DTYPE, "input '", info->name, "': wrong dtype");
  if (t->rank != info->rank)
    return __sinter_fail(error, SINTER_ERR_RANK, "input '", info->name, "': wrong rank");
  int64_t numel = 1;
  for (int32_t d = 0; d < info->rank; ++d) {
    int64_t v = t->shape[d];
    if (v < 0 || (info->dims[d] >= 0 && v != info->dims[d])) {
      const char *parts[] = {"': dimension ", __sinter_format_i64(a, d), " is ", __sinter_format_i64(b, v)};
      size_t n = 0;
      for (int p = 0; p < 4; ++p)
        for (const char *s = parts[p]; *s && n < sizeof(what) - 1; ++s)
          what[n++] = *s;
      what[n] = 0;
      return __sinter_fail(error, SINTER_ERR_SHAPE, "input '", info->name, what);
    }
    numel *= v;
    /* One symbolic name must mean one size across all inputs. */
    const char *name = info->dim_names[d];
    if (info->dims[d] >= 0 || !name[0] || !strcmp(name, "?"))
      continue;
    for (int32_t j = 0; j <= i; ++j)
      for (int32_t e = 0; e < m->inputs[j].rank && !(j == i && e >= d); ++e)
        if (m->inputs[j].dims[e] < 0 && !strcmp(m->inputs[j].dim_names[e], name) &&
            inputs[j].shape[e] != v)
          return __sinter_fail(error, SINTER_ERR_SHAPE, "symbolic dimension '", name,
                      "' has different sizes in two places");
  }
  if (!t->data && numel > 0)
    return __sinter_fail(error, SINTER_ERR_NULL, "input '", info->name, "': data is NULL");
  return SINTER_OK;
}

/* Replaces each input's data in its descriptor by a managed copy. */
static int copy_inputs_to_device(const sinter_model *m, const sinter_tensor *inputs, descriptor *descs,
                                 sinter_error *error) {
  for (int32_t i = 0; i < m->num_inputs; ++i) {
    size_t bytes = sinter_dtype_size(inputs[i].dtype);
    for (int32_t d = 0; d < inputs[i].rank; ++d)
      bytes *= (size_t)inputs[i].shape[d];
    void *copy = bytes ? _mlir_memref_to_llvm_alloc(bytes) : 0;
    if (bytes && !copy) {
      for (int32_t j = 0; j < i; ++j)
        _mlir_memref_to_llvm_free(descs[j].allocated);
      return __sinter_fail(error, SINTER_ERR_ALLOC, "input '", m->inputs[i].name, "': out of device memory");
    }
    if (bytes)
      memcpy(copy, inputs[i].data, bytes);
    descs[i].allocated = descs[i].aligned = copy ? copy : inputs[i].data;
  }
  return SINTER_OK;
}

static void fill_descriptor(descriptor *desc, const sinter_tensor *t) {
  desc->allocated = desc->aligned = t->data;
  desc->offset = 0;
  int64_t stride = 1;
  for (int32_t d = t->rank - 1; d >= 0; --d) {
    desc->sizes_and_strides[d] = t->shape[d];
    desc->sizes_and_strides[t->rank + d] = stride;
    stride *= t->shape[d];
  }
}

/* Copies a strided result into dense row-major storage. */
static void copy_strided(char *dst, const char *src, int32_t rank, const int64_t *sizes,
                         const int64_t *strides, size_t elem) {
  if (rank == 0) {
    memcpy(dst, src, elem);
    return;
  }
  int64_t inner = 1;
  for (int32_t d = 1; d < rank; ++d)
    inner *= sizes[d];
  for (int64_t i = 0; i < sizes[0]; ++i)
    copy_strided(dst + i * inner * elem, src + i * strides[0] * elem, rank - 1, sizes + 1,
                 strides + 1, elem);
}

static const descriptor *result_descriptor(const sinter_internal *e, const char *results, int32_t i) {
  return (const descriptor *)(results + e->result_offsets[i]);
}

/* Whether output i's buffer is also returned as another output (the compiled
 * function may return one buffer twice): such a buffer is copied out, and
 * freed only at its last use. */
static int buffer_shared(const sinter_internal *e, const char *results, int32_t i, int32_t n, int later_only) {
  void *p = result_descriptor(e, results, i)->allocated;
  for (int32_t j = later_only ? i + 1 : 0; j < n; ++j)
    if (j != i && result_descriptor(e, results, j)->allocated == p)
      return 1;
  return 0;
}

static int take_output(const sinter_internal *e, const char *results, int32_t i,
                       sinter_tensor *out, sinter_error *error) {
  const sinter_model *m = e->model;
  const sinter_tensor_info *info = &m->outputs[i];
  const descriptor *desc = result_descriptor(e, results, i);
  int32_t n = m->num_outputs;
  const int64_t *sizes = desc->sizes_and_strides, *strides = desc->sizes_and_strides + info->rank;
  size_t elem = sinter_dtype_size(info->dtype);
  int64_t numel = 1, expect = 1;
  int dense = 1;
  out->dtype = info->dtype;
  out->rank = info->rank;
  for (int32_t d = info->rank - 1; d >= 0; --d) {
    out->shape[d] = sizes[d];
    dense &= sizes[d] == 1 || strides[d] == expect;
    expect *= sizes[d];
    numel *= sizes[d];
  }
  size_t bytes = (size_t)numel * elem;
  const char *src = (const char *)desc->aligned + desc->offset * (int64_t)elem;
  if (!out->data && dense && desc->offset == 0 && desc->aligned == desc->allocated &&
      !buffer_shared(e, results, i, n, 0)) {
    out->data = desc->allocated; /* hand the buffer over: no copy */
    out->capacity = bytes;
    return SINTER_OK;
  }
  int status = SINTER_OK;
  if (!out->data) {
    out->data = malloc(bytes ? bytes : 1); /* free_output takes these too */
    out->capacity = bytes;
    if (!out->data)
      status = __sinter_fail(error, SINTER_ERR_ALLOC, "output '", info->name, "': out of memory");
  } else if (out->capacity < bytes) {
    status = __sinter_fail(error, SINTER_ERR_CAPACITY, "output '", info->name, "': buffer too small");
  }
  if (status == SINTER_OK)
    copy_strided((char *)out->data, src, info->rank, sizes, strides, elem);
  if (!buffer_shared(e, results, i, n, 1))
    _mlir_memref_to_llvm_free(desc->allocated);
  return status;
}

/* The compiled function's run-time check result (0: all passed); frees it. */
static int32_t read_status(const sinter_internal *e, const char *results) {
  if (e->status_offset < 0)
    return 0;
  const descriptor *d = (const descriptor *)(results + e->status_offset);
  int32_t v = ((const int32_t *)d->aligned)[d->offset];
  _mlir_memref_to_llvm_free(d->allocated);
  return v;
}

/* Frees every output buffer once (outputs may share one). */
static void discard_outputs(const sinter_internal *e, const char *results, int32_t n) {
  for (int32_t i = 0; i < n; ++i)
    if (!buffer_shared(e, results, i, n, 1))
      _mlir_memref_to_llvm_free(result_descriptor(e, results, i)->allocated);
}

/* Calls the compiled function: directly, or in a GPU object within a run
 * on the device, with the inputs copied to managed memory where its kernels
 * can read them. On failure the results are freed (or were never made). */
static int invoke(const sinter_internal *e, const sinter_tensor *inputs, descriptor *descs, void **args,
                  char *results, sinter_error *error) {
  if (!__sinter_gpu_sm) {
    e->invoke(args, results);
    return SINTER_OK;
  }
  sinter_gpu_run gpu;
  int status = __sinter_gpu_begin(&gpu, error);
  if (status != SINTER_OK)
    return status;
  status = copy_inputs_to_device(e->model, inputs, descs, error);
  if (status == SINTER_OK) {
    e->invoke(args, results);
    for (int32_t i = 0; i < e->model->num_inputs; ++i)
      if (descs[i].allocated != inputs[i].data)
        _mlir_memref_to_llvm_free(descs[i].allocated);
  }
  int s = __sinter_gpu_end(&gpu, error);
  if (status == SINTER_OK && s != SINTER_OK) {
    /* The outputs are not what the kernels should have written. */
    discard_outputs(e, results, e->model->num_outputs);
    read_status(e, results);
    status = s;
  }
  return status;
}

int __sinter_run_entry(const sinter_internal *e, const sinter_tensor *inputs, int32_t num_inputs,
                       sinter_tensor *outputs, int32_t num_outputs, sinter_error *error) {
  const sinter_model *m = e->model;
  if (error)
    error->message[0] = 0;
  if ((!inputs && m->num_inputs) || (!outputs && m->num_outputs))
    return __sinter_fail(error, SINTER_ERR_NULL, "inputs or outputs array is NULL", "", "");
  if (num_inputs != m->num_inputs || num_outputs != m->num_outputs)
    return __sinter_fail(error, SINTER_ERR_COUNT, "wrong number of inputs or outputs for model '",
                m->name, "'");
  for (int32_t i = 0; i < num_inputs; ++i) {
    int status = check_input(m, inputs, i, error);
    if (status != SINTER_OK)
      return status;
  }

  descriptor stack_descs[16];
  void *stack_args[16];
  char stack_results[1024];
  descriptor *descs = num_inputs <= 16 ? stack_descs : malloc(sizeof(descriptor) * num_inputs);
  void **args = num_inputs <= 16 ? stack_args : malloc(sizeof(void *) * num_inputs);
  char *results = e->results_size <= (int64_t)sizeof(stack_results)
                      ? stack_results
                      : malloc((size_t)e->results_size);
  int status = SINTER_OK;
  if (!descs || !args || !results) {
    status = __sinter_fail(error, SINTER_ERR_ALLOC, "out of memory", "", "");
  } else {
    for (int32_t i = 0; i < num_inputs; ++i) {
      fill_descriptor(&descs[i], &inputs[i]);
      args[i] = &descs[i];
    }
    status = invoke(e, inputs, descs, args, results, error);
  }
  if (status == SINTER_OK) {
    int32_t failed_check = read_status(e, results);
    if (failed_check > 0) {
      discard_outputs(e, results, num_outputs);
      const char *node = failed_check <= e->num_checks
                             ? e->check_names[failed_check - 1]
                             : "?";
      status = __sinter_fail(error, SINTER_ERR_CHECK, "run-time check failed: ", node,
                    " (inputs beyond what the model supports?)");
      num_outputs = 0;
    }
    for (int32_t i = 0; i < num_outputs; ++i) {
      int s = take_output(e, results, i, &outputs[i], error);
      if (s != SINTER_OK && status == SINTER_OK)
        status = s;
    }
  }
  if (descs && descs != stack_descs)
    free(descs);
  if (args && args != stack_args)
    free(args);
  if (results && results != stack_results)
    free(results);
  return status;
}

/* Outputs go back to the buffer cache: a caller that runs the model in a
 * loop gets the same blocks again instead of fresh, page-faulting ones. */
void __sinter_free_output(void *data) { _mlir_memref_to_llvm_free(data); }

/* MLIR's memref-to-LLVM lowering calls `memrefCopy` for copies between
 * non-contiguous memrefs; it normally lives in libmlir_c_runner_utils, which
 * an emitted object must not depend on, so the runtime provides it. */
typedef struct unranked_memref {
  int64_t rank;
  void *descriptor;
} unranked_memref;

static void copy_dims(char *dst, const int64_t *dst_strides, const char *src,
                      const int64_t *src_strides, const int64_t *sizes, int64_t rank,
                      int64_t elem) {
  if (rank == 0) {
    memcpy(dst, src, (size_t)elem);
    return;
  }
  if (rank == 1 && dst_strides[0] == 1 && src_strides[0] == 1) {
    memcpy(dst, src, (size_t)(sizes[0] * elem)); /* a contiguous row at once */
    return;
  }
  for (int64_t i = 0; i < sizes[0]; ++i)
    copy_dims(dst + i * dst_strides[0] * elem, dst_strides + 1, src + i * src_strides[0] * elem,
              src_strides + 1, sizes + 1, rank - 1, elem);
}

void memrefCopy(int64_t elem_size, unranked_memref *src, unranked_memref *dst) {
  const descriptor *s = (const descriptor *)src->descriptor;
  const descriptor *d = (const descriptor *)dst->descriptor;
  int64_t rank = src->rank;
  const int64_t *sizes = s->sizes_and_strides;
  copy_dims((char *)d->aligned + d->offset * elem_size, d->sizes_and_strides + rank,
            (const char *)s->aligned + s->offset * elem_size, s->sizes_and_strides + rank, sizes,
            rank, elem_size);
}
