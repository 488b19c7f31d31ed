"""The ONNX query encoder: export of a (tiny, random) BERT with pooling, and the fallback to torch."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
transformers = pytest.importorskip("transformers")

from service.models.query_onnx import OnnxQueryEncoder, ensure_int8, ensure_query_onnx, onnx_path  # noqa: E402

VOCAB = {w: i for i, w in enumerate(["[PAD]", "[CLS]", "[SEP]", "query:", "wat", "is", "unifil", "mali", "hoeveel"])}


class WordTokenizer:
    """Splits on spaces, maps words to VOCAB ids, pads to the longest text (as an HF tokenizer does)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts, padding=False, truncation=False, max_length=32, return_tensors=None,
                 add_special_tokens=True):
        if isinstance(texts, str):  # a single text without special tokens: the prompt's length
            return {"input_ids": [VOCAB[w] for w in texts.split()]}
        self.calls.append(list(texts))
        ids = [([1] + [VOCAB[w] for w in t.split()] + [2])[:max_length] for t in texts]
        width = max(map(len, ids))
        return {"input_ids": np.array([x + [0] * (width - len(x)) for x in ids]),
                "attention_mask": np.array([[1] * len(x) + [0] * (width - len(x)) for x in ids])}


    def convert_ids_to_tokens(self, ids):
        return [WORDS[i] for i in ids]


WORDS = list(VOCAB)


@pytest.fixture(scope="module")
def tiny_bert():
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=32)
    return transformers.BertModel(config, add_pooling_layer=False).eval()


def _torch_vectors(model, enc: dict) -> np.ndarray:
    with torch.no_grad():
        states = model(input_ids=torch.tensor(enc["input_ids"]),
                       attention_mask=torch.tensor(enc["attention_mask"])).last_hidden_state.numpy()
    mask = enc["attention_mask"][..., None].astype(np.float32)
    pooled = (states * mask).sum(1) / mask.sum(1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def test_exported_encoder_equals_torch_mean_pooling_with_padding(tiny_bert, tmp_path: Path) -> None:
    path = ensure_query_onnx(tiny_bert, tmp_path, "tiny", "sha256:abcdef0123456789ff")
    assert path == onnx_path(tmp_path, "tiny", "sha256:abcdef0123456789ff") and path.is_file()
    assert not list(tmp_path.glob(".*tmp*"))  # the temp file was renamed, not left behind
    assert not any(m.training for m in tiny_bert.modules())  # exporting must not switch dropout on
    tok = WordTokenizer()
    encoder = OnnxQueryEncoder(path, tok, prefix="query: ", max_length=8)
    texts = ["wat is unifil", "hoeveel mali", "wat is mali wat is unifil hoeveel mali"]  # last one truncated
    got = encoder.encode(texts)
    assert tok.calls == [["query: " + t for t in texts]]  # the prefix is added, one call per batch
    want = _torch_vectors(tiny_bert, tok(["query: " + t for t in texts], True, True, 8, "np"))
    assert got.shape == (3, 16) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5)  # padded rows pool only their own tokens
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert encoder.encode(["wat is unifil"])[0] == pytest.approx(got[0], abs=1e-5)  # batch-independent


def test_the_same_call_gives_the_question_tokens_states(tiny_bert, tmp_path: Path) -> None:
    """encode_tokens: the content tokens of the text (no [CLS], prompt or [SEP]), their states from the
    call that embedded the text (no second call), normalised, with their ids."""
    path = ensure_query_onnx(tiny_bert, tmp_path, "tiny", "sha256:abcdef0123456789ff")
    tok = WordTokenizer()
    encoder = OnnxQueryEncoder(path, tok, prefix="query: ", max_length=8)
    encoder.encode(["wat is unifil", "hoeveel mali"])
    (states, ids), = encoder.encode_tokens(["hoeveel mali"])
    assert len(tok.calls) == 1 and ids.tolist() == [VOCAB["hoeveel"], VOCAB["mali"]]
    enc = WordTokenizer()(["query: hoeveel mali"], True, True, 8, "np")
    with torch.no_grad():
        want = tiny_bert(input_ids=torch.tensor(enc["input_ids"])).last_hidden_state.numpy()[0, 2:4]
    np.testing.assert_allclose(states, want / np.linalg.norm(want, axis=1, keepdims=True), atol=1e-5)
    (_, ids), = encoder.encode_tokens(["wat is mali"])  # not embedded before: one more call
    assert len(tok.calls) == 2 and ids.tolist() == [VOCAB["wat"], VOCAB["is"], VOCAB["mali"]]


def test_an_existing_export_is_reused(tiny_bert, tmp_path: Path) -> None:
    first = ensure_query_onnx(tiny_bert, tmp_path, "tiny", "sha256:1111")
    stamp = first.stat().st_mtime_ns
    assert ensure_query_onnx(None, tmp_path, "tiny", "sha256:1111") == first  # no model needed: not exported
    assert first.stat().st_mtime_ns == stamp
    second = ensure_query_onnx(tiny_bert, tmp_path, "tiny", "sha256:2222")  # other weights: other file
    assert second != first and second.is_file()
    assert not first.exists()  # the stale export is removed, not left to fill the disk


def test_int8_copy_is_made_once_beside_the_export_and_stays_close(tiny_bert, tmp_path: Path) -> None:
    path = ensure_query_onnx(tiny_bert, tmp_path, "tiny", "sha256:abcdef0123456789ff")
    small = ensure_int8(path)
    assert small == path.with_name(path.stem + ".int8.onnx") and small.is_file()
    assert not list(tmp_path.glob(".*tmp*"))
    stamp = small.stat().st_mtime_ns
    assert ensure_int8(path) == small and small.stat().st_mtime_ns == stamp  # made once
    texts = ["wat is unifil", "hoeveel mali"]
    full = OnnxQueryEncoder(path, WordTokenizer(), prefix="query: ").encode(texts)
    quant = OnnxQueryEncoder(small, WordTokenizer(), prefix="query: ").encode(texts)
    cosine = (full * quant).sum(axis=1)
    assert quant.shape == full.shape and np.all(cosine > 0.95) and not np.allclose(full, quant, atol=1e-6)


def test_embedder_keeps_torch_when_onnx_cannot_be_made(tmp_path: Path, caplog) -> None:
    from service.models.embedder import SentenceTransformerEmbedder

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "modules.json").write_text("[]")  # passes the folder check, but holds no model
    emb = SentenceTransformerEmbedder(folder)
    with caplog.at_level(logging.WARNING, logger="vraagbaak.embedder"):
        assert emb.use_onnx_queries(tmp_path / "cache") is False
    assert emb._query_encoder is None
    assert "query encoder stays on torch" in caplog.text
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())
