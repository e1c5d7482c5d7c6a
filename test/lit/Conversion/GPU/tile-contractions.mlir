// RUN: sinter-opt %s -split-input-file --pass-pipeline="builtin.module(func.func(sinter-gpu-tile-contractions))" | FileCheck %s

// A contraction becomes one launch: a block per 64×64 tile of C (x over
// n, y over m, z over the batch), 16×16 threads, A's and B's tiles in
// workgroup memory, the 16 accumulators carried through the loops over k
// (registers: no private memory), a barrier after staging and after the
// products, C read and written once per output. What it computes is run
// on the CPU in tile-contractions-run.mlir.
// CHECK-LABEL: func.func @matmul
// CHECK: %[[TN:.*]] = arith.ceildivui %{{.*}}, %c64
// CHECK: %[[TM:.*]] = arith.ceildivui %{{.*}}, %c64
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[TN]], {{.*}} = %[[TM]], {{.*}}) threads({{.*}}) in ({{[^ ]*}} = %c16{{[^,]*}}, {{[^ ]*}} = %c16{{[^,]*}}, {{[^)]*}})
// CHECK-SAME: workgroup(%[[AT:[^ ]*]] : memref<16x64xf32, #gpu.address_space<workgroup>>, %[[BT:[^ ]*]] : memref<16x64xf32, #gpu.address_space<workgroup>>) {
// CHECK: %{{.*}}:16 = scf.for %{{.*}} = %c0{{.*}} to %{{.*}} step %c16{{.*}} iter_args(
// CHECK: memref.store %{{.*}}, %[[AT]]
// CHECK: memref.store %{{.*}}, %[[BT]]
// CHECK: gpu.barrier
// CHECK: %{{.*}}:16 = scf.for {{.*}} iter_args(
// CHECK: memref.load %[[AT]]
// CHECK: memref.load %[[BT]]
// CHECK: arith.mulf {{.*}} fastmath<contract>
// CHECK: arith.addf {{.*}} fastmath<contract>
// CHECK: scf.yield {{.*}} : f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32{{$}}
// CHECK: gpu.barrier
// CHECK: scf.yield {{.*}} : f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32{{$}}
// CHECK-COUNT-16: memref.store %{{.*}}, %arg2[
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
#mA = affine_map<(m, n, k) -> (m, k)>
#mB = affine_map<(m, n, k) -> (k, n)>
#mC = affine_map<(m, n, k) -> (m, n)>
func.func @matmul(%a: memref<?x?xf32>, %b: memref<?x128xf32>, %c: memref<?x128xf32>) {
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<?x?xf32>, memref<?x128xf32>) outs(%c : memref<?x128xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %z, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not a contraction (a max, not a sum of products), and not f32: left alone.
// CHECK-LABEL: func.func @others
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// CHECK: linalg.generic
#mA = affine_map<(m, n, k) -> (m, k)>
#mB = affine_map<(m, n, k) -> (k, n)>
#mC = affine_map<(m, n, k) -> (m, n)>
func.func @others(%a: memref<4x5xf32>, %b: memref<5x6xf32>, %c: memref<4x6xf32>,
                  %ad: memref<4x5xf64>, %bd: memref<5x6xf64>, %cd: memref<4x6xf64>) {
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<4x5xf32>, memref<5x6xf32>) outs(%c : memref<4x6xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.maximumf %z, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ad, %bd : memref<4x5xf64>, memref<5x6xf64>) outs(%cd : memref<4x6xf64>) {
  ^bb0(%x: f64, %y: f64, %z: f64):
    %p = arith.mulf %x, %y : f64
    %s = arith.addf %z, %p : f64
    linalg.yield %s : f64
  }
  return
}
