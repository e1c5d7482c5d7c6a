# lit configuration for Sinter's FileCheck tests.
import os

import lit.formats

config.name = "Sinter"
config.test_format = lit.formats.ShTest(True)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.sinter_build_dir, "test", "lit")
config.environment["PATH"] = os.pathsep.join(
    [config.sinter_bin_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.substitutions.append(("%onnxgen", "/usr/bin/python3 " + os.path.join(config.test_source_root, "Inputs", "make_onnx.py")))

# CUDA's assembler, where the toolkit is installed (not a Debian package):
# the GPU tests that assemble PTX need it; the others run everywhere.
ptxas = "/usr/local/cuda/bin/ptxas"
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
config.substitutions.append(("%models", os.path.join(os.path.dirname(os.path.dirname(config.test_source_root)), "examples", "models")))
# MLIR's runner and its support libraries (mlir-22-tools, libmlir-22-dev):
# integration tests that execute a lowered module on this CPU.
_mlir_lib = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
config.substitutions.append(("%mlir_runner_libs", ",".join(
    os.path.join(_mlir_lib, f) for f in ("libmlir_runner_utils.so", "libmlir_c_runner_utils.so"))))
