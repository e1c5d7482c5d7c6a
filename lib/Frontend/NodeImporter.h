// Internal interface between the graph importer and the per-op handlers.
#ifndef SINTER_LIB_FRONTEND_NODEIMPORTER_H
#define SINTER_LIB_FRONTEND_NODEIMPORTER_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "onnx/onnx_pb.h"
#include "sinter/Dialect/NN/NNDialect.h"
#include "llvm/ADT/StringMap.h"

namespace sinter::frontend {

/// Converts a TensorProto (inline or external data) to an attribute; large
/// float tensors become resources without copying their bytes.
mlir::FailureOr<mlir::ElementsAttr> tensorToAttr(mlir::MLIRContext &ctx,
                                                 onnx::TensorProto &tensor,
                                                 llvm::StringRef baseDir,
                                                 mlir::Location loc);
/// Maps an ONNX element type code to MLIR; null if unsupported.
mlir::Type elementTypeOf(mlir::MLIRContext &ctx, int32_t onnxType);

/// One node being imported: its inputs, attributes and builder.
class NodeImporter {
public:
  NodeImporter(mlir::OpBuilder &b, const onnx::NodeProto &node, int64_t opset,
               llvm::SmallVector<mlir::Value> inputs, llvm::StringRef baseDir)
      : b(b), node(node), opset(opset), inputs(std::move(inputs)),
        baseDir(baseDir), loc(mlir::NameLoc::get(b.getStringAttr(nodeLabel(node)))) {}

  static std::string nodeLabel(const onnx::NodeProto &node);

  mlir::OpBuilder &b;
  const onnx::NodeProto &node;
  int64_t opset;
  llvm::SmallVector<mlir::Value> inputs; // null for an omitted optional input
  llvm::StringRef baseDir;
  mlir::Location loc;
  llvm::SmallVector<mlir::Value> outputs;

  mlir::Value input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  mlir::InFlightDiagnostic error() const;

  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t attrInt(llvm::StringRef name, int64_t dflt) const;
  float attrFloat(llvm::StringRef name, float dflt) const;
  std::string attrString(llvm::StringRef name, llvm::StringRef dflt) const;
  std::optional<llvm::SmallVector<int64_t>> attrInts(llvm::StringRef name) const;
  /// Integer values of input `i`, which must be a compile-time constant.
  mlir::FailureOr<llvm::SmallVector<int64_t>> constInts(size_t i, llvm::StringRef what) const;
  std::optional<double> constScalar(size_t i) const;
  /// A 1-D i64 constant tensor.
  mlir::Value i64Const(llvm::ArrayRef<int64_t> values);

  /// Creates an nn op whose result types are inferred, reporting inference
  /// errors at this node instead of aborting, and folding when it can.
  template <typename OpTy, typename... Args>
  mlir::FailureOr<mlir::Value> make(Args &&...args) {
    auto placeholder = mlir::RankedTensorType::get({}, b.getF32Type());
    auto op = OpTy::create(b, loc, placeholder, std::forward<Args>(args)...);
    return finish(op.getOperation());
  }

private:
  mlir::FailureOr<mlir::Value> finish(mlir::Operation *op);
};

using NodeHandler = std::function<mlir::LogicalResult(NodeImporter &)>;
/// Handlers for the supported ONNX (default domain) ops, by op type.
const llvm::StringMap<NodeHandler> &nodeHandlers();
/// Handlers for Sinter's own domains, by "domain::op type"
/// (CustomOpImporters.cpp).
const llvm::StringMap<NodeHandler> &customNodeHandlers();
/// The versions of Sinter's own domains this importer reads.
inline constexpr int64_t kSinterDomainVersion = 1;

} // namespace sinter::frontend

#endif
