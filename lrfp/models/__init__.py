"""The networks: the registry of the paper's CNNs and the transfer models, self-describing checkpoints,
and ONNX export with an onnxruntime classifier."""
