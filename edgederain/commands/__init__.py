"""CLI commands by area. Each module defines ``register(app)`` and imports heavy packages
(torch, onnx, onnxruntime) only inside the command functions."""
