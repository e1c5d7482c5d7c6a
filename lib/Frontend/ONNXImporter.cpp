// ModelProto → a `main_graph` function in the nn dialect. Graph-level work
// lives here (inputs, initializers, topological order, outputs); each node
// kind has a handler in ONNXOpImporters.cpp.
#include "sinter/Frontend/ONNXImporter.h"

#include "NodeImporter.h"

#include "sinter/Dialect/BNN/BNNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;

namespace sinter::frontend {

Type elementTypeOf(MLIRContext &ctx, int32_t t) {
  Builder b(&ctx);
  switch (t) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::DOUBLE: return b.getF64Type();
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::INT8: return b.getIntegerType(8);
  case onnx::TensorProto::INT16: return b.getIntegerType(16);
  case onnx::TensorProto::INT32: return b.getI32Type();
  case onnx::TensorProto::INT64: return b.getI64Type();
  case onnx::TensorProto::BOOL: return b.getI1Type();
  default: return nullptr;
  }
}

namespace {
/// Tensors at least this large become resources (no copy, not printed
/// inline); smaller ones stay dense attributes that folders can read.
constexpr int64_t kResourceThresholdBytes = 256;

/// Bytes of an external-data tensor, memory-mapped (freed with the blob).
FailureOr<AsmResourceBlob> mapExternal(const onnx::TensorProto &t, StringRef baseDir,
                                       int64_t expected, Location loc) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset")
      offset = std::strtoll(kv.value().c_str(), nullptr, 10);
    else if (kv.key() == "length")
      length = std::strtoll(kv.value().c_str(), nullptr, 10);
  }
  if (location.empty() || llvm::sys::path::is_absolute(location) ||
      llvm::any_of(llvm::make_range(llvm::sys::path::begin(location), llvm::sys::path::end(location)),
                   [](StringRef c) { return c == ".."; }))
    return emitError(loc) << "external data location '" << location
                          << "' must be a relative path inside the model's folder";
  if (length < 0)
    length = expected;
  if (length != expected || offset < 0)
    return emitError(loc) << "external data length " << length << " does not match the "
                          << expected << " bytes the tensor's shape needs";
  SmallString<256> path(baseDir);
  llvm::sys::path::append(path, location);
  int fd = ::open(path.c_str(), O_RDONLY);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || offset + length > st.st_size) {
    if (fd >= 0)
      ::close(fd);
    return emitError(loc) << "cannot read " << length << " bytes at offset " << offset
                          << " of external data file '" << path << "'";
  }
  if (length == 0) {
    ::close(fd);
    return HeapAsmResourceBlob::allocate(0, 16);
  }
  int64_t page = ::sysconf(_SC_PAGESIZE), start = offset / page * page;
  size_t mapLen = offset - start + length;
  void *base = ::mmap(nullptr, mapLen, PROT_READ, MAP_PRIVATE, fd, start);
  ::close(fd);
  if (base == MAP_FAILED)
    return emitError(loc) << "cannot map external data file '" << path << "'";
  const char *data = static_cast<const char *>(base) + (offset - start);
  if (reinterpret_cast<uintptr_t>(data) % 16 != 0) {
    // Misaligned inside the file: copy once so kernels can load aligned.
    auto blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<char>(data, length));
    ::munmap(base, mapLen);
    return blob;
  }
  return AsmResourceBlob(ArrayRef<char>(data, length), 16,
                         [base, mapLen](void *, size_t, size_t) { ::munmap(base, mapLen); },
                         /*dataIsMutable=*/false);
}

/// Copies typed repeated fields (float_data, int64_data, ...) into bytes.
std::string typedFieldBytes(const onnx::TensorProto &t) {
  std::string out;
  auto append = [&](auto v) { out.append(reinterpret_cast<const char *>(&v), sizeof(v)); };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    for (float v : t.float_data()) append(v);
    break;
  case onnx::TensorProto::DOUBLE:
    for (double v : t.double_data()) append(v);
    break;
  case onnx::TensorProto::INT64:
    for (int64_t v : t.int64_data()) append(v);
    break;
  case onnx::TensorProto::INT32:
    for (int32_t v : t.int32_data()) append(v);
    break;
  case onnx::TensorProto::INT16:
    for (int32_t v : t.int32_data()) append((int16_t)v);
    break;
  case onnx::TensorProto::INT8:
    for (int32_t v : t.int32_data()) append((int8_t)v);
    break;
  case onnx::TensorProto::BOOL:
    for (int32_t v : t.int32_data()) append((uint8_t)(v != 0));
    break;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
    for (int32_t v : t.int32_data()) append((uint16_t)v);
    break;
  }
  return out;
}
} // namespace

