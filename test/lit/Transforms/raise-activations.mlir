// RUN: sinter-opt %s -sinter-raise-activations | FileCheck %s

// torch.onnx's exact GELU: x · (erf(x/√2) + 1) · 0.5.
// CHECK-LABEL: func @torch_gelu
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>)
// CHECK-NEXT: %[[G:.*]] = nn.gelu %[[X]] : tensor<?x8xf32>
// CHECK-NEXT: return %[[G]]
func.func @torch_gelu(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %sqrt2 = arith.constant dense<1.41421354> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = nn.div %x, %sqrt2 : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %1 = nn.erf %0 : tensor<?x8xf32>
  %2 = nn.add %1, %one : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %3 = nn.mul %x, %2 : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  %4 = nn.mul %3, %half : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  return %4 : tensor<?x8xf32>
}

// Other factor orders, and x·(1/√2) for x/√2.
// CHECK-LABEL: func @half_first
// CHECK: nn.gelu
// CHECK-NOT: nn.erf
func.func @half_first(%x: tensor<4xf32>) -> tensor<4xf32> {
  %rsqrt2 = arith.constant dense<0.707106769> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %0 = nn.mul %rsqrt2, %x : tensor<f32>, tensor<4xf32> -> tensor<4xf32>
  %1 = nn.erf %0 : tensor<4xf32>
  %2 = nn.add %one, %1 : tensor<f32>, tensor<4xf32> -> tensor<4xf32>
  %3 = nn.mul %half, %x : tensor<f32>, tensor<4xf32> -> tensor<4xf32>
  %4 = nn.mul %3, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %4 : tensor<4xf32>
}

// Not a GELU: a wrong constant, or erf of a different value. Left alone.
// CHECK-LABEL: func @not_gelu
// CHECK-NOT: nn.gelu
// CHECK: return
func.func @not_gelu(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %sqrt2 = arith.constant dense<1.41421354> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %third = arith.constant dense<0.333> : tensor<f32>
  %0 = nn.div %x, %sqrt2 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = nn.erf %0 : tensor<4xf32>
  %2 = nn.add %1, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = nn.mul %x, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = nn.mul %3, %third : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %5 = nn.mul %y, %2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %6 = nn.mul %5, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %4, %6 : tensor<4xf32>, tensor<4xf32>
}

// sinter.spike.QCFS as torch exports it: θ = 2, L = 8, θ/L = 0.25.
// CHECK-LABEL: func @torch_qcfs
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>)
// CHECK: %[[T:.*]] = arith.constant dense<2.000000e+00> : tensor<f32>
// CHECK: %[[Q:.*]] = nn.qcfs %[[X]], threshold %[[T]] levels 8 : tensor<?x8xf32>, tensor<f32>
// CHECK-NEXT: return %[[Q]]
func.func @torch_qcfs(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %theta = arith.constant dense<2.0> : tensor<f32>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %levels = arith.constant dense<8.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %step = arith.constant dense<0.25> : tensor<f32>
  %0 = nn.div %x, %theta : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %1 = nn.clip %0 min %zero : tensor<f32> max %one : tensor<f32> : tensor<?x8xf32> -> tensor<?x8xf32>
  %2 = nn.mul %1, %levels : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %3 = nn.add %2, %half : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  %4 = nn.floor %3 : tensor<?x8xf32>
  %5 = nn.mul %4, %step : tensor<?x8xf32>, tensor<f32> -> tensor<?x8xf32>
  return %5 : tensor<?x8xf32>
}

// Operands the other way round, and θ per neuron.
// CHECK-LABEL: func @qcfs_per_neuron
// CHECK: nn.qcfs %{{.*}}, threshold %{{.*}} levels 4 : tensor<2x3xf32>, tensor<3xf32>
// CHECK-NOT: nn.floor
func.func @qcfs_per_neuron(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %theta = arith.constant dense<[1.0, 2.0, 4.0]> : tensor<3xf32>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %levels = arith.constant dense<4.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %step = arith.constant dense<[0.25, 0.5, 1.0]> : tensor<3xf32>
  %0 = nn.div %x, %theta : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %1 = nn.clip %0 min %zero : tensor<f32> max %one : tensor<f32> : tensor<2x3xf32> -> tensor<2x3xf32>
  %2 = nn.mul %levels, %1 : tensor<f32>, tensor<2x3xf32> -> tensor<2x3xf32>
  %3 = nn.add %half, %2 : tensor<f32>, tensor<2x3xf32> -> tensor<2x3xf32>
  %4 = nn.floor %3 : tensor<2x3xf32>
  %5 = nn.mul %step, %4 : tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %5 : tensor<2x3xf32>
}

// θ/L that is not θ/L (0.3 for 2/8), a clip to 2 and 7.5 levels stay arithmetic.
// CHECK-LABEL: func @not_qcfs
// CHECK-NOT: nn.qcfs
// CHECK: return
func.func @not_qcfs(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %theta = arith.constant dense<2.0> : tensor<f32>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %two = arith.constant dense<2.0> : tensor<f32>
  %levels = arith.constant dense<8.0> : tensor<f32>
  %odd = arith.constant dense<7.5> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %step = arith.constant dense<0.25> : tensor<f32>
  %bad = arith.constant dense<0.3> : tensor<f32>
  %0 = nn.div %x, %theta : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %1 = nn.clip %0 min %zero : tensor<f32> max %one : tensor<f32> : tensor<4xf32> -> tensor<4xf32>
  %2 = nn.mul %1, %levels : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %3 = nn.add %2, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %4 = nn.floor %3 : tensor<4xf32>
  %5 = nn.mul %4, %bad : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %c = nn.clip %0 min %zero : tensor<f32> max %two : tensor<f32> : tensor<4xf32> -> tensor<4xf32>
  %6 = nn.mul %c, %levels : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %7 = nn.add %6, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %8 = nn.floor %7 : tensor<4xf32>
  %9 = nn.mul %8, %step : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %10 = nn.mul %1, %odd : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %11 = nn.add %10, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %12 = nn.floor %11 : tensor<4xf32>
  %13 = nn.mul %12, %step : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  return %5, %9, %13 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
