// RUN: sinter-opt %s -split-input-file -verify-diagnostics -sinter-convert-to-spiking | FileCheck %s
// RUN: not sinter-opt %s -sinter-convert-to-spiking=T=0 2>&1 | FileCheck %s --check-prefix=STEPS

// STEPS: error: spike: T must be >= 1, threshold-scale > 0, membrane in [0, 1], calibration-tokens and calibration-window >= 1

// An FFN with a QCFS activation (θ = 2, L = 8): the input is repeated over
// the 8 steps, the output averaged; the neurons get θ per neuron and a
// membrane of θ/2; fc2 reads the spikes, so θ folds into its rows
// (W = 0.5 → 1.0) and it becomes accumulate-only. The bias add stays. The
// model entry counts what still multiplies: fc1's 2·4 MACs per row and step.
// CHECK: module attributes {sinter.compression_report = [{ann_macs_per_row = 12 : i64, feeds = "linear", layer = "qcfs", levels = 8 : i64, mean_threshold = 2.000000e+00 : f64, neurons = 4 : i64, pass = "spike", signed = false, steps = 8 : i64}, {accumulate_only_synapses_per_row_step = 12 : i64, float_at_every_step = {{.*}}, float_linear_macs_per_row_step = 8 : i64, pass = "spike-model", steps = 8 : i64}]}
// CHECK-LABEL: func @ffn
// CHECK-DAG: %[[TH:.*]] = arith.constant dense<2.000000e+00> : tensor<4xf32>
// CHECK-DAG: %[[V0:.*]] = arith.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK-DAG: %[[W:.*]] = arith.constant dense<1.000000e+00> : tensor<4x3xf32>
// CHECK: %[[E:.*]] = spike.encode %arg0 steps 8 : tensor<?x2xf32> -> tensor<?x2xf32>
// CHECK: %[[H:.*]] = nn.matmul %[[E]]
// CHECK: %[[S:.*]] = spike.if %[[H]], threshold %[[TH]], membrane %[[V0]] : tensor<?x4xf32>, tensor<4xf32> -> !spike.train<8x?x4>
// CHECK: %[[Y:.*]] = spike.matmul %[[S]], %[[W]] : !spike.train<8x?x4>, tensor<4x3xf32> -> tensor<?x3xf32>
// CHECK: %[[B:.*]] = nn.add %[[Y]]
// CHECK: %[[D:.*]] = spike.decode %[[B]] steps 8 : tensor<?x3xf32> -> tensor<?x3xf32>
// CHECK: return %[[D]]
func.func @ffn(%x: tensor<?x2xf32>) -> tensor<?x3xf32> {
  %w1 = arith.constant dense<1.0> : tensor<2x4xf32>
  %w2 = arith.constant dense<0.5> : tensor<4x3xf32>
  %b2 = arith.constant dense<0.1> : tensor<3xf32>
  %theta = arith.constant dense<2.0> : tensor<f32>
  %zero = arith.constant dense<0.0> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %levels = arith.constant dense<8.0> : tensor<f32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %step = arith.constant dense<0.25> : tensor<f32>
  %h = nn.matmul %x, %w1 : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
  %0 = nn.div %h, %theta : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %1 = nn.clip %0 min %zero : tensor<f32> max %one : tensor<f32> : tensor<?x4xf32> -> tensor<?x4xf32>
  %2 = nn.mul %1, %levels : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %3 = nn.add %2, %half : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %4 = nn.floor %3 : tensor<?x4xf32>
  %5 = nn.mul %4, %step : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %y = nn.matmul %5, %w2 : tensor<?x4xf32>, tensor<4x3xf32> -> tensor<?x3xf32>
  %z = nn.add %y, %b2 : tensor<?x3xf32>, tensor<3xf32> -> tensor<?x3xf32>
  return %z : tensor<?x3xf32>
}

// -----

// Spikes read by something other than a constant linear keep their values.
// CHECK-LABEL: func @values
// CHECK: %[[S:.*]] = spike.if
// CHECK: %[[V:.*]] = spike.values %[[S]]
// CHECK: spike.decode %[[V]] steps 8
func.func @values(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %theta = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %q = nn.qcfs %x, threshold %theta levels 8 : tensor<?x4xf32>, tensor<4xf32>
  return %q : tensor<?x4xf32>
}

// -----

// expected-error@+1 {{spike: input 0 ('tensor<2x4xf32>') needs a dynamic leading (batch) dimension: the time steps fold into it (export the model with a dynamic batch)}}
func.func @static_batch(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %theta = arith.constant dense<1.0> : tensor<f32>
  %q = nn.qcfs %x, threshold %theta levels 8 : tensor<2x4xf32>, tensor<f32>
  return %q : tensor<2x4xf32>
}

// -----

func.func @dynamic_neurons(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %theta = arith.constant dense<1.0> : tensor<f32>
  // expected-error@+1 {{spike: 'qcfs' needs a constant f32 threshold and a static neuron dimension}}
  %q = nn.qcfs %x, threshold %theta levels 8 : tensor<?x?xf32>, tensor<f32>
  return %q : tensor<?x?xf32>
}

// -----

// expected-error@+1 {{spike: the model has no QCFS activations}}
module {
  func.func @relu(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
    %r = nn.relu %x : tensor<?x4xf32>
    return %r : tensor<?x4xf32>
  }
}
