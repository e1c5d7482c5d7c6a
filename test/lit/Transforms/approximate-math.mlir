// RUN: sinter-opt %s -sinter-approximate-math | FileCheck %s

// f32 erf/exp/tanh/log become arithmetic (no libm call is left to lower);
// f64 and ops without an approximation here are untouched.
// CHECK-LABEL: func @approximated
// CHECK-NOT: math.erf
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.log
// CHECK: arith.mulf
// CHECK: return
func.func @approximated(%x: f32) -> (f32, f32, f32, f32) {
  %0 = math.erf %x : f32
  %1 = math.exp %x : f32
  %2 = math.tanh %x : f32
  %3 = math.log %x : f32
  return %0, %1, %2, %3 : f32, f32, f32, f32
}

// CHECK-LABEL: func @kept
// CHECK: math.erf %{{.*}} : f64
// CHECK: math.sqrt %{{.*}} : f32
// CHECK: math.cos %{{.*}} : f32
func.func @kept(%x: f64, %y: f32) -> (f64, f32, f32) {
  %0 = math.erf %x : f64
  %1 = math.sqrt %y : f32
  %2 = math.cos %y : f32
  return %0, %1, %2 : f64, f32, f32
}
