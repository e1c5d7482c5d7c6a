"""Sinter's Python side: reference models (testmodels), the onnxruntime
reference (ort). Loading compiled models from Python is issue 3's work."""
