// RUN: sinter-opt %s -sinter-expand-bf16 | FileCheck %s

// f32 → bf16 rounds to nearest even on the bits (add 0x7fff plus the kept
// low bit, keep the high half), NaN becomes the quiet 0x7fc0; bf16 → f32
// shifts the bits up. Other conversions and arith ops stay as they are.
// CHECK-LABEL: func @conversions
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[SIXTEEN:.*]] = arith.constant 16 : i32
// CHECK-DAG: %[[QNAN:.*]] = arith.constant 32704 : i16
// CHECK-DAG: %[[BIAS:.*]] = arith.constant 32767 : i32
// CHECK: %[[ISNAN:.*]] = arith.cmpf une, %arg0, %arg0 : f32
// CHECK: %[[BITS:.*]] = arith.bitcast %arg0 : f32 to i32
// CHECK: %[[HI:.*]] = arith.shrui %[[BITS]], %[[SIXTEEN]]
// CHECK: %[[ODD:.*]] = arith.andi %[[HI]], %[[ONE]]
// CHECK: %[[R:.*]] = arith.addi %[[ODD]], %[[BIAS]]
// CHECK: %[[SUM:.*]] = arith.addi %[[BITS]], %[[R]]
// CHECK: %[[TOP:.*]] = arith.shrui %[[SUM]], %[[SIXTEEN]]
// CHECK: %[[H:.*]] = arith.trunci %[[TOP]] : i32 to i16
// CHECK: %[[SEL:.*]] = arith.select %[[ISNAN]], %[[QNAN]], %[[H]] : i16
// CHECK: %[[T:.*]] = arith.bitcast %[[SEL]] : i16 to bf16
// CHECK: %[[Y:.*]] = arith.bitcast %arg1 : bf16 to i16
// CHECK: %[[W:.*]] = arith.extui %[[Y]] : i16 to i32
// CHECK: %[[S:.*]] = arith.shli %[[W]], %[[SIXTEEN]] : i32
// CHECK: %[[E:.*]] = arith.bitcast %[[S]] : i32 to f32
// CHECK: %[[M:.*]] = arith.maximumf %arg0, %arg2 : f32
// CHECK: %[[F16:.*]] = arith.truncf %arg0 : f32 to f16
// CHECK: return %[[T]], %[[E]], %[[M]], %[[F16]]
func.func @conversions(%x: f32, %y: bf16, %z: f32) -> (bf16, f32, f32, f16) {
  %t = arith.truncf %x : f32 to bf16
  %e = arith.extf %y : bf16 to f32
  %m = arith.maximumf %x, %z : f32
  %h = arith.truncf %x : f32 to f16
  return %t, %e, %m, %h : bf16, f32, f32, f16
}
