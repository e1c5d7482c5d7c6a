// RUN: sinter-opt %s -sinter-parallel-loops-to-runtime -split-input-file | FileCheck %s
// RUN: sinter-opt %s -sinter-parallel-loops-to-runtime="min-chunk-work=64" -split-input-file | FileCheck %s --check-prefix=GRAIN

// An elementwise loop over (rows, cols): rows are the items, each a whole
// inner loop over cols (it vectorizes). The memrefs travel as descriptors
// in a struct on the caller's stack, with the inner bound (cols); the
// constant bounds and steps are rebuilt in the body, not carried, and the
// row count only bounds the items. The grain is ceil(16384 / cols).
// CHECK-LABEL: func.func private @scale_parallel0(%arg0: !llvm.ptr, %arg1: i64, %arg2: i64)
// CHECK: %[[S:.*]] = llvm.load %arg0 : !llvm.ptr -> !llvm.struct<(struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>, f32, struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>, i64)>
// CHECK: %[[INS:.*]] = llvm.extractvalue %[[S]][0]
// CHECK: %[[IN:.*]] = builtin.unrealized_conversion_cast %[[INS]] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<?x?xf32>
// CHECK: %[[K:.*]] = llvm.extractvalue %[[S]][1]
// CHECK: %[[OUT:.*]] = builtin.unrealized_conversion_cast %{{.*}} to memref<?x?xf32>
// CHECK: %[[COLS64:.*]] = llvm.extractvalue %[[S]][3]
// CHECK: %[[COLS:.*]] = arith.index_cast %[[COLS64]] : i64 to index
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[B:.*]] = arith.index_cast %arg1 : i64 to index
// CHECK-DAG: %[[E:.*]] = arith.index_cast %arg2 : i64 to index
// CHECK: scf.for %[[I:.*]] = %[[B]] to %[[E]] step %{{.*}} {
// CHECK:   %[[SCALED:.*]] = arith.muli %[[I]], %[[C1]] : index
// CHECK:   %[[ROW:.*]] = arith.addi %[[C0]], %[[SCALED]] : index
// CHECK:   scf.for %[[J:.*]] = %[[C0]] to %[[COLS]] step %[[C1]] {
// CHECK:     %[[X:.*]] = memref.load %[[IN]][%[[ROW]], %[[J]]]
// CHECK:     %[[Y:.*]] = arith.mulf %[[X]], %[[K]]
// CHECK:     memref.store %[[Y]], %[[OUT]][%[[ROW]], %[[J]]]
// CHECK-LABEL: func.func @scale(
// CHECK: %[[SLOT:.*]] = llvm.alloca %{{.*}} x !llvm.struct<
// CHECK-NOT: scf.parallel
// CHECK: %[[CHUNK:.*]] = arith.ceildivsi %c16384, %{{.*}} : index
// CHECK: llvm.store %{{.*}}, %[[SLOT]]
// CHECK: %[[FN:.*]] = constant @scale_parallel0 : (!llvm.ptr, i64, i64) -> ()
// CHECK-DAG: %[[G:.*]] = arith.index_cast %[[CHUNK]] : index to i64
// CHECK: call @__sinter_parallel_for(%{{.*}}, %[[G]], %[[FN]], %[[SLOT]]) : (i64, i64, (!llvm.ptr, i64, i64) -> (), !llvm.ptr) -> ()
// CHECK: func.func private @__sinter_parallel_for(i64, i64, (!llvm.ptr, i64, i64) -> (), !llvm.ptr)
// GRAIN-LABEL: func.func @scale(
// GRAIN: arith.ceildivsi %c64,
func.func @scale(%in: memref<?x?xf32>, %out: memref<?x?xf32>, %k: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %in, %c0 : memref<?x?xf32>
  %cols = memref.dim %in, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %cols) step (%c1, %c1) {
    %x = memref.load %in[%i, %j] : memref<?x?xf32>
    %y = arith.mulf %x, %k : f32
    memref.store %y, %out[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// -----

// A row reduction inside: every parallel dim is an item (delinearized,
// outermost first) and the work per item is the inner loop's trip count.
// CHECK-LABEL: func.func private @row_sums_parallel0(
// CHECK: scf.for %[[L:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:   %[[INNER:.*]] = arith.remui %[[L]], %{{.*}} : index
// CHECK:   %[[OUTER:.*]] = arith.divui %[[L]], %{{.*}} : index
// CHECK:   scf.for
// CHECK:     memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : memref<4x6x8xf32>
// CHECK-LABEL: func.func @row_sums(
// CHECK: %[[ITEMS:.*]] = arith.muli
// CHECK: %[[WORK:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: arith.ceildivsi %{{.*}}, %{{.*}} : index
// CHECK: call @__sinter_parallel_for
func.func @row_sums(%in: memref<4x6x8xf32>, %out: memref<4x6xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c6) step (%c1, %c1) {
    scf.for %k = %c0 to %c8 step %c1 {
      %x = memref.load %in[%i, %j, %k] : memref<4x6x8xf32>
      %acc = memref.load %out[%i, %j] : memref<4x6xf32>
      %s = arith.addf %acc, %x : f32
      memref.store %s, %out[%i, %j] : memref<4x6xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Left alone: a loop that calls a function (a kernel may use the pool
// itself), one that allocates, one with a reduction result, one nested in
// a sequential loop, and one that reads a value no struct field carries
// (a vector).
// CHECK-LABEL: func.func @untouched(
// CHECK-COUNT-5: scf.parallel
// CHECK-NOT: __sinter_parallel_for
func.func private @kernel(index)
func.func @untouched(%out: memref<8xf32>, %n: index, %v: vector<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    func.call @kernel(%i) : (index) -> ()
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %t = memref.alloc() : memref<4xf32>
    memref.dealloc %t : memref<4xf32>
    scf.reduce
  }
  %sum = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%zero) -> f32 {
    %x = memref.load %out[%i] : memref<8xf32>
    scf.reduce(%x : f32) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      scf.reduce.return %s : f32
    }
  }
  scf.for %k = %c0 to %n step %c1 {
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      memref.store %zero, %out[%i] : memref<8xf32>
      scf.reduce
    }
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %x = vector.extract %v[0] : f32 from vector<4xf32>
    memref.store %x, %out[%i] : memref<8xf32>
    scf.reduce
  }
  return %sum : f32
}
