# lit configuration of the plugin's tests: the installed Sinter tools,
# with %plugin the library just built.
import os

import lit.formats

config.name = "prune-2of4"
config.test_format = lit.formats.ShTest(True)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.example_build_dir, "test")
config.environment["PATH"] = os.pathsep.join([config.sinter_tools_dir, config.llvm_tools_dir, os.environ["PATH"]])
config.substitutions.append(("%plugin", config.plugin))
config.substitutions.append(("%models", os.path.join(os.path.dirname(os.path.dirname(config.test_source_root)), "models")))
