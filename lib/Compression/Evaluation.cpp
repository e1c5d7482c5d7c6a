#include "sinter/Compression/Evaluation.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sinter {

namespace {
constexpr int64_t kBatch = 16;

/// Adds −log2 p(target) over `windows` windows of `length` tokens from
/// `start` (window w reads text[start + w·context ...]).
bool scoreWindows(const sinter_model *model, llvm::StringRef text, int64_t start, int64_t windows, int64_t length,
                  int64_t context, BitsPerByte &acc, std::string &error) {
  std::vector<int64_t> ids(windows * length);
  for (int64_t w = 0; w < windows; ++w)
    for (int64_t t = 0; t < length; ++t)
      ids[w * length + t] = (unsigned char)text[start + w * context + t];
  sinter_tensor input{};
  input.data = ids.data();
  input.dtype = SINTER_INT64;
  input.rank = 2;
  input.shape[0] = windows;
  input.shape[1] = length;
  std::vector<sinter_tensor> outputs(model->num_outputs);
  sinter_error err;
  if (model->run(&input, 1, outputs.data(), model->num_outputs, &err) != SINTER_OK) {
    error = "evaluation: " + std::string(err.message);
    return false;
  }
  const sinter_tensor &logits = outputs[0];
  int64_t vocab = logits.rank == 3 ? logits.shape[2] : 0;
  bool ok = logits.dtype == SINTER_FLOAT32 && vocab >= 256 && logits.shape[0] == windows && logits.shape[1] == length;
  if (!ok)
    error = "evaluation: the model's first output must be float logits [batch, seq, >=256]";
  for (int64_t w = 0; ok && w < windows; ++w)
    for (int64_t t = 0; t < length; ++t) {
      const float *row = static_cast<const float *>(logits.data) + (w * length + t) * vocab;
      double m = *std::max_element(row, row + vocab), sum = 0;
      for (int64_t v = 0; v < vocab; ++v)
        sum += std::exp((double)row[v] - m);
      unsigned char target = text[start + w * context + t + 1];
      acc.bits += (std::log(sum) + m - row[target]) / std::log(2.0);
      acc.bytes += 1;
    }
  for (auto &o : outputs)
    model->free_output(o.data);
  return ok;
}
} // namespace

std::optional<BitsPerByte> bitsPerByte(const sinter_model *model, llvm::StringRef text, int64_t context,
                                       std::string &error) {
  if (model->num_inputs != 1 || model->inputs[0].dtype != SINTER_INT64 || model->inputs[0].rank != 2 ||
      model->num_outputs < 1) {
    error = "evaluation: the model must map int64 token ids [batch, seq] to logits";
    return std::nullopt;
  }
  if (text.size() < 2 || context < 1) {
    error = "evaluation: the text must hold at least two bytes";
    return std::nullopt;
  }
  BitsPerByte acc;
  int64_t predicted = text.size() - 1, full = predicted / context;
  for (int64_t first = 0; first < full; first += kBatch)
    if (!scoreWindows(model, text, first * context, std::min(kBatch, full - first), context, context, acc, error))
      return std::nullopt;
  if (int64_t rest = predicted - full * context; rest > 0)
    if (!scoreWindows(model, text, full * context, 1, rest, context, acc, error))
      return std::nullopt;
  acc.bits /= acc.bytes;
  return acc;
}

} // namespace sinter