FailureOr<ElementsAttr> tensorToAttr(MLIRContext &ctx, onnx::TensorProto &t,
                                     StringRef baseDir, Location loc) {
  Type elem = elementTypeOf(ctx, t.data_type());
  if (!elem)
    return emitError(loc) << "tensor '" << t.name() << "' has unsupported element type "
                          << t.data_type();
  SmallVector<int64_t> shape;
  int64_t numel = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && numel > (int64_t(1) << 40) / d))
      return emitError(loc) << "tensor '" << t.name() << "' has an invalid dimension " << d;
    shape.push_back(d);
    numel *= d;
  }
  auto type = RankedTensorType::get(shape, elem);
  // Storage width: i1 is one byte per element in ONNX and in MLIR blobs.
  int64_t width = elem.isInteger(1) ? 1 : elem.getIntOrFloatBitWidth() / 8;
  int64_t bytes = numel * width;

  std::optional<AsmResourceBlob> blob;
  std::string copied;
  ArrayRef<char> raw;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    auto mapped = mapExternal(t, baseDir, bytes, loc);
    if (failed(mapped))
      return failure();
    blob = std::move(*mapped);
    raw = blob->getData();
  } else if (t.has_raw_data()) {
    raw = ArrayRef<char>(t.raw_data().data(), t.raw_data().size());
  } else {
    copied = typedFieldBytes(t);
    raw = ArrayRef<char>(copied.data(), copied.size());
  }
  if ((int64_t)raw.size() != bytes)
    return emitError(loc) << "tensor '" << t.name() << "' holds " << raw.size()
                          << " bytes, its shape needs " << bytes;

  if (bytes >= kResourceThresholdBytes && !elem.isInteger(1)) {
    if (!blob) {
      if (t.has_raw_data()) {
        // Take the bytes out of the protobuf: the blob owns them, no copy.
        std::string *owned = t.release_raw_data();
        if (reinterpret_cast<uintptr_t>(owned->data()) % 16 == 0) {
          blob = AsmResourceBlob(ArrayRef<char>(owned->data(), owned->size()), 16,
                                 [owned](void *, size_t, size_t) { delete owned; },
                                 /*dataIsMutable=*/false);
        } else {
          blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<char>(owned->data(), owned->size()));
          delete owned;
        }
      } else {
        blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(raw);
      }
    }
    std::string name = t.name().empty() ? "weight" : t.name();
    return cast<ElementsAttr>(DenseResourceElementsAttr::get(type, name, std::move(*blob)));
  }
  if (elem.isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : raw)
      bits.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, bits));
  }
  bool splat = false;
  if (!DenseElementsAttr::isValidRawBuffer(type, raw, splat))
    return emitError(loc) << "tensor '" << t.name() << "' has malformed data";
  return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(type, raw));
}

std::string NodeImporter::nodeLabel(const onnx::NodeProto &node) {
  return "node '" + node.name() + "' (" + node.op_type() + ")";
}

InFlightDiagnostic NodeImporter::error() const {
  return emitError(loc) << "opset " << opset << ": ";
}

