// RUN: sinter-opt %s -sinter-gpu-host-to-runtime -split-input-file -verify-diagnostics | FileCheck %s

// The binary becomes a NUL-terminated constant; the launch a call with the
// image, the kernel's name, grid and block as i64, no shared memory and the
// array of argument addresses (slots made in the entry block, filled at the
// launch); the constant global's address becomes its device copy's, with
// its size in bytes. The container attribute goes with the binary.
// CHECK-LABEL: module {
// CHECK: llvm.mlir.global internal constant @__sinter_gpu_image("PTX TEXT\00") {addr_space = 0 : i32, alignment = 8 : i64}
// CHECK: llvm.func @host(%[[X:.*]]: f32, %[[P:.*]]: !llvm.ptr, %[[N:.*]]: i32)
// CHECK-DAG: %[[SLOTS:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(f32, ptr, ptr)>
// CHECK-DAG: %[[ARRAY:.*]] = llvm.alloca %{{.*}} x !llvm.ptr
// CHECK: %[[W:.*]] = llvm.mlir.addressof @weights : !llvm.ptr
// CHECK: %[[BYTES:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK: %[[DEV:.*]] = llvm.call @__sinter_gpu_constant(%[[W]], %[[BYTES]]) : (!llvm.ptr, i64) -> !llvm.ptr
// CHECK: %[[F0:.*]] = llvm.getelementptr %[[SLOTS]][0, 0]
// CHECK: llvm.store %[[X]], %[[F0]] : f32, !llvm.ptr
// CHECK: %[[E0:.*]] = llvm.getelementptr %[[ARRAY]][0]
// CHECK: llvm.store %[[F0]], %[[E0]]
// CHECK: %[[F1:.*]] = llvm.getelementptr %[[SLOTS]][0, 1]
// CHECK: llvm.store %[[DEV]], %[[F1]]
// CHECK: %[[F2:.*]] = llvm.getelementptr %[[SLOTS]][0, 2]
// CHECK: llvm.store %[[P]], %[[F2]]
// CHECK: %[[IMAGE:.*]] = llvm.mlir.addressof @__sinter_gpu_image
// CHECK: %[[NAME:.*]] = llvm.mlir.addressof @__sinter_gpu_kernel.k
// CHECK: %[[GX:.*]] = llvm.zext %[[N]] : i32 to i64
// CHECK: llvm.call @__sinter_gpu_launch(%[[IMAGE]], %[[NAME]], %[[GX]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ARRAY]]) : (!llvm.ptr, !llvm.ptr, i64, i64, i64, i64, i64, i64, i32, !llvm.ptr) -> ()
// CHECK-NOT: gpu.
// CHECK: llvm.mlir.global internal constant @__sinter_gpu_kernel.k("k\00")
module attributes {gpu.container_module} {
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = "PTX TEXT">]
  llvm.mlir.global internal constant @weights(dense<1.0> : tensor<16xf32>) : !llvm.array<16 x f32>
  llvm.func @host(%x: f32, %p: !llvm.ptr, %n: i32) {
    %c1 = llvm.mlir.constant(1 : i32) : i32
    %w = llvm.mlir.addressof @weights : !llvm.ptr
    gpu.launch_func @kernels::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) : i32 args(%x : f32, %w : !llvm.ptr, %p : !llvm.ptr)
    llvm.return
  }
}

// -----

// Two launches of one kernel share its name.
// CHECK-LABEL: module {
// CHECK: llvm.call @__sinter_gpu_launch
// CHECK: llvm.call @__sinter_gpu_launch
// CHECK-COUNT-1: llvm.mlir.global internal constant @__sinter_gpu_kernel.k
module attributes {gpu.container_module} {
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = "PTX">]
  llvm.func @host(%p: !llvm.ptr) {
    %c1 = llvm.mlir.constant(1 : i64) : i64
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 args(%p : !llvm.ptr)
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 args(%p : !llvm.ptr)
    llvm.return
  }
}

// -----

// A module without kernels is left alone.
// CHECK-LABEL: llvm.func @cpu_only
// CHECK-NEXT: llvm.mlir.addressof @table
// CHECK-NEXT: llvm.return
llvm.mlir.global internal constant @table(dense<1> : tensor<4xi32>) : !llvm.array<4 x i32>
llvm.func @cpu_only() -> !llvm.ptr {
  %t = llvm.mlir.addressof @table : !llvm.ptr
  llvm.return %t : !llvm.ptr
}

// -----

// expected-error @+2 {{sinter-gpu-host-to-runtime: expected one gpu.binary holding one object}}
module attributes {gpu.container_module} {
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = "A">, #gpu.object<#nvvm.target<chip = "sm_80">, assembly = "B">]
}

// -----

module attributes {gpu.container_module} {
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = "PTX">]
  llvm.func @host(%p: !llvm.ptr) {
    %c1 = llvm.mlir.constant(1 : i64) : i64
    %t = gpu.wait async
    // expected-error @+1 {{sinter-gpu-host-to-runtime: asynchronous launches are not supported}}
    %d = gpu.launch_func async [%t] @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 args(%p : !llvm.ptr)
    llvm.return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = "PTX">]
  llvm.func @host(%p: !llvm.ptr) {
    %c1 = llvm.mlir.constant(1 : i64) : i64
    // expected-error @+1 {{sinter-gpu-host-to-runtime: cluster launches are not supported}}
    gpu.launch_func @kernels::@k clusters in (%c1, %c1, %c1) blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 args(%p : !llvm.ptr)
    llvm.return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = "PTX">]
  func.func @host(%p: !llvm.ptr) {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{sinter-gpu-host-to-runtime: the launch is not in an llvm.func (run gpu-to-llvm first)}}
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%p : !llvm.ptr)
    return
  }
}
