"""Bring your own network: QONNX (Brevitas, FINN, the QONNX model zoo) in and out of
``tnn-model-v1`` (``python -m sw.interop import-qonnx | export-qonnx``).

:mod:`.qonnx_graph` reads graphs through qonnx, :mod:`.qonnx_import` converts
one to a model file, :mod:`.check` compares it with qonnx's reference executor,
:mod:`.qonnx_export` writes a model file as QONNX, :mod:`.cli` is the command line.
onnx and qonnx are imported only when a function needs them.
"""
