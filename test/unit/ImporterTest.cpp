// The importer on malformed, truncated and unsupported input: every case
// must fail with a diagnostic, never crash or succeed silently.
#include "TestModels.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "sinter/Frontend/ONNXImporter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

using namespace sinter;

namespace {

struct ImportResult {
  bool ok;
  std::string errors;
};

ImportResult import(const std::string &bytes, const std::string &dir = ".") {
  mlir::MLIRContext ctx;
  std::string errors;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    errors += d.str() + "\n";
    return mlir::success();
  });
  auto module = importONNX(ctx, bytes, dir, "test.onnx");
  return {static_cast<bool>(module), errors};
}

TEST(Importer, ValidModelImports) {
  auto r = import(test::serialize(test::linearModel()));
  EXPECT_TRUE(r.ok) << r.errors;
}

TEST(Importer, GarbageBytesAreRejected) {
  auto r = import("this is not a protobuf \xff\xff\xff\xff");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.errors.find("not a valid ONNX model"), std::string::npos) << r.errors;
}

TEST(Importer, EmptyInputHasNoGraph) {
  auto r = import("");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.errors.find("no graph"), std::string::npos) << r.errors;
}

TEST(Importer, EveryTruncationFailsCleanly) {
  std::string bytes = test::serialize(test::linearModel());
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto r = import(bytes.substr(0, len));
    // Some prefixes are valid protobufs of a smaller model; those must
    // still import or fail with a message, never crash.
    if (!r.ok)
      EXPECT_FALSE(r.errors.empty()) << "silent failure at length " << len;
  }
}

TEST(Importer, RandomMutationsFailCleanly) {
  std::string bytes = test::serialize(test::linearModel());
  std::mt19937 rng(42);
  for (int i = 0; i < 300; ++i) {
    std::string m = bytes;
    for (int k = 0; k < 3; ++k)
      m[rng() % m.size()] = static_cast<char>(rng());
    auto r = import(m);
    if (!r.ok)
      EXPECT_FALSE(r.errors.empty());
  }
}

TEST(Importer, UnsupportedOpNamesNodeAndOpset) {
  auto m = test::linearModel();
  m.mutable_graph()->mutable_node(0)->set_op_type("Conv");
  auto r = import(test::serialize(m));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.errors.find("unsupported op type 'Conv' (opset 17)"), std::string::npos) << r.errors;
}

TEST(Importer, UndefinedInputIsNamed) {
  auto m = test::linearModel();
  m.mutable_graph()->mutable_node(1)->set_input(0, "nowhere");
  auto r = import(test::serialize(m));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.errors.find("'nowhere'"), std::string::npos) << r.errors;
}

TEST(Importer, InitializerWithWrongByteCount) {
  auto m = test::linearModel();
  m.mutable_graph()->mutable_initializer(0)->add_float_data(1.0f);
  auto r = import(test::serialize(m));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.errors.find("tensor 'W'"), std::string::npos) << r.errors;
}

TEST(Importer, UnsupportedElementType) {
  auto m = test::linearModel();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::STRING);
  auto r = import(test::serialize(m));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.errors.find("unsupported element type"), std::string::npos) << r.errors;
}

TEST(Importer, ShapeErrorNamesNode) {
  auto m = test::linearModel();
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, 4);
  for (int i = 0; i < 4; ++i)
    m.mutable_graph()->mutable_initializer(0)->add_float_data(0);
  auto r = import(test::serialize(m));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.errors.find("contraction dimensions differ: 3 vs 4"), std::string::npos) << r.errors;
}

TEST(Importer, MissingDefaultOpset) {
  auto m = test::linearModel();
  m.clear_opset_import();
  auto r = import(test::serialize(m));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.errors.find("opset"), std::string::npos) << r.errors;
}

/// Moves W's data to an external file, pointed to by `location`.
onnx::ModelProto withExternalWeights(const std::string &location, int64_t length) {
  auto m = test::linearModel();
  auto *w = m.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto kv = [&](const char *k, const std::string &v) {
    auto *e = w->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  kv("location", location);
  kv("offset", "16");
  kv("length", std::to_string(length));
  return m;
}

TEST(Importer, ExternalDataIsRead) {
  std::string dir = ::testing::TempDir();
  {
    std::ofstream f(dir + "/weights.bin", std::ios::binary);
    std::vector<float> data(4 + 12, 1.0f);
    f.write(reinterpret_cast<const char *>(data.data()), data.size() * 4);
  }
  auto r = import(test::serialize(withExternalWeights("weights.bin", 48)), dir);
  EXPECT_TRUE(r.ok) << r.errors;
  auto missing = import(test::serialize(withExternalWeights("nothere.bin", 48)), dir);
  EXPECT_FALSE(missing.ok);
  EXPECT_NE(missing.errors.find("nothere.bin"), std::string::npos) << missing.errors;
  auto shortRead = import(test::serialize(withExternalWeights("weights.bin", 40)), dir);
  EXPECT_FALSE(shortRead.ok);
}

TEST(Importer, ExternalDataMustStayInsideTheModelFolder) {
  for (const char *loc : {"/etc/passwd", "../weights.bin", "a/../../b.bin"}) {
    auto r = import(test::serialize(withExternalWeights(loc, 48)), ::testing::TempDir());
    EXPECT_FALSE(r.ok) << loc;
    EXPECT_NE(r.errors.find("relative path"), std::string::npos) << r.errors;
  }
}

} // namespace
