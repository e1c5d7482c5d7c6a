#include "sinter/Compression/Passes.h"
#include "sinter/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace sinter {

std::optional<Profile> prepareFFNRewrite(ModuleOp module, llvm::StringRef path, std::string &error) {
  auto profile = readProfile(path, error);
  if (!profile)
    return std::nullopt;
  RewritePatternSet patterns(module.getContext());
  populateRaiseActivationsPatterns(patterns);
  (void)applyPatternsGreedily(module, std::move(patterns));
  return profile;
}

void appendCompressionReport(ModuleOp module, ArrayRef<Attribute> entries) {
  SmallVector<Attribute> all;
  if (auto existing = module->getAttrOfType<ArrayAttr>(kCompressionReportAttr))
    all.append(existing.begin(), existing.end());
  all.append(entries.begin(), entries.end());
  module->setAttr(kCompressionReportAttr, ArrayAttr::get(module.getContext(), all));
}

} // namespace sinter
