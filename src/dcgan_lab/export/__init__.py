"""A trained generator as a self-contained file (ONNX or TorchScript), and read back."""
