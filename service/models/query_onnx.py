"""Query vectors on ONNX Runtime: the embedder's own transformer, exported once to ONNX (fp32).

Why: a search embeds one short query. Through torch that costs ~29 ms on one core here and holds
the GIL between its many small ops, so concurrent searches queue on each other (4 concurrent
searchers: ~40 ms of CPU per search, p95 131 ms). ONNX Runtime runs the same weights in one call
that releases the GIL: ~21 ms per query, ~22 ms of CPU per search under the same load (p95 73 ms).
The vectors are the same model's (cosine >= 0.9999 to the torch ones, tested in the slow tier), so
the index, which torch built, stays valid. Passages are still embedded by torch (batches, late
chunking); this is for queries only.

`ensure_query_onnx` exports `<model>/` to `cache_dir/<model name>.query-<fingerprint>.onnx` once
(~10 s; written to a temp file and renamed, so it is complete or absent); `OnnxQueryEncoder` runs
it. Mean pooling over the attention mask and L2 normalisation are part of the exported graph; its second
output, the token states, gives the question's tokens for the sentences' late-interaction match.
Needs `onnx` (export) and `onnxruntime` (run); without them callers keep torch (see `attach_onnx`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

log = logging.getLogger("vraagbaak.embedder")
EXPORT_VERSION = 3  # bump when the exported graph changes (2: padded trace example, 3: token states too)


def onnx_path(cache_dir: Path, model_name: str, fingerprint: str) -> Path:
    digest = fingerprint.split(":")[-1][:16]
    return Path(cache_dir) / f"{model_name}.query-v{EXPORT_VERSION}-{digest}.onnx"


def export_onnx(auto_model, dest: Path) -> None:
    """Write `auto_model` (a transformers encoder) with mean pooling and normalisation as ONNX."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            states = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1), states

    # Traced with a padded batch, the shape the graph serves in batches; an all-ones example gave the
    # same results here (checked), the padded one keeps any mask shortcut out of the trace.
    example_ids = torch.ones((2, 8), dtype=torch.long)
    example_mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3], dtype=torch.long)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    was_training = auto_model.training
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about shapes: the axes are dynamic
            torch.onnx.export(Pooled(auto_model.float().eval()), (example_ids, example_mask), str(tmp), dynamo=False,
                              input_names=["input_ids", "attention_mask"], output_names=["vector", "states"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "vector": {0: "batch"}, "states": {0: "batch", 1: "tokens"}},
                              opset_version=17)
        os.replace(tmp, dest)
    finally:
        auto_model.train(was_training)  # the exporter leaves the model in training mode (dropout on)
        with contextlib.suppress(OSError):
            tmp.unlink()


def ensure_query_onnx(auto_model, cache_dir: Path, model_name: str, fingerprint: str,
                      progress: bool = False) -> Path:
    """The ONNX file for this model (exported now when missing)."""
    dest = onnx_path(cache_dir, model_name, fingerprint)
    if dest.is_file():
        return dest
    if progress:
        print(f"zoekvraag-encoder naar ONNX exporteren (eenmalig, ~10 s) -> {dest}", flush=True)
    t0 = time.monotonic()
    export_onnx(auto_model, dest)
    for stale in dest.parent.glob(f"{model_name}.query-v*.onnx"):  # older exports (~470 MB each for e5)
        if stale != dest:
            with contextlib.suppress(OSError):
                stale.unlink()
    log.info("exported query encoder to %s in %.1f s", dest, time.monotonic() - t0)
    return dest


def ensure_int8(path: Path, progress: bool = False) -> Path:
    """An int8 copy of the exported encoder (dynamic quantization of its MatMuls), made once beside it.
    About twice as fast per query on one thread (7 vs 16 ms for e5-small here), its vectors ~0.986
    cosine to the float ones: for a busy server (VRAAGBAAK_QUERY_INT8, docs/scaling.md)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dest = path.with_name(path.stem + ".int8.onnx")
    if dest.is_file():
        return dest
    if progress:
        print(f"zoekvraag-encoder naar int8 kwantiseren (eenmalig, ~5 s) -> {dest}", flush=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    try:
        quantize_dynamic(str(path), str(tmp), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return dest


class OnnxQueryEncoder:
    """Runs an exported encoder: texts -> normalised float32 vectors (one ORT call per batch). The
    same call's token states are kept for the last few hundred texts (`encode_tokens`)."""

    def __init__(self, path: Path, tokenizer, prefix: str = "", max_length: int = 512, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # single queries: one thread per call, calls run in parallel
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path, self.prefix, self.max_length = Path(path), prefix, max_length
        self._tokenizer = tokenizer
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokens: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()
        self._prefix_tokens: int | None = None  # tokens of the prompt, counted on the first encode_tokens

    def encode(self, texts: list[str]) -> np.ndarray:
        enc = self._tokenizer([self.prefix + t for t in texts], padding=True, truncation=True,
                              max_length=self.max_length, return_tensors="np")
        feeds = {"input_ids": enc["input_ids"].astype(np.int64),
                 "attention_mask": enc["attention_mask"].astype(np.int64)}
        outputs = self._session.run(None, feeds)
        if len(outputs) > 1:
            lengths = enc["attention_mask"].sum(axis=1)
            with self._lock:
                for t, ids, states, n in zip(texts, enc["input_ids"], outputs[1], lengths):
                    self._tokens[t] = (states[:n], ids[:n])
                    self._tokens.move_to_end(t)
                while len(self._tokens) > 256:
                    self._tokens.popitem(last=False)
        return np.asarray(outputs[0], dtype=np.float32)

    def encode_tokens(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The content tokens' normalised states and ids of each text (`content_tokens`), from the
        call that embedded it when it is still kept, else from a new one."""
        from service.models.embedder import content_tokens

        with self._lock:
            todo = [t for t in texts if t not in self._tokens]
        if todo:
            self.encode(todo)
        with self._lock:
            raw = [self._tokens[t] for t in texts]
        if self._prefix_tokens is None:
            prompt = self._tokenizer(self.prefix, add_special_tokens=False)["input_ids"] if self.prefix else []
            self._prefix_tokens = len(prompt)
        return [content_tokens(states, ids, self._prefix_tokens, self._tokenizer) for states, ids in raw]