const onnx::AttributeProto *NodeImporter::attr(StringRef name) const {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeImporter::attrInt(StringRef name, int64_t dflt) const {
  const auto *a = attr(name);
  return a ? a->i() : dflt;
}

float NodeImporter::attrFloat(StringRef name, float dflt) const {
  const auto *a = attr(name);
  return a ? a->f() : dflt;
}

std::string NodeImporter::attrString(StringRef name, StringRef dflt) const {
  const auto *a = attr(name);
  return a ? a->s() : dflt.str();
}

std::optional<SmallVector<int64_t>> NodeImporter::attrInts(StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

FailureOr<SmallVector<int64_t>> NodeImporter::constInts(size_t i, StringRef what) const {
  auto v = nn::getConstantInts(input(i));
  if (!v)
    return error() << what << " (input " << i
                   << ") must be a compile-time constant; run-time values are not supported";
  return *v;
}

std::optional<double> NodeImporter::constScalar(size_t i) const {
  DenseElementsAttr attr;
  Value v = input(i);
  if (!v || !matchPattern(v, m_Constant(&attr)) || attr.getNumElements() != 1)
    return std::nullopt;
  if (auto f = dyn_cast<DenseFPElementsAttr>(attr))
    return (*f.value_begin<APFloat>()).convertToDouble();
  return (double)(*attr.value_begin<APInt>()).getSExtValue();
}

Value NodeImporter::i64Const(ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({(int64_t)values.size()}, b.getI64Type());
  return arith::ConstantOp::create(b, loc, DenseIntElementsAttr::get(type, values));
}

FailureOr<Value> NodeImporter::finish(Operation *op) {
  auto iface = cast<InferTypeOpInterface>(op);
  SmallVector<Type> types;
  if (failed(iface.inferReturnTypes(op->getContext(), loc, op->getOperands(),
                                    op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
                                    op->getRegions(), types))) {
    op->erase();
    return failure();
  }
  op->getResult(0).setType(types[0]);
  SmallVector<Value> folded;
  if (succeeded(b.tryFold(op, folded)) && !folded.empty()) {
    op->erase();
    return folded[0];
  }
  return op->getResult(0);
}

} // namespace sinter::frontend

namespace sinter {
using namespace frontend;

namespace {

class GraphImporter {
public:
  GraphImporter(MLIRContext &ctx, onnx::ModelProto &model, StringRef baseDir, StringRef source)
      : ctx(ctx), model(model), baseDir(baseDir), b(&ctx),
        fileLoc(FileLineColLoc::get(&ctx, source, 0, 0)) {}

  OwningOpRef<ModuleOp> run();

private:
  FailureOr<RankedTensorType> valueInfoType(const onnx::ValueInfoProto &vi, ArrayAttr &dimNames);
  LogicalResult importNode(const onnx::NodeProto &node);
  LogicalResult readOpsets();

  MLIRContext &ctx;
  onnx::ModelProto &model;
  StringRef baseDir;
  OpBuilder b;
  Location fileLoc;
  int64_t opset = 0;
  llvm::StringMap<Value> values;
};

LogicalResult GraphImporter::readOpsets() {
  for (const auto &imp : model.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx")
      opset = imp.version();
  for (const auto &imp : model.opset_import())
    if (StringRef(imp.domain()).starts_with("sinter.") && imp.version() != kSinterDomainVersion)
      return emitError(fileLoc) << "domain '" << imp.domain() << "' version " << imp.version()
                                << " is not supported (" << kSinterDomainVersion << ")";
  if (opset == 0)
    return emitError(fileLoc) << "model imports no version of the default ONNX opset";
  if (opset > 22)
    return emitError(fileLoc) << "opset " << opset << " is not supported (1..22)";
  return success();
}

FailureOr<RankedTensorType> GraphImporter::valueInfoType(const onnx::ValueInfoProto &vi,
                                                         ArrayAttr &dimNames) {
  Location loc = NameLoc::get(b.getStringAttr("graph value '" + vi.name() + "'"), fileLoc);
  if (!vi.type().has_tensor_type())
    return emitError(loc) << "is not a tensor";
  const auto &tt = vi.type().tensor_type();
  Type elem = elementTypeOf(ctx, tt.elem_type());
  if (!elem)
    return emitError(loc) << "has unsupported element type " << tt.elem_type();
  if (!tt.has_shape())
    return emitError(loc) << "has no shape (its rank must be known)";
  SmallVector<int64_t> shape;
  SmallVector<Attribute> names;
  for (const auto &d : tt.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() >= 0) {
      shape.push_back(d.dim_value());
      names.push_back(b.getStringAttr(""));
    } else {
      shape.push_back(ShapedType::kDynamic);
      names.push_back(b.getStringAttr(d.has_dim_param() ? d.dim_param() : "?"));
    }
  }
  dimNames = b.getArrayAttr(names);
  return RankedTensorType::get(shape, elem);
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &node) {
  Location loc = NameLoc::get(b.getStringAttr(NodeImporter::nodeLabel(node)), fileLoc);
  bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
  const auto &handlers = defaultDomain ? nodeHandlers() : customNodeHandlers();
  auto it = handlers.find(defaultDomain ? node.op_type() : node.domain() + "::" + node.op_type());
  if (it == handlers.end() && !defaultDomain)
    return emitError(loc) << "op '" << node.op_type() << "' of domain '" << node.domain() << "' is not supported";
  if (it == handlers.end())
    return emitError(loc) << "unsupported op type '" << node.op_type() << "' (opset " << opset << ")";
  SmallVector<Value> ins;
  for (const auto &name : node.input()) {
    if (name.empty()) {
      ins.push_back(nullptr);
      continue;
    }
    auto v = values.find(name);
    if (v == values.end())
      return emitError(loc) << "input '" << name
                            << "' is not produced by an earlier node, an initializer or a graph input";
    ins.push_back(v->second);
  }
  NodeImporter ni(b, node, opset, std::move(ins), baseDir);
  ni.loc = loc;
  Block *block = b.getInsertionBlock();
  Operation *before = block->empty() ? nullptr : &block->back();
  if (failed(it->second(ni)))
    return failure();
  // Check what the handler built (operand types included) before anything
  // later reads it: a bad model is an error here, never invalid IR.
  for (Operation &op : llvm::make_range(before ? std::next(before->getIterator()) : block->begin(),
                                        block->end()))
    if (failed(mlir::verify(&op, /*verifyRecursively=*/false)))
      return failure();
  if (ni.outputs.size() < (size_t)node.output_size()) {
    for (int i = ni.outputs.size(); i < node.output_size(); ++i)
      if (!node.output(i).empty())
        return emitError(loc) << "output " << i << " ('" << node.output(i) << "') is not supported";
  }
  for (int i = 0; i < node.output_size(); ++i)
    if (!node.output(i).empty())
      values[node.output(i)] = ni.outputs[i];
  return success();
}

OwningOpRef<ModuleOp> GraphImporter::run() {
  if (failed(readOpsets()))
    return nullptr;
  auto module = ModuleOp::create(fileLoc);
  b.setInsertionPointToEnd(module.getBody());
  onnx::GraphProto &graph = *model.mutable_graph();

  llvm::StringSet<> initNames;
  for (const auto &t : graph.initializer())
    initNames.insert(t.name());
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  SmallVector<std::string> argNames;
  for (const auto &in : graph.input()) {
    if (initNames.contains(in.name()))
      continue;
    ArrayAttr dims;
    auto t = valueInfoType(in, dims);
    if (failed(t)) {
      module->erase();
      return nullptr;
    }
    argTypes.push_back(*t);
    argNames.push_back(in.name());
    argAttrs.push_back(b.getDictionaryAttr({b.getNamedAttr(kTensorNameAttr, b.getStringAttr(in.name())),
                                            b.getNamedAttr(kDimNamesAttr, dims)}));
  }
  auto func = func::FuncOp::create(b, fileLoc, kEntryName, b.getFunctionType(argTypes, {}));
  func.setAllArgAttrs(argAttrs);
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (auto [i, name] : llvm::enumerate(argNames))
    values[name] = entry->getArgument(i);

  auto fail = [&]() -> OwningOpRef<ModuleOp> {
    module->erase();
    return nullptr;
  };
  for (auto &t : *graph.mutable_initializer()) {
    Location loc = NameLoc::get(b.getStringAttr("initializer '" + t.name() + "'"), fileLoc);
    auto attr = tensorToAttr(ctx, t, baseDir, loc);
    if (failed(attr))
      return fail();
    values[t.name()] = arith::ConstantOp::create(b, loc, cast<TypedAttr>(*attr));
  }
  for (const auto &node : graph.node())
    if (failed(importNode(node)))
      return fail();

  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resAttrs;
  for (const auto &out : graph.output()) {
    auto v = values.find(out.name());
    Location loc = NameLoc::get(b.getStringAttr("graph output '" + out.name() + "'"), fileLoc);
    if (v == values.end()) {
      emitError(loc) << "is not produced by any node";
      return fail();
    }
    ArrayAttr dims;
    // An output declared without a type takes the inferred one.
    bool typed = out.type().has_tensor_type() && out.type().tensor_type().elem_type() != 0 &&
                 out.type().tensor_type().has_shape();
    FailureOr<RankedTensorType> declared = failure();
    if (typed && failed(declared = valueInfoType(out, dims)))
      return fail();
    auto actual = cast<RankedTensorType>(v->second.getType());
    if (succeeded(declared) && (declared->getRank() != actual.getRank() ||
                                declared->getElementType() != actual.getElementType())) {
      emitError(loc) << "is declared " << *declared << " but computes " << actual;
      return fail();
    }
    if (failed(declared)) {
      SmallVector<Attribute> names(actual.getRank(), b.getStringAttr(""));
      for (int64_t i = 0; i < actual.getRank(); ++i)
        if (actual.isDynamicDim(i))
          names[i] = b.getStringAttr("?");
      dims = b.getArrayAttr(names);
    } else {
      // Static where either side knows the size; names from the declaration.
      SmallVector<Attribute> names(dims.begin(), dims.end());
      for (int64_t i = 0; i < actual.getRank(); ++i)
        if (!actual.isDynamicDim(i))
          names[i] = b.getStringAttr("");
      dims = b.getArrayAttr(names);
    }
    results.push_back(v->second);
    resAttrs.push_back(b.getDictionaryAttr({b.getNamedAttr(kTensorNameAttr, b.getStringAttr(out.name())),
                                            b.getNamedAttr(kDimNamesAttr, dims)}));
  }
  func::ReturnOp::create(b, fileLoc, results);
  func.setFunctionType(b.getFunctionType(argTypes, ValueRange(results).getTypes()));
  func.setAllResultAttrs(resAttrs);
  return module;
}

} // namespace

namespace {
OwningOpRef<ModuleOp> importModelProto(MLIRContext &ctx, onnx::ModelProto &model, StringRef baseDir,
                                       StringRef sourceName) {
  ctx.loadDialect<nn::NNDialect, bnn::BNNDialect, func::FuncDialect, arith::ArithDialect>();
  Location loc = FileLineColLoc::get(&ctx, sourceName, 0, 0);
  if (!model.has_graph()) {
    emitError(loc) << "ONNX model has no graph";
    return nullptr;
  }
  return GraphImporter(ctx, model, baseDir, sourceName).run();
}
} // namespace

OwningOpRef<ModuleOp> importONNX(MLIRContext &ctx, StringRef bytes, StringRef baseDir,
                                 StringRef sourceName) {
  Location loc = FileLineColLoc::get(&ctx, sourceName, 0, 0);
  if (bytes.size() > (size_t)INT32_MAX) {
    emitError(loc) << "model is larger than 2 GiB; store weights as external data";
    return nullptr;
  }
  onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), (int)bytes.size())) {
    emitError(loc) << "not a valid ONNX model (protobuf parse failed: truncated or corrupt file?)";
    return nullptr;
  }
  return importModelProto(ctx, model, baseDir, sourceName);
}

OwningOpRef<ModuleOp> importONNXFile(MLIRContext &ctx, StringRef path) {
  Location loc = FileLineColLoc::get(&ctx, path, 0, 0);
  // Parsed from the descriptor in chunks rather than from a mapping of the
  // whole file: the weights are then held once (in the protobuf, whose
  // strings the blobs adopt), not twice.
  int fd = ::open(path.str().c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    std::string why = fd < 0 ? std::strerror(errno) : "not a regular file";
    if (fd >= 0)
      ::close(fd);
    emitError(loc) << "cannot read model file: " << why;
    return nullptr;
  }
  if (st.st_size > INT32_MAX) {
    ::close(fd);
    emitError(loc) << "model is larger than 2 GiB; store weights as external data";
    return nullptr;
  }
  onnx::ModelProto model;
  bool parsed = model.ParseFromFileDescriptor(fd);
  ::close(fd);
  if (!parsed) {
    emitError(loc) << "not a valid ONNX model (protobuf parse failed: truncated or corrupt file?)";
    return nullptr;
  }
  SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  return importModelProto(ctx, model, dir, path);
}

} // namespace sinter
