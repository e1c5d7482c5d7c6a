// The tiled GPU contraction's per-thread code, run on this CPU
// (sinter-gpu-tile-contractions{emulate}: blocks and threads as loops, each
// barrier a boundary between phases) against plain loops: shapes that end
// mid-tile along m, n and k, several tiles, a batch with a broadcast and
// transposed B, and C starting from non-zero values. Integer-valued inputs
// keep every sum exact, so the difference must be 0.
// RUN: sinter-opt %s --pass-pipeline="builtin.module(func.func(sinter-gpu-tile-contractions{emulate=true}))" > %t.mlir
// RUN: FileCheck %s --input-file=%t.mlir --check-prefix=IR
// RUN: FileCheck %s --input-file=%t.mlir --check-prefix=NOGENERIC
// RUN: sinter-opt %s --pass-pipeline="builtin.module(func.func(sinter-gpu-tile-contractions{emulate=true}),convert-linalg-to-loops,expand-strided-metadata,lower-affine,convert-scf-to-cf,convert-math-to-llvm,convert-vector-to-llvm,finalize-memref-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts)" \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs | FileCheck %s

// IR-LABEL: func.func @plain
// IR: memref.alloc() : memref<16x64xf32>
// IR: memref.alloc() : memref<256x16xf32>
// IR-LABEL: func.func @batched
// IR: memref.alloc() : memref<16x64xf32>
// NOGENERIC-NOT: linalg.generic

// Plain product: max |difference|, then C[7, 3] (166 by numpy).
// CHECK: {{^}}0{{$}}
// CHECK-NEXT: {{^}}166{{$}}
// Batched, B transposed and broadcast: max |difference|.
// CHECK-NEXT: {{^}}0{{$}}

#mA = affine_map<(m, n, k) -> (m, k)>
#mB = affine_map<(m, n, k) -> (k, n)>
#mC = affine_map<(m, n, k) -> (m, n)>
#bA = affine_map<(b, m, n, k) -> (b, m, k)>
#bB = affine_map<(b, m, n, k) -> (n, k)>
#bC = affine_map<(b, m, n, k) -> (b, m, n)>

// a[i, j] = (i·seed + 5·j + i·j) mod 11 − 5
func.func @fill(%a: memref<?x?xf32>, %seed: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %c11 = arith.constant 11 : index
  %five = arith.constant 5.0 : f32
  %r = memref.dim %a, %c0 : memref<?x?xf32>
  %c = memref.dim %a, %c1 : memref<?x?xf32>
  scf.for %i = %c0 to %r step %c1 {
    scf.for %j = %c0 to %c step %c1 {
      %t0 = arith.muli %i, %seed : index
      %t1 = arith.muli %j, %c5 : index
      %ij = arith.muli %i, %j : index
      %t1b = arith.addi %t1, %ij : index
      %t2 = arith.addi %t0, %t1b : index
      %t3 = arith.remui %t2, %c11 : index
      %t4 = arith.index_cast %t3 : index to i64
      %t5 = arith.sitofp %t4 : i64 to f32
      %t6 = arith.subf %t5, %five : f32
      memref.store %t6, %a[%i, %j] : memref<?x?xf32>
    }
  }
  return
}

