#include "sinter/Compression/Selection.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace sinter;

namespace {

TEST(Selection, KeepsTheHighestScoresInIndexOrder) {
  EXPECT_EQ(topIndices({0.1, 5.0, -2.0, 3.0, 4.0}, 3), (std::vector<int64_t>{1, 3, 4}));
  // Ties go to the lower index; NaN ranks below everything.
  EXPECT_EQ(topIndices({1.0, NAN, 1.0, 1.0}, 2), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(topIndices({NAN, -INFINITY, 0.0}, 1), (std::vector<int64_t>{2}));
  // Counts outside [0, n] are clamped.
  EXPECT_EQ(topIndices({1.0, 2.0}, 5), (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(topIndices({1.0, 2.0}, -1).empty());
}

TEST(Selection, KeptNeuronCountRoundsAndKeepsOne) {
  EXPECT_EQ(keptNeuronCount(768, 0.8), 154); // 153.6
  EXPECT_EQ(keptNeuronCount(512, 0.5), 256);
  EXPECT_EQ(keptNeuronCount(10, 0.0), 10);
  EXPECT_EQ(keptNeuronCount(10, 0.99), 1);
}

} // namespace
