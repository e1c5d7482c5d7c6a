#include "sinter/Compression/Passes.h"

using namespace mlir;

namespace sinter {

void appendCompressionReport(ModuleOp module, ArrayRef<Attribute> entries) {
  SmallVector<Attribute> all;
  if (auto existing = module->getAttrOfType<ArrayAttr>(kCompressionReportAttr))
    all.append(existing.begin(), existing.end());
  all.append(entries.begin(), entries.end());
  module->setAttr(kCompressionReportAttr, ArrayAttr::get(module.getContext(), all));
}

} // namespace sinter
