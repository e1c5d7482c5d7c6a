/* Sinter runtime ABI: what every object emitted by sinter-compile exports.
 *
 * An emitted object defines one function, `const sinter_model *NAME(void)`
 * (NAME is sinter-compile's --name, default "sinter_model"), describing the
 * model and giving its entry point. Concurrent `run` calls from several
 * threads are safe. The object's only mutable global state is its thread
 * pool: workers start on the first run that can use them, one fewer than the
 * cores the process may run on (or SINTER_NUM_THREADS - 1), and one run at a
 * time uses them (a concurrent run computes on its own thread).
 *
 * An object compiled for an NVIDIA GPU (--target=nvptx64-nvidia-cuda) has
 * the same ABI: it loads the CUDA driver (libcuda.so.1) at its first run and
 * keeps its buffers in CUDA managed memory; inputs are ordinary host memory,
 * outputs are readable by the host.
 *
 * Outputs: set `data` to a buffer of `capacity` bytes, or to NULL to have
 * `run` allocate it; free such buffers with the model's `free_output`.
 * `run` writes each output's rank and shape. */
#ifndef SINTER_RUNTIME_SINTER_H
#define SINTER_RUNTIME_SINTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SINTER_ABI_VERSION 3
#define SINTER_MAX_RANK 8

/* Element types use ONNX TensorProto.DataType codes. */
typedef enum sinter_dtype {
  SINTER_FLOAT32 = 1,
  SINTER_INT8 = 3,
  SINTER_INT16 = 5,
  SINTER_INT32 = 6,
  SINTER_INT64 = 7,
  SINTER_BOOL = 9, /* one byte per element, 0 or 1 */
  SINTER_FLOAT16 = 10,
  SINTER_FLOAT64 = 11,
  SINTER_BFLOAT16 = 16
} sinter_dtype;

typedef enum sinter_status {
  SINTER_OK = 0,
  SINTER_ERR_NULL = 1,     /* a required pointer is NULL */
  SINTER_ERR_COUNT = 2,    /* wrong number of inputs or outputs */
  SINTER_ERR_DTYPE = 3,    /* an input's dtype differs from the model's */
  SINTER_ERR_RANK = 4,     /* an input's rank differs from the model's */
  SINTER_ERR_SHAPE = 5,    /* a dimension differs, is negative, or two uses
                              of one symbolic dimension disagree */
  SINTER_ERR_CAPACITY = 6, /* a caller-provided output buffer is too small */
  SINTER_ERR_ALLOC = 7,    /* out of memory */
  SINTER_ERR_CHECK = 8,    /* a run-time check failed: an index computed
                              from the inputs is out of range, or symbolic
                              dimensions disagree (e.g. a sequence longer
                              than the model's context); the message names
                              the node */
  SINTER_ERR_DEVICE = 9    /* GPU objects: no CUDA driver or device, a device
                              too old for the object's kernels, or a CUDA
                              error during the run; the message says which */
} sinter_status;

/* Where an object's model runs (sinter_model.device_kind). */
typedef enum sinter_device_kind {
  SINTER_DEVICE_CPU = 0,
  SINTER_DEVICE_CUDA = 1 /* --target=nvptx64-nvidia-cuda */
} sinter_device_kind;

/* Static description of one input or output. */
typedef struct sinter_tensor_info {
  const char *name;
  int32_t dtype;               /* sinter_dtype */
  int32_t rank;
  const int64_t *dims;         /* -1 where the dimension is symbolic */
  const char *const *dim_names; /* symbolic name, or "" where static */
} sinter_tensor_info;

/* A tensor passed to or returned from `run`: dense, row-major. */
typedef struct sinter_tensor {
  void *data;
  int32_t dtype;
  int32_t rank;
  int64_t shape[SINTER_MAX_RANK];
  size_t capacity; /* outputs: bytes available at data (ignored if NULL) */
} sinter_tensor;

typedef struct sinter_error {
  char message[256];
} sinter_error;

