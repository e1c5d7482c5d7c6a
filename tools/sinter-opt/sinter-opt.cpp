// mlir-opt with Sinter's dialects and passes registered.
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "sinter/Compression/Passes.h"
#include "sinter/Conversion/Passes.h"
#include "sinter/Training/Passes.h"
#include "sinter/Transforms/Passes.h"
#include "sinter/Dialect/BNN/BNNDialect.h"
#include "sinter/Dialect/GSE/GSEDialect.h"
#include "sinter/Dialect/Spike/SpikeDialect.h"
#include "sinter/Dialect/NN/NNDialect.h"
#include "sinter/Target/Pipeline.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  sinter::registerConversionPasses();
  sinter::registerTransformsPasses();
  sinter::registerCompressionPasses();
  sinter::registerTrainingPasses();
  sinter::registerPipelines();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<sinter::nn::NNDialect, sinter::bnn::BNNDialect, sinter::gse::GSEDialect,
                  sinter::spike::SpikeDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Sinter optimizer driver\n", registry));
}
