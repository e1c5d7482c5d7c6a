// Choosing neurons by score: shared by the passes that keep a fraction of
// an FFN's neurons (exact paths in linearize-ffn, survivors in
// sparsify-ffn).
#ifndef SINTER_COMPRESSION_SELECTION_H
#define SINTER_COMPRESSION_SELECTION_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace sinter {

/// The `count` indices with the largest scores, ties to the lower index,
/// in ascending index order. NaN scores rank last.
std::vector<int64_t> topIndices(llvm::ArrayRef<double> scores, int64_t count);

/// Neurons a layer of `hidden` keeps at `sparsity`: round((1 − p)·h), at
/// least one.
int64_t keptNeuronCount(int64_t hidden, double sparsity);

} // namespace sinter

#endif
