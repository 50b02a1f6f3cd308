"""edgederain: single-image deraining from training to the edge.

Importing the package is cheap: it pulls in nothing heavier than the standard library.
Heavy parts live in subpackages that are imported on demand:

- ``edgederain.contract`` / ``edgederain.metrics``: shared vocabulary (stdlib + numpy).
- ``edgederain.runtime``: torch-free inference on ONNX Runtime.
- ``edgederain.model`` / ``edgederain.train`` / ``edgederain.export``: PyTorch side.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
