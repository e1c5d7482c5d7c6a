// The gse dialect: group-shared-exponent integers (dialects/GSE).
#ifndef SINTER_DIALECT_GSE_GSEDIALECT_H
#define SINTER_DIALECT_GSE_GSEDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "sinter/Dialect/NN/NNDialect.h" // GradientOpInterface

#include "sinter/Dialect/GSE/GSEDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "sinter/Dialect/GSE/GSEAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "sinter/Dialect/GSE/GSETypes.h.inc"

#define GET_OP_CLASSES
#include "sinter/Dialect/GSE/GSEOps.h.inc"

#endif
