#ifndef SINTER_CONVERSION_PASSES
#define SINTER_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertNNToLinalg : Pass<"convert-nn-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower nn ops to linalg, tensor, arith and math";
  let description = [{
    Rewrites every `nn` op into destination-style linalg ops on tensors
    (generic, fill, transpose), tensor ops for data movement
    (extract_slice, concat, reshape, from_elements) and scalar arith/math.
    Dynamic dimensions are read with `tensor.dim` at run time; ONNX's
    run-time shape arithmetic (Reshape's 0 and -1, Slice's clamping, Expand's
    broadcasting) is emitted as index arithmetic. The pass fails, naming the
    op, if any `nn` op is left. With `runtime-kernels` (the default; off for
    GPU targets), f32 LayerNorm over the last dimension becomes a call to
    the CPU runtime's vectorized kernel instead of loops.
  }];
  let options = [
    Option<"runtimeKernels", "runtime-kernels", "bool", "true",
           "Call the CPU runtime's kernels for the ops it has them for (LayerNorm)">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::func::FuncDialect"];
}

def FuseElementwise : Pass<"sinter-fuse-elementwise", "mlir::func::FuncOp"> {
  let summary = "Fuse elementwise producers into elementwise consumers only";
  let description = [{
    Upstream `linalg-fuse-elementwise-ops` also fuses an elementwise producer
    into a contraction, which recomputes the producer once per reduction
    step (a GELU fused into the next matmul evaluates erf K×N times). This
    pass applies the same fusion patterns but only when the consumer has no
    reduction loops, so each element is still computed once.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def FoldAddendsIntoContraction : Pass<"sinter-fold-addends-into-contraction", "mlir::func::FuncOp"> {
  let summary = "Start contractions from the bias and residual they are added to, not from zero";
  let description = [{
    A linear layer lowers to a contraction into a zero-filled tensor and an
    elementwise op that adds its bias (with elementwise fusion, also the
    residual, or applies an activation to the sum). This pass makes the
    contraction start from the addends instead: when an all-parallel
    `linalg.generic` uses a zero-started contraction's result, element for
    element and only in `c + x`, a new generic computing x from the
    generic's other inputs becomes the contraction's init and the generic
    reads c where it read c + x (a generic left yielding c unchanged is
    replaced by the contraction). A matmul plus bias plus residual
    thus writes its output once instead of being zeroed, written, read
    and written again. It also gives every user of a zero fill that CSE
    shared its own fill, which bufferization would otherwise copy.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "mlir::arith::ArithDialect"];
}

def LinalgToUkernel : Pass<"sinter-linalg-to-ukernel", "mlir::ModuleOp"> {
  let summary = "Call the runtime's f32 GEMM microkernel for every f32 contraction on buffers";
  let description = [{
    Matches `linalg.generic` ops on memrefs of f32 whose body is
    `out + a * b` and whose indexing maps make one operand (batch.., m, k),
    the other (batch.., k, n) and the output (batch.., m, n), in any order
    of the two trailing dims (so transposed operands and broadcast batch
    dims, indexed by a constant 0, are absorbed as strides). Each becomes a
    call to the runtime's `__sinter_sgemm`, which tiles, vectorizes and
    multithreads the product; the innermost batch dim goes to the kernel and
    outer ones become `scf.for` loops. The pointers and strides are read with
    `memref.extract_strided_metadata`, so any strided layout works. Anything
    else (integer contractions, reductions of other shapes) is left to the
    loop lowering.

    With `panel-width=W` (sinter-compile passes the width of the runtime
    variant it links), a right-hand side that is a whole constant global
    indexed (k, n) or (n, k), a weight, is packed at compile time into a new
    global of column panels [ceil(N/W)][K][W] (zero past N) and the call
    goes to `__sinter_sgemm_packed`, which streams each panel contiguously.
    With `release-packed`, a weight that is no longer read once packed is
    erased and its bytes freed at once, so that the compiler holds fewer
    copies of the weights; only for a module whose weight blobs nothing
    else (a clone) shares.
  }];
  let options = [
    Option<"panelWidth", "panel-width", "int64_t", "0",
           "Pack constant weights into column panels of this width (0: no packing)">,
    Option<"releasePacked", "release-packed", "bool", "false",
           "Free the bytes of weights that packing leaves unread (their blobs must not be shared)">
  ];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect", "mlir::arith::ArithDialect"];
}

def ParallelLoopsToRuntime : Pass<"sinter-parallel-loops-to-runtime", "mlir::ModuleOp"> {
  let summary = "Run top-level scf.parallel loops on the runtime's thread pool";
  let description = [{
    The loops that `convert-linalg-to-parallel-loops` makes of elementwise
    ops, normalizations, softmax and layout copies would otherwise run on
    one thread while the pool's workers wait for the next GEMM. This pass
    outlines the body of every `scf.parallel` that sits directly in a
    function (no results, no calls or allocations inside) into a private
    function `(ctx, begin, end)` and replaces the loop by a call to the
    runtime's `__sinter_parallel_for`. The parallel dims are linearized into
    one range of items; when the body is a plain elementwise body (no loop
    inside) the last dim stays a whole inner loop, so it still vectorizes.
    The values the body reads from outside travel in an LLVM struct on the
    caller's stack (memrefs as their descriptors). Items are handed out in
    chunks of at least `min-chunk-work` inner iterations (computed at run
    time from the loop bounds), so small loops, such as a decode step's,
    stay on the calling thread. Each output element is computed exactly as
    before, so results do not depend on the thread count.
  }];
  let options = [
    Option<"minChunkWork", "min-chunk-work", "int64_t", "16384",
           "Fewest inner iterations per chunk handed to a thread">
  ];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::LLVM::LLVMDialect",
                           "mlir::scf::SCFDialect", "mlir::arith::ArithDialect"];
}

def MergeGPUModules : Pass<"sinter-merge-gpu-modules", "mlir::ModuleOp"> {
  let summary = "Move every outlined GPU kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` puts each kernel in a gpu.module of its own, and
    each module becomes a separate PTX module. A model's kernels are loaded
    and shipped together, so this pass moves every `gpu.func` into the first
    `gpu.module` and rewrites each `gpu.launch_func` to name its kernel
    there. Kernel names are unique already (outlining derives them from the
    host function). The pass fails, naming the kernel, if two modules hold
    kernels with the same name, and changes nothing when there is at most
    one module.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

def GPUHostToRuntime : Pass<"sinter-gpu-host-to-runtime", "mlir::ModuleOp"> {
  let summary = "Lower GPU kernel launches and constants in host code to the object's CUDA runtime";
  let description = [{
    The last step of a GPU object's host side, after `gpu-to-llvm`. The
    model's one `gpu.binary` becomes a constant, NUL-terminated byte string
    `@__sinter_gpu_image` (the driver reads PTX as text). Each
    `gpu.launch_func` becomes a call to the runtime's `__sinter_gpu_launch`
    with the image, the kernel's name, the grid and block sizes, the dynamic
    shared memory and an array of pointers to the kernel's arguments, which
    are stored in stack slots made once in the function's entry block. Each
    address of a constant global taken in host code becomes a call to
    `__sinter_gpu_constant` with the address and the global's size, which
    returns the constant's copy in managed memory (made on first use), so
    that kernels never read host memory. The pass fails, naming the op, on
    asynchronous or cluster launches and on anything but one binary holding
    one object.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def MathToNVPTXIntrinsics : Pass<"sinter-math-to-nvptx-intrinsics", "mlir::gpu::GPUModuleOp"> {
  let summary = "Lower the math ops left in GPU kernels to LLVM intrinsics NVPTX has instructions for";
  let description = [{
    `convert-gpu-to-nvvm` turns every float `math` op into a call of
    libdevice (`__nv_sqrtf`, `__nv_floorf`, ...), which must then be linked
    from a CUDA toolkit or the PTX does not assemble. Sinter approximates
    exp, log, tanh and erf inline (`sinter-approximate-math`); the ops those
    approximations use, and the exact ones a model has, have PTX
    instructions. This pass rewrites f32/f64 `math.sqrt`, `rsqrt` (as
    1/sqrt), `absf`, `floor`, `ceil`, `trunc`, `roundeven`, `round`, `fma`
    and `copysign` into `llvm.call_intrinsic` of the matching LLVM intrinsic
    (an op `convert-gpu-to-nvvm` leaves alone, unlike `llvm.intr.sqrt`), and
    fails, naming the op, on any float math op still left: its kernel would
    need libdevice.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect", "mlir::arith::ArithDialect"];
}

def InnermostParallelDimFirst : Pass<"sinter-innermost-parallel-dim-first", "mlir::func::FuncOp"> {
  let summary = "Reverse the dimensions of parallel loops, so that GPU mapping gives thread x the innermost";
  let description = [{
    `scf-parallel-loop-tiling` tiles a loop's leading dimensions and
    `gpu-map-parallel-loops` maps dimension i to block and thread x, y, z in
    order. Loops from linalg list dimensions outermost first, so thread x
    walked the outermost dimension: neighbouring threads read addresses a
    whole row apart, and the innermost dimension went to block z, whose
    grid is limited to 65535 (a 128 k vocabulary's logits would not
    launch). The dimensions of a parallel loop are unordered, so this pass
    reverses those of every outermost `scf.parallel` without reductions:
    the innermost dimension is tiled and given to thread and block x
    (contiguous accesses, a 2^31 grid), the outermost (batch) to z.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect"];
}

def TileContractionsForGPU : Pass<"sinter-gpu-tile-contractions", "mlir::func::FuncOp"> {
  let summary = "Turn f32 contractions into GPU kernels with shared-memory tiles";
  let description = [{
    Each f32 contraction on buffers (as `sinter-linalg-to-ukernel` recognizes
    them: batch dims, any strides, broadcast operands) becomes a
    `gpu.launch`. A block of 16×16 threads computes a 64×64 tile of C, 4×4
    outputs per thread in rows ty + 16i and columns tx + 16j (a warp's
    stores are contiguous). Per step of 16 along k the block stages 64×16
    of A and 16×64 of B in workgroup memory (zero past the edges), with a
    barrier before and after the products; the accumulators are values the
    loops over k carry (registers: ptxas gives them no stack frame), each
    product added with one FMA (`contract`). The
    batch dims, linearized, are the grid's z. C starts from its buffer's
    values (bias or zero), as the contraction accumulates. Without this,
    each thread of the generic loop mapping ran a whole dot product from
    global memory. With `emulate`, the same per-thread code runs in
    sequential loops over blocks and threads, the barriers as boundaries
    between phases and the accumulators in a buffer per thread: a CPU
    build of the kernel, for testing its indexing against a plain product.
  }];
  let options = [
    Option<"emulate", "emulate", "bool", "false",
           "Emit the kernel as sequential CPU loops over blocks and threads (for testing)">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

#endif
