// RUN: sinter-opt %s -convert-nn-to-linalg -split-input-file | FileCheck %s --check-prefixes=CHECK,KERNEL
// RUN: sinter-opt %s -convert-nn-to-linalg=runtime-kernels=false -split-input-file | FileCheck %s --check-prefixes=CHECK,LOOPS

// f32 over the last dimension: the runtime's kernel (rows, d, x, scale,
// bias, out, ε's bits: 1e-5 is 0x3727C5AC), or without runtime kernels
// (GPU targets) mean, centred square mean, rsqrt, scale and bias as loops.
// CHECK-LABEL: func @layer_norm
// KERNEL: %[[OUT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x8xf32>
// KERNEL: call @__sinter_layer_norm(%{{.*}}, %c8{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %c925353388)
// KERNEL: bufferization.to_tensor %[[OUT]]
// KERNEL-NOT: math.rsqrt
// LOOPS-NOT: call
// LOOPS-COUNT-2: iterator_types = ["parallel", "reduction"]
// LOOPS: math.rsqrt
func.func @layer_norm(%x: tensor<?x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %0 = nn.layer_norm %x, %g, %b : tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// No bias: address 0.
// CHECK-LABEL: func @no_bias
// KERNEL: %[[ZERO:.*]] = arith.constant 0 : index
// KERNEL: call @__sinter_layer_norm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ZERO]],
func.func @no_bias(%x: tensor<2x3x8xf32>, %g: tensor<8xf32>) -> tensor<2x3x8xf32> {
  %0 = nn.layer_norm %x, %g {epsilon = 1.0e-6 : f32} : tensor<2x3x8xf32>, tensor<8xf32> -> tensor<2x3x8xf32>
  return %0 : tensor<2x3x8xf32>
}

// -----

// What the kernel does not do stays loops: f16, normalizing two
// dimensions, f64.
// CHECK-LABEL: func @not_the_kernel
// CHECK-NOT: call @__sinter_layer_norm
// CHECK: math.rsqrt
// CHECK: math.rsqrt
// CHECK: math.rsqrt
func.func @not_the_kernel(%h: tensor<4x8xf16>, %gh: tensor<8xf16>, %x: tensor<4x8xf32>, %g2: tensor<4x8xf32>, %w: tensor<4x8xf64>, %gw: tensor<8xf64>) -> (tensor<4x8xf16>, tensor<4x8xf32>, tensor<4x8xf64>) {
  %0 = nn.layer_norm %h, %gh : tensor<4x8xf16>, tensor<8xf16> -> tensor<4x8xf16>
  %1 = nn.layer_norm %x, %g2 {axis = 0 : i64} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %2 = nn.layer_norm %w, %gw : tensor<4x8xf64>, tensor<8xf64> -> tensor<4x8xf64>
  return %0, %1, %2 : tensor<4x8xf16>, tensor<4x8xf32>, tensor<4x8xf64>
}
