#include "sinter/Compression/Selection.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sinter {

std::vector<int64_t> topIndices(llvm::ArrayRef<double> scores, int64_t count) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  auto key = [&](int64_t i) { return std::isnan(scores[i]) ? -INFINITY : scores[i]; };
  count = std::clamp<int64_t>(count, 0, order.size());
  std::partial_sort(order.begin(), order.begin() + count, order.end(), [&](int64_t a, int64_t b) {
    return key(a) != key(b) ? key(a) > key(b) : a < b;
  });
  order.resize(count);
  std::sort(order.begin(), order.end());
  return order;
}

int64_t keptNeuronCount(int64_t hidden, double sparsity) {
  return std::clamp<int64_t>(std::llround((1.0 - sparsity) * hidden), 1, std::max<int64_t>(hidden, 1));
}

} // namespace sinter
