// RUN: sinter-opt %s -sinter-lower-to-linalg -sinter-lower-to-llvm | FileCheck %s
// The whole pipeline leaves only the LLVM dialect, with a C interface.

// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK-NOT: nn.
// Buffers come from the runtime's recycling allocator (aligned, so that a
// result starts at its allocation), the matmul from its GEMM kernel, and
// the GELU loop, outlined, runs on its thread pool.
// CHECK: llvm.func @main_graph_parallel{{[0-9]+}}(%arg0: !llvm.ptr, %arg1: i64, %arg2: i64)
// CHECK: llvm.func @main_graph(
// CHECK: llvm.call @_mlir_memref_to_llvm_aligned_alloc
// CHECK: llvm.call @__sinter_sgemm(
// CHECK: llvm.call @__sinter_parallel_for(
// CHECK: llvm.func @_mlir_ciface_main_graph
func.func @main_graph(%x: tensor<?x8xf32>, %w: tensor<8x4xf32>) -> tensor<?x4xf32> attributes {llvm.emit_c_interface} {
  %0 = nn.matmul %x, %w : tensor<?x8xf32>, tensor<8x4xf32> -> tensor<?x4xf32>
  %1 = nn.gelu %0 : tensor<?x4xf32>
  return %1 : tensor<?x4xf32>
}