func.func @plain() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c7 = arith.constant 7 : index
  %M = arith.constant 70 : index
  %N = arith.constant 67 : index
  %K = arith.constant 37 : index
  %a = memref.alloc(%M, %K) : memref<?x?xf32>
  %b = memref.alloc(%K, %N) : memref<?x?xf32>
  %c = memref.alloc(%M, %N) : memref<?x?xf32>
  %ref = memref.alloc(%M, %N) : memref<?x?xf32>
  func.call @fill(%a, %c3) : (memref<?x?xf32>, index) -> ()
  func.call @fill(%b, %c7) : (memref<?x?xf32>, index) -> ()
  func.call @fill(%c, %c1) : (memref<?x?xf32>, index) -> ()
  memref.copy %c, %ref : memref<?x?xf32> to memref<?x?xf32>
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<?x?xf32>, memref<?x?xf32>) outs(%c : memref<?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %z, %p : f32
    linalg.yield %s : f32
  }
  %zero = arith.constant 0.0 : f32
  %worst = scf.for %i = %c0 to %M step %c1 iter_args(%w0 = %zero) -> f32 {
    %row = scf.for %j = %c0 to %N step %c1 iter_args(%w1 = %w0) -> f32 {
      %s0 = memref.load %ref[%i, %j] : memref<?x?xf32>
      %s = scf.for %k = %c0 to %K step %c1 iter_args(%acc = %s0) -> f32 {
        %x = memref.load %a[%i, %k] : memref<?x?xf32>
        %y = memref.load %b[%k, %j] : memref<?x?xf32>
        %p = arith.mulf %x, %y : f32
        %q = arith.addf %acc, %p : f32
        scf.yield %q : f32
      }
      %got = memref.load %c[%i, %j] : memref<?x?xf32>
      %d = arith.subf %got, %s : f32
      %ad = math.absf %d : f32
      %w2 = arith.maximumf %w1, %ad : f32
      scf.yield %w2 : f32
    }
    scf.yield %row : f32
  }
  vector.print %worst : f32
  %probe = memref.load %c[%c7, %c3] : memref<?x?xf32>
  vector.print %probe : f32
  return
}

// C[b, m, n] += Σk A[b, m, k] · B[n, k]: 3 × 20 × 33, k = 9.
func.func @batched() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c5 = arith.constant 5 : index
  %B = arith.constant 3 : index
  %M = arith.constant 20 : index
  %N = arith.constant 33 : index
  %K = arith.constant 9 : index
  %a = memref.alloc() : memref<3x20x9xf32>
  %bt = memref.alloc() : memref<33x9xf32>
  %c = memref.alloc() : memref<3x20x33xf32>
  %a2 = memref.collapse_shape %a [[0, 1], [2]] : memref<3x20x9xf32> into memref<60x9xf32>
  %cc = memref.collapse_shape %c [[0, 1], [2]] : memref<3x20x33xf32> into memref<60x33xf32>
  %a2d = memref.cast %a2 : memref<60x9xf32> to memref<?x?xf32>
  %btd = memref.cast %bt : memref<33x9xf32> to memref<?x?xf32>
  %c2d = memref.cast %cc : memref<60x33xf32> to memref<?x?xf32>
  func.call @fill(%a2d, %c5) : (memref<?x?xf32>, index) -> ()
  func.call @fill(%btd, %c2) : (memref<?x?xf32>, index) -> ()
  func.call @fill(%c2d, %c1) : (memref<?x?xf32>, index) -> ()
  %ref = memref.alloc() : memref<3x20x33xf32>
  memref.copy %c, %ref : memref<3x20x33xf32> to memref<3x20x33xf32>
  linalg.generic {indexing_maps = [#bA, #bB, #bC], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %bt : memref<3x20x9xf32>, memref<33x9xf32>) outs(%c : memref<3x20x33xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %z, %p : f32
    linalg.yield %s : f32
  }
  %zero = arith.constant 0.0 : f32
  %worst = scf.for %b = %c0 to %B step %c1 iter_args(%w = %zero) -> f32 {
    %wb = scf.for %i = %c0 to %M step %c1 iter_args(%w0 = %w) -> f32 {
      %row = scf.for %j = %c0 to %N step %c1 iter_args(%w1 = %w0) -> f32 {
        %s0 = memref.load %ref[%b, %i, %j] : memref<3x20x33xf32>
        %s = scf.for %k = %c0 to %K step %c1 iter_args(%acc = %s0) -> f32 {
          %x = memref.load %a[%b, %i, %k] : memref<3x20x9xf32>
          %y = memref.load %bt[%j, %k] : memref<33x9xf32>
          %p = arith.mulf %x, %y : f32
          %q = arith.addf %acc, %p : f32
          scf.yield %q : f32
        }
        %got = memref.load %c[%b, %i, %j] : memref<3x20x33xf32>
        %d = arith.subf %got, %s : f32
        %ad = math.absf %d : f32
        %w2 = arith.maximumf %w1, %ad : f32
        scf.yield %w2 : f32
      }
      scf.yield %row : f32
    }
    scf.yield %wb : f32
  }
  vector.print %worst : f32
  return
}

func.func @main() {
  func.call @plain() : () -> ()
  func.call @batched() : () -> ()
  return
}
