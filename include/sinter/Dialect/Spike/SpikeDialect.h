// The spike dialect: spiking neurons over explicit time steps (dialects/Spike).
#ifndef SINTER_DIALECT_SPIKE_SPIKEDIALECT_H
#define SINTER_DIALECT_SPIKE_SPIKEDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "sinter/Dialect/Spike/SpikeDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "sinter/Dialect/Spike/SpikeTypes.h.inc"

#define GET_OP_CLASSES
#include "sinter/Dialect/Spike/SpikeOps.h.inc"

#endif
