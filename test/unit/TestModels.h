// Small ONNX models built with the protobuf API, shared by the unit tests.
#ifndef SINTER_TEST_UNIT_TESTMODELS_H
#define SINTER_TEST_UNIT_TESTMODELS_H

#include "onnx/onnx_pb.h"

#include <string>
#include <vector>

namespace sinter::test {
/// y[batch, 4] = x[batch, 3] · W[3, 4] + b, with ids[batch] → onehot-free
/// second output z[batch] = ids * 2 (int64), so the ABI sees two dtypes
/// and one symbolic dimension shared by two inputs.
onnx::ModelProto linearModel();
/// y = x + x and y2 = Identity(y): one buffer returned as two outputs.
onnx::ModelProto sharedOutputModel();
std::string serialize(const onnx::ModelProto &m);
} // namespace sinter::test

#endif
