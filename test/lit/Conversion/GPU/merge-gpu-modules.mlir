// RUN: sinter-opt %s -sinter-merge-gpu-modules -split-input-file -verify-diagnostics | FileCheck %s

// Three outlined modules: two hold a kernel of the same name, one holds two
// kernels. Every kernel lands in the first module, named after its module
// (module_kernel where a module holds several), and every launch names it.
// CHECK-LABEL: gpu.module @k
// CHECK-NEXT: gpu.func @k(
// CHECK: gpu.func @k_0(
// CHECK: gpu.func @k_1_a(
// CHECK: gpu.func @k_1_b(
// CHECK-NOT: gpu.module
// CHECK: gpu.launch_func @k::@k blocks
// CHECK: gpu.launch_func @k::@k_0 blocks
// CHECK: gpu.launch_func @k::@k_1_b blocks
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%x: f32) kernel { gpu.return }
  }
  gpu.module @k_0 {
    gpu.func @k(%x: f32) kernel { gpu.return }
  }
  gpu.module @k_1 {
    gpu.func @a(%x: f32) kernel { gpu.return }
    gpu.func @b(%x: f32) kernel { gpu.return }
  }
  func.func @main(%x: f32) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : f32)
    gpu.launch_func @k_0::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : f32)
    gpu.launch_func @k_1::@b blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : f32)
    return
  }
}

// -----

// A module whose kernel would take a name another module's kernel already
// took is refused, naming it.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @a(%x: f32) kernel { gpu.return }
    gpu.func @b(%x: f32) kernel { gpu.return }
  }
  gpu.module @k_a {
    // expected-error@+1 {{sinter-merge-gpu-modules: two kernels named 'k_a'}}
    gpu.func @c(%x: f32) kernel { gpu.return }
  }
}

// -----

// One module: nothing to do.
// CHECK-LABEL: gpu.module @only
// CHECK: gpu.func @f(
module attributes {gpu.container_module} {
  gpu.module @only {
    gpu.func @f(%x: f32) kernel { gpu.return }
  }
}
