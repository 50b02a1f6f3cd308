"""INT8 calibration and quantization (onnx + onnxruntime.quantization; no torch).

Calibration frames go through the runtime's own preprocessing
(:func:`edgederain.runtime.preprocess.to_model_input`), so activation ranges are measured on
exactly what the runtime feeds the model. Submodules are imported on use:
:mod:`~edgederain.calibration.reader`, :mod:`~edgederain.calibration.quantize`,
:mod:`~edgederain.onnxgraph.nodes`.
"""
