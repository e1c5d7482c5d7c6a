/* The workspace side of --train-lora (sinter_lora in sinter.h): laying out
 * the adapters and Adam's moments, LoRA's initialization, and calling the
 * compiled forward and training-step entries with tensors that point into
 * the workspace. The layout matches loraWorkspaceBytes in ModelABI.cpp: a
 * 64-byte header, then adapters (f32), first moments and second moments
 * (f32 or bf16), each matrix padded to 64 bytes. */
#include "sinter/runtime/sinter.h"
#include "sinter_internal.h"

typedef struct lora_header {
  uint64_t step;
  double beta1_t, beta2_t; /* β^t after `step` steps */
} lora_header;

enum { LORA_PARAMS = 0, LORA_MOMENT1 = 1, LORA_MOMENT2 = 2 };

static int lora_fail(sinter_error *error, int status, const char *message) {
  return __sinter_fail(error, status, "lora: ", message, "");
}

static uint64_t numel(const sinter_tensor_info *t) {
  uint64_t n = 1;
  for (int32_t d = 0; d < t->rank; ++d)
    n *= (uint64_t)t->dims[d];
  return n;
}

/* The element type of `kind`'s slots: the adapters are f32; the moments
 * are what the step entry takes for them (f32, or bf16 with
 * moments=bf16). */
static int32_t slot_dtype(const sinter_lora *l, int kind) {
  return kind == LORA_PARAMS ? SINTER_FLOAT32 : l->step->inputs[3 + kind * l->num_adapters].dtype;
}

static uint64_t slot_bytes(const sinter_lora *l, int kind, int32_t i) {
  uint64_t element = slot_dtype(l, kind) == SINTER_BFLOAT16 ? 2 : 4;
  return numel(&l->adapters[i]) * element;
}

/* Adapter i of `kind` in the workspace: after the 64-byte header, every
 * slot before it padded to 64 bytes. */
static void *lora_slot(const sinter_lora *l, const void *workspace, int kind, int32_t i) {
  uint64_t off = 64;
  for (int32_t k = 0; k < kind * l->num_adapters + i; ++k)
    off += (slot_bytes(l, k / l->num_adapters, k % l->num_adapters) + 63) / 64 * 64;
  return (char *)workspace + off;
}

static int lora_check(const sinter_lora *l, const void *workspace, sinter_error *error) {
  if (!l || !workspace)
    return lora_fail(error, SINTER_ERR_NULL, "descriptor or workspace is NULL");
  if ((uintptr_t)workspace % 8)
    return lora_fail(error, SINTER_ERR_NULL, "workspace is not 8-byte aligned");
  return SINTER_OK;
}

/* splitmix64: a small, well-mixed generator for the initialization. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* 1/sqrt(n) by Newton's method (the runtime has no libm). */
static double inv_sqrt(double n) {
  double y = 1.0;
  while (y * y * n > 1.0) /* Newton converges from below 1/sqrt(n) */
    y *= 0.5;
  for (int i = 0; i < 64; ++i)
    y = y * (1.5 - 0.5 * n * y * y);
  return y;
}

