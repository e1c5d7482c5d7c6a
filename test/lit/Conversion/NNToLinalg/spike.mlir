// RUN: sinter-opt %s -convert-nn-to-linalg -canonicalize | FileCheck %s
// RUN: sinter-opt %s -sinter-lower-to-linalg -sinter-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// Encode is T copies along the leading dimension; decode the mean of T
// slices of it; the neurons lower into the kernel of the op that reads
// their spikes: (current, out, rows, steps, neurons, θ, per neuron,
// membrane, bound [, N, weights]).
// CHECK-DAG: func.func private @__sinter_spike_linear(index, index, index, index, index, index, index, index, index, index, index)
// CHECK-DAG: func.func private @__sinter_spike_values(index, index, index, index, index, index, index, index, index)
// CHECK-LABEL: func @snn
// CHECK: %[[E:.*]] = tensor.concat dim(0) %arg0, %arg0, %arg0, %arg0 : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>) -> tensor<?x2xf32>
// CHECK: call @__sinter_spike_linear(%{{.*}}, %{{.*}}, %{{.*}}, %c4, %c2, %{{.*}}, %c1, %{{.*}}, %c0, %c3, %{{.*}})
// CHECK-NOT: spike.
// CHECK: tensor.extract_slice
// CHECK: tensor.extract_slice
// CHECK: tensor.extract_slice
// CHECK: tensor.extract_slice
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: call @__sinter_spike_values(%{{.*}}, %{{.*}}, %{{.*}}, %c4, %c2, %{{.*}}, %c0, %{{.*}}, %c4)
// LLVM-LABEL: llvm.func @snn
// LLVM: llvm.call @__sinter_spike_linear
// LLVM: llvm.call @__sinter_spike_values
func.func @snn(%x: tensor<?x2xf32>, %theta: tensor<2xf32>, %v0: tensor<2xf32>, %w: tensor<2x3xf32>,
               %t: tensor<f32>) -> (tensor<?x3xf32>, tensor<?x2xf32>) {
  %e = spike.encode %x steps 4 : tensor<?x2xf32> -> tensor<?x2xf32>
  %s = spike.if %e, threshold %theta, membrane %v0 : tensor<?x2xf32>, tensor<2xf32> -> !spike.train<4x?x2>
  %y = spike.matmul %s, %w : !spike.train<4x?x2>, tensor<2x3xf32> -> tensor<?x3xf32>
  %d = spike.decode %y steps 4 : tensor<?x3xf32> -> tensor<?x3xf32>
  %s2 = spike.if %e, threshold %t, membrane %t : tensor<?x2xf32>, tensor<f32> -> !spike.train<4x?x2, signed>
  %v = spike.values %s2, threshold %t : !spike.train<4x?x2, signed>, tensor<f32> -> tensor<?x2xf32>
  return %d, %v : tensor<?x3xf32>, tensor<?x2xf32>
}
