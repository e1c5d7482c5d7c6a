"""Sinter from Python: compile ONNX models and run the compiled objects.

    import sinter
    sinter.compile("model.onnx", "model.so")
    model = sinter.load("model.so")
    logits = model(input_ids)          # numpy in, numpy out

Also: `sinter.testmodels` (small torch reference models), `sinter.ort`
(onnxruntime as the independent reference)."""
from .runtime import Model, SinterError, TensorSpec, compile, cuda_devices, load

__all__ = ["Model", "SinterError", "TensorSpec", "compile", "cuda_devices", "load"]