typedef struct sinter_model {
  uint32_t abi_version; /* SINTER_ABI_VERSION */
  const char *name;
  int32_t num_inputs;
  int32_t num_outputs;
  const sinter_tensor_info *inputs;
  const sinter_tensor_info *outputs;
  /* Returns a sinter_status; on error, fills `error` (if not NULL). */
  int (*run)(const sinter_tensor *inputs, int32_t num_inputs,
             sinter_tensor *outputs, int32_t num_outputs, sinter_error *error);
  void (*free_output)(void *data);
  /* ABI 2: caps the threads later runs of this object use (1: the calling
   * thread only; 0: the default, all cores or SINTER_NUM_THREADS). Returns
   * the number now in effect. GPU objects: always 1, no pool. */
  int32_t (*set_num_threads)(int32_t n);
  /* ABI 3: SINTER_DEVICE_CPU or SINTER_DEVICE_CUDA. */
  int32_t device_kind;
  /* ABI 3: the device later runs use. CUDA objects: the GPU of that CUDA
   * ordinal (by default SINTER_CUDA_DEVICE, else 0); loads the driver and
   * checks the device now, returning SINTER_ERR_DEVICE with a message if it
   * cannot be used. CPU objects: only 0. Returns a sinter_status. */
  int (*set_device)(int32_t ordinal, sinter_error *error);
} sinter_model;

/* Objects compiled with --train-lora also export
 * `const sinter_lora *NAME_lora(void)`: low-rank adapters (LoRA) on the
 * model's linears, trained in the object by Adam on next-token
 * cross-entropy, base weights frozen. Everything that changes lives in a
 * caller-provided workspace of `workspace_bytes` (aligned to 64 bytes): the
 * adapters, Adam's moments and the step count. One workspace is one training
 * run; several may train at once. Every function takes the descriptor
 * itself first. They return a sinter_status. */
#define SINTER_LORA_ABI_VERSION 1

typedef struct sinter_lora {
  uint32_t abi_version; /* SINTER_LORA_ABI_VERSION */
  int32_t rank;
  float alpha;          /* the adapters' update is scaled by alpha / rank */
  int32_t num_adapters; /* matrices: A [d_in, rank] then B [rank, d_out] per linear */
  const sinter_tensor_info *adapters; /* names ("<linear>.lora_A"), f32, static shapes */
  uint64_t workspace_bytes;
  float beta1, beta2, epsilon; /* Adam's constants */
  /* The compiled entries behind the functions below (their inputs are the
   * adapters and moments themselves; the functions fill them in). */
  const sinter_model *forward;
  const sinter_model *step;
  /* LoRA's start: every A uniform in ±1/sqrt(d_in) from `seed`, every B
   * zero (the adapted model equals the base model), moments and step zero. */
  int (*init)(const struct sinter_lora *self, void *workspace, uint64_t seed);
  /* One Adam step on the mean cross-entropy of the logits for `input_ids`
   * against `targets` (both int64 [batch, seq], targets in [0, vocab));
   * writes the loss before the step to *loss. `lr` is Adam's step size. */
  int (*train_step)(const struct sinter_lora *self, void *workspace, const sinter_tensor *input_ids,
                    const sinter_tensor *targets, float lr, float *loss, sinter_error *error);
  /* The adapted model: `run` of the model with the workspace's adapters. */
  int (*run)(const struct sinter_lora *self, const void *workspace, const sinter_tensor *inputs,
             int32_t num_inputs, sinter_tensor *outputs, int32_t num_outputs, sinter_error *error);
  /* Copy adapter i (count floats, its whole shape) out of or into the
   * workspace. */
  int (*get_adapter)(const struct sinter_lora *self, const void *workspace, int32_t i, float *out,
                     uint64_t count);
  int (*set_adapter)(const struct sinter_lora *self, void *workspace, int32_t i, const float *in,
                     uint64_t count);
} sinter_lora;

/* Bytes per element of a dtype, 0 if unknown. */
static inline size_t sinter_dtype_size(int32_t dtype) {
  switch (dtype) {
  case SINTER_INT8: case SINTER_BOOL: return 1;
  case SINTER_INT16: case SINTER_FLOAT16: case SINTER_BFLOAT16: return 2;
  case SINTER_FLOAT32: case SINTER_INT32: return 4;
  case SINTER_INT64: case SINTER_FLOAT64: return 8;
  default: return 0;
  }
}

#ifdef __cplusplus
}
#endif

#endif /* SINTER_RUNTIME_SINTER_H */
