"""Export style models for other runtimes: ONNX and TorchScript."""
