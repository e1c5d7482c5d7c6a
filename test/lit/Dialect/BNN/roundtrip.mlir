// RUN: sinter-opt %s | FileCheck %s
// RUN: sinter-opt %s | sinter-opt | FileCheck %s
// RUN: sinter-opt %s --mlir-print-op-generic | sinter-opt | FileCheck %s

// CHECK-LABEL: func @mos
// CHECK: bnn.mos_linear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}) {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>} : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<4x12xf32>, tensor<4x5xf32>, tensor<12x4xf32>, tensor<5xf32>) -> tensor<?x5xf32>
// CHECK: bnn.mos_linear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>} : (tensor<2x3x12xf32>, tensor<5x2xi8>, tensor<1x12xf32>, tensor<1x5xf32>, tensor<12x1xf32>) -> tensor<2x3x5xf32>
func.func @mos(%x: tensor<?x12xf32>, %x3: tensor<2x3x12xf32>, %bits: tensor<5x2xi8>, %sin: tensor<4x12xf32>,
               %sout: tensor<4x5xf32>, %r: tensor<12x4xf32>, %b: tensor<5xf32>, %sin1: tensor<1x12xf32>,
               %sout1: tensor<1x5xf32>, %r1: tensor<12x1xf32>) -> (tensor<?x5xf32>, tensor<2x3x5xf32>) {
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r bias(%b) {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<4x12xf32>, tensor<4x5xf32>, tensor<12x4xf32>, tensor<5xf32>) -> tensor<?x5xf32>
  %1 = bnn.mos_linear %x3, %bits, %sin1, %sout1, %r1 {in_features = 12 : i64, layout = #bnn<layout rows_of_inputs>}
      : (tensor<2x3x12xf32>, tensor<5x2xi8>, tensor<1x12xf32>, tensor<1x5xf32>, tensor<12x1xf32>) -> tensor<2x3x5xf32>
  return %0, %1 : tensor<?x5xf32>, tensor<2x3x5xf32>
}

// CHECK-LABEL: func @pack
// CHECK: bnn.pack_signs %{{.*}} {layout = #bnn<layout rows_of_inputs>} : tensor<12x5xf32> -> tensor<5x2xi8>
func.func @pack(%w: tensor<12x5xf32>) -> tensor<5x2xi8> {
  %0 = bnn.pack_signs %w {layout = #bnn<layout rows_of_inputs>} : tensor<12x5xf32> -> tensor<5x2xi8>
  return %0 : tensor<5x2xi8>
}

// Half scales and router.
// CHECK-LABEL: func @half_scales
// CHECK: bnn.mos_linear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {in_features = 12 : i64, int8_activations, layout = #bnn<layout rows_of_inputs>} : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<4x12xf16>, tensor<4x5xf16>, tensor<12x4xf16>) -> tensor<?x5xf32>
func.func @half_scales(%x: tensor<?x12xf32>, %bits: tensor<5x2xi8>, %sin: tensor<4x12xf16>, %sout: tensor<4x5xf16>,
                       %r: tensor<12x4xf16>) -> tensor<?x5xf32> {
  %0 = bnn.mos_linear %x, %bits, %sin, %sout, %r {in_features = 12 : i64, int8_activations, layout = #bnn<layout rows_of_inputs>}
      : (tensor<?x12xf32>, tensor<5x2xi8>, tensor<4x12xf16>, tensor<4x5xf16>, tensor<12x4xf16>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}
