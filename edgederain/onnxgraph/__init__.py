"""Plain ONNX-graph helpers shared by export, calibration and inspect (onnx only, no torch).

- :mod:`~edgederain.onnxgraph.nodes`: find the network's nodes by the source module they were
  traced from (the node groups kept in float for FP16 and INT8), count op types.
- :mod:`~edgederain.onnxgraph.rewrite`: exact graph rewrites applied after tracing.
"""
