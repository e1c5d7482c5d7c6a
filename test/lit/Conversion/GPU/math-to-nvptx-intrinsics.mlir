// RUN: sinter-opt %s -split-input-file -verify-diagnostics --pass-pipeline="builtin.module(gpu.module(sinter-math-to-nvptx-intrinsics))" | FileCheck %s

// Each math op a kernel keeps becomes the LLVM intrinsic NVPTX has an
// instruction for; rsqrt is 1/sqrt; other ops stay.
// CHECK-LABEL: gpu.func @k
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: llvm.call_intrinsic "llvm.sqrt.f32"(%{{.*}}) : (f32) -> f32
// CHECK: %[[ROOT:.*]] = llvm.call_intrinsic "llvm.sqrt.f32"
// CHECK: arith.divf %[[ONE]], %[[ROOT]] : f32
// CHECK: llvm.call_intrinsic "llvm.fabs.f32"
// CHECK: llvm.call_intrinsic "llvm.floor.f64"(%{{.*}}) : (f64) -> f64
// CHECK: llvm.call_intrinsic "llvm.ceil.f32"
// CHECK: llvm.call_intrinsic "llvm.trunc.f32"
// CHECK: llvm.call_intrinsic "llvm.roundeven.f32"
// CHECK: llvm.call_intrinsic "llvm.round.f32"
// CHECK: llvm.call_intrinsic "llvm.fma.f32"(%{{.*}}, %{{.*}}, %{{.*}}) : (f32, f32, f32) -> f32
// CHECK: llvm.call_intrinsic "llvm.copysign.f32"
// CHECK: math.absi
// CHECK-NOT: math.
gpu.module @kernels {
  gpu.func @k(%x: f32, %d: f64, %i: i32, %out: memref<16xf32>, %dout: memref<16xf64>, %iout: memref<16xi32>) kernel {
    %c0 = arith.constant 0 : index
    %0 = math.sqrt %x : f32
    %1 = math.rsqrt %0 : f32
    %2 = math.absf %1 : f32
    %3 = math.floor %d : f64
    %4 = math.ceil %2 : f32
    %5 = math.trunc %4 : f32
    %6 = math.roundeven %5 : f32
    %7 = math.round %6 : f32
    %8 = math.fma %7, %7, %7 : f32
    %9 = math.copysign %8, %x : f32
    %10 = math.absi %i : i32
    memref.store %9, %out[%c0] : memref<16xf32>
    memref.store %3, %dout[%c0] : memref<16xf64>
    memref.store %10, %iout[%c0] : memref<16xi32>
    gpu.return
  }
}

// -----

// An op that would need libdevice is refused, naming it.
gpu.module @kernels {
  gpu.func @k(%d: f64, %out: memref<16xf64>) kernel {
    %c0 = arith.constant 0 : index
    // expected-error @+1 {{sinter-math-to-nvptx-intrinsics: math.log on 'f64' is not supported on the GPU target (it would need libdevice)}}
    %0 = math.log %d : f64
    memref.store %0, %out[%c0] : memref<16xf64>
    gpu.return
  }
}
