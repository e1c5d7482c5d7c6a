// The arithmetic of sinter-linearize-ffn and its calibration profiles.
#include "sinter/Compression/Linearization.h"
#include "sinter/Compression/Profile.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

namespace {
using namespace sinter;

TEST(Linearization, ReluOnAPositiveRangeIsTheIdentity) {
  std::vector<float> q = {0.5f, 1.0f, 2.0f, 3.0f, 4.0f};
  NeuronFit fit = fitNeuron(q.data(), q.size(), 1.0, FFNActivation::Relu);
  EXPECT_FLOAT_EQ(fit.lower, 0.5f);
  EXPECT_FLOAT_EQ(fit.upper, 4.0f);
  EXPECT_NEAR(fit.slope, 1.0f, 1e-6);
  EXPECT_NEAR(fit.intercept, 0.0f, 1e-6);
  EXPECT_EQ(fit.outsideError, 0.0);
}

TEST(Linearization, RangeIsTheNarrowestHoldingTheCoverage) {
  // Steps of 4, 1, 1, 4: half the mass (two steps) is narrowest in the middle.
  std::vector<float> q = {-5.0f, -1.0f, 0.0f, 1.0f, 5.0f};
  NeuronFit fit = fitNeuron(q.data(), q.size(), 0.5, FFNActivation::Gelu);
  EXPECT_FLOAT_EQ(fit.lower, -1.0f);
  EXPECT_FLOAT_EQ(fit.upper, 1.0f);
  // GELU on [-1, 1] is close to 0.5 z + 0.1: a positive slope and offset.
  EXPECT_GT(fit.slope, 0.4f);
  EXPECT_LT(fit.slope, 0.7f);
  EXPECT_GT(fit.intercept, 0.0f);
  EXPECT_GT(fit.outsideError, 0.0); // GELU bends away outside
}

TEST(Linearization, ConstantNeuronGetsAFlatLine) {
  std::vector<float> q(11, 2.0f);
  NeuronFit fit = fitNeuron(q.data(), q.size(), 0.9, FFNActivation::Relu);
  EXPECT_EQ(fit.slope, 0.0f);
  EXPECT_FLOAT_EQ(fit.intercept, 2.0f);
}

TEST(Linearization, PredictorRoundTripsWeightsOnItsLevels) {
  // Weights that are exactly s·(odd level) come back exactly, as bit planes.
  for (int bits : {1, 2, 3, 8}) {
    int top = (1 << bits) - 1;
    std::vector<float> w;
    for (int i = 0; i < 21; ++i)
      w.push_back(0.25f * predictorLevel(i % (top + 1), bits));
    std::vector<uint8_t> codes(predictorRowBytes(w.size(), bits));
    float scale = quantizePredictorRow(w.data(), w.size(), 1, bits, codes.data());
    int64_t planeBytes = (w.size() + 7) / 8;
    for (size_t i = 0; i < w.size(); ++i) {
      int code = 0;
      for (int p = 0; p < bits; ++p)
        code |= ((codes[p * planeBytes + i / 8] >> (i % 8)) & 1) << p;
      EXPECT_NEAR(scale * predictorLevel(code, bits), w[i], 1e-6) << "bits " << bits << " weight " << i;
    }
  }
}

TEST(Profile, RoundTripsAndRejectsBadFiles) {
  Profile p;
  p.source = "text.txt";
  p.tokens = 3;
  p.levels = 3;
  std::vector<float> samples = {3, 1, 2};
  LayerProfile layer;
  layer.name = "up0";
  layer.activation = "silu";
  layer.gated = true;
  layer.neurons = 1;
  layer.samples = 3;
  layer.mean = {2.0f};
  layer.quantiles.resize(3);
  layer.magnitude = {1.5f};
  layer.magnitudeQuantiles = {0.0f, 1.0f, 4.0f};
  layer.score = {-0.25f};
  p.scoreMethod = "attribution";
  computeQuantiles(samples, 3, layer.quantiles.data());
  EXPECT_EQ(layer.quantiles, (std::vector<float>{1, 2, 3}));
  layer.inputWidth = 2;
  layer.inputs = {0.5f, -1.0f, 2.0f, 4.0f};
  p.layers.push_back(layer);
  std::string path = ::testing::TempDir() + "/profile_" + std::to_string(getpid()) + ".json", error;
  ASSERT_TRUE(writeProfile(p, path, error)) << error;
  auto back = readProfile(path, error);
  ASSERT_TRUE(back) << error;
  ASSERT_NE(back->find("up0"), nullptr);
  EXPECT_EQ(back->find("up0")->quantiles, layer.quantiles);
  EXPECT_EQ(back->find("up0")->inputs, layer.inputs);
  EXPECT_EQ(back->find("up0")->inputRows(), 2);
  EXPECT_TRUE(back->find("up0")->gated);
  EXPECT_EQ(back->find("up0")->activation, "silu");
  EXPECT_EQ(back->find("up0")->magnitude, layer.magnitude);
  EXPECT_EQ(back->find("up0")->magnitudeQuantiles, layer.magnitudeQuantiles);
  EXPECT_EQ(back->find("up0")->score, layer.score);
  EXPECT_EQ(back->scoreMethod, "attribution");
  EXPECT_EQ(back->find("nope"), nullptr);

  auto rejects = [&](const std::string &text, const std::string &why) {
    std::ofstream(path) << text;
    EXPECT_FALSE(readProfile(path, error)) << text;
    EXPECT_NE(error.find(why), std::string::npos) << error;
  };
  rejects("not json", "not JSON");
  rejects(R"({"format":"other","version":1})", "not a Sinter profile");
  rejects(R"({"format":"sinter-profile","version":2})", "version 2");
  rejects(R"({"format":"sinter-profile","version":1,"source":"x","tokens":1,"levels":3,"layers":[{"name":"a","activation":"gelu","neurons":1,"samples":1,"mean":[0],"quantiles":[3,2,1]}]})",
          "not ascending");
  rejects(R"({"format":"sinter-profile","version":1,"source":"x"})", "malformed");
  rejects(R"({"format":"sinter-profile","version":1,"source":"x","tokens":1,"levels":3,"layers":[{"name":"a","activation":"gelu","neurons":1,"samples":1,"mean":[0],"quantiles":[1,2,3],"input_width":2,"inputs":[1,2,3]}]})",
          "not rows of input_width");
  rejects(R"({"format":"sinter-profile","version":1,"source":"x","tokens":1,"levels":3,"layers":[{"name":"a","activation":"gelu","neurons":1,"samples":1,"mean":[0],"quantiles":[1,2,3],"score":[1,2]}]})",
          "score of the wrong length");
  rejects(R"({"format":"sinter-profile","version":1,"source":"x","tokens":1,"levels":3,"layers":[{"name":"a","activation":"gelu","neurons":1,"samples":1,"mean":[0],"quantiles":[1,2,3],"magnitude_quantiles":[3,2,1]}]})",
          "magnitude_quantiles not ascending");
  // 1e39 overflows f32: it would be written back as null.
  rejects(R"({"format":"sinter-profile","version":1,"source":"x","tokens":1,"levels":3,"layers":[{"name":"a","activation":"gelu","neurons":1,"samples":1,"mean":[1e39],"quantiles":[1,2,3]}]})",
          "not a finite f32");
  rejects(R"({"format":"sinter-profile","version":1,"source":"x","tokens":1,"levels":3,"layers":[{"name":"a","activation":"gelu","neurons":1,"samples":1,"mean":0,"quantiles":[1,2,3]}]})",
          "expected an array");
  rejects(R"({"format":"sinter-profile","version":1,"source":"x","tokens":1,"levels":3,"layers":[{"name":"a","activation":"gelu","neurons":1,"samples":1,"mean":[0],"quantiles":[1,2,3],"predictor":{"rank":2,"input_width":1,"in":[1],"out":[1,2],"bias":[0]}}]})",
          "predictor whose arrays do not match");
  unlink(path.c_str());
}

} // namespace