int __sinter_lora_init(const sinter_lora *l, void *workspace, uint64_t seed) {
  int status = lora_check(l, workspace, 0);
  if (status != SINTER_OK)
    return status;
  memset(workspace, 0, (size_t)l->workspace_bytes);
  lora_header *h = (lora_header *)workspace;
  h->beta1_t = h->beta2_t = 1.0;
  uint64_t state = seed;
  for (int32_t i = 0; i < l->num_adapters; i += 2) { /* A; B stays zero */
    const sinter_tensor_info *a = &l->adapters[i];
    float bound = (float)inv_sqrt((double)a->dims[0]);
    float *p = (float *)lora_slot(l, workspace, LORA_PARAMS, i);
    for (uint64_t j = 0; j < numel(a); ++j)
      p[j] = bound * (float)((double)(next_random(&state) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
  }
  return SINTER_OK;
}

static int copy_adapter(const sinter_lora *l, const void *workspace, int32_t i, uint64_t count,
                        sinter_error *error) {
  int status = lora_check(l, workspace, error);
  if (status != SINTER_OK)
    return status;
  if (i < 0 || i >= l->num_adapters)
    return lora_fail(error, SINTER_ERR_COUNT, "adapter index out of range");
  if (count != numel(&l->adapters[i]))
    return lora_fail(error, SINTER_ERR_SHAPE, "count differs from the adapter's size");
  return SINTER_OK;
}

int __sinter_lora_get_adapter(const sinter_lora *l, const void *workspace, int32_t i, float *out,
                              uint64_t count) {
  int status = copy_adapter(l, workspace, i, count, 0);
  if (status == SINTER_OK && !out)
    status = SINTER_ERR_NULL;
  if (status == SINTER_OK)
    memcpy(out, lora_slot(l, workspace, LORA_PARAMS, i), count * sizeof(float));
  return status;
}

int __sinter_lora_set_adapter(const sinter_lora *l, void *workspace, int32_t i, const float *in,
                              uint64_t count) {
  int status = copy_adapter(l, workspace, i, count, 0);
  if (status == SINTER_OK && !in)
    status = SINTER_ERR_NULL;
  if (status == SINTER_OK)
    memcpy(lora_slot(l, workspace, LORA_PARAMS, i), in, count * sizeof(float));
  return status;
}

/* A tensor over workspace memory with adapter i's shape. */
static sinter_tensor adapter_tensor(const sinter_lora *l, const void *workspace, int kind, int32_t i) {
  const sinter_tensor_info *info = &l->adapters[i];
  sinter_tensor t;
  memset(&t, 0, sizeof t);
  t.data = lora_slot(l, workspace, kind, i);
  t.dtype = slot_dtype(l, kind);
  t.rank = info->rank;
  for (int32_t d = 0; d < info->rank; ++d)
    t.shape[d] = info->dims[d];
  t.capacity = slot_bytes(l, kind, i);
  return t;
}

int __sinter_lora_run(const sinter_lora *l, const void *workspace, const sinter_tensor *inputs,
                      int32_t num_inputs, sinter_tensor *outputs, int32_t num_outputs, sinter_error *error) {
  int status = lora_check(l, workspace, error);
  if (status != SINTER_OK)
    return status;
  int32_t base = l->forward->num_inputs - l->num_adapters;
  if (num_inputs != base || (!inputs && base))
    return lora_fail(error, SINTER_ERR_COUNT, "wrong number of inputs for the adapted model");
  sinter_tensor *all = malloc(sizeof(sinter_tensor) * (size_t)l->forward->num_inputs);
  if (!all)
    return lora_fail(error, SINTER_ERR_ALLOC, "out of memory");
  for (int32_t i = 0; i < base; ++i)
    all[i] = inputs[i];
  for (int32_t i = 0; i < l->num_adapters; ++i)
    all[base + i] = adapter_tensor(l, workspace, LORA_PARAMS, i);
  status = l->forward->run(all, l->forward->num_inputs, outputs, num_outputs, error);
  free(all);
  return status;
}

/* Targets must index the vocabulary: the loss would silently skip others. */
static int check_targets(const sinter_lora *l, const sinter_tensor *ids, const sinter_tensor *targets,
                         sinter_error *error) {
  if (!ids || !targets || !ids->data || !targets->data)
    return lora_fail(error, SINTER_ERR_NULL, "input_ids or targets is NULL");
  if (targets->dtype != SINTER_INT64 || targets->rank != 2)
    return lora_fail(error, SINTER_ERR_DTYPE, "targets must be int64 [batch, seq]");
  if (ids->rank != 2 || targets->shape[0] != ids->shape[0] || targets->shape[1] != ids->shape[1])
    return lora_fail(error, SINTER_ERR_SHAPE, "targets' shape differs from input_ids'");
  const sinter_tensor_info *logits = &l->forward->outputs[0];
  int64_t vocab = logits->dims[logits->rank - 1];
  const int64_t *t = (const int64_t *)targets->data;
  for (int64_t i = 0; i < targets->shape[0] * targets->shape[1]; ++i)
    if (t[i] < 0 || t[i] >= vocab)
      return lora_fail(error, SINTER_ERR_CHECK, "a value of targets is outside [0, vocab)");
  return SINTER_OK;
}

int __sinter_lora_train_step(const sinter_lora *l, void *workspace, const sinter_tensor *input_ids,
                             const sinter_tensor *targets, float lr, float *loss, sinter_error *error) {
  int status = lora_check(l, workspace, error);
  if (status == SINTER_OK)
    status = check_targets(l, input_ids, targets, error);
  if (status != SINTER_OK)
    return status;
  int32_t n = l->num_adapters, count = 3 + 3 * n;
  sinter_tensor *in = malloc(sizeof(sinter_tensor) * (size_t)count * 2);
  if (!in)
    return lora_fail(error, SINTER_ERR_ALLOC, "out of memory");
  sinter_tensor *out = in + count;
  lora_header *h = (lora_header *)workspace;
  double beta1_t = h->beta1_t * l->beta1, beta2_t = h->beta2_t * l->beta2;
  /* Adam's bias corrections: step size lr / (1 − β1^t), second moment
   * scaled by 1 / (1 − β2^t) (sinter-add-lora-training). */
  float hyper[3] = {(float)(lr / (1.0 - beta1_t)), (float)(1.0 / (1.0 - beta2_t)), l->epsilon};
  memset(in, 0, sizeof(sinter_tensor) * (size_t)count * 2);
  in[0] = *input_ids;
  in[1] = *targets;
  in[2].data = hyper;
  in[2].dtype = SINTER_FLOAT32;
  in[2].rank = 1;
  in[2].shape[0] = 3;
  float loss_value = 0;
  out[0].data = &loss_value;
  out[0].capacity = sizeof loss_value;
  /* Results overwrite their own inputs: the runtime copies them out only
   * once the step has run. */
  for (int kind = 0; kind < 3; ++kind)
    for (int32_t i = 0; i < n; ++i) {
      in[3 + kind * n + i] = adapter_tensor(l, workspace, kind, i);
      out[1 + kind * n + i] = in[3 + kind * n + i];
    }
  status = l->step->run(in, count, out, 1 + 3 * n, error);
  free(in);
  if (status != SINTER_OK)
    return status;
  h->step += 1;
  h->beta1_t = beta1_t;
  h->beta2_t = beta2_t;
  if (loss)
    *loss = loss_value;
  return SINTER_OK;
}
